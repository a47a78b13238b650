"""Reads for customer events."""

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import TruncDate

from achievements.models import Achievement
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
