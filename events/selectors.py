"""Reads for customer events."""

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import QuerySet

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
