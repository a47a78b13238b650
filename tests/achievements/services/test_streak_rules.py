"""Streak targets end to end: definitions through `target_group_create`, events in through
`event_ingest` / `event_cancel`, standing out through the models and `customer_streak_list`.
Clocks are pinned at the cycle and grace edges (one second before, at, after)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from achievements.models import (
    CycleContribution,
    CycleProgress,
    Enrolment,
    StreakLevelAchievement,
    TargetPeriod,
)
from achievements.selectors import customer_streak_list
from achievements.services import (
    enrolment_open,
    enrolment_unenrol,
    target_group_create,
)
from events.models import CustomerEvent
from events.services import event_cancel, event_ingest
from loyalty.models import AwardTransaction, Customer, WalletBalance
from tests.achievements.factories import AchievementFactory
from tests.events.factories import RewardOfferFactory
from tests.loyalty.factories import (
    CampaignFactory,
    CurrencyFactory,
    CustomerFactory,
    ProgramFactory,
)

pytestmark = pytest.mark.django_db

SECOND = timedelta(seconds=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
WEEK = timedelta(days=7)
MONDAY = datetime(2026, 1, 5, tzinfo=UTC)  # start of Cycle_1
AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def week(n: int) -> datetime:
    """Start of the n-th weekly cycle (0-based)."""
    return MONDAY + n * WEEK


@pytest.fixture
def program(db):
    return ProgramFactory(name="Streak Club", time_zone="UTC")


def streak_group(program, *, tracking_type="STREAKS", levels=(1, 2, 3), cycles=4, target=100,
                 kpi="SALES", event_name="PURCHASE", grace=timedelta(0), name="Weekly spend",
                 **target_fields):
    """A weekly group from MONDAY: `cycles` cycles, one target of `target` per cycle."""
    return target_group_create(
        program=program, name=name, tracking_type=tracking_type, frequency_type="WEEKLY",
        frequency=1, recurring_cycles=cycles, start_date=MONDAY, time_zone="UTC",
        grace_period=grace,
        targets=[{"name": "Spend", "target_entity": "TRANSACTION", "target_type": kpi,
                  "event_name": event_name, "default_values": [Decimal(target)] * cycles,
                  **target_fields}],
        streaks=[{"name": f"Level {n}", "target_count_of_sequence": n} for n in levels] or None,
    )


def ingest(program, *, at, amount="100", type="PURCHASE", customer="ann", now=None, **fields):
    """One customer event through the whole pipeline, received at `now` (default: `at`)."""
    data = {"customer": customer, "type": type, "performed_on": at, "amount": Decimal(amount),
            **fields}
    with time_machine.travel(now or at, tick=False):
        return event_ingest(program=program, data=data, now=timezone.now())


def cancel(result, *, now):
    with time_machine.travel(now, tick=False):
        return event_cancel(event=result.event, now=timezone.now())


def standing(*, now, customer="ann"):
    """The customer's one streak, as read at `now`."""
    with time_machine.travel(now, tick=False):
        [entry] = customer_streak_list(customer=Customer.objects.get(integration_id=customer),
                                       now=timezone.now())
    return entry


def states(entry) -> list[str]:
    return [row.state for row in entry.cycles]


def values(entry) -> list[Decimal]:
    return [row.value for row in entry.cycles]


def reached_levels(customer="ann") -> list[int]:
    """Levels held now (not taken back), lowest first."""
    return sorted(StreakLevelAchievement.objects.filter(
        enrolment__customer__integration_id=customer, revoked_at__isnull=True,
    ).values_list("level__target_count_of_sequence", flat=True))


def achievement_events(*, state=None) -> list[tuple[str, str]]:
    """Laurel's ACHIEVEMENT events in the order they were posted: (classification, state)."""
    events = CustomerEvent.objects.filter(type="ACHIEVEMENT").order_by("pk")
    if state:
        events = events.filter(life_cycle_state=state)
    return [(e.classification.code, e.life_cycle_state) for e in events]


def level_code(group, n: int) -> str:
    return group.levels.get(target_count_of_sequence=n).classification.code


def pay_levels(program, group, award=25):
    for level in group.levels.all():
        RewardOfferFactory(program=program, classifications=[level.classification],
                           award_value=award)


def balance(customer="ann") -> Decimal:
    wallet = WalletBalance.objects.filter(customer__integration_id=customer).first()
    return wallet.balance if wallet else Decimal(0)


# Definitions: generated periods
# ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("frequency_type", "frequency", "ends"),
    [
        ("DAILY", 10, [datetime(2026, 1, 11), datetime(2026, 1, 21), datetime(2026, 1, 31)]),
        ("WEEKLY", 2, [datetime(2026, 1, 15), datetime(2026, 1, 29), datetime(2026, 2, 12)]),
        ("MONTHLY", 1, [datetime(2026, 2, 1), datetime(2026, 3, 1), datetime(2026, 4, 1)]),
        ("QUARTERLY", 1, [datetime(2026, 4, 1), datetime(2026, 7, 1), datetime(2026, 10, 1)]),
        ("HALF_YEARLY", 1, [datetime(2026, 7, 1), datetime(2027, 1, 1), datetime(2027, 7, 1)]),
        ("YEARLY", 1, [datetime(2027, 1, 1), datetime(2028, 1, 1), datetime(2029, 1, 1)]),
    ],
)
def test_target_group_create_generates_consecutive_local_cycles_when_given_a_start_date(
    program, frequency_type, frequency, ends
):
    # given
    start = datetime(2026, 1, 1, tzinfo=AMSTERDAM)

    # when
    group = target_group_create(
        program=program, name="Generated", tracking_type="DEFAULT",
        frequency_type=frequency_type, frequency=frequency, recurring_cycles=3,
        start_date=start, time_zone="Europe/Amsterdam",
        targets=[{"name": "Buy", "target_entity": "TRANSACTION", "target_type": "COUNT",
                  "default_values": [Decimal(1)] * 3}],
    )

    # then
    rows = list(group.periods.order_by("position"))
    local_ends = [end.replace(tzinfo=AMSTERDAM) for end in ends]
    assert [p.ref_code for p in rows] == ["Cycle_1", "Cycle_2", "Cycle_3"]
    assert [p.start_date for p in rows] == [start, *local_ends[:2]]
    assert [p.end_date for p in rows] == local_ends
    assert group.total_periods == 3


def test_target_group_create_starts_daily_cycles_at_local_midnight_when_dst_begins(program):
    # given: clocks go forward in Amsterdam on Sunday 2026-03-29
    start = datetime(2026, 3, 27, tzinfo=AMSTERDAM)

    # when
    group = target_group_create(
        program=program, name="Daily", tracking_type="STREAKS", frequency_type="DAILY",
        frequency=1, recurring_cycles=4, start_date=start, time_zone="Europe/Amsterdam",
        targets=[{"name": "Visit", "target_entity": "EVENT", "target_type": "VISIT",
                  "default_values": [Decimal(1)] * 4}],
        streaks=[{"name": "Four days", "target_count_of_sequence": 4}],
    )

    # then
    rows = list(TargetPeriod.objects.filter(group=group).order_by("position"))
    assert [p.start_date.astimezone(AMSTERDAM).replace(tzinfo=None) for p in rows] == [
        datetime(2026, 3, day) for day in (27, 28, 29, 30)]
    assert [(p.end_date - p.start_date) / HOUR for p in rows] == [24, 24, 23, 24]
    assert rows[2].start_date == datetime(2026, 3, 28, 23, tzinfo=UTC)
    assert rows[2].end_date == datetime(2026, 3, 29, 22, tzinfo=UTC)


def test_target_group_create_stores_explicit_periods_in_time_order_when_given_unsorted(program):
    # given
    later = {"ref_code": "B", "start_date": week(1), "end_date": week(2)}
    earlier = {"ref_code": "A", "start_date": week(0), "end_date": week(1)}

    # when
    group = target_group_create(
        program=program, name="Custom", tracking_type="NON_CONTINUOUS_STREAKS",
        frequency_type="CUSTOM", periods=[later, earlier],
        targets=[{"name": "Buy", "target_entity": "TRANSACTION", "target_type": "COUNT",
                  "default_values": [Decimal(1), Decimal(2)]}],
        streaks=[{"name": "Both", "target_count_of_sequence": 2}],
    )

    # then
    rows = list(group.periods.order_by("position"))
    assert [(p.position, p.ref_code) for p in rows] == [(0, "A"), (1, "B")]


# Evaluation: what an event adds
# ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kpi", "extra", "events", "expected"),
    [
        ("COUNT", {}, [("30", {}), ("0", {})], Decimal(2)),
        ("SALES", {}, [("30", {}), ("12.5", {})], Decimal("42.5")),
        ("QUANTITY", {}, [("30", {"quantity": 3}), ("30", {})], Decimal(4)),
        ("EVENT_ATTRIBUTE", {"attribute_name": "cups"},
         [("30", {"cups": 2}), ("30", {"cups": "1.5"}), ("30", {"tea": 9})], Decimal("3.5")),
    ],
)
def test_streaks_record_event_adds_the_kpi_contribution_when_event_matches(
    program, kpi, extra, events, expected
):
    # given
    group = streak_group(program, kpi=kpi, target=1000, **extra)

    # when
    for i, (amount, attributes) in enumerate(events):
        ingest(program, at=week(0) + i * HOUR, amount=amount, attributes=attributes)

    # then
    cycle = CycleProgress.objects.get(enrolment__group=group)
    assert cycle.period.ref_code == "Cycle_1"
    assert cycle.value == expected


def test_streaks_record_event_counts_one_visit_per_local_day_when_events_cross_utc_midnight(
    program
):
    # given: 22:30 UTC is 23:30 in Amsterdam (Monday); 23:30 UTC is already Tuesday there
    group = target_group_create(
        program=program, name="Visits", tracking_type="STREAKS", frequency_type="WEEKLY",
        recurring_cycles=2, start_date=datetime(2026, 1, 5, tzinfo=AMSTERDAM),
        time_zone="Europe/Amsterdam",
        targets=[{"name": "Visit", "target_entity": "EVENT", "target_type": "VISIT",
                  "default_values": [Decimal(3)] * 2}],
        streaks=[{"name": "One week", "target_count_of_sequence": 1}],
    )
    monday_evening = datetime(2026, 1, 5, 22, 30, tzinfo=UTC)

    # when
    ingest(program, at=monday_evening - 2 * HOUR)  # Monday 21:30 local
    ingest(program, at=monday_evening)  # Monday 23:30 local: same day
    ingest(program, at=monday_evening + HOUR)  # Tuesday 00:30 local
    ingest(program, at=monday_evening + 2 * HOUR)  # Tuesday 01:30 local: same day

    # then
    cycle = CycleProgress.objects.get(enrolment__group=group)
    assert cycle.value == 2
    assert cycle.met_at is None
    assert list(CycleContribution.objects.filter(cycle=cycle).order_by("pk")
                .values_list("delta", flat=True)) == [1, 0, 1, 0]


def test_streaks_record_event_counts_currency_awarded_by_the_same_event_when_kpi_is_all(
    program
):
    # given: the purchase completes an achievement that pays 30 points
    achievement = AchievementFactory(campaign=CampaignFactory(program=program, running=True),
                                     target=1, period="", event_types=["PURCHASE"])
    RewardOfferFactory(program=program, classifications=[achievement.classification],
                       award_value=30)
    group = streak_group(program, kpi="ALL", target=30, target_entity="POINTS", levels=(1,))

    # when
    ingest(program, at=week(0) + HOUR, amount="5")
    ingest(program, at=week(0) + 2 * HOUR, amount="5")  # achievement done: nothing awarded

    # then
    cycle = CycleProgress.objects.get(enrolment__group=group)
    assert cycle.value == 30
    assert reached_levels() == [1]


def test_streaks_record_event_counts_the_alternative_currency_when_target_names_it(program):
    # given
    stars = CurrencyFactory(program=program, code="STARS")
    achievement = AchievementFactory(campaign=CampaignFactory(program=program, running=True),
                                     target=1, period="1D", event_types=["PURCHASE"],
                                     recurrence_policy="on_completion")
    RewardOfferFactory(program=program, classifications=[achievement.classification],
                       award_value=4, currency=stars)
    RewardOfferFactory(program=program, classifications=[achievement.classification],
                       award_value=50)  # points: not what this target counts
    group = streak_group(program, kpi="ALL", target=10, levels=(1,),
                         target_entity="ALTERNATE_CURRENCIES",
                         alternate_currency_identifier="STARS")

    # when
    for i in range(3):
        ingest(program, at=week(0) + i * HOUR, amount="5")

    # then
    cycle = CycleProgress.objects.get(enrolment__group=group)
    assert cycle.value == 12
    assert cycle.met_at == week(0) + 2 * HOUR


@pytest.mark.parametrize(("amount", "counted"), [("10", False), ("10.01", True)])
def test_streaks_record_event_applies_the_cel_expression_when_it_uses_current_event(
    program, amount, counted
):
    # given
    group = streak_group(program, kpi="COUNT", target=1, levels=(1,),
                         expression="currentEvent.amount > 10")

    # when
    ingest(program, at=week(0) + HOUR, amount=amount)

    # then
    assert CycleProgress.objects.filter(enrolment__group=group).exists() is counted
    assert Enrolment.objects.filter(group=group).exists() is counted
    assert reached_levels() == ([1] if counted else [])


@pytest.mark.parametrize(("spent", "met"), [("99.99", False), ("100", True), ("100.01", True)])
def test_cycle_is_met_when_value_reaches_the_target(program, spent, met):
    # given
    streak_group(program, levels=(1,))

    # when
    ingest(program, at=week(0) + HOUR, amount=spent)

    # then
    entry = standing(now=week(0) + 2 * HOUR)
    assert entry.cycles[0].state == ("met" if met else "open")
    assert entry.current_count == int(met)
    assert reached_levels() == ([1] if met else [])


def test_streaks_record_event_ignores_other_event_types_when_target_names_purchase(program):
    # given
    group = streak_group(program, kpi="COUNT", target=1, levels=(1,))

    # when
    ingest(program, at=week(0) + HOUR, type="CUSTOM")

    # then
    assert not Enrolment.objects.filter(group=group).exists()


# Continuous streaks
# ------------------------------------------------------------------------------
def test_streak_reaches_level_inside_the_running_cycle_when_it_is_met(program):
    # given
    group = streak_group(program, levels=(1, 2, 3))
    pay_levels(program, group)
    ingest(program, at=week(0) + DAY)

    # when
    ingest(program, at=week(1) + DAY, amount="60")
    before = standing(now=week(1) + DAY)
    result = ingest(program, at=week(1) + 2 * DAY, amount="40")

    # then
    assert before.current_count == 1
    assert [e["effectType"] for e in result.effects] == [
        "streakCycleProgress", "streakLevelAchieved", "achievementCustomerEvent",
        "awardTransaction"]
    assert reached_levels() == [1, 2]
    assert Enrolment.objects.get().current_count == 2
    assert achievement_events() == [(level_code(group, 1), "POSTED"),
                                    (level_code(group, 2), "POSTED")]
    assert balance() == 50


@pytest.mark.parametrize(
    ("now", "current", "state"),
    [
        (week(3) - SECOND, 2, "open"),
        (week(3), 0, "missed"),
        (week(3) + SECOND, 0, "missed"),
    ],
)
def test_streak_resets_to_zero_when_a_cycle_closes_unmet(program, now, current, state):
    # given
    streak_group(program)
    ingest(program, at=week(0) + DAY)
    ingest(program, at=week(2) - SECOND)  # the second cycle met in its last second

    # when
    entry = standing(now=now)

    # then
    assert states(entry)[:3] == ["met", "met", state]
    assert (entry.current_count, entry.longest_count) == (current, 2)


def test_streak_keeps_the_longest_run_when_a_later_run_is_shorter(program):
    # given
    streak_group(program, cycles=5, levels=(1, 2, 3))
    for n in (0, 1, 2, 4):  # week 3 missed
        ingest(program, at=week(n) + DAY)

    # when
    entry = standing(now=week(4) + 2 * DAY)

    # then
    assert states(entry) == ["met", "met", "met", "missed", "met"]
    assert (entry.current_count, entry.longest_count) == (1, 3)
    assert Enrolment.objects.get().longest_count == 3
    assert [lv["status"] for lv in entry.levels] == ["ACHIEVED"] * 3


def test_streak_reaches_each_level_once_when_run_restarts_after_a_break(program):
    # given
    group = streak_group(program, cycles=4, levels=(1, 2))
    pay_levels(program, group)
    ingest(program, at=week(0) + DAY)
    ingest(program, at=week(1) + DAY)  # level 2 reached; week 2 missed

    # when
    ingest(program, at=week(3) + DAY)

    # then
    assert standing(now=week(3) + 2 * DAY).current_count == 1
    assert achievement_events() == [(level_code(group, 1), "POSTED"),
                                    (level_code(group, 2), "POSTED")]
    assert StreakLevelAchievement.objects.count() == 2
    assert balance() == 50


def test_streak_ignores_the_running_cycle_when_it_is_not_met_yet(program):
    # given
    streak_group(program)
    ingest(program, at=week(0) + DAY)
    ingest(program, at=week(1) + DAY)

    # when
    ingest(program, at=week(2) + DAY, amount="99")
    entry = standing(now=week(2) + 2 * DAY)

    # then
    assert states(entry) == ["met", "met", "open", "upcoming"]
    assert entry.current_count == 2
    assert reached_levels() == [1, 2]


# Non-continuous streaks
# ------------------------------------------------------------------------------
def test_non_continuous_streak_counts_every_met_cycle_when_cycles_are_missed_between(program):
    # given
    group = streak_group(program, tracking_type="NON_CONTINUOUS_STREAKS", cycles=5,
                         levels=(1, 3))
    pay_levels(program, group)
    ingest(program, at=week(0) + DAY)
    ingest(program, at=week(2) + DAY)  # weeks 1 and 3 missed

    # when
    ingest(program, at=week(4) + DAY)
    entry = standing(now=week(4) + 2 * DAY)

    # then
    assert states(entry) == ["met", "missed", "met", "missed", "met"]
    assert (entry.current_count, entry.longest_count) == (3, 3)
    assert reached_levels() == [1, 3]
    assert balance() == 50


# Levels taken back
# ------------------------------------------------------------------------------
def test_event_cancel_takes_back_the_level_when_it_un_meets_the_running_cycle(program):
    # given
    group = streak_group(program, levels=(1, 2))
    pay_levels(program, group, award=25)
    ingest(program, at=week(0) + DAY)
    meeting = ingest(program, at=week(1) + DAY)

    # when
    result = cancel(meeting, now=week(1) + 2 * DAY)

    # then
    assert [e["effectType"] for e in result.effects if e["effectType"].startswith(
        ("streak", "achievementCustomerEventCancelled"))] == [
        "streakCycleRollback", "streakLevelUnAchieved", "achievementCustomerEventCancelled"]
    assert reached_levels() == [1]
    assert achievement_events() == [(level_code(group, 1), "POSTED"),
                                    (level_code(group, 2), "CANCELLED")]
    assert balance() == 25
    assert AwardTransaction.objects.filter(kind="cancellation").count() == 1
    assert standing(now=week(1) + 2 * DAY).current_count == 1


def test_return_takes_back_the_level_when_it_un_meets_the_running_cycle(program):
    # given
    group = streak_group(program, levels=(1, 2))
    pay_levels(program, group, award=25)
    ingest(program, at=week(0) + DAY)
    ingest(program, at=week(1) + DAY, amount="120")

    # when
    ingest(program, at=week(1) + 2 * DAY, type="RETURN", amount="30")

    # then
    cycle = CycleProgress.objects.get(period__ref_code="Cycle_2")
    assert (cycle.value, cycle.met_at) == (Decimal(90), None)
    assert reached_levels() == [1]
    assert achievement_events(state="CANCELLED") == [(level_code(group, 2), "CANCELLED")]
    assert balance() == 25


def test_return_takes_back_at_most_the_cycle_value_when_it_exceeds_it(program):
    # given
    streak_group(program, levels=(1,))
    ingest(program, at=week(0) + DAY, amount="40")

    # when
    returned = ingest(program, at=week(0) + 2 * DAY, type="RETURN", amount="100")
    ingest(program, at=week(0) + 3 * DAY, amount="100")

    # then
    assert CycleContribution.objects.get(customer_event_id=returned.event.pk).delta == -40
    assert CycleProgress.objects.get().value == 100
    assert reached_levels() == [1]


def test_event_cancel_reaches_the_level_again_and_pays_again_when_a_return_is_cancelled(program):
    # given
    group = streak_group(program, levels=(1,))
    pay_levels(program, group, award=25)
    ingest(program, at=week(0) + DAY)
    returned = ingest(program, at=week(0) + 2 * DAY, type="RETURN", amount="10")

    # when
    cancel(returned, now=week(0) + 3 * DAY)

    # then
    assert reached_levels() == [1]
    assert achievement_events() == [(level_code(group, 1), "CANCELLED"),
                                    (level_code(group, 1), "POSTED")]
    assert balance() == 25
    assert StreakLevelAchievement.objects.filter(revoked_at__isnull=False).count() == 1


@pytest.mark.parametrize(
    ("grace", "cancelled", "revoked"),
    [
        (timedelta(0), week(2) - SECOND, True),
        (timedelta(0), week(2), False),
        (timedelta(0), week(2) + SECOND, False),
        (6 * HOUR, week(2) + 6 * HOUR - SECOND, True),
        (6 * HOUR, week(2) + 6 * HOUR, False),
    ],
)
def test_event_cancel_takes_back_the_level_when_the_reaching_cycle_still_takes_events(
    program, grace, cancelled, revoked
):
    # given
    group = streak_group(program, levels=(1, 2), grace=grace)
    pay_levels(program, group, award=25)
    ingest(program, at=week(0) + DAY)
    meeting = ingest(program, at=week(1) + DAY)

    # when
    cancel(meeting, now=cancelled)

    # then
    assert reached_levels() == ([1] if revoked else [1, 2])
    assert achievement_events() == [(level_code(group, 1), "POSTED"),
                                    (level_code(group, 2), "CANCELLED" if revoked else "POSTED")]
    assert balance() == (25 if revoked else 50)
    assert CycleProgress.objects.get(period__ref_code="Cycle_2").value == 0


def test_return_takes_back_sales_when_target_counts_any_activity(program):
    # given
    streak_group(program, levels=(1,), event_name="")
    ingest(program, at=week(0) + DAY, amount="100")

    # when
    ingest(program, at=week(0) + 2 * DAY, type="RETURN", amount="30")

    # then
    assert CycleProgress.objects.get().value == 70
    assert reached_levels() == []


# Late events and the grace period
# ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("received", "counted"),
    [
        (week(1) - SECOND, True),
        (week(1), False),
        (week(1) + SECOND, False),
    ],
)
def test_late_event_counts_only_while_the_cycle_is_open_when_there_is_no_grace(
    program, received, counted
):
    # given
    streak_group(program, levels=(1,))

    # when
    ingest(program, at=week(1) - 2 * SECOND, now=received)

    # then
    assert CycleProgress.objects.filter(value=100).exists() is counted
    assert reached_levels() == ([1] if counted else [])


@pytest.mark.parametrize(
    ("received", "counted"),
    [
        (week(2) + 6 * HOUR - SECOND, True),
        (week(2) + 6 * HOUR, False),
        (week(2) + 6 * HOUR + SECOND, False),
    ],
)
def test_late_event_meets_a_cycle_and_keeps_the_streak_when_it_arrives_within_grace(
    program, received, counted
):
    # given
    group = streak_group(program, levels=(1, 2, 3), grace=6 * HOUR)
    pay_levels(program, group)
    ingest(program, at=week(0) + DAY)
    ingest(program, at=week(1) + DAY, amount="50")
    ingest(program, at=week(2) + HOUR)  # week 3 met while week 2 is still in grace

    # when
    ingest(program, at=week(2) - HOUR, amount="50", now=received)

    # then
    entry = standing(now=week(2) + 7 * HOUR)
    assert values(entry)[:3] == [100, 100 if counted else 50, 100]
    assert states(entry)[:3] == ["met", "met" if counted else "missed", "met"]
    assert entry.current_count == (3 if counted else 1)
    assert reached_levels() == ([1, 2, 3] if counted else [1])
    assert balance() == (75 if counted else 25)


def test_late_event_reaches_the_levels_in_order_when_it_joins_two_runs(program):
    # given
    group = streak_group(program, cycles=4, levels=(1, 2, 3), grace=DAY)
    ingest(program, at=week(0) + DAY)
    ingest(program, at=week(2) + HOUR)  # week 2 (index 1) pending grace

    # when
    result = ingest(program, at=week(1) + DAY, now=week(2) + 2 * HOUR)

    # then
    assert [e["streakLevelName"] for e in result.effects
            if e["effectType"] == "streakLevelAchieved"] == ["Level 2", "Level 3"]
    assert achievement_events() == [(level_code(group, n), "POSTED") for n in (1, 2, 3)]


@pytest.mark.parametrize(
    ("now", "state", "current"),
    [
        (week(2) - SECOND, "open", 1),
        (week(2), "pending_grace", 1),
        (week(2) + 6 * HOUR - SECOND, "pending_grace", 1),
        (week(2) + 6 * HOUR, "missed", 0),
    ],
)
def test_cycle_state_moves_to_missed_when_the_grace_period_ends(program, now, state, current):
    # given
    streak_group(program, levels=(1, 2), grace=6 * HOUR)
    ingest(program, at=week(0) + DAY)
    ingest(program, at=week(1) + DAY, amount="10")

    # when
    entry = standing(now=now)

    # then
    assert states(entry)[:2] == ["met", state]
    assert entry.current_count == current


# Enrolment
# ------------------------------------------------------------------------------
def test_streaks_record_event_enrols_implicitly_when_enrolment_method_is_transaction(program):
    # given
    group = streak_group(program, levels=(1,))

    # when
    ingest(program, at=week(1) + DAY, amount="10", now=week(1) + DAY)

    # then
    enrolment = Enrolment.objects.get(group=group)
    assert enrolment.customer.integration_id == "ann"
    assert enrolment.counting_from == week(1)
    assert enrolment.enrolled_at == week(1) + DAY


def test_streaks_record_event_counts_nothing_when_import_target_and_customer_not_enrolled(
    program
):
    # given
    group = streak_group(program, levels=(1,), enrolment_method="IMPORT")

    # when
    ingest(program, at=week(0) + DAY)

    # then
    assert not Enrolment.objects.filter(group=group).exists()
    assert not CycleProgress.objects.exists()


def test_streaks_record_event_counts_from_the_enrolment_cycle_when_enrolled_explicitly(
    program
):
    # given
    group = streak_group(program, levels=(1, 2), enrolment_method="IMPORT")
    customer = CustomerFactory(program=program, integration_id="ann")
    ingest(program, at=week(0) + DAY)  # not enrolled yet: nothing

    # when
    with time_machine.travel(week(1) + 3 * DAY, tick=False):
        enrolment_open(group=group, customer=customer, now=timezone.now())
    ingest(program, at=week(1) + 4 * DAY)

    # then
    entry = standing(now=week(1) + 4 * DAY)
    assert values(entry)[:2] == [0, 100]
    assert entry.current_count == 1
    assert reached_levels() == [1]


def test_enrolment_unenrol_stops_counting_when_customer_leaves(program):
    # given
    group = streak_group(program, levels=(1, 2))
    ingest(program, at=week(0) + DAY)
    customer = Customer.objects.get(integration_id="ann")

    # when
    with time_machine.travel(week(1), tick=False):
        enrolment_unenrol(group=group, customer=customer, now=timezone.now())
    ingest(program, at=week(1) + DAY)

    # then
    assert values(standing(now=week(1) + DAY))[:2] == [100, 0]
    assert Enrolment.objects.get().active is False
    assert reached_levels() == [1]


def test_enrolment_enrol_lets_levels_be_reached_and_paid_again_when_reset(program):
    # given
    group = streak_group(program, levels=(1, 2), cycles=5)
    pay_levels(program, group, award=25)
    ingest(program, at=week(0) + DAY)
    ingest(program, at=week(1) + DAY)
    customer = Customer.objects.get(integration_id="ann")
    with time_machine.travel(week(2), tick=False):
        enrolment_unenrol(group=group, customer=customer, now=timezone.now())

    # when
    with time_machine.travel(week(2) + DAY, tick=False):
        enrolment = enrolment_open(group=group, customer=customer, now=timezone.now(),
                                    reset_streak_status=True)
    reset = standing(now=week(2) + DAY)
    ingest(program, at=week(3) + DAY)
    ingest(program, at=week(4) + DAY)

    # then
    assert (enrolment.epoch, enrolment.current_count) == (2, 0)
    assert reset.current_count == 0
    assert [lv["status"] for lv in reset.levels] == ["INPROGRESS", "INPROGRESS"]
    assert standing(now=week(4) + DAY).current_count == 2
    assert reached_levels() == [1, 1, 2, 2]
    assert achievement_events() == [(level_code(group, n), "POSTED") for n in (1, 2, 1, 2)]
    assert balance() == 100


# DEFAULT groups: a milestone per met cycle
# ------------------------------------------------------------------------------
def test_default_group_posts_one_milestone_per_met_cycle_when_events_keep_coming(program):
    # given
    group = streak_group(program, tracking_type="DEFAULT", levels=())
    target = group.targets.get()
    RewardOfferFactory(program=program, classifications=[target.classification],
                       award_value=10)

    # when
    ingest(program, at=week(0) + DAY, amount="60")
    ingest(program, at=week(0) + 2 * DAY, amount="60")
    ingest(program, at=week(0) + 3 * DAY, amount="60")
    ingest(program, at=week(1) + DAY, amount="100")

    # then
    milestones = CustomerEvent.objects.filter(type="ACHIEVEMENT").order_by("pk")
    assert [(e.classification_id, e.performed_on, e.amount) for e in milestones] == [
        (target.classification_id, week(0) + 2 * DAY, 120),
        (target.classification_id, week(1) + DAY, 100),
    ]
    assert balance() == 20
    assert not StreakLevelAchievement.objects.exists()


def test_default_group_cancels_the_milestone_when_a_return_un_meets_the_open_cycle(program):
    # given
    group = streak_group(program, tracking_type="DEFAULT", levels=())
    RewardOfferFactory(program=program, classifications=[group.targets.get().classification],
                       award_value=10)
    ingest(program, at=week(0) + DAY, amount="100")

    # when
    ingest(program, at=week(0) + 2 * DAY, type="RETURN", amount="1")

    # then
    assert list(CustomerEvent.objects.filter(type="ACHIEVEMENT")
                .values_list("life_cycle_state", flat=True)) == ["CANCELLED"]
    assert balance() == 0




@pytest.mark.parametrize("late_first", [
    True,
    pytest.param(False),
], ids=["late-event-arrives-first", "late-event-arrives-second"])
def test_late_event_keeps_the_streak_when_it_arrives_within_grace_in_any_order(
    program, late_first
):
    # given: a day of grace; ann's purchase in the first cycle's last hour arrives late
    group = streak_group(program, levels=(1, 2), grace=DAY)
    pay_levels(program, group)
    late = {"at": week(1) - HOUR, "now": week(1) + 2 * HOUR}
    on_time = {"at": week(1) + HOUR}

    # when
    for event in ([late, on_time] if late_first else [on_time, late]):
        ingest(program, **event)

    # then
    entry = standing(now=week(1) + 3 * HOUR)
    assert states(entry)[:2] == ["met", "met"]
    assert entry.current_count == 2
    assert reached_levels() == [1, 2]
    assert balance() == 50


def test_event_cancel_hands_the_visit_to_another_event_when_both_are_on_the_same_day(program):
    # given
    group = streak_group(program, kpi="VISIT", event_name="", target=1, levels=(1,))
    first = ingest(program, at=week(0) + 9 * HOUR)
    second = ingest(program, at=week(0) + 10 * HOUR, type="CUSTOM")

    # when
    cancel(first, now=week(0) + 11 * HOUR)
    kept = CycleProgress.objects.get(enrolment__group=group).value
    cancel(second, now=week(0) + 12 * HOUR)

    # then
    assert kept == 1
    assert CycleProgress.objects.get(enrolment__group=group).value == 0
    assert reached_levels() == []


def test_streaks_record_event_counts_in_every_active_group_when_event_matches_several(program):
    # given
    weekly = streak_group(program, levels=(1,), name="Weekly")
    counting = streak_group(program, kpi="COUNT", target=1, levels=(1,), name="Counting")
    paused = streak_group(program, levels=(1,), name="Paused")
    paused.active = False
    paused.save()

    # when
    ingest(program, at=week(0) + DAY)

    # then
    assert set(Enrolment.objects.values_list("group_id", flat=True)) == {weekly.pk, counting.pk}
    assert reached_levels() == [1, 1]




def test_event_cancel_takes_back_the_level_when_it_un_meets_an_earlier_cycle_in_grace(program):
    # given: a day of grace; the second cycle is met while the first is still in grace
    group = streak_group(program, levels=(1, 2), grace=DAY)
    pay_levels(program, group, award=25)
    first = ingest(program, at=week(0) + DAY)
    ingest(program, at=week(1) + HOUR)

    # when: the first cycle's purchase is cancelled while that cycle still takes events
    cancel(first, now=week(1) + 2 * HOUR)

    # then
    entry = standing(now=week(1) + 2 * HOUR)
    assert states(entry)[:2] == ["pending_grace", "met"]
    assert entry.current_count == 1
    assert reached_levels() == [1]
    assert achievement_events(state="POSTED") == [(level_code(group, 1), "POSTED")]
    assert balance() == 25


def test_event_cancel_takes_back_the_levels_a_late_event_reached_when_that_event_is_cancelled(
    program
):
    # given: a late purchase joins two runs, reaching levels 2 and 3
    group = streak_group(program, levels=(1, 2, 3), grace=DAY)
    pay_levels(program, group, award=25)
    ingest(program, at=week(0) + DAY)
    ingest(program, at=week(2) + HOUR)
    late = ingest(program, at=week(2) - HOUR, now=week(2) + 2 * HOUR)
    assert reached_levels() == [1, 2, 3]

    # when: it is cancelled while its cycle is still in grace
    cancel(late, now=week(2) + 3 * HOUR)

    # then
    assert standing(now=week(2) + 3 * HOUR).current_count == 1
    assert reached_levels() == [1]
    assert balance() == 25
