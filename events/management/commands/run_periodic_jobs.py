import functools
import shlex
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from config.progress import progress_bar
from events.jobs import JOBS, job_run
from loyalty.models import JobRun


class Command(BaseCommand):
    help = ("Run every scheduled job once, synchronously, as of --now (default: the clock). "
            "Also how operators backfill: jobs are idempotent for a given instant. A --now "
            "in the future is refused unless --allow-future is given: it would expire "
            "iterations whose windows are still open.")

    def add_arguments(self, parser):
        parser.add_argument("--now", help="ISO-8601 instant with offset, e.g. "
                            "2026-11-22T06:00:00+00:00")
        parser.add_argument("--job", action="append", choices=list(JOBS),
                            help="Run only this job (repeatable).")
        parser.add_argument("--allow-future", action="store_true",
                            help="Run as of a --now later than the clock (plus the allowed "
                            "skew, LAUREL_MAX_FUTURE_SKEW_SECONDS): closes windows early.")
        parser.add_argument("--no-progress", action="store_true",
                            help="No progress bar on stderr.")

    def handle(self, *args, now: str | None, job: list[str] | None, allow_future: bool,
               no_progress: bool, **options):
        clock = timezone.now()
        at = clock
        if now:
            try:
                at = parse_datetime(now)
            except ValueError:
                at = None
            if at is None or at.tzinfo is None:
                raise CommandError(f"--now must be ISO-8601 with an offset; got '{now}'.")
        skew = settings.LAUREL_MAX_FUTURE_SKEW_SECONDS
        ahead = (at - clock).total_seconds()
        if ahead > skew and not allow_future:
            raise CommandError(
                f"--now {at.isoformat()} is {_duration(ahead)} in the future (more than the "
                f"{skew} s allowed for events, LAUREL_MAX_FUTURE_SKEW_SECONDS): the jobs would "
                "expire iterations and close cycles whose windows are still open. Give "
                "--allow-future to run as of it anyway."
            )
        names = job or list(JOBS)
        command_line = shlex.join(["run_periodic_jobs", *sys.argv[2:]]) if len(
            sys.argv) > 1 and sys.argv[1] == "run_periodic_jobs" else (
            f"run_periodic_jobs --now {at.isoformat()}")
        runs: list[JobRun] = []
        with progress_bar(self.stderr, disable=no_progress) as progress:
            task = progress.add_task("Scheduled jobs", total=len(names), unit="jobs")
            # Rows have no total up front (counting due rows would cost a scan of its own):
            # their bar shows the count and the rate, batch by batch.
            rows_task = progress.add_task("Rows changed", total=None, unit="rows")
            done = 0

            def batch(stats, *, before: int) -> None:
                progress.update(rows_task, completed=before + stats.rows)

            for name in names:
                progress.update(task, description=f"Running {name}")
                run = job_run(job=name, now=at, started_by=JobRun.StartedBy.COMMAND,
                              started_from=command_line,
                              on_batch=functools.partial(batch, before=done))
                done += run.rows
                progress.update(rows_task, completed=done)
                runs.append(run)
                self.stdout.write(f"{name:34} {run.outcome:9} rows={run.rows:<7} "
                                  f"batches={run.batches:<4} {run.duration_ms} ms")
                progress.update(task, advance=1, description="Scheduled jobs")
        rows = sum(run.rows for run in runs)
        failed = [run.job for run in runs if run.outcome == JobRun.Outcome.FAILED]
        millis = sum(run.duration_ms or 0 for run in runs)
        self.stderr.write(
            f"Summary: {len(runs)} job(s) as of {at.isoformat()}, {rows:,} row(s) changed in "
            f"{millis:,} ms; " + (f"failed: {', '.join(failed)}." if failed else "all succeeded.")
        )


def _duration(seconds: float) -> str:
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= size:
            return f"{seconds / size:,.1f} {unit}"
    return f"{seconds:,.0f} seconds"
