"""Celery tasks: thin wrappers that read the clock once and run a job service."""

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone
from django.utils.dateparse import parse_datetime


@shared_task(name="laurel.run_periodic_job", autoretry_for=(OperationalError,),
             retry_backoff=True, max_retries=5, acks_late=True, bind=True)
def run_periodic_job(self, job: str, now: str | None = None, started_by: str = "task") -> dict:
    """Run one scheduled job; `now` (ISO-8601) defaults to the worker's clock. Beat's
    entries pass `started_by="beat"`; a task sent by hand is recorded as `task`."""
    from events.jobs import job_run

    started_from = f"{started_by} entry {job} on {self.request.hostname or 'a worker'}"
    run = job_run(job=job, now=parse_datetime(now) if now else timezone.now(),
                  started_by=started_by, started_from=started_from)
    return {"job": run.job, "rows": run.rows, "batches": run.batches,
            "outcome": run.outcome, "durationMs": run.duration_ms}
