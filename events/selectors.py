"""Reads for customer events."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet

from achievements.models import Achievement, ProgressContribution
from events.models import CustomerEvent
from loyalty.models import AwardTransaction, Program


def event_list(*, program: Program) -> QuerySet[CustomerEvent]:
    return CustomerEvent.objects.filter(program=program).select_related(
        "customer", "classification", "program"
    )


def awards_by_event(*, event_ids: Iterable[int]) -> dict[int, list[AwardTransaction]]:
    """Ledger rows per customer event id, in one query."""
    grouped: dict[int, list[AwardTransaction]] = defaultdict(list)
    rows = AwardTransaction.objects.filter(customer_event_id__in=list(event_ids)).select_related(
        "currency"
    ).order_by("pk")
    for row in rows:
        grouped[row.customer_event_id].append(row)
    return grouped


@dataclass(frozen=True)
class KeptGoalEvent:
    """An ACHIEVEMENT event a cancelled event caused that stays posted, and why."""

    event: CustomerEvent
    reason: str
    awards: list[AwardTransaction]


def _goal_achievement(event: CustomerEvent) -> Achievement | None:
    """The achievement an ACHIEVEMENT event Laurel posted records a completion of, if any
    (its reference is `achievement:<id>:iteration:<id>:event:<id>`)."""
    parts = event.external_system_reference_number.split(":")
    if event.external_system != CustomerEvent.LAUREL_SYSTEM or parts[0] != "achievement":
        return None
    try:
        return Achievement.objects.filter(pk=int(parts[1])).first()
    except (IndexError, ValueError):
        return None


def goal_event_origin(*, event: CustomerEvent) -> str:
    """What a Laurel-posted ACHIEVEMENT event records, in words."""
    achievement = _goal_achievement(event)
    if achievement is not None:
        return f"the completion of the achievement {achievement.name}"
    if event.external_system_reference_number.startswith("streak-level:"):
        return "a streak level reached"
    return "a streak target met"


def goal_event_kept_reason(*, event: CustomerEvent) -> str:
    achievement = _goal_achievement(event)
    if achievement is not None and not achievement.allow_rollback_after_completion:
        return (f"The achievement {achievement.name} does not allow rollback after "
                "completion: the completion and its awards are kept.")
    return "The goal it records still holds without the cancelled event."


def events_kept_after_cancel(*, event: CustomerEvent) -> list[KeptGoalEvent]:
    """The ACHIEVEMENT events `event` caused that are still posted after its cancellation,
    with their awards still in force."""
    kept = list(CustomerEvent.objects.filter(
        triggered_by=event, type=CustomerEvent.Type.ACHIEVEMENT,
        life_cycle_state=CustomerEvent.LifeCycleState.POSTED,
    ).select_related("classification").order_by("pk"))
    awards = awards_by_event(event_ids=[e.pk for e in kept])
    return [
        KeptGoalEvent(
            event=e, reason=goal_event_kept_reason(event=e),
            awards=[a for a in awards.get(e.pk, [])
                    if a.kind == AwardTransaction.Kind.AWARD
                    and a.state == AwardTransaction.State.POSTED],
        )
        for e in kept
    ]


@dataclass(frozen=True)
class KeptProgress:
    """What a cancelled event added to a completed iteration that stays (the achievement
    does not allow rollback after completion)."""

    achievement_id: int
    achievement_name: str
    record_id: int
    delta: Decimal
    reason: str


def progress_kept_after_cancel(*, event: CustomerEvent) -> list[KeptProgress]:
    rows = (ProgressContribution.objects
            .filter(customer_event_id=event.pk, reversed_at__isnull=True,
                    progress_record__customer_id=event.customer_id)
            .select_related("progress_record__achievement").order_by("pk"))
    return [
        KeptProgress(
            achievement_id=row.progress_record.achievement_id,
            achievement_name=row.progress_record.achievement.name,
            record_id=row.progress_record_id, delta=row.delta,
            reason=(f"The achievement {row.progress_record.achievement.name} does not allow "
                    "rollback after completion: the completion and its awards are kept."),
        )
        for row in rows
    ]
