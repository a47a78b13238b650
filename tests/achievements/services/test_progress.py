"""The progress engine end to end: events in through `event_ingest`, progress out through the
models and selectors. Clocks are pinned at the window edges (one second before, at, after)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from achievements.models import Achievement, AchievementProgress, ProgressContribution
from achievements.selectors import customer_achievement_history, customer_achievement_list
from events.models import CustomerEvent
from events.services import event_cancel, event_ingest
from loyalty.models import Campaign, Customer
from tests.achievements.factories import AchievementFactory
from tests.events.factories import ClassificationFactory
from tests.loyalty.factories import CampaignFactory, ProgramFactory

pytestmark = pytest.mark.django_db

SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)
T0 = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)
FIXED_START = datetime(2024, 1, 1, tzinfo=UTC)  # the factory's `fixed` trait

Policy = Achievement.RecurrencePolicy


@pytest.fixture
def program(db):
    return ProgramFactory(name="Laurel UTC", time_zone="UTC")


def ingest(program, *, at, amount="1", customer="ann", type="PURCHASE", now=None, **fields):
    """One customer event through the whole pipeline, received at `now` (default: `at`)."""
    data = {"customer": customer, "type": type, "performed_on": at,
            "amount": Decimal(amount), **fields}
    with time_machine.travel(now or at, tick=False):
        return event_ingest(program=program, data=data, now=now or at)


def iterations(achievement, customer="ann"):
    return list(
        AchievementProgress.objects.filter(
            achievement=achievement, customer__integration_id=customer
        ).order_by("sequence")
    )


def contributions(event_result):
    return list(
        ProgressContribution.objects.filter(customer_event_id=event_result.event.pk)
        .order_by("pk")
        .values_list("progress_record__achievement_id", "delta")
    )


def standing(program, achievement, *, now, customer="ann"):
    customer = Customer.objects.get(program=program, integration_id=customer)
    (entry,) = [
        s for s in customer_achievement_list(customer=customer, now=now)
        if s.achievement.pk == achievement.pk
    ]
    return entry


def achievement_events(customer="ann", state=None):
    events = CustomerEvent.objects.filter(type="ACHIEVEMENT",
                                          customer__integration_id=customer)
    if state:
        events = events.filter(life_cycle_state=state)
    return events


# Counting: what counts and how much
# ------------------------------------------------------------------------------------------


def test_record_event_adds_increment_to_iteration_and_records_contribution_when_active(
    program, campaign
):
    # given
    achievement = AchievementFactory(campaign=campaign, target=10, period="1D")

    # when
    first = ingest(program, at=T0)
    second = ingest(program, at=T0 + timedelta(hours=1))

    # then
    (record,) = iterations(achievement)
    assert (record.progress, record.status) == (2, "inprogress")
    assert record.start_date == T0
    assert list(
        ProgressContribution.objects.order_by("pk").values_list(
            "customer_event_id", "progress_record_id", "delta"
        )
    ) == [(first.event.pk, record.pk, 1), (second.event.pk, record.pk, 1)]
    assert second.effects[0]["progressTrackerId"] == record.pk
    assert (second.effects[0]["delta"], second.effects[0]["value"]) == (1, 2)


def test_record_event_completes_with_performed_on_as_completion_date_when_target_reached(
    program, campaign
):
    # given
    achievement = AchievementFactory(campaign=campaign, target=3, period="1D")
    ingest(program, at=T0)
    ingest(program, at=T0 + timedelta(minutes=1))
    (record,) = iterations(achievement)
    assert (record.progress, record.status, record.completion_date) == (2, "inprogress", None)

    # when: the completing event is received an hour after it was performed
    completing = T0 + timedelta(minutes=2)
    result = ingest(program, at=completing, now=completing + timedelta(hours=1))

    # then
    record.refresh_from_db()
    assert (record.progress, record.status) == (3, "completed")
    assert record.completion_date == completing
    assert result.effects[0]["isJustCompleted"] is True
    (posted,) = achievement_events()
    assert posted.classification_id == achievement.classification_id
    assert posted.performed_on == completing


@pytest.mark.parametrize("state", [Campaign.State.DRAFT, Campaign.State.DISABLED,
                                   Campaign.State.ARCHIVED])
def test_record_event_counts_nothing_when_campaign_not_running(program, state):
    # given
    achievement = AchievementFactory(campaign=CampaignFactory(program=program, state=state),
                                     target=1)

    # when
    result = ingest(program, at=T0)

    # then
    assert iterations(achievement) == []
    assert result.effects == []
    assert not ProgressContribution.objects.exists()


@pytest.mark.parametrize(
    ("at", "counts"),
    [
        (T0 - SECOND, False),  # one second before the campaign starts
        (T0, True),  # the campaign's start_time
        (T0 + DAY - SECOND, True),  # one second before the campaign ends
        (T0 + DAY, False),  # the campaign's end_time
    ],
)
def test_record_event_counts_only_when_performed_inside_campaign_dates(program, at, counts):
    # given
    campaign = CampaignFactory(program=program, running=True, start_time=T0,
                               end_time=T0 + DAY)
    achievement = AchievementFactory(campaign=campaign, target=10, period="1W")

    # when
    ingest(program, at=at)

    # then
    assert [r.progress for r in iterations(achievement)] == ([1] if counts else [])


def test_record_event_counts_only_listed_event_types_when_event_types_set(program, campaign):
    # given
    purchases = AchievementFactory(campaign=campaign, event_types=["PURCHASE"])
    visits = AchievementFactory(campaign=campaign, event_types=["VISIT", "CUSTOM"])
    anything = AchievementFactory(campaign=campaign, event_types=[])

    # when
    ingest(program, at=T0, type="PURCHASE")
    ingest(program, at=T0 + SECOND, type="VISIT")
    ingest(program, at=T0 + 2 * SECOND, type="RETURN")

    # then
    assert [r.progress for r in iterations(purchases)] == [1]
    assert [r.progress for r in iterations(visits)] == [1]
    assert [r.progress for r in iterations(anything)] == [3]


@pytest.mark.parametrize(("amount", "counts"), [("19.99", False), ("20", True),
                                                ("20.01", True)])
def test_record_event_counts_only_when_progress_condition_true(program, campaign, amount,
                                                               counts):
    # given
    achievement = AchievementFactory(campaign=campaign,
                                     progress_condition="event.amount >= 20.0")

    # when
    result = ingest(program, at=T0, amount=amount)

    # then
    assert [r.progress for r in iterations(achievement)] == ([1] if counts else [])
    assert contributions(result) == ([(achievement.pk, 1)] if counts else [])


def test_record_event_adds_event_amount_when_increment_is_event_amount(program, campaign):
    # given
    achievement = AchievementFactory(campaign=campaign, target=100,
                                     progress_increment="event.amount")

    # when
    ingest(program, at=T0, amount="12.5")
    ingest(program, at=T0 + SECOND, amount="30")

    # then
    (record,) = iterations(achievement)
    assert record.progress == Decimal("42.5")


def test_record_event_adds_attribute_minutes_when_increment_reads_attributes(program, campaign):
    # given
    achievement = AchievementFactory(
        campaign=campaign, target=120, event_types=["CUSTOM"],
        progress_increment="event.attributes.minutes",
    )

    # when
    first = ingest(program, at=T0, type="CUSTOM", attributes={"minutes": 45})
    ingest(program, at=T0 + SECOND, type="CUSTOM", attributes={"minutes": 80})

    # then
    (record,) = iterations(achievement)
    assert (record.progress, record.status) == (125, "completed")
    assert contributions(first) == [(achievement.pk, 45)]


def test_record_event_ignores_achievement_event_when_achievement_not_listed(program, campaign):
    # given
    every_type = AchievementFactory(campaign=campaign, event_types=[])
    purchases = AchievementFactory(campaign=campaign, event_types=["PURCHASE"])
    listed = AchievementFactory(campaign=campaign, event_types=["ACHIEVEMENT"])
    goal = ClassificationFactory(program=program, event_type="ACHIEVEMENT")

    # when
    ingest(program, at=T0, type="ACHIEVEMENT", classification=goal.code)

    # then
    assert iterations(every_type) == []
    assert iterations(purchases) == []
    assert [r.progress for r in iterations(listed)] == [1]


def test_record_event_does_not_count_posted_achievement_event_when_types_empty(program,
                                                                              campaign):
    # given: completing `first` posts an ACHIEVEMENT event
    first = AchievementFactory(campaign=campaign, target=1, event_types=["PURCHASE"])
    every_type = AchievementFactory(campaign=campaign, target=5, event_types=[])

    # when
    ingest(program, at=T0)

    # then
    assert achievement_events().count() == 1
    assert [r.status for r in iterations(first)] == ["completed"]
    assert [r.progress for r in iterations(every_type)] == [1]


def test_record_event_stops_counting_at_target_when_capped_by_target(program, campaign):
    # given
    achievement = AchievementFactory(campaign=campaign, target=5, is_capped_by_target=True,
                                     progress_increment="event.amount",
                                     recurrence_policy=Policy.ON_EXPIRATION)
    ingest(program, at=T0, amount="3")

    # when
    completing = ingest(program, at=T0 + SECOND, amount="4")
    after = ingest(program, at=T0 + 2 * SECOND, amount="4")

    # then
    (record,) = iterations(achievement)
    assert (record.progress, record.status) == (5, "completed")
    assert contributions(completing) == [(achievement.pk, 2)]
    assert contributions(after) == []
    assert after.effects == []


def test_record_event_keeps_counting_past_target_when_not_capped(program, campaign):
    # given
    achievement = AchievementFactory(campaign=campaign, target=5,
                                     progress_increment="event.amount")
    ingest(program, at=T0, amount="4")

    # when
    ingest(program, at=T0 + SECOND, amount="4")
    ingest(program, at=T0 + 2 * SECOND, amount="4")

    # then
    (record,) = iterations(achievement)
    assert (record.progress, record.status) == (12, "completed")
    assert record.completion_date == T0 + SECOND
    assert achievement_events().count() == 1


# Recurrence
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("offset", "counts"), [(DAY - SECOND, True), (DAY, False),
                                                (DAY + SECOND, False)])
def test_record_event_counts_nothing_after_one_time_iteration_ends(program, campaign, offset,
                                                                   counts):
    # given: a one-time 1D achievement whose only iteration is [T0, T0 + 1D)
    achievement = AchievementFactory(campaign=campaign, target=10, period="1D",
                                     recurrence_policy=Policy.NO_RECURRENCE)
    ingest(program, at=T0)

    # when
    result = ingest(program, at=T0 + offset)

    # then
    (record,) = iterations(achievement)
    assert record.end_date == T0 + DAY
    assert record.progress == (2 if counts else 1)
    assert bool(result.effects) is counts


def test_record_event_completes_one_time_achievement_once_when_events_continue(program,
                                                                             campaign):
    # given
    achievement = AchievementFactory(campaign=campaign, target=2, period="1D",
                                     recurrence_policy=Policy.NO_RECURRENCE)
    ingest(program, at=T0)
    ingest(program, at=T0 + SECOND)

    # when
    ingest(program, at=T0 + 2 * SECOND)
    ingest(program, at=T0 + 2 * DAY)

    # then
    (record,) = iterations(achievement)
    assert (record.status, record.progress) == ("completed", 3)
    assert record.completion_date == T0 + SECOND
    assert achievement_events().count() == 1


@pytest.mark.parametrize(("offset", "new_iteration"), [(DAY - SECOND, False), (DAY, True),
                                                       (DAY + SECOND, True)])
def test_record_event_starts_fresh_iteration_when_on_expiration_window_ends(
    program, campaign, offset, new_iteration
):
    # given
    achievement = AchievementFactory(campaign=campaign, target=10, period="1D",
                                     recurrence_policy=Policy.ON_EXPIRATION)
    first = ingest(program, at=T0)

    # when
    result = ingest(program, at=T0 + offset)

    # then
    records = iterations(achievement)
    tracker = result.effects[0]["progressTrackerId"]
    if new_iteration:
        assert [(r.sequence, r.progress) for r in records] == [(1, 1), (2, 1)]
        assert tracker != first.effects[0]["progressTrackerId"]
        assert tracker == records[1].pk
        assert (records[1].start_date, records[1].end_date) == (T0 + offset,
                                                               T0 + offset + DAY)
    else:
        assert [(r.sequence, r.progress) for r in records] == [(1, 2)]
        assert tracker == first.effects[0]["progressTrackerId"]


def test_record_event_spills_excess_into_new_iterations_when_on_completion(program, campaign):
    # given
    achievement = AchievementFactory(campaign=campaign, target=300, period="1M",
                                     recurrence_policy=Policy.ON_COMPLETION,
                                     progress_increment="event.amount")

    # when
    result = ingest(program, at=T0, amount="700")

    # then
    records = iterations(achievement)
    assert [(r.progress, r.status) for r in records] == [
        (300, "completed"), (300, "completed"), (100, "inprogress"),
    ]
    assert [r.completion_date for r in records] == [T0, T0, None]
    increases = [e for e in result.effects if e["effectType"] == "increaseAchievementProgress"]
    assert [(e["progressTrackerId"], e["delta"], e["value"], e["isJustCompleted"])
            for e in increases] == [
        (records[0].pk, 300, 300, True), (records[1].pk, 300, 300, True),
        (records[2].pk, 100, 100, False),
    ]
    assert contributions(result) == [(achievement.pk, 300), (achievement.pk, 300),
                                     (achievement.pk, 100)]
    assert achievement_events().count() == 2


def test_record_event_continues_spilled_iteration_when_on_completion(program, campaign):
    # given
    achievement = AchievementFactory(campaign=campaign, target=300, period="1M",
                                     recurrence_policy=Policy.ON_COMPLETION,
                                     progress_increment="event.amount")
    ingest(program, at=T0, amount="350")

    # when
    ingest(program, at=T0 + SECOND, amount="249")
    ingest(program, at=T0 + 2 * SECOND, amount="1")

    # then
    records = iterations(achievement)
    assert [(r.progress, r.status) for r in records] == [(300, "completed"),
                                                          (300, "completed")]
    assert records[1].completion_date == T0 + 2 * SECOND


def test_record_event_spills_within_same_window_when_fixed_schedule_on_completion(program,
                                                                                 campaign):
    # given
    achievement = AchievementFactory(campaign=campaign, fixed=True, target=2, period="1D",
                                     recurrence_policy=Policy.ON_COMPLETION,
                                     progress_increment="event.amount")
    at = FIXED_START + timedelta(hours=3)

    # when
    ingest(program, at=at, amount="5", now=at)
    entry = standing(program, achievement, now=FIXED_START + DAY - SECOND)
    ingest(program, at=FIXED_START + DAY, amount="1", now=FIXED_START + DAY)

    # then
    records = iterations(achievement)
    assert [(r.window_index, r.progress, r.status) for r in records] == [
        (0, 2, "completed"), (0, 2, "completed"), (0, 1, "inprogress"), (1, 1, "inprogress"),
    ]
    assert {r.end_date for r in records[:3]} == {FIXED_START + DAY}
    assert [r.start_date for r in records[:3]] == [at, at, at]
    assert (entry.status, entry.progress, entry.record.pk) == ("inprogress", 1, records[2].pk)


# Achievement dates
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("offset", "counts"), [(-SECOND, True), (timedelta(0), False),
                                                (SECOND, False)])
def test_record_event_counts_nothing_when_performed_at_or_after_end_date(program, campaign,
                                                                         offset, counts):
    # given
    end = T0 + timedelta(hours=5)
    achievement = AchievementFactory(campaign=campaign, period="1D", end_date=end,
                                     recurrence_policy=Policy.ON_EXPIRATION)

    # when
    result = ingest(program, at=end + offset)

    # then
    records = iterations(achievement)
    assert [r.progress for r in records] == ([1] if counts else [])
    assert bool(result.effects) is counts
    if counts:
        assert records[0].end_date == end  # the window is clipped to the endDate


@pytest.mark.parametrize(("offset", "counts"), [(-SECOND, False), (timedelta(0), True),
                                                (SECOND, True)])
def test_record_event_counts_nothing_when_performed_before_fixed_start_date(
    program, campaign, offset, counts
):
    # given
    achievement = AchievementFactory(campaign=campaign, fixed=True, period="1D",
                                     recurrence_policy=Policy.ON_EXPIRATION)

    # when
    ingest(program, at=FIXED_START + offset, now=T0)

    # then
    assert [r.progress for r in iterations(achievement)] == ([1] if counts else [])


@pytest.mark.parametrize(
    ("achievement_tz", "end"),
    [
        ("", datetime(2024, 3, 10, 23, 0, tzinfo=UTC)),  # the program's Europe/Amsterdam
        ("UTC", datetime(2024, 3, 11, 0, 0, tzinfo=UTC)),  # the achievement's own zone
    ],
)
def test_record_event_ends_iteration_in_local_calendar_when_period_is_calendar_unit(
    achievement_tz, end
):
    # given: 1D_D from 22:30 UTC (23:30 in Amsterdam) ends at the start of the next local day
    program = ProgramFactory(time_zone="Europe/Amsterdam")
    campaign = CampaignFactory(program=program, running=True)
    achievement = AchievementFactory(campaign=campaign, period="1D_D",
                                     time_zone=achievement_tz)

    # when
    ingest(program, at=datetime(2024, 3, 10, 22, 30, tzinfo=UTC))

    # then
    (record,) = iterations(achievement)
    assert record.end_date == end


# Fixed schedule
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("offset", "index"), [(DAY - SECOND, 0), (DAY, 1),
                                               (DAY + SECOND, 1)])
def test_record_event_counts_in_window_containing_performed_on_when_fixed_schedule(
    program, campaign, offset, index
):
    # given: windows [2024-01-01 + k days, 2024-01-01 + (k + 1) days)
    achievement = AchievementFactory(campaign=campaign, fixed=True, period="1D",
                                     recurrence_policy=Policy.ON_EXPIRATION)
    ingest(program, at=FIXED_START + timedelta(hours=6), now=T0)

    # when
    ingest(program, at=FIXED_START + offset, now=T0)

    # then
    records = iterations(achievement)
    if index == 0:
        (record,) = records
        assert (record.progress, record.window_index) == (2, 0)
    else:
        assert [(r.progress, r.window_index) for r in records] == [(1, 0), (1, 1)]
        fresh = records[1]
        assert fresh.start_date == FIXED_START + offset  # the first progress in the window
        assert fresh.window_start == FIXED_START + DAY
        assert fresh.end_date == FIXED_START + 2 * DAY


def test_record_event_counts_late_event_in_its_own_window_when_fixed_schedule(program,
                                                                              campaign):
    # given: progress in window 2 (today); the customer already has window 0's iteration
    achievement = AchievementFactory(campaign=campaign, fixed=True, period="1D",
                                     recurrence_policy=Policy.ON_EXPIRATION)
    now = FIXED_START + 2 * DAY + timedelta(hours=10)
    ingest(program, at=FIXED_START + timedelta(hours=12), now=now)
    ingest(program, at=now - timedelta(hours=1), now=now)

    # when: an event performed at the start of window 0 is received today
    late = ingest(program, at=FIXED_START + timedelta(hours=1), now=now)

    # then
    window0, window2 = iterations(achievement)
    assert (window0.window_index, window0.progress) == (0, 2)
    assert window0.start_date == FIXED_START + timedelta(hours=1)  # moved to the earliest
    assert window0.end_date == FIXED_START + DAY
    assert (window2.window_index, window2.progress) == (2, 1)
    assert late.effects[0]["progressTrackerId"] == window0.pk


def test_record_event_opens_past_window_iteration_when_late_event_has_none(program, campaign):
    # given
    achievement = AchievementFactory(campaign=campaign, fixed=True, period="1D",
                                     recurrence_policy=Policy.ON_EXPIRATION)
    now = FIXED_START + 2 * DAY + timedelta(hours=10)
    ingest(program, at=now, now=now)

    # when
    ingest(program, at=FIXED_START + DAY + timedelta(hours=3), now=now)

    # then
    by_window = {r.window_index: r for r in iterations(achievement)}
    assert sorted(by_window) == [1, 2]
    assert by_window[1].progress == 1
    assert by_window[1].start_date == FIXED_START + DAY + timedelta(hours=3)
    assert by_window[1].end_date == FIXED_START + 2 * DAY
    assert by_window[2].progress == 1


def test_record_event_counts_only_first_window_when_fixed_schedule_one_time(program,
                                                                            campaign):
    # given
    achievement = AchievementFactory(campaign=campaign, fixed=True, period="1D",
                                     recurrence_policy=Policy.NO_RECURRENCE)

    # when
    ingest(program, at=FIXED_START + DAY - SECOND, now=T0)
    ingest(program, at=FIXED_START + DAY, now=T0)

    # then
    (record,) = iterations(achievement)
    assert (record.progress, record.window_index) == (1, 0)
    assert record.end_date == FIXED_START + DAY


# Current standing (selectors) at the window edges
# ------------------------------------------------------------------------------------------


def test_customer_achievement_list_returns_not_started_when_customer_never_progressed(
    program, campaign
):
    # given
    achievement = AchievementFactory(campaign=campaign)
    other = AchievementFactory(campaign=campaign, event_types=["VISIT"])
    ingest(program, at=T0)

    # when
    entry = standing(program, other, now=T0)

    # then
    assert (entry.status, entry.progress, entry.record) == ("not_started", 0, None)
    assert standing(program, achievement, now=T0).status == "inprogress"


@pytest.mark.parametrize(
    ("policy", "before", "at_end"),
    [
        (Policy.NO_RECURRENCE, "inprogress", "expired"),
        (Policy.ON_EXPIRATION, "inprogress", "not_started"),
    ],
)
def test_customer_achievement_list_computes_status_for_now_when_stored_row_is_stale(
    program, campaign, policy, before, at_end
):
    # given: no job runs; the stored row keeps saying inprogress
    achievement = AchievementFactory(campaign=campaign, target=5, period="1D",
                                     recurrence_policy=policy)
    ingest(program, at=T0)

    # when
    one_second_before = standing(program, achievement, now=T0 + DAY - SECOND)
    at_end_of_window = standing(program, achievement, now=T0 + DAY)

    # then
    (record,) = iterations(achievement)
    assert record.status == "inprogress"
    assert (one_second_before.status, one_second_before.progress) == (before, 1)
    assert at_end_of_window.status == at_end
    assert at_end_of_window.progress == (1 if at_end == "expired" else 0)


def test_customer_achievement_list_keeps_completed_when_one_time_window_passed(program,
                                                                             campaign):
    # given
    achievement = AchievementFactory(campaign=campaign, target=1, period="1D")
    ingest(program, at=T0)

    # when
    entry = standing(program, achievement, now=T0 + 30 * DAY)

    # then
    assert (entry.status, entry.progress) == ("completed", 1)


@pytest.mark.parametrize(("now", "status"), [(FIXED_START + DAY - SECOND, "completed"),
                                             (FIXED_START + DAY, "not_started")])
def test_customer_achievement_list_returns_not_started_when_recurring_window_ended(
    program, campaign, now, status
):
    # given: completed in window 0 of a recurring fixed schedule
    achievement = AchievementFactory(campaign=campaign, fixed=True, target=1, period="1D",
                                     recurrence_policy=Policy.ON_EXPIRATION)
    ingest(program, at=FIXED_START + timedelta(hours=2), now=T0)

    # when
    entry = standing(program, achievement, now=now)

    # then
    assert entry.status == status


def test_customer_achievement_list_returns_not_started_when_on_completion_completed(
    program, campaign
):
    # given
    achievement = AchievementFactory(campaign=campaign, target=2, period="1M",
                                     recurrence_policy=Policy.ON_COMPLETION)
    ingest(program, at=T0)
    assert standing(program, achievement, now=T0).status == "inprogress"

    # when
    ingest(program, at=T0 + SECOND)

    # then
    assert standing(program, achievement, now=T0 + SECOND).status == "not_started"


def test_customer_achievement_list_returns_current_window_when_late_event_opened_older_one(
    program, campaign
):
    # given: progress in today's window 2, then a late event opens window 1's iteration
    achievement = AchievementFactory(campaign=campaign, fixed=True, target=5, period="1D",
                                     recurrence_policy=Policy.ON_EXPIRATION)
    now = FIXED_START + 2 * DAY + timedelta(hours=10)
    ingest(program, at=now, now=now)
    ingest(program, at=now, now=now)
    ingest(program, at=FIXED_START + DAY + timedelta(hours=3), now=now)

    # when
    entry = standing(program, achievement, now=now)

    # then
    assert (entry.status, entry.progress) == ("inprogress", 2)
    assert entry.record.window_index == 2


def test_customer_achievement_list_returns_current_iteration_when_late_event_filled_a_gap(
    program, campaign
):
    # given: iterations [T0, T0+1D) and [T0+5D, T0+6D); a late event at T0+3D fills the gap
    achievement = AchievementFactory(campaign=campaign, target=5, period="1D",
                                     recurrence_policy=Policy.ON_EXPIRATION)
    now = T0 + 5 * DAY + timedelta(hours=1)
    ingest(program, at=T0, now=T0)
    ingest(program, at=T0 + 5 * DAY, now=now)
    ingest(program, at=T0 + 5 * DAY + SECOND, now=now)
    ingest(program, at=T0 + 3 * DAY, now=now)
    assert len(iterations(achievement)) == 3

    # when
    entry = standing(program, achievement, now=now)

    # then
    assert (entry.status, entry.progress) == ("inprogress", 2)


def test_customer_achievement_history_lists_every_iteration_newest_first(program, campaign):
    # given
    achievement = AchievementFactory(campaign=campaign, target=2, period="1D",
                                     recurrence_policy=Policy.ON_EXPIRATION)
    ingest(program, at=T0)
    ingest(program, at=T0 + SECOND)
    ingest(program, at=T0 + DAY)
    customer = Customer.objects.get(integration_id="ann")

    # when
    rows = customer_achievement_history(customer=customer, achievement=achievement,
                                        now=T0 + 2 * DAY)

    # then
    assert [(r.sequence, r.progress, status) for r, status in rows] == [
        (2, 1, "expired"), (1, 2, "completed"),
    ]


# Cancellation
# ------------------------------------------------------------------------------------------


def test_event_cancel_subtracts_exactly_its_contributions_when_iteration_in_progress(
    program, campaign
):
    # given
    by_amount = AchievementFactory(campaign=campaign, target=100,
                                   progress_increment="event.amount")
    by_count = AchievementFactory(campaign=campaign, target=100)
    ingest(program, at=T0, amount="5")
    cancelled = ingest(program, at=T0 + SECOND, amount="7")

    # when
    result = event_cancel(event=cancelled.event, now=T0 + DAY / 2, reason="refund")

    # then
    rollbacks = [e for e in result.effects
                 if e["effectType"] == "rollbackIncreasedAchievementProgress"]
    assert sorted((e["achievementId"], e["decreaseProgressBy"], e["currentProgress"])
                  for e in rollbacks) == sorted([(by_amount.pk, 7, 5), (by_count.pk, 1, 1)])
    assert [r.progress for r in iterations(by_amount)] == [5]
    assert [r.progress for r in iterations(by_count)] == [1]
    # The fold without the cancelled event: its contributions are gone, the others stay.
    assert not ProgressContribution.objects.filter(customer_event_id=cancelled.event.pk)
    assert ProgressContribution.objects.count() == 2


def test_event_cancel_changes_nothing_when_cancelled_twice(program, campaign):
    # given
    achievement = AchievementFactory(campaign=campaign, target=100,
                                     progress_increment="event.amount")
    ingest(program, at=T0, amount="5")
    cancelled = ingest(program, at=T0 + SECOND, amount="7")
    event_cancel(event=cancelled.event, now=T0 + DAY / 2)

    # when
    again = event_cancel(event=cancelled.event, now=T0 + DAY / 2)

    # then
    assert (again.changed, again.effects) == (False, [])
    assert [r.progress for r in iterations(achievement)] == [5]


def test_event_cancel_keeps_completed_iteration_when_rollback_after_completion_not_allowed(
    program, campaign
):
    # given
    achievement = AchievementFactory(campaign=campaign, target=10,
                                     progress_increment="event.amount",
                                     allow_rollback_after_completion=False)
    ingest(program, at=T0, amount="6")
    completing = ingest(program, at=T0 + SECOND, amount="5")

    # when
    result = event_cancel(event=completing.event, now=T0 + DAY / 2)

    # then
    (record,) = iterations(achievement)
    assert (record.status, record.progress) == ("completed", 11)
    assert record.completion_date == T0 + SECOND
    assert [e["effectType"] for e in result.effects] == ["achievementCompletionKept"]
    assert result.effects[0]["progressTrackerId"] == record.pk
    assert achievement_events(state="POSTED").count() == 1


def test_event_cancel_reopens_iteration_and_cancels_achievement_event_when_rollback_allowed(
    program, campaign
):
    # given
    achievement = AchievementFactory(campaign=campaign, target=10,
                                     progress_increment="event.amount",
                                     allow_rollback_after_completion=True)
    ingest(program, at=T0, amount="6")
    completing = ingest(program, at=T0 + SECOND, amount="5")
    (posted,) = achievement_events()

    # when
    result = event_cancel(event=completing.event, now=T0 + DAY / 2)

    # then
    (record,) = iterations(achievement)
    assert (record.status, record.progress, record.completion_date) == ("inprogress", 6, None)
    assert result.effects[0] == {
        "effectType": "rollbackIncreasedAchievementProgress", "achievementId": achievement.pk,
        "achievementName": achievement.name, "progressTrackerId": record.pk, "target": 10,
        "decreaseProgressBy": 5, "currentProgress": 6,
    }
    assert result.effects[1]["effectType"] == "achievementCustomerEventCancelled"
    assert result.effects[1]["customerEventId"] == posted.pk
    posted.refresh_from_db()
    assert posted.life_cycle_state == "CANCELLED"


def test_event_cancel_keeps_completion_when_rolled_back_progress_still_reaches_target(
    program, campaign
):
    # given
    achievement = AchievementFactory(campaign=campaign, target=10,
                                     progress_increment="event.amount",
                                     allow_rollback_after_completion=True)
    ingest(program, at=T0, amount="6")
    ingest(program, at=T0 + SECOND, amount="5")
    extra = ingest(program, at=T0 + 2 * SECOND, amount="1")

    # when
    result = event_cancel(event=extra.event, now=T0 + DAY / 2)

    # then
    (record,) = iterations(achievement)
    assert (record.status, record.progress) == ("completed", 11)
    assert [e["effectType"] for e in result.effects] == ["rollbackIncreasedAchievementProgress"]
    assert achievement_events(state="POSTED").count() == 1


def test_event_cancel_takes_back_only_open_spill_when_on_completion_without_rollback(
    program, campaign
):
    # given
    achievement = AchievementFactory(campaign=campaign, target=300, period="1M",
                                     recurrence_policy=Policy.ON_COMPLETION,
                                     progress_increment="event.amount")
    spilling = ingest(program, at=T0, amount="700")

    # when
    result = event_cancel(event=spilling.event, now=T0 + DAY)

    # then: the kept completions stay; the open spill goes with the event (the fold without it)
    assert [(r.progress, r.status) for r in iterations(achievement)] == [
        (300, "completed"), (300, "completed"),
    ]
    rollbacks = [e for e in result.effects
                 if e["effectType"] == "rollbackIncreasedAchievementProgress"]
    assert [(e["decreaseProgressBy"], e["currentProgress"]) for e in rollbacks] == [(100, 0)]
    kept = [e for e in result.effects if e["effectType"] == "achievementCompletionKept"]
    assert len(kept) == 2
    assert achievement_events(state="POSTED").count() == 2


def test_event_cancel_takes_back_every_spill_when_on_completion_with_rollback(program,
                                                                             campaign):
    # given
    achievement = AchievementFactory(campaign=campaign, target=300, period="1M",
                                     recurrence_policy=Policy.ON_COMPLETION,
                                     progress_increment="event.amount",
                                     allow_rollback_after_completion=True)
    spilling = ingest(program, at=T0, amount="700")

    # when
    result = event_cancel(event=spilling.event, now=T0 + DAY)

    # then: the fold without the only event has no iteration at all
    assert list(iterations(achievement)) == []
    rollbacks = [e for e in result.effects
                 if e["effectType"] == "rollbackIncreasedAchievementProgress"]
    assert sorted(e["decreaseProgressBy"] for e in rollbacks) == [100, 300, 300]
    assert achievement_events(state="POSTED").count() == 0
    assert achievement_events(state="CANCELLED").count() == 2
