"""The pure streak arithmetic (no database)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from achievements.streaks import (
    MET,
    MISSED,
    OPEN,
    PENDING_GRACE,
    UPCOMING,
    cycle_state,
    level_changes,
    streak_count,
)

START = datetime(2026, 1, 5, tzinfo=UTC)
END = START + timedelta(days=7)


@pytest.mark.parametrize(
    ("value", "now", "grace", "state"),
    [
        (Decimal(100), START - timedelta(days=1), timedelta(0), MET),
        (Decimal(99), START - timedelta(seconds=1), timedelta(0), UPCOMING),
        (Decimal(99), START, timedelta(0), OPEN),
        (Decimal(99), END - timedelta(seconds=1), timedelta(0), OPEN),
        (Decimal(99), END, timedelta(0), MISSED),
        (Decimal(99), END, timedelta(hours=2), PENDING_GRACE),
        (Decimal(99), END + timedelta(hours=2) - timedelta(seconds=1), timedelta(hours=2),
         PENDING_GRACE),
        (Decimal(99), END + timedelta(hours=2), timedelta(hours=2), MISSED),
        (Decimal(100), END + timedelta(days=30), timedelta(0), MET),
    ],
)
def test_cycle_state_at_edges(value, now, grace, state):
    assert cycle_state(value=value, target=Decimal(100), start=START, end=END, grace=grace,
                       now=now) == state


@pytest.mark.parametrize(
    ("states", "current", "longest"),
    [
        ([], 0, 0),
        ([MET, MET, MET], 3, 3),
        ([MET, MET, MISSED, MET], 1, 2),
        ([MET, MET, MISSED], 0, 2),
        ([MET, MET, OPEN], 2, 2),
        ([MET, MET, MET, OPEN, UPCOMING], 3, 3),
        ([MET, MET, PENDING_GRACE, OPEN], 2, 2),
        ([MET, MET, PENDING_GRACE, MET], 1, 2),
        ([MISSED, MET, MET, MET, MISSED, MET], 1, 3),
    ],
)
def test_streak_count_continuous(states, current, longest):
    count = streak_count(tracking_type="STREAKS", states=states)

    assert (count.current, count.longest) == (current, longest)


def test_streak_count_non_continuous_never_resets():
    count = streak_count(tracking_type="NON_CONTINUOUS_STREAKS",
                         states=[MET, MISSED, MET, MISSED, MISSED, MET, OPEN])

    assert (count.current, count.longest) == (3, 3)


@given(st.lists(st.sampled_from([MET, MISSED, OPEN, UPCOMING, PENDING_GRACE]), max_size=30))
def test_streak_count_properties(states):
    continuous = streak_count(tracking_type="STREAKS", states=states)
    non_continuous = streak_count(tracking_type="NON_CONTINUOUS_STREAKS", states=states)

    assert 0 <= continuous.current <= continuous.longest <= states.count(MET)
    assert non_continuous.current == states.count(MET)


def test_level_changes_reach_levels_in_order_once():
    assert level_changes(count=3, levels=[1, 3, 5], reached=set(), revocable=set()).reach == [1, 3]
    assert level_changes(count=3, levels=[1, 3, 5], reached={1, 3}, revocable=set()).reach == []
    assert level_changes(count=5, levels=[1, 3, 5], reached={1, 3}, revocable=set()).reach == [5]


def test_level_changes_keep_reached_levels_after_a_break():
    change = level_changes(count=0, levels=[1, 3], reached={1, 3}, revocable=set())

    assert (change.reach, change.revoke) == ([], [])


def test_level_changes_take_back_levels_of_an_open_cycle_and_those_above():
    change = level_changes(count=2, levels=[1, 3, 5], reached={1, 3, 5}, revocable={3})

    assert change.revoke == [5, 3]
    assert change.reach == []
