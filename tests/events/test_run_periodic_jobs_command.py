"""`run_periodic_jobs`: refuses a future --now unless allowed, records who started each run,
shows a progress bar and a summary on stderr."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from events.jobs import JOBS
from events.tasks import run_periodic_job
from loyalty.models import JobRun

pytestmark = pytest.mark.django_db


def test_run_periodic_jobs_refuses_when_now_is_beyond_the_skew(settings):
    # given
    settings.LAUREL_MAX_FUTURE_SKEW_SECONDS = 300
    future = (timezone.now() + timedelta(hours=2)).isoformat()
    # when / then
    with pytest.raises(CommandError, match=r"in the future.*--allow-future"):
        call_command("run_periodic_jobs", "--now", future, stdout=StringIO(),
                     stderr=StringIO())
    assert not JobRun.objects.exists()


def test_run_periodic_jobs_runs_when_now_within_skew(settings):
    settings.LAUREL_MAX_FUTURE_SKEW_SECONDS = 300
    soon = (timezone.now() + timedelta(seconds=60)).isoformat()
    call_command("run_periodic_jobs", "--now", soon, "--job", "open-due-periods",
                 stdout=StringIO(), stderr=StringIO())
    assert JobRun.objects.count() == 1


def test_run_periodic_jobs_runs_as_of_the_future_when_allowed():
    # given
    future = timezone.now() + timedelta(days=3)
    out, err = StringIO(), StringIO()
    # when
    call_command("run_periodic_jobs", "--now", future.isoformat(), "--allow-future",
                 stdout=out, stderr=err)
    # then
    runs = list(JobRun.objects.all())
    assert len(runs) == len(JOBS)
    assert {run.started_by for run in runs} == {JobRun.StartedBy.COMMAND}
    assert all(run.started_from.startswith("run_periodic_jobs") for run in runs)
    assert all(run.now == future for run in runs)
    assert len(out.getvalue().splitlines()) == len(JOBS)
    assert f"Summary: {len(JOBS)} job(s)" in err.getvalue()
    assert "all succeeded" in err.getvalue()
    assert "jobs/s" in err.getvalue()  # the bar's rate column
    assert "Rows changed" in err.getvalue() and "rows/s" in err.getvalue()


def test_run_periodic_job_task_records_beat_when_the_schedule_sends_it(settings):
    # given: what beat sends for each entry
    entry = settings.CELERY_BEAT_SCHEDULE["open-due-periods"]
    # when
    result = run_periodic_job.apply(args=entry["args"], kwargs=entry["kwargs"]).get()
    # then
    assert result["outcome"] == "succeeded"
    run = JobRun.objects.get()
    assert run.started_by == JobRun.StartedBy.BEAT
    assert "beat entry open-due-periods" in run.started_from


def test_job_run_admin_shows_who_started_and_the_traceback_when_failed(admin_client):
    # given
    run = JobRun.objects.create(
        job="close-due-streak-cycles", now=timezone.now(), started_at=timezone.now(),
        started_by=JobRun.StartedBy.BEAT, outcome=JobRun.Outcome.FAILED,
        error="RuntimeError: boom", traceback="Traceback (most recent call last):\n  boom\n")
    # when
    listing = admin_client.get("/admin/loyalty/jobrun/").content.decode()
    detail = admin_client.get(f"/admin/loyalty/jobrun/{run.pk}/change/").content.decode()
    # then
    assert "Celery beat (the schedule)" in listing
    assert "RuntimeError: boom" in listing
    assert "Traceback (most recent call last):" in detail
