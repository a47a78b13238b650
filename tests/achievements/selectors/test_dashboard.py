"""Achievement and streak figures (dashboard, definition pages) against hand-computed
values."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from achievements import selectors
from achievements.models import CycleProgress, Enrolment, StreakLevelAchievement
from achievements.services import target_group_create
from tests.achievements.factories import AchievementFactory, AchievementProgressFactory
from tests.loyalty.factories import CustomerFactory, ProgramFactory

pytestmark = pytest.mark.django_db

AMS = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def t(day: int, hour: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


@pytest.fixture
def achievement(db):
    """Four customers: c1 completed once (2 days) and runs a second iteration, c2's
    iteration ended unmet but the job has not closed it yet, c3's expired, c4 completed
    (4 days)."""
    program = ProgramFactory(time_zone="Europe/Amsterdam")
    achievement = AchievementFactory(campaign__program=program)
    c1, c2, c3, c4 = (CustomerFactory(program=program) for _ in range(4))

    def iteration(customer, sequence, status, start, end, completed=None):
        AchievementProgressFactory(achievement=achievement, customer=customer,
                                   sequence=sequence, status=status, window_start=start,
                                   start_date=start, end_date=end, completion_date=completed)

    iteration(c1, 1, "completed", t(1, 10), t(20), completed=t(3, 10))
    iteration(c1, 2, "inprogress", t(3, 11), t(20))
    iteration(c2, 1, "inprogress", t(1), t(5))  # ended 5 March: reads as expired
    iteration(c3, 1, "expired", t(1), t(2))
    iteration(c4, 1, "completed", t(5), t(25), completed=t(9))
    AchievementProgressFactory(achievement=AchievementFactory(), status="completed",
                               completion_date=t(9))  # another program
    return achievement


def test_achievement_funnels_count_customers_and_iterations_as_of_now(achievement):
    (funnel,) = selectors.achievement_funnels(program=achievement.campaign.program, now=NOW)
    assert (funnel.achievement_id, funnel.title) == (achievement.pk, achievement.title)
    assert (funnel.started, funnel.in_progress, funnel.completed, funnel.expired) == (
        4, 1, 2, 2)


def test_achievement_funnels_lists_an_achievement_without_progress_with_zeros():
    program = ProgramFactory()
    empty = AchievementFactory(campaign__program=program)
    (funnel,) = selectors.achievement_funnels(program=program, now=NOW)
    assert funnel == selectors.AchievementFunnel(
        achievement_id=empty.pk, title=empty.title, started=0, in_progress=0, completed=0,
        expired=0)


def test_completion_counts_by_day_counts_completions_per_local_day(achievement):
    counts = selectors.completion_counts_by_day(program=achievement.campaign.program,
                                                start=t(1), end=t(11), tz=AMS)
    assert counts == {date(2026, 3, 3): 1, date(2026, 3, 9): 1}
    assert selectors.completion_count(program=achievement.campaign.program, start=t(4),
                                      end=t(11)) == 1


def test_achievement_stats_give_rate_and_median_time_to_complete(achievement):
    stats = selectors.achievement_stats(achievement=achievement, now=NOW)
    assert (stats.participants, stats.in_progress, stats.completed, stats.expired) == (
        4, 1, 2, 2)
    assert stats.completers == 2
    assert stats.completion_rate == 0.5
    assert stats.median_time_to_complete == timedelta(days=3)  # median of 2 and 4 days


def test_achievement_stats_have_no_rate_or_median_when_nobody_started():
    stats = selectors.achievement_stats(achievement=AchievementFactory(), now=NOW)
    assert (stats.participants, stats.completion_rate, stats.median_time_to_complete) == (
        0, None, None)


def test_achievement_participant_count_counts_customers_once(achievement):
    assert selectors.achievement_participant_count(achievement=achievement) == 4


# Streaks
# ------------------------------------------------------------------------------
@pytest.fixture
def group(db):
    """A weekly streak from Monday 2 March (Amsterdam), four cycles, levels at 1 and 2 met
    cycles; three active enrolments and one that left before it started."""
    program = ProgramFactory(time_zone="Europe/Amsterdam")
    group = target_group_create(
        program=program, name="Weekly", tracking_type="STREAKS", frequency_type="WEEKLY",
        frequency=1, recurring_cycles=4, start_date=datetime(2026, 3, 2, tzinfo=AMS),
        targets=[{"name": "Spend 20", "target_entity": "TRANSACTION", "target_type": "SALES",
                  "event_name": "PURCHASE", "default_values": [Decimal(20)] * 4}],
        streaks=[{"name": "One", "target_count_of_sequence": 1},
                 {"name": "Two", "target_count_of_sequence": 2}],
    )
    before = datetime(2026, 2, 1, tzinfo=UTC)
    for current, longest, active in ((0, 2, True), (2, 3, True), (2, 2, True), (5, 5, False)):
        Enrolment.objects.create(
            group=group, customer=CustomerFactory(program=program), active=active,
            current_count=current, longest_count=longest, counting_from=before,
            enrolled_at=before, unenrolled_at=None if active else before + timedelta(days=1))
    return group


def test_streak_distributions_count_active_enrolments_per_length(group):
    (distribution,) = selectors.streak_distributions(program=group.program)
    assert distribution.name == "Weekly"
    assert distribution.enrolled == 3
    assert distribution.current == {0: 1, 2: 2}
    assert distribution.longest == {2: 2, 3: 1}


def test_running_streak_count_counts_active_current_streaks(group):
    assert selectors.running_streak_count(program=group.program) == 2
    assert selectors.streak_enrolled_count(program=group.program) == 3


def test_level_reached_counts_skip_revoked_levels(group):
    one, two = group.levels.order_by("target_count_of_sequence")
    enrolments = list(Enrolment.objects.filter(group=group, active=True).order_by("pk"))
    for enrolment, level, revoked in ((enrolments[0], one, None), (enrolments[1], one, None),
                                      (enrolments[1], two, None), (enrolments[2], one, NOW)):
        StreakLevelAchievement.objects.create(enrolment=enrolment, level=level, epoch=1,
                                              achieved_at=t(9), revoked_at=revoked)
    assert [(level.name, n) for level, n in selectors.level_reached_counts(group=group)] == [
        ("One", 2), ("Two", 1)]


def test_cycle_shares_give_met_and_missed_per_cycle(group):
    # given: cycle 1 (2-9 March) met by two customers, cycle 2 (9-16 March) by one so far
    periods = list(group.periods.order_by("position"))
    target = group.targets.get()
    enrolments = list(Enrolment.objects.filter(group=group, active=True).order_by("pk"))
    for enrolment, period in ((enrolments[0], periods[0]), (enrolments[1], periods[0]),
                              (enrolments[1], periods[1])):
        CycleProgress.objects.create(enrolment=enrolment, target=target, period=period,
                                     value=Decimal(25), met_at=period.start_date)
    CycleProgress.objects.create(enrolment=enrolments[2], target=target, period=periods[0],
                                 value=Decimal(5))  # tried, not met
    # when
    shares = selectors.cycle_shares(group=group, now=NOW)
    # then
    assert [(s.state, s.enrolled, s.met, s.missed) for s in shares] == [
        ("ENDED", 3, 2, 1), ("RUNNING", 3, 1, 0), ("UPCOMING", 3, 0, 0), ("UPCOMING", 3, 0, 0)]
    assert shares[0].met_share == pytest.approx(2 / 3)
