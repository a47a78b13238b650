"""Reads for customer events."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import TruncDate

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


def _plain(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value.normalize())


def cancel_kept_effects(*, event: CustomerEvent, effects_so_far: list[dict] = ()) -> list[dict]:
    """After `event` was cancelled: what it caused that stays, as effects
    (achievementProgressKept, achievementCustomerEventKept, awardTransactionKept). A completion
    the engine already reported kept (achievementCompletionKept) is not repeated."""
    reported = {e.get("progressTrackerId") for e in effects_so_far
                if e.get("effectType") == "achievementCompletionKept"}
    effects: list[dict] = [
        {"effectType": "achievementProgressKept", "achievementId": c.achievement_id,
         "achievementName": c.achievement_name, "progressTrackerId": c.record_id,
         "delta": _plain(c.delta), "reason": c.reason}
        for c in progress_kept_after_cancel(event=event) if c.record_id not in reported
    ]
    for kept in events_kept_after_cancel(event=event):
        effects.append({
            "effectType": "achievementCustomerEventKept",
            "customerEventId": kept.event.pk,
            "classification": kept.event.classification.code if kept.event.classification
            else None,
            "reason": kept.reason,
        })
        effects.extend(
            {"effectType": "awardTransactionKept", "awardTransactionId": a.pk,
             "customerEventId": a.customer_event_id, "rewardOfferId": a.reward_offer_id,
             "currency": a.currency.code, "amount": _plain(a.amount)}
            for a in kept.awards
        )
    return effects


def goal_event_cancel_refusal(*, event: CustomerEvent) -> str:
    """Why a Laurel-posted ACHIEVEMENT event cannot be cancelled directly, and what
    cancelling its trigger would do to it."""
    trigger = event.triggered_by
    message = (f"This ACHIEVEMENT event records {goal_event_origin(event=event)}, posted by "
               f"Laurel for event #{trigger.number}; it cannot be cancelled on its own.")
    reason = goal_event_kept_reason(event=event)
    if "does not allow rollback" in reason:
        return f"{message} Cancelling event #{trigger.number} keeps it too: {reason}"
    return (f"{message} Cancelling event #{trigger.number} takes it back, with its awards, "
            "if the goal no longer holds without that event.")


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def cancel_summary(*, event: CustomerEvent, effects: list[dict], changed: bool) -> str:
    """What a cancel did and what it kept, in words."""
    if not changed:
        when = event.cancelled_at.isoformat() if event.cancelled_at else "earlier"
        return f"Event #{event.number} was already cancelled ({when}); nothing changed."
    kinds = [e["effectType"] for e in effects]
    done = []
    if n := kinds.count("rollbackIncreasedAchievementProgress"):
        done.append(f"took back its progress in {_count(n, 'achievement iteration')}")
    if n := kinds.count("streakCycleRollback"):
        done.append(f"took back its part of {_count(n, 'streak cycle')}")
    if n := kinds.count("streakLevelUnAchieved"):
        done.append(f"took back {_count(n, 'streak level')}")
    if n := kinds.count("achievementCustomerEventCancelled"):
        done.append(f"cancelled {_count(n, 'achievement event')}")
    if n := kinds.count("awardTransactionCancelled"):
        done.append(f"cancelled {_count(n, 'award')}")
    message = f"Cancelled event #{event.number}" + (
        ": " + "; ".join(done) + "." if done else "; it had caused nothing to take back."
    )
    kept = []
    if n := kinds.count("achievementProgressKept") + kinds.count("achievementCompletionKept"):
        kept.append(f"its progress in {_count(n, 'completed achievement iteration')}")
    if n := kinds.count("achievementCustomerEventKept"):
        kept.append(_count(n, "achievement event"))
    if n := kinds.count("awardTransactionKept"):
        kept.append(_count(n, "award"))
    if kept:
        reasons = sorted({e["reason"] for e in effects if e.get("reason")})
        message += f" Kept {', '.join(kept)}: " + " ".join(reasons)
    return message
# Dashboard figures
# ------------------------------------------------------------------------------
# Every read below is bounded by a time window, never by a program's history: it is one range
# of the `event_program_activity` index, (program, performed_on) INCLUDE (type,
# life_cycle_state, customer_id), scanned index-only (every column the query touches is in
# the index), so a program with millions of events reads only the window's entries.
def _activity_in(*, program: Program, start: datetime, end: datetime) -> QuerySet:
    return (CustomerEvent.objects.filter(program=program, performed_on__gte=start,
                                         performed_on__lt=end,
                                         life_cycle_state=CustomerEvent.LifeCycleState.POSTED)
            .exclude(type=CustomerEvent.Type.ACHIEVEMENT).order_by())


def event_counts_by_day(*, program: Program, start: datetime, end: datetime,
                        tz: ZoneInfo) -> dict[date, int]:
    """Posted activity events (not ACHIEVEMENT ones) per local day of [start, end)."""
    rows = (_activity_in(program=program, start=start, end=end)
            .annotate(day=TruncDate("performed_on", tzinfo=tz))
            .values("day").annotate(n=Count("*")).values_list("day", "n"))
    return dict(rows)


def event_count(*, program: Program, start: datetime, end: datetime) -> int:
    return _activity_in(program=program, start=start, end=end).count()


def active_customer_count(*, program: Program, start: datetime, end: datetime) -> int:
    """Customers with at least one posted activity event in [start, end)."""
    return (_activity_in(program=program, start=start, end=end)
            .aggregate(n=Count("customer_id", distinct=True))["n"])


def achievement_rewards_paid(*, achievement: Achievement) -> dict[str, Decimal]:
    """What the reward offers paid on the achievement's ACHIEVEMENT events, per currency
    code (awards still posted). Bounded by the achievement's completions: its events through
    the classification index, their awards through the ledger's customer_event_id index."""
    if achievement.classification_id is None:
        return {}
    events = CustomerEvent.objects.filter(
        classification_id=achievement.classification_id, type=CustomerEvent.Type.ACHIEVEMENT
    ).values("pk")
    rows = (AwardTransaction.objects.filter(customer_event_id__in=events,
                                            kind=AwardTransaction.Kind.AWARD,
                                            state=AwardTransaction.State.POSTED)
            .order_by().values("currency__code").annotate(total=Sum("amount"))
            .values_list("currency__code", "total"))
    return dict(rows)
