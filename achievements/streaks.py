"""Pure streak arithmetic: cycle states, streak counts and which levels move. No ORM, no clock.

A cycle is one period of a target group for one customer. Its state at `now`:

- `met`: the value reached the period's target (even while the cycle still runs);
- `upcoming`: not started yet;
- `open`: running, not met yet;
- `pending_grace`: ended unmet, but late events may still meet it (within the grace period);
- `missed`: ended unmet and final.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

MET, UPCOMING, OPEN, PENDING_GRACE, MISSED = "met", "upcoming", "open", "pending_grace", "missed"
CONTINUOUS, NON_CONTINUOUS = "STREAKS", "NON_CONTINUOUS_STREAKS"


def cycle_state(*, value: Decimal, target: Decimal, start: datetime, end: datetime,
                grace: timedelta, now: datetime) -> str:
    if value >= target:
        return MET
    if now < start:
        return UPCOMING
    if now < end:
        return OPEN
    if now < end + grace:
        return PENDING_GRACE
    return MISSED


def is_final(*, end: datetime, grace: timedelta, now: datetime) -> bool:
    """A cycle no longer takes late events once its end plus the grace period has passed."""
    return now >= end + grace


@dataclass(frozen=True)
class StreakCount:
    current: int
    longest: int


def streak_count(*, tracking_type: str, states: list[str]) -> StreakCount:
    """Count a streak from the states of its cycles in time order.

    Continuous (STREAKS): the run of met cycles ending at the latest closed cycle, plus the
    running cycle once it is met; a missed cycle resets the run to 0. A cycle still in its
    grace period does not break the streak yet: while nothing after it is met, the run before
    it stands. Non-continuous: every met cycle counts, nothing resets.
    """
    if tracking_type != CONTINUOUS:
        met = sum(1 for s in states if s == MET)
        return StreakCount(current=met, longest=met)
    run = longest = 0
    held: int | None = None  # the run before a cycle still in grace
    for state in states:
        if state == MET:
            run += 1
            longest = max(longest, run)
        elif state == MISSED:
            run, held = 0, None
        elif state == PENDING_GRACE:
            held, run = run, 0
    current = held if held is not None and run == 0 else run
    return StreakCount(current=current, longest=max(longest, current))


@dataclass(frozen=True)
class LevelChange:
    reach: list[int]   # level counts (targetCountOfSequence) to reach now, ascending
    revoke: list[int]  # level counts to take back, descending


def level_changes(*, count: int, levels: list[int], reached: set[int],
                  revocable: set[int]) -> LevelChange:
    """Levels are reached once and in order: level n+1 only after level n. A reached level is
    taken back when the count falls below it and the cycle that reached it is still open
    (`revocable`); levels above a taken-back level go with it."""
    reach, revoke = [], []
    held = set(reached)
    for level in sorted(levels, reverse=True):
        if level in held and count < level and level in revocable:
            revoke.append(level)
            held.discard(level)
    # a level above one taken back goes too
    for level in sorted(held, reverse=True):
        if any(lower in revoke for lower in levels if lower < level) and level not in revoke:
            revoke.append(level)
            held.discard(level)
    for level in sorted(levels):
        if level in held:
            continue
        if count < level:
            break
        reach.append(level)
        held.add(level)
    return LevelChange(reach=reach, revoke=sorted(revoke, reverse=True))
