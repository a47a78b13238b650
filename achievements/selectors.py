"""Reads for achievement definitions."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.db.models import Exists, OuterRef, QuerySet

from achievements import periods
from achievements.models import Achievement, AchievementProgress
from loyalty.models import Program


def achievement_list(*, program: Program) -> QuerySet[Achievement]:
    """A program's achievements, each annotated with `has_progress`."""
    return (
        Achievement.objects.filter(campaign__program=program)
        .select_related("campaign__program", "created_by")
        .annotate(
            has_progress=Exists(AchievementProgress.objects.filter(achievement=OuterRef("pk")))
        )
    )


def achievement_has_progress(*, achievement: Achievement) -> bool:
    annotated = getattr(achievement, "has_progress", None)
    if annotated is not None:
        return annotated
    return AchievementProgress.objects.filter(achievement=achievement).exists()


def achievement_time_zone(*, achievement: Achievement) -> ZoneInfo:
    return ZoneInfo(achievement.time_zone or achievement.campaign.program.time_zone)


def achievement_status(*, achievement: Achievement, now: datetime) -> str:
    """Definition-level status: `not_started` before a fixed start, `expired` after the end
    date, `inprogress` otherwise."""
    if achievement.fixed_start_date and now < achievement.fixed_start_date:
        return "not_started"
    if achievement.end_date and now >= achievement.end_date:
        return "expired"
    return "inprogress"


def achievement_is_locked(*, achievement: Achievement) -> bool:
    """Once the campaign runs or any customer has progress, only title and description change."""
    return achievement.campaign.state == "running" or achievement_has_progress(
        achievement=achievement
    )


def achievement_window_preview(*, achievement: Achievement, at: datetime) -> periods.Window | None:
    """The iteration a customer whose first contributing event happens at `at` would get."""
    return periods.iteration_window(
        activation_policy=achievement.activation_policy,
        recurring=achievement.recurrence_policy != Achievement.RecurrencePolicy.NO_RECURRENCE,
        spec=achievement.period_spec,
        tz=achievement_time_zone(achievement=achievement),
        at=at,
        fixed_start=achievement.fixed_start_date,
        end_date=achievement.end_date,
        end_override=achievement.end_override,
    )
