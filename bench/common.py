"""What the benchmark scripts share: paths, the environment of every process they start,
and small helpers. Import-safe without Django."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
RESULTS = BENCH / "results"
FIXTURES = RESULTS / "fixtures.json"
LATEST = RESULTS / "latest.json"
PROFILE = RESULTS / "profile.json"
DOCS = REPO / "docs" / "benchmarks.md"
LUA = BENCH / "lua" / "laurel.lua"
PYTHON = sys.executable

PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
DB_NAME = "laurel_bench"
PGBENCH_DB = "laurel_pgbench"
DATABASE_URL = f"{PG_ADMIN_URL}/{DB_NAME}"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
SEED = int(os.environ.get("BENCH_SEED", "20261122"))
CORES = os.cpu_count() or 1
WORKERS = 2 * CORES + 1


def django_env() -> dict[str, str]:
    """Production-like settings for every Django process of the benchmark."""
    env = dict(os.environ)
    env.update({
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DJANGO_SECRET_KEY": "laurel-benchmark-only-" + "x" * 40,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_DEBUG": "false",
        "DJANGO_CONN_MAX_AGE": "600",
        "DJANGO_LOG_LEVEL": "WARNING",
        "REDIS_URL": REDIS_URL,
        "DATABASE_URL": DATABASE_URL,
        "PYTHONPATH": str(REPO),
    })
    env.pop("DJANGO_READ_DOT_ENV_FILE", None)
    return env


def setup_django() -> None:
    """Configure Django in this process with the benchmark environment."""
    os.environ.update(django_env())
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    import django

    django.setup()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def psql(sql: str, *, db: str = DB_NAME, capture: bool = True) -> str:
    """Run SQL with psql (ON_ERROR_STOP) and return its unaligned output."""
    result = subprocess.run(
        ["psql", f"{PG_ADMIN_URL}/{db}", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
        check=True, capture_output=capture, text=True,
    )
    return (result.stdout or "").strip()


def load_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
