"""A weekly spend streak end to end through ingestion (the detailed rules are in
test_streaks.py and the API tests)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from achievements.models import Enrolment, StreakLevelAchievement
from achievements.services import target_group_create
from events.models import CustomerEvent
from events.services import event_cancel, event_ingest
from loyalty.models import WalletBalance
from tests.events.factories import RewardOfferFactory

pytestmark = pytest.mark.django_db

MONDAY = datetime(2026, 1, 5, tzinfo=UTC)


@pytest.fixture
def group(program):
    return target_group_create(
        program=program, name="Weekly 100", tracking_type="STREAKS",
        frequency_type="WEEKLY", frequency=1, recurring_cycles=4, start_date=MONDAY,
        time_zone="UTC",
        targets=[{"name": "Spend 100", "target_entity": "TRANSACTION", "target_type": "SALES",
                  "event_name": "PURCHASE", "default_values": [Decimal(100)] * 4}],
        streaks=[{"name": "Two weeks", "target_count_of_sequence": 2},
                 {"name": "Four weeks", "target_count_of_sequence": 4}],
    )


def spend(program, amount, at, ref):
    return event_ingest(program=program, now=at + timedelta(minutes=1), data={
        "customer": "ann", "type": "PURCHASE", "amount": Decimal(amount), "performed_on": at,
        "external_system": "POS", "external_system_reference_number": ref,
    })


def test_weekly_streak_reaches_level_in_the_second_week_and_pays(program, group):
    level = group.levels.get(target_count_of_sequence=2)
    RewardOfferFactory(program=program, classifications=[level.classification], award_value=25)

    spend(program, 100, MONDAY + timedelta(days=1), "a")
    result = spend(program, 120, MONDAY + timedelta(days=8), "b")

    enrolment = Enrolment.objects.get()
    assert enrolment.current_count == 2
    assert [e["effectType"] for e in result.effects if e["effectType"].startswith("streak")] == [
        "streakCycleProgress", "streakLevelAchieved"]
    assert StreakLevelAchievement.objects.get().level == level
    assert WalletBalance.objects.get().balance == 25
    assert CustomerEvent.objects.filter(type="ACHIEVEMENT").count() == 1


def test_missed_week_resets_the_streak(program, group):
    spend(program, 100, MONDAY + timedelta(days=1), "a")
    spend(program, 100, MONDAY + timedelta(days=15), "b")  # week 2 missed

    assert Enrolment.objects.get().current_count == 1
    assert Enrolment.objects.get().longest_count == 1


def test_cancel_in_open_week_takes_level_and_award_back(program, group):
    level = group.levels.get(target_count_of_sequence=2)
    RewardOfferFactory(program=program, classifications=[level.classification], award_value=25)
    spend(program, 100, MONDAY + timedelta(days=1), "a")
    second = spend(program, 100, MONDAY + timedelta(days=8), "b")

    event_cancel(event=second.event, now=MONDAY + timedelta(days=9))

    assert Enrolment.objects.get().current_count == 1
    assert StreakLevelAchievement.objects.get().revoked_at is not None
    assert WalletBalance.objects.get().balance == 0
    assert CustomerEvent.objects.get(type="ACHIEVEMENT").life_cycle_state == "CANCELLED"
