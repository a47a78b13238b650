"""Celery tasks: thin wrappers that read the clock once and run a job service."""

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone
from django.utils.dateparse import parse_datetime


@shared_task(name="laurel.run_periodic_job", autoretry_for=(OperationalError,),
             retry_backoff=True, max_retries=5, acks_late=True)
def run_periodic_job(job: str, now: str | None = None) -> dict:
    """Run one scheduled job; `now` (ISO-8601) defaults to the worker's clock."""
    from events.jobs import job_run

    run = job_run(job=job, now=parse_datetime(now) if now else timezone.now())
    return {"job": run.job, "rows": run.rows, "batches": run.batches,
            "outcome": run.outcome, "durationMs": run.duration_ms}
