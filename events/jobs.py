"""The scheduled jobs, by name, in the order `run_periodic_jobs` runs them.

Each is a service that takes `now`; `job_run` records every run (job, now, rows, batches,
duration, outcome) for the admin.
"""

from collections.abc import Callable
from datetime import datetime

from achievements.services.jobs import (
    achievement_iterations_close_due,
    periods_open_due,
    streak_cycles_close_due,
    streaks_at_risk_notify,
)
from loyalty.models import JobRun
from loyalty.services import JobStats, job_run_record, notifications_deliver_due

JOBS: dict[str, Callable[..., JobStats]] = {
    "open-due-periods": periods_open_due,
    "close-due-achievement-iterations": achievement_iterations_close_due,
    "close-due-streak-cycles": streak_cycles_close_due,
    "notify-streaks-at-risk": streaks_at_risk_notify,
    "deliver-notifications": notifications_deliver_due,
}


def job_run(*, job: str, now: datetime, started_by: str = JobRun.StartedBy.OTHER,
            started_from: str = "",
            on_batch: Callable[[JobStats], None] | None = None) -> JobRun:
    """Run one job as of `now` and return its record (which says who started it);
    `on_batch` hears of every committed batch."""
    with job_run_record(job=job, now=now, started_by=started_by, started_from=started_from,
                        on_batch=on_batch) as stats:
        JOBS[job](now=now, stats=stats)
    return stats.run
