"""`make test`: PostgreSQL (DATABASE_URL, or the embedded server), eager Celery, fast hashing."""

from .base import *  # noqa: F403
from .base import DATABASES

SECRET_KEY = "laurel-test-secret-key-not-for-production"
DEBUG = False
DATABASES["default"]["CONN_MAX_AGE"] = 0
# The test database is named after the configured one (laurel -> laurel_test), so that a
# shared server's databases of one checkout keep one prefix.
DATABASES["default"]["TEST"] = {"NAME": f"{DATABASES['default']['NAME']}_test"}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
