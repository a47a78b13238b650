"""The progress fold: a customer's iterations of one achievement, as a pure function of the
events that count for it, taken in event time.

This module is pure, like `periods.py` and `rules.py` beside it: no Django, no ORM, no clock.
The services load what a fold needs (the definition, the customer's stored iterations, the
events that count), run `fold`, compare its result with what is stored and write the
difference; import, `recompute_progress` and simulation run the same function.

The rule (see docs/event-time.md): for every customer, the iterations of an achievement equal
the fold of its definition over the customer's POSTED events ordered by (performedOn, id),
whatever order they arrived in. Per event, in that order:

* ``user_action``: the event counts in the iteration whose window holds it; if there is none,
  it opens one at its own time, ``[performedOn, performedOn + period)`` (a one-time
  achievement opens only its first). So a late event earlier than an iteration's start moves
  the start (and the end) back, and events that then fall past the new end open the next
  iteration (recurring) or count for nothing (one-time).
* ``fixed_schedule``: the event counts in the iteration of the schedule window that holds it
  (a one-time achievement only has the first window).
* ``on_completion``: a completed iteration takes no more; the next event opens the next
  iteration, and what an event adds beyond the target carries over into it at once, at most
  ``max_completions`` iterations per event (the rest is dropped and reported).
* ``isCappedByTarget`` stops an iteration at its target; otherwise it keeps counting.
* ``completionDate`` is the performedOn of the event that reaches the target.

The one exception is money already promised: a completed iteration of an achievement that
does not allow rollback after completion is *pinned*. A pinned iteration keeps its window,
its completion and what it counted; the fold continues around it: an event inside its window
counts in it (as the policy allows), and no other iteration may overlap it.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from achievements import periods

__all__ = [
    "DEFAULT_MAX_COMPLETIONS",
    "Contribution",
    "Counted",
    "Definition",
    "FoldResult",
    "Iteration",
    "fold",
    "resume_point",
]

DEFAULT_MAX_COMPLETIONS = 100
NO_RECURRENCE = "no_recurrence"
ON_EXPIRATION = "on_expiration"
ON_COMPLETION = "on_completion"
USER_ACTION = "user_action"
FIXED_SCHEDULE = "fixed_schedule"
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Definition:
    """What the fold needs of an achievement definition."""

    id: int
    target: Decimal
    activation_policy: str = USER_ACTION
    recurrence_policy: str = NO_RECURRENCE
    period: periods.PeriodSpec | None = None
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    fixed_start: datetime | None = None
    end_date: datetime | None = None
    end_override: periods.TimePoint | None = None
    capped: bool = False
    allow_rollback: bool = False

    @property
    def fixed(self) -> bool:
        return self.activation_policy == FIXED_SCHEDULE

    @property
    def recurring(self) -> bool:
        return self.recurrence_policy != NO_RECURRENCE

    @property
    def on_completion(self) -> bool:
        return self.recurrence_policy == ON_COMPLETION

    def window(self, at: datetime) -> periods.Window | None:
        """The schedule window an event at `at` falls in (user_action: one opened at `at`)."""
        return periods.iteration_window(
            activation_policy=self.activation_policy, recurring=self.recurring,
            spec=self.period, tz=self.tz, at=at, fixed_start=self.fixed_start,
            end_date=self.end_date, end_override=self.end_override,
        )


@dataclass(frozen=True, slots=True, order=True)
class Counted:
    """An event that counts for the achievement, with what it adds (> 0). Ordered in event
    time: (performedOn, id)."""

    performed_on: datetime
    event_id: int
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Contribution:
    event_id: int
    delta: Decimal
    completed: bool = False  # this contribution reached the target


@dataclass(slots=True)
class Iteration:
    """One iteration. `key` is the stored row's identity (None for one the fold opened);
    `counted` what each event already added to it before this fold (pinned iterations);
    `added` what this fold added."""

    window_start: datetime
    start_date: datetime
    end_date: datetime | None
    window_index: int = 0
    progress: Decimal = _ZERO
    completion_date: datetime | None = None
    completion_value: Decimal | None = None  # the progress when it completed
    completed_by: int | None = None
    last_counted_on: datetime | None = None
    key: int | None = None
    pinned: bool = False
    counted: Mapping[int, Decimal] = field(default_factory=dict)
    added: list[Contribution] = field(default_factory=list)

    @property
    def completed(self) -> bool:
        return self.completion_date is not None

    def holds(self, at: datetime) -> bool:
        return self.window_start <= at and (self.end_date is None or at < self.end_date)


@dataclass(slots=True)
class FoldResult:
    """The iterations a fold continued (its `prior`), passed (pins) or opened, in time order;
    and the events whose carry-over the per-event bound stopped."""

    iterations: list[Iteration]
    truncated: list[int] = field(default_factory=list)


def _copy(iteration: Iteration) -> Iteration:
    return replace(iteration, added=list(iteration.added))


class _Fold:
    def __init__(self, definition: Definition, *, prior: Iteration | None, started: bool,
                 pins: Sequence[Iteration], max_completions: int) -> None:
        self.definition = definition
        self.max_completions = max_completions
        self.pins = sorted((_copy(p) for p in pins), key=lambda p: p.window_start)
        self.pin_starts = [p.window_start for p in self.pins]
        self.pinned: dict[int, Decimal] = {}  # what each event added to pinned iterations
        for pin in self.pins:
            for event_id, delta in pin.counted.items():
                self.pinned[event_id] = self.pinned.get(event_id, _ZERO) + delta
        self.prior = _copy(prior) if prior is not None else None
        self.current = self.prior  # the latest iteration the fold opened or continued
        self.opened: list[Iteration] = []
        self.started = started or prior is not None or bool(self.pins)
        self.truncated: list[int] = []

    # Which iteration an event counts in ---------------------------------------------
    def _pin_holding(self, at: datetime) -> Iteration | None:
        """The kept completion whose window holds `at` (none for on_completion: a completed
        iteration takes no more there, the next one counts)."""
        index = bisect.bisect_right(self.pin_starts, at) - 1
        if index < 0 or self.definition.on_completion:
            return None
        pin = self.pins[index]
        return pin if pin.holds(at) else None

    def _latest(self, at: datetime) -> Iteration | None:
        """The iteration an event at `at` follows: the latest the fold opened or continued,
        or a kept completion that started after it."""
        index = bisect.bisect_right(self.pin_starts, at) - 1
        candidates = [c for c in (self.current, self.pins[index] if index >= 0 else None)
                      if c is not None]
        return max(candidates, key=lambda i: (i.window_start, i.start_date), default=None)

    def _next_pin_start(self, at: datetime) -> datetime | None:
        index = bisect.bisect_right(self.pin_starts, at)
        return self.pin_starts[index] if index < len(self.pin_starts) else None

    def _open(self, at: datetime, window: periods.Window) -> Iteration | None:
        d = self.definition
        if not d.recurring and self.started:
            return None  # one-time: its only iteration is (or was) there
        start, end = window.start, window.end
        latest = self._latest(at)
        if d.fixed and d.on_completion and latest is not None \
                and latest.window_index == window.index:
            start = at  # the next iteration runs in what is left of the same window
        next_pin = self._next_pin_start(at)
        if next_pin is not None and (end is None or end > next_pin):
            end = next_pin  # never overlap an iteration whose completion is kept
        iteration = Iteration(window_start=start, start_date=at, end_date=end,
                              window_index=window.index)
        self.opened.append(iteration)
        self.current = iteration
        self.started = True
        return iteration

    def _iteration_for(self, at: datetime) -> Iteration | None:
        pin = self._pin_holding(at)
        if pin is not None:
            return pin
        d = self.definition
        current = self._latest(at)
        if current is not None and (current.pinned or (current.completed and d.on_completion)):
            current = None  # the next event opens the next iteration
        if current is not None and current.holds(at):
            return current  # the common case: no schedule arithmetic
        window = d.window(at)
        if window is None:
            return None
        if current is not None and d.fixed and current.window_index == window.index:
            return current
        return self._open(at, window)

    # Counting -------------------------------------------------------------------------
    def count(self, event: Counted) -> None:
        d = self.definition
        remaining = event.amount
        pinned = self.pinned.get(event.event_id)
        if pinned is not None:  # counted in a kept completion already
            if not d.on_completion:
                return
            remaining -= pinned  # what it carried over beyond the kept completions
            if remaining <= 0:
                return
        iteration = self._iteration_for(event.performed_on)
        completions = 0
        while iteration is not None and remaining > 0:
            delta = remaining
            if d.capped or d.on_completion:
                delta = min(remaining, max(d.target - iteration.progress, _ZERO))
            if delta <= 0:
                return
            iteration.progress += delta
            just_completed = not iteration.completed and iteration.progress >= d.target
            if just_completed:
                iteration.completion_date = event.performed_on
                iteration.completion_value = iteration.progress
                iteration.completed_by = event.event_id
                completions += 1
            if event.performed_on < iteration.start_date:
                iteration.start_date = event.performed_on
            if iteration.last_counted_on is None or event.performed_on > \
                    iteration.last_counted_on:
                iteration.last_counted_on = event.performed_on
            iteration.added.append(Contribution(event.event_id, delta, just_completed))
            remaining -= delta
            if not (d.on_completion and just_completed and remaining > 0):
                return
            if completions >= self.max_completions:
                self.truncated.append(event.event_id)
                return
            # The excess opens the next iteration at once (a new progress tracker).
            iteration = self._iteration_for(event.performed_on)

    def result(self) -> FoldResult:
        iterations = [*([self.prior] if self.prior is not None else []), *self.pins,
                      *self.opened]
        iterations.sort(key=lambda i: (i.window_start, i.start_date))
        return FoldResult(iterations=iterations, truncated=self.truncated)


def fold(definition: Definition, events: Iterable[Counted], *,
         prior: Iteration | None = None, started: bool = False,
         pins: Sequence[Iteration] = (),
         max_completions: int = DEFAULT_MAX_COMPLETIONS) -> FoldResult:
    """Fold `events` (any order: they are sorted in event time) into iterations.

    * `prior`: the stored iteration the fold continues (the customer's latest, when the new
      events are later than everything it holds); it is copied, never changed in place.
    * `started`: the customer had iterations before the ones folded here (a one-time
      achievement then opens none).
    * `pins`: stored completed iterations that must stay (no rollback after completion).
    * `max_completions`: at most this many iterations one event completes (on_completion).
    """
    state = _Fold(definition, prior=prior, started=started, pins=pins,
                  max_completions=max_completions)
    for event in sorted(events):
        if event.amount > 0:
            state.count(event)
    return state.result()


def resume_point(iterations: Sequence[Iteration], at: datetime) -> tuple[int, datetime]:
    """Where a re-fold for an event at `at` (late, or cancelled) starts: how many of the
    leading `iterations` (in time order; stored rows work too) stay as they are, and from which
    performedOn on the events are folded again (with the last one kept as the `prior`).

    An iteration stays when its window closed at or before `at` and no event it counted is
    folded again (on_completion carries one event over several iterations). Nothing before
    that point depends on the event, so folding from there equals folding from the start.
    """
    kept = 0
    for iteration in iterations:
        if iteration.end_date is None or iteration.end_date > at:
            break
        kept += 1
    while True:
        start = at
        if kept < len(iterations) and iterations[kept].window_start < start:
            start = iterations[kept].window_start
        last = iterations[kept - 1].last_counted_on if kept else None
        if kept == 0 or last is None or last < start:
            return kept, start
        kept -= 1
