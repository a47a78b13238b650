"""config/embedded.py: the command that runs make run and make test against the embedded
servers. (The servers themselves run under every `make test` that sets no
TEST_DATABASE_URL, and the Redis one in tests/events/test_celery_worker.py.)"""

import os
import subprocess
import sys
from pathlib import Path

from config import embedded

REPO_ROOT = Path(__file__).resolve().parent.parent
PRINT_ENV = ("import os; print(os.environ.get('DATABASE_URL', '-'), "
             "os.environ.get('DJANGO_SETTINGS_MODULE', '-'), os.environ.get('REDIS_URL', '-'))")


def run_exec(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "REDIS_URL")}
    return subprocess.run(
        [sys.executable, "-m", "config.embedded", "exec", *args],
        cwd=REPO_ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=60,
    )


def test_exec_runs_command_on_given_server_when_url_variable_is_set():
    given = "postgres://someone@db.example:5432/laurel_elsewhere"

    result = run_exec("--url-from", "LAUREL_GIVEN_URL", "--", sys.executable, "-c", PRINT_ENV,
                      LAUREL_GIVEN_URL=given, REDIS_URL="redis://127.0.0.1:1/0")

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [given, "-", "redis://127.0.0.1:1/0"]
    assert "embedded" not in result.stderr  # nothing was started


def test_exec_keeps_settings_module_when_caller_sets_it():
    result = run_exec("--url-from", "LAUREL_GIVEN_URL", "--", sys.executable, "-c", PRINT_ENV,
                      LAUREL_GIVEN_URL="postgres://x@y/z",
                      DJANGO_SETTINGS_MODULE="config.settings.test")

    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[1] == "config.settings.test"


def test_exec_exits_with_child_exit_code_when_child_fails():
    result = run_exec("--url-from", "LAUREL_GIVEN_URL", "--", sys.executable, "-c",
                      "raise SystemExit(7)", LAUREL_GIVEN_URL="postgres://x@y/z")

    assert result.returncode == 7


def test_default_url_names_this_checkouts_embedded_server():
    url = embedded.default_url()

    assert url == f"postgres://postgres@127.0.0.1:{embedded.port()}/laurel"
    assert 15000 <= embedded.derived_port() < 30000
    assert embedded.derived_port() == embedded.derived_port()
