"""Project-wide guarantees: migrations, the OpenAPI schema, production settings, Celery."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

REPO_ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = "postgres://postgres@127.0.0.1:5432/laurel"
REDIS_URL = "redis://127.0.0.1:6379/0"
KEY_PATHS = (
    "/api/v1/programs",
    "/api/v1/programs/{programId}/achievements",
    "/api/v1/programs/{programId}/customers/{integrationId}",
)
# Everything the settings modules read, so a subprocess sees only what a test gives it.
SETTINGS_ENV = (
    "DJANGO_SETTINGS_MODULE",
    "DJANGO_SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "DJANGO_ALLOWED_HOSTS",
    "DJANGO_DEBUG",
    "DJANGO_READ_DOT_ENV_FILE",
    "DJANGO_SECURE_SSL_REDIRECT",
    "DJANGO_SECURE_HSTS_SECONDS",
    "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "DJANGO_SECURE_HSTS_PRELOAD",
)


def run_python(*args: str, **env: str) -> subprocess.CompletedProcess:
    """Run `python *args` from the repository root with only the given settings variables."""
    clean_env = {k: v for k, v in os.environ.items() if k not in SETTINGS_ENV}
    clean_env.update(env)
    return subprocess.run(
        [sys.executable, *args],
        cwd=REPO_ROOT,
        env=clean_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def production_env(**overrides: str) -> dict[str, str]:
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(48)[:60],
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "DJANGO_ALLOWED_HOSTS": "laurel.example.com",
    }
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


# Migrations
# ------------------------------------------------------------------------------
@pytest.mark.django_db
def test_makemigrations_finds_nothing_when_models_and_migrations_agree():
    # when / then: --check exits with status 1 (SystemExit) if a migration is missing
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


# OpenAPI schema
# ------------------------------------------------------------------------------
def test_schema_validates_when_generated(schema):
    validate_schema(schema)

    assert schema["info"]["title"] == "Laurel API"


def test_schema_documents_key_paths_without_trailing_slash_when_generated(schema):
    for path in KEY_PATHS:
        assert path in schema["paths"]
    assert not [path for path in schema["paths"] if path.endswith("/")]


def test_schema_documents_customers_by_integration_id_when_generated(schema):
    path = "/api/v1/programs/{programId}/customers/{integrationId}"

    parameters = {p["name"]: p for p in schema["paths"][path]["get"]["parameters"]}
    assert parameters["integrationId"]["in"] == "path"
    assert parameters["programId"]["in"] == "path"


def test_schema_uses_camel_case_when_describing_achievements(schema):
    properties = schema["components"]["schemas"]["Achievement"]["properties"]

    assert {"recurrencePolicy", "periodEndOverride", "hasProgress"} <= set(properties)
    assert not [name for name in properties if "_" in name]


@pytest.mark.django_db
def test_schema_generation_emits_no_warnings_when_run_like_make_schema():
    GENERATOR_STATS.reset()

    # when / then: any warning raises SchemaGenerationError, which fails `make test`
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", os.devnull)


@pytest.mark.django_db
def test_schema_endpoint_returns_openapi_when_anonymous():
    response = Client().get("/api/schema/")

    assert response.status_code == 200
    assert b"openapi: 3" in response.content
    assert b"/api/v1/programs" in response.content


@pytest.mark.django_db
def test_docs_endpoint_renders_swagger_ui_when_anonymous():
    response = Client().get("/api/docs/")

    assert response.status_code == 200
    assert b"swagger-ui" in response.content
    assert b"/api/schema/" in response.content


# Production settings
# ------------------------------------------------------------------------------
def test_production_settings_refuse_to_load_when_secret_key_missing():
    result = run_python(
        "-c", "import django; django.setup()", **production_env(DJANGO_SECRET_KEY=None)
    )

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_SECRET_KEY" in result.stderr


@pytest.mark.parametrize(
    ("missing", "overrides"),
    [
        ("REDIS_URL", {"REDIS_URL": None}),
        ("DATABASE_URL", {"DATABASE_URL": None}),  # the embedded default is refused
    ],
)
def test_production_settings_refuse_to_load_when_service_missing(missing, overrides):
    result = run_python("-c", "import django; django.setup()", **production_env(**overrides))

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert missing in result.stderr


def test_production_settings_pass_security_checks_when_fully_configured():
    result = run_python(
        "manage.py", "check", "--deploy", "--fail-level", "WARNING", "--tag", "security",
        **production_env(),
    )

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_settings_pass_deploy_check_when_fully_configured():
    result = run_python(
        "manage.py", "check", "--deploy", "--fail-level", "WARNING", **production_env()
    )

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


# Celery
# ------------------------------------------------------------------------------
def test_celery_app_uses_broker_from_settings_when_loaded():
    from config import celery_app

    assert celery_app.main == "laurel"
    assert celery_app.conf.broker_url == settings.CELERY_BROKER_URL
    assert celery_app.conf.task_always_eager is True
    if not settings.REDIS_URL:
        assert celery_app.conf.broker_url == "filesystem://"
        folder = Path(celery_app.conf.broker_transport_options["data_folder_in"])
        assert folder.is_dir()


CELERY_PROBE = (
    "import django; django.setup(); from config import celery_app; "
    "print(celery_app.conf.broker_url); print(celery_app.conf.result_backend)"
)


def test_celery_app_uses_filesystem_broker_when_redis_url_unset():
    result = run_python("-c", CELERY_PROBE, DJANGO_SETTINGS_MODULE="config.settings.test")

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["filesystem://", "None"]


def test_celery_app_uses_redis_when_redis_url_set():
    result = run_python(
        "-c", CELERY_PROBE, DJANGO_SETTINGS_MODULE="config.settings.test", REDIS_URL=REDIS_URL
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [REDIS_URL, REDIS_URL]


def test_beat_schedule_names_registered_tasks_and_known_jobs():
    from config import celery_app
    from events.jobs import JOBS

    celery_app.loader.import_default_modules()
    schedule = settings.CELERY_BEAT_SCHEDULE

    assert {entry["args"][0] for entry in schedule.values()} == set(JOBS)
    for name, entry in schedule.items():
        assert entry["task"] in celery_app.tasks, name
