"""Laurel settings shared by every environment; the other modules only override."""

from celery.schedules import crontab

from config import embedded
from config.env import BASE_DIR, env

# GENERAL
# ------------------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
USE_I18N = True
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

# DATABASES
# ------------------------------------------------------------------------------
# PostgreSQL everywhere. Without DATABASE_URL: this checkout's embedded server (PostgreSQL
# from a wheel, data under .run/postgres; config/embedded.py), which `make run` and
# `make test` start. Production sets DATABASE_URL (postgres://user@host:5432/name).
DATABASES = {"default": env.db("DATABASE_URL", default=embedded.default_url())}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# APPS
# ------------------------------------------------------------------------------
DJANGO_APPS = [
    "events.apps.LaurelAdminConfig",  # django.contrib.admin, the dashboard as its index
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]
THIRD_PARTY_APPS = [
    "axes",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
]
LOCAL_APPS = [
    "loyalty",
    "achievements",
    "events",
    "compat",
]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

# MIDDLEWARE
# ------------------------------------------------------------------------------
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # /api/: refuses control characters, over-long headers and bodies; JSON error pages
    "config.api.middleware.ApiGuardMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # ?integrationId= and friends reach django-filter as integration_id
    "djangorestframework_camel_case.middleware.CamelCaseMiddleWare",
    # admin login lockout after repeated failures (django-axes); keep it last
    "axes.middleware.AxesMiddleware",
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# TEMPLATES AND STATIC
# ------------------------------------------------------------------------------
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# LOGGING
# ------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
}

# DJANGO REST FRAMEWORK
# ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "loyalty.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["loyalty.api.permissions.HasProgramAccess"],
    "DEFAULT_RENDERER_CLASSES": [
        "djangorestframework_camel_case.render.CamelCaseJSONRenderer",
        "djangorestframework_camel_case.render.CamelCaseBrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "config.api.parsers.LaurelJSONParser",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "config.api.pagination.LaurelPagination",
    "DEFAULT_SCHEMA_CLASS": "config.api.schema.LaurelAutoSchema",
    "EXCEPTION_HANDLER": "config.api.exception_handler.laurel_exception_handler",
    "COERCE_DECIMAL_TO_STRING": False,
    "DEFAULT_THROTTLE_CLASSES": ["config.api.throttling.ApiKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        # Bad API keys per client address (429 with Retry-After past it).
        "failed_auth": env("LAUREL_FAILED_AUTH_RATE", default="20/min"),
    },
    # How many proxies in front append to X-Forwarded-For; 0: the client address is
    # REMOTE_ADDR and X-Forwarded-For is not trusted (it could dodge the throttles).
    "NUM_PROXIES": env.int("DJANGO_NUM_PROXIES", default=0),
    "UNAUTHENTICATED_USER": None,
}
# Free-form JSON that belongs to the customer or the event keeps its keys as sent.
JSON_CAMEL_CASE = {
    "JSON_UNDERSCOREIZE": {"ignore_fields": ("attributes",), "no_underscore_before_number": True},
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Laurel API",
    "DESCRIPTION": (
        "Achievements, streaks and rewards for loyalty programs. "
        "Authenticate with `Authorization: Bearer <API key>`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1/",
    "COMPONENT_SPLIT_REQUEST": True,
    "PREPROCESSING_HOOKS": ["config.api.schema.strip_optional_trailing_slash"],
    "ENUM_NAME_OVERRIDES": {
        "CampaignStateEnum": "loyalty.models.Campaign.State",
        "RewardOfferStateEnum": "loyalty.models.RewardOffer.State",
        "LifeCycleStateEnum": "events.models.CustomerEvent.LifeCycleState",
        "ProgressStatusEnum": "achievements.api.serializers.PROGRESS_STATUSES",
        "AchievementStatusEnum": "achievements.api.serializers.ACHIEVEMENT_STATUSES",
        "CurrencyKindEnum": "loyalty.models.Currency.Kind",
        "AwardTransactionKindEnum": "loyalty.models.AwardTransaction.Kind",
        "NotificationTypeEnum": "loyalty.models.Notification.Kind",
        "CustomerEventTypeEnum": "events.models.CustomerEvent.Type",
    },
    "POSTPROCESSING_HOOKS": [
        "config.api.schema.camelize_native_fields",
        "drf_spectacular.hooks.postprocess_schema_enums",
    ],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

# CELERY
# ------------------------------------------------------------------------------
# With REDIS_URL set, Redis is the broker and result store. Without it, Laurel uses
# kombu's filesystem transport under .run/broker, so `make run` needs no server.
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
else:
    _broker_dir = BASE_DIR / ".run" / "broker"
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
    CELERY_RESULT_BACKEND = None
    CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ACKS_LATE = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# The schedule lives here, in code; django-celery-beat's DatabaseScheduler loads it into the
# database on start, so the admin shows every job with its last run. Each job is idempotent
# for a given `now`, so running more often than needed is harmless.
CELERY_BEAT_SCHEDULE = {
    "open-due-periods": {  # https://crontab.guru/#*_*_*_*_*
        "task": "laurel.run_periodic_job", "schedule": crontab(),
        "args": ["open-due-periods"], "kwargs": {"started_by": "beat"},
    },
    "close-due-achievement-iterations": {  # https://crontab.guru/#*/5_*_*_*_*
        "task": "laurel.run_periodic_job", "schedule": crontab(minute="*/5"),
        "args": ["close-due-achievement-iterations"], "kwargs": {"started_by": "beat"},
    },
    "close-due-streak-cycles": {  # https://crontab.guru/#*/5_*_*_*_*
        "task": "laurel.run_periodic_job", "schedule": crontab(minute="*/5"),
        "args": ["close-due-streak-cycles"], "kwargs": {"started_by": "beat"},
    },
    "notify-streaks-at-risk": {  # https://crontab.guru/#*/15_*_*_*_*
        "task": "laurel.run_periodic_job", "schedule": crontab(minute="*/15"),
        "args": ["notify-streaks-at-risk"], "kwargs": {"started_by": "beat"},
    },
    "deliver-notifications": {  # https://crontab.guru/#*_*_*_*_*
        "task": "laurel.run_periodic_job", "schedule": crontab(),
        "args": ["deliver-notifications"], "kwargs": {"started_by": "beat"},
    },
}

# LAUREL
# ------------------------------------------------------------------------------
# How far in the future an event's performedOn may lie (clock skew allowance).
LAUREL_MAX_FUTURE_SKEW_SECONDS = env.int("LAUREL_MAX_FUTURE_SKEW_SECONDS", default=300)
# One event completes at most this many iterations of one achievement (on_completion carries
# what it adds beyond the target over); the effects say where it stopped.
LAUREL_MAX_COMPLETIONS_PER_EVENT = env.int("LAUREL_MAX_COMPLETIONS_PER_EVENT", default=100)
# The API's input limits (README, "Limits"): JSON nesting depth and the largest body.
LAUREL_MAX_JSON_DEPTH = env.int("LAUREL_MAX_JSON_DEPTH", default=20)
LAUREL_MAX_BODY_BYTES = env.int("LAUREL_MAX_BODY_BYTES", default=10 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = LAUREL_MAX_BODY_BYTES

# THROTTLING AND LOCKOUT
# ------------------------------------------------------------------------------
# Per-key request rates (DRF rate syntax "N/s|min|hour|day"), by key prefix, by scope or
# "default"; none means no limit. LAUREL_API_KEY_RATE sets "default" from the environment.
LAUREL_API_KEY_RATES = {}
if env("LAUREL_API_KEY_RATE", default=""):
    LAUREL_API_KEY_RATES["default"] = env("LAUREL_API_KEY_RATE")
# django-axes: the admin login locks a username from an address after 5 failures in a row,
# for an hour (or until an admin runs `manage.py axes_reset`).
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=1.0)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
if env.int("DJANGO_NUM_PROXIES", default=0):
    AXES_IPWARE_PROXY_COUNT = env.int("DJANGO_NUM_PROXIES")
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]
else:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]

# Redis, when there is one, also holds the throttle counters every web process shares.
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": REDIS_URL}}
