"""Event figures of the dashboard against hand-computed values. The program is in
Amsterdam (UTC+1 in March), so days are local days."""

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from events import selectors
from events.dashboard import last_days
from events.models import CustomerEvent
from loyalty.models import AwardTransaction
from tests.achievements.factories import AchievementFactory
from tests.loyalty.factories import CustomerFactory, ProgramFactory

pytestmark = pytest.mark.django_db

AMS = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def event(customer, at, *, type="PURCHASE", state="POSTED", classification=None, program=None):
    return CustomerEvent.objects.create(
        program=program or customer.program, customer=customer, type=type, performed_on=at,
        received_at=at, life_cycle_state=state, classification=classification)


@pytest.fixture
def activity(db):
    program = ProgramFactory(time_zone="Europe/Amsterdam")
    a, b, c, d = (CustomerFactory(program=program) for _ in range(4))
    event(a, datetime(2026, 3, 9, 23, 30, tzinfo=UTC))  # local Tue 10 Mar 00:30
    event(a, datetime(2026, 3, 8, 10, 0, tzinfo=UTC))
    event(b, datetime(2026, 3, 2, 10, 0, tzinfo=UTC), type="VISIT")
    event(b, datetime(2026, 3, 9, 10, 0, tzinfo=UTC), state="CANCELLED")  # not counted
    achievement = AchievementFactory(campaign__program=program)
    event(c, datetime(2026, 3, 9, 10, 0, tzinfo=UTC), type="ACHIEVEMENT",
          classification=achievement.classification)  # not activity
    event(d, datetime(2026, 1, 1, 10, 0, tzinfo=UTC))  # long ago
    other = CustomerFactory()
    event(other, datetime(2026, 3, 9, 10, 0, tzinfo=UTC))  # another program
    return program


def test_event_counts_by_day_counts_posted_activity_per_local_day(activity):
    window = last_days(now=NOW, tz=AMS, days=10)  # 1 to 10 March, local
    counts = selectors.event_counts_by_day(program=activity, start=window.start,
                                           end=window.end, tz=AMS)
    assert counts == {date(2026, 3, 10): 1, date(2026, 3, 8): 1, date(2026, 3, 2): 1}


def test_event_count_and_active_customers_count_the_window_only(activity):
    week = last_days(now=NOW, tz=AMS, days=7)  # 4 to 10 March, local
    month = last_days(now=NOW, tz=AMS, days=30)
    assert selectors.event_count(program=activity, start=week.start, end=NOW) == 2
    assert selectors.active_customer_count(program=activity, start=week.start, end=NOW) == 1
    assert selectors.active_customer_count(program=activity, start=month.start, end=NOW) == 2


def test_active_customer_count_is_zero_when_window_is_empty(activity):
    start = datetime(2025, 1, 1, tzinfo=UTC)
    assert selectors.active_customer_count(program=activity, start=start,
                                           end=datetime(2025, 2, 1, tzinfo=UTC)) == 0


def test_achievement_rewards_paid_sums_posted_awards_of_its_events_per_currency():
    # given: two completions paid 100 PTS each and 5 STARS once; one award cancelled
    program = ProgramFactory()
    points = program.currencies.get(kind="points")
    stars = program.currencies.create(code="STARS", name="Stars", kind="alternative")
    achievement = AchievementFactory(campaign__program=program)
    other = AchievementFactory(campaign__program=program)
    customer = CustomerFactory(program=program)
    at = datetime(2026, 3, 9, tzinfo=UTC)
    first, second, third = (event(customer, at, type="ACHIEVEMENT",
                                  classification=achievement.classification) for _ in range(3))
    elsewhere = event(customer, at, type="ACHIEVEMENT", classification=other.classification)

    def award(ev, amount, currency=points, **fields):
        AwardTransaction.objects.create(program=program, customer=customer, currency=currency,
                                        amount=Decimal(amount), customer_event_id=ev.pk,
                                        award_key=f"{ev.pk}-{amount}", **fields)

    award(first, 100)
    award(second, 100)
    award(second, 5, currency=stars)
    award(third, 100, state="CANCELLED")
    award(elsewhere, 999)
    # when
    paid = selectors.achievement_rewards_paid(achievement=achievement)
    # then
    assert paid == {"PTS": Decimal(200), "STARS": Decimal(5)}
