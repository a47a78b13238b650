"""The pure progress fold (achievements/progress.py): examples at the edges, and properties
that hold for every definition and every set of events."""

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from achievements import periods
from achievements.progress import Counted, Definition, Iteration, fold, resume_point

T0 = datetime(2023, 10, 10, 9, 30, 45, tzinfo=UTC)
SECOND = timedelta(seconds=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def definition(**fields) -> Definition:
    fields.setdefault("target", Decimal(3))
    if isinstance(fields.get("period"), str):
        fields["period"] = periods.parse_period(fields["period"])
    return Definition(id=1, **fields)


def events(*offsets, amount="1", start=T0):
    return [Counted(start + offset, index, Decimal(amount))
            for index, offset in enumerate(offsets, start=1)]


# The documented examples, to the second
# ------------------------------------------------------------------------------------------
def test_fold_ends_iterations_as_documented_when_first_action_opens_them():
    cases = [
        (definition(period="1D"), T0, datetime(2023, 10, 11, 9, 30, 45, tzinfo=UTC)),
        (definition(period="1M", activation_policy="fixed_schedule",
                    fixed_start=datetime(2023, 10, 10, tzinfo=UTC)),
         datetime(2023, 10, 18, 10, 20, tzinfo=UTC), datetime(2023, 11, 10, tzinfo=UTC)),
        (definition(period="3M_U", recurrence_policy="on_expiration"), T0,
         datetime(2024, 1, 31, 23, 59, 59, tzinfo=UTC)),
        (definition(period="2Y", recurrence_policy="on_expiration",
                    activation_policy="fixed_schedule",
                    fixed_start=datetime(2023, 1, 1, tzinfo=UTC)),
         datetime(2023, 8, 12, 14, 15, 2, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)),
    ]
    for rule, first_action, end in cases:
        (iteration,) = fold(rule, [Counted(first_action, 1, Decimal(1))]).iterations
        assert (iteration.start_date, iteration.end_date) == (first_action, end)


# Event time
# ------------------------------------------------------------------------------------------
def test_fold_starts_iteration_at_earliest_event_when_a_late_event_precedes_the_start():
    rule = definition(period="1D")
    on_time = events(2 * HOUR, 3 * HOUR)
    late = Counted(T0, 99, Decimal(1))

    (iteration,) = fold(rule, [*on_time, late]).iterations

    assert (iteration.start_date, iteration.end_date) == (T0, T0 + DAY)
    assert iteration.completion_date == T0 + 3 * HOUR
    assert iteration.completed_by == on_time[1].event_id


def test_fold_moves_events_past_the_new_end_into_the_next_iteration_when_recurring():
    rule = definition(period="1D", recurrence_policy="on_expiration")
    # Sent in order they would make one iteration at T0+20h; a late event at T0 opens the
    # first window [T0, T0+1D), so the last event (T0+1D+1h) opens the second.
    result = fold(rule, events(timedelta(0), 20 * HOUR, DAY + HOUR))

    assert [(i.start_date, i.end_date, i.progress) for i in result.iterations] == [
        (T0, T0 + DAY, 2), (T0 + DAY + HOUR, T0 + 2 * DAY + HOUR, 1)]


def test_fold_drops_events_past_the_new_end_when_one_time():
    rule = definition(period="1D")
    (iteration,) = fold(rule, events(timedelta(0), DAY + HOUR)).iterations
    assert iteration.progress == 1


def test_fold_completes_at_the_event_that_reaches_the_target_in_event_time():
    rule = definition(activation_policy="fixed_schedule", period="1M",
                      fixed_start=datetime(2023, 10, 1, tzinfo=UTC))
    arrived = list(reversed(events(HOUR, 2 * HOUR, 3 * HOUR, 4 * HOUR)))

    (iteration,) = fold(rule, arrived).iterations

    assert iteration.completion_date == T0 + 3 * HOUR
    assert iteration.progress == 4


def test_fold_carries_the_excess_over_and_stops_at_the_bound_when_on_completion():
    rule = definition(target=Decimal(10), recurrence_policy="on_completion", period="1D")

    result = fold(rule, [Counted(T0, 1, Decimal(10_000))], max_completions=100)

    assert len(result.iterations) == 100
    assert all(i.completed for i in result.iterations)
    assert result.truncated == [1]


def test_fold_keeps_a_pinned_completion_when_a_late_event_moves_the_window():
    rule = definition(period="1D")
    pin = Iteration(window_start=T0 + 2 * HOUR, start_date=T0 + 2 * HOUR,
                    end_date=T0 + 2 * HOUR + DAY, progress=Decimal(3),
                    completion_date=T0 + 4 * HOUR, key=7, pinned=True,
                    counted={1: Decimal(1), 2: Decimal(1), 3: Decimal(1)})
    counted = [*events(2 * HOUR, 3 * HOUR, 4 * HOUR), Counted(T0 - DAY, 9, Decimal(1))]

    (iteration,) = fold(rule, counted, pins=[pin]).iterations

    assert (iteration.key, iteration.completion_date, iteration.progress) == (
        7, T0 + 4 * HOUR, 3)
    assert iteration.added == []


def test_fold_opens_no_iteration_over_a_pinned_one_when_recurring():
    rule = definition(period="1D", recurrence_policy="on_expiration")
    pin = Iteration(window_start=T0, start_date=T0, end_date=T0 + DAY, progress=Decimal(3),
                    completion_date=T0 + HOUR, key=7, pinned=True,
                    counted={1: Decimal(1), 2: Decimal(1), 3: Decimal(1)})

    result = fold(rule, [Counted(T0 - 2 * HOUR, 9, Decimal(1))], pins=[pin])

    early, kept = result.iterations
    assert (early.start_date, early.end_date) == (T0 - 2 * HOUR, T0)
    assert kept.key == 7


# Properties
# ------------------------------------------------------------------------------------------
POLICIES = st.sampled_from(["no_recurrence", "on_expiration", "on_completion"])
ACTIVATIONS = st.sampled_from(["user_action", "fixed_schedule"])
PERIODS = st.sampled_from(["30s", "45m", "2h", "1D", "1D_D", "1D_U", "2D", "1W", "1W_U",
                           "1M", "1M_U", "1Y", None])
ZONES = st.sampled_from(["UTC", "Europe/Amsterdam", "America/New_York"])
ORIGIN = datetime(2024, 3, 1, tzinfo=UTC)


@st.composite
def definitions(draw):
    policy = draw(POLICIES)
    activation = draw(ACTIVATIONS)
    period = draw(PERIODS)
    fixed = activation == "fixed_schedule"
    if not fixed and policy != "no_recurrence" and period is None:
        period = "1D"
    capped = draw(st.booleans()) and policy != "on_completion"
    end_date = draw(st.none() | st.integers(1, 60).map(lambda d: ORIGIN + timedelta(days=d)))
    return definition(
        target=Decimal(draw(st.integers(1, 5))), recurrence_policy=policy,
        activation_policy=activation, period=period, tz=ZoneInfo(draw(ZONES)),
        fixed_start=ORIGIN - timedelta(days=draw(st.integers(0, 3))) if fixed else None,
        end_date=end_date, capped=capped, allow_rollback=draw(st.booleans()),
    )


@st.composite
def event_sets(draw):
    offsets = draw(st.lists(st.integers(0, 40 * 24 * 60), min_size=1, max_size=25))
    amounts = draw(st.lists(st.integers(1, 4), min_size=len(offsets), max_size=len(offsets)))
    return [Counted(ORIGIN + timedelta(minutes=m), index, Decimal(a))
            for index, (m, a) in enumerate(zip(offsets, amounts, strict=True), start=1)]


def _continue(rule, counted):
    """Fold event by event, each continuing the latest iteration: the service's common case
    (every event later than what the achievement holds)."""
    iterations, started = [], False
    for event in sorted(counted):
        prior = iterations.pop() if iterations else None
        if prior is not None:
            prior = replace(prior, added=[])
        result = fold(rule, [event], prior=prior, started=started)
        iterations.extend(result.iterations)
        started = started or bool(result.iterations)
    return iterations


def _resume(rule, full, counted, at):
    """Re-fold from the resume point of an event at `at`, as the service does for a late
    event: the iterations before it stay, the rest is folded again after the last kept."""
    kept, start = resume_point(full, at)
    prior = replace(full[kept - 1], added=[]) if kept else None
    result = fold(rule, [e for e in counted if e.performed_on >= start], prior=prior,
                  started=bool(kept))
    return full[:kept - 1] + result.iterations if kept else result.iterations


@settings(max_examples=300, deadline=None)
@given(definitions(), event_sets())
def test_fold_gives_the_same_iterations_whether_continued_event_by_event_or_at_once(
        rule, counted):
    assert shape_of(_continue(rule, counted)) == shape_of(fold(rule, counted).iterations)


@settings(max_examples=1000, deadline=None)
@given(definitions(), event_sets(), st.integers(0, 40 * 24 * 60))
def test_fold_resumed_from_any_point_equals_the_whole_fold(rule, counted, minute):
    full = fold(rule, counted).iterations
    at = ORIGIN + timedelta(minutes=minute)
    assert shape_of(_resume(rule, full, counted, at)) == shape_of(full)


@settings(max_examples=300, deadline=None)
@given(definitions(), event_sets())
def test_fold_keeps_its_invariants_for_any_definition_and_events(rule, counted):
    result = fold(rule, counted)
    seen: dict[int, int] = {}
    for iteration in result.iterations:
        deltas = [c.delta for c in iteration.added]
        assert iteration.progress == sum(deltas)
        assert iteration.completed == (iteration.progress >= rule.target)
        if rule.capped or rule.on_completion:
            assert iteration.progress <= rule.target
        completing = [c for c in iteration.added if c.completed]
        assert len(completing) == (1 if iteration.completed else 0)
        if iteration.completed:
            by_id = {e.event_id: e for e in counted}
            assert iteration.completion_date == by_id[completing[0].event_id].performed_on
        if iteration.end_date is not None:
            assert iteration.window_start < iteration.end_date
            if rule.end_date is not None:
                assert iteration.end_date <= rule.end_date
        for contribution in iteration.added:
            seen[contribution.event_id] = seen.get(contribution.event_id, 0) + 1
    if not rule.recurring:
        assert len(result.iterations) <= 1
    if not rule.on_completion:
        assert all(n == 1 for n in seen.values())  # an event counts in one iteration
        ends = [(i.window_start, i.end_date) for i in result.iterations]
        for (_, end), (start, _) in itertools.pairwise(ends):
            assert end is not None and end <= start  # windows never overlap


@settings(max_examples=200, deadline=None)
@given(definitions(), event_sets(), event_sets())
def test_fold_never_takes_back_a_pinned_completion_whatever_else_arrives(rule, first, more):
    before = [replace(i, key=n, pinned=True, added=[],
                      counted={c.event_id: c.delta for c in i.added})
              for n, i in enumerate(fold(rule, first).iterations) if i.completed]
    extra = [replace(e, event_id=e.event_id + 1000) for e in more]

    after = fold(rule, [*first, *extra], pins=before).iterations

    by_key = {i.key: i for i in after if i.key is not None}
    for pin in before:
        kept = by_key[pin.key]
        assert (kept.window_start, kept.end_date, kept.completion_date) == (
            pin.window_start, pin.end_date, pin.completion_date)
        assert kept.progress >= pin.progress


def shape_of(iterations):
    return [(i.window_start, i.start_date, i.end_date, i.window_index, i.progress,
             i.completion_date) for i in iterations]
