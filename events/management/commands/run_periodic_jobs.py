from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from events.jobs import JOBS, job_run


class Command(BaseCommand):
    help = ("Run every scheduled job once, synchronously, as of --now (default: the clock). "
            "Also how operators backfill: jobs are idempotent for a given instant.")

    def add_arguments(self, parser):
        parser.add_argument("--now", help="ISO-8601 instant with offset, e.g. "
                            "2026-11-22T06:00:00+00:00")
        parser.add_argument("--job", action="append", choices=list(JOBS),
                            help="Run only this job (repeatable).")

    def handle(self, *args, now: str | None, job: list[str] | None, **options):
        at = timezone.now()
        if now:
            try:
                at = parse_datetime(now)
            except ValueError:
                at = None
            if at is None or at.tzinfo is None:
                raise CommandError(f"--now must be ISO-8601 with an offset; got '{now}'.")
        for name in job or JOBS:
            run = job_run(job=name, now=at)
            self.stdout.write(f"{name:34} {run.outcome:9} rows={run.rows:<7} "
                              f"batches={run.batches:<4} {run.duration_ms} ms")
