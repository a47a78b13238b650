"""Rewards paid (the dashboard) against hand-computed values."""

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from loyalty import selectors
from loyalty.models import AwardTransaction
from tests.loyalty.factories import CustomerFactory, ProgramFactory

pytestmark = pytest.mark.django_db

AMS = ZoneInfo("Europe/Amsterdam")
START = datetime(2026, 3, 3, 23, 0, tzinfo=UTC)  # 4 March 00:00 in Amsterdam
END = datetime(2026, 3, 10, 23, 0, tzinfo=UTC)  # 11 March 00:00 in Amsterdam


@pytest.fixture
def ledger(db):
    program = ProgramFactory(time_zone="Europe/Amsterdam")
    points = program.currencies.get(kind="points")
    stars = program.currencies.create(code="STARS", name="Stars", kind="alternative")
    customer = CustomerFactory(program=program)
    rows = [
        (points, "100", datetime(2026, 3, 9, 10, 0, tzinfo=UTC), {}),
        (points, "50.5", datetime(2026, 3, 10, 8, 0, tzinfo=UTC), {}),
        (stars, "10", datetime(2026, 3, 9, 23, 30, tzinfo=UTC), {}),  # local 10 March
        (points, "999", datetime(2026, 3, 9, 10, 0, tzinfo=UTC), {"state": "CANCELLED"}),
        (points, "25", datetime(2026, 3, 9, 10, 0, tzinfo=UTC), {"kind": "correction"}),
        (points, "40", datetime(2026, 1, 1, 10, 0, tzinfo=UTC), {}),  # before the window
    ]
    for i, (currency, amount, at, fields) in enumerate(rows):
        row = AwardTransaction.objects.create(program=program, customer=customer,
                                              currency=currency, amount=Decimal(amount),
                                              award_key=str(i), **fields)
        AwardTransaction.objects.filter(pk=row.pk).update(created_at=at)
    other = CustomerFactory()
    row = AwardTransaction.objects.create(program=other.program, customer=other,
                                          currency=other.program.currencies.get(),
                                          amount=Decimal(7))
    AwardTransaction.objects.filter(pk=row.pk).update(created_at=datetime(2026, 3, 9,
                                                                          tzinfo=UTC))
    return program


def test_rewards_paid_by_currency_sums_posted_awards_in_the_window(ledger):
    assert selectors.rewards_paid_by_currency(program=ledger, start=START, end=END) == {
        "PTS": Decimal("150.5"), "STARS": Decimal(10)}


def test_rewards_paid_by_currency_lists_every_currency_when_nothing_paid(ledger):
    start = datetime(2025, 1, 1, tzinfo=UTC)
    assert selectors.rewards_paid_by_currency(
        program=ledger, start=start, end=datetime(2025, 2, 1, tzinfo=UTC)) == {
        "PTS": Decimal(0), "STARS": Decimal(0)}


def test_rewards_paid_by_day_groups_by_local_day(ledger):
    assert selectors.rewards_paid_by_day(program=ledger, start=START, end=END, tz=AMS) == {
        "PTS": {date(2026, 3, 9): Decimal(100), date(2026, 3, 10): Decimal("50.5")},
        "STARS": {date(2026, 3, 10): Decimal(10)},
    }
