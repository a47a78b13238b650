"""Laurel's period engine: achievement periods and iteration windows.

This module implements Talon.One's achievement ``period`` semantics and is pure: no Django,
no ORM, no settings and no clock. Every function takes explicit, keyword-only arguments and
returns frozen dataclasses or timezone-aware datetimes in UTC.

Rules in short:

* A period is ``<amount><unit>[_D|_U]``, e.g. ``1D``, ``30D_D``, ``3M_U``, ``1.5h``.
* ``s``, ``m`` and ``h`` are exact durations added to the UTC instant (fractions allowed).
* ``D``, ``W``, ``M`` and ``Y`` are local calendar arithmetic in the given time zone: the
  instant is converted to local wall time, the calendar fields are changed (months and years
  clamp the day to the month's length) and the wall time is converted back to UTC.
* A wall time that does not exist (spring-forward gap) is resolved with ``fold=0`` and
  normalised through UTC (02:30 becomes 03:30 in Europe/Amsterdam); an ambiguous wall time
  (fall-back) resolves to its first occurrence.
* ``_D`` rounds the end down to 00:00:00 local; ``_U`` rounds it up to 23:59:59 local of the
  last day of the day, ISO week (Sunday), month or year.
* Windows are half-open ``[start, end)``.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_CEILING, Decimal, localcontext
from enum import StrEnum
from zoneinfo import ZoneInfo

__all__ = [
    "ActivationPolicy",
    "PeriodError",
    "PeriodSpec",
    "TimePoint",
    "Window",
    "add_period",
    "describe_period",
    "iteration_window",
    "parse_period",
    "validate_time_point",
]

EXACT_UNITS = frozenset("smh")
CALENDAR_UNITS = frozenset("DWMY")

_PERIOD_RE = re.compile(
    r"^(?P<n>\d+(?:\.\d+)?|\.\d+)(?P<unit>[smhDWMY])(?P<round>_D|_U)?$",
    re.ASCII,
)
_GRAMMAR_HINT = (
    "expected a positive number followed by one of s, m, h, D, W, M, Y, "
    "optionally with _D or _U (e.g. 1D, 30D_D, 3M_U)"
)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}
_UNIT_NAMES = {
    "s": "second",
    "m": "minute",
    "h": "hour",
    "D": "day",
    "W": "week",
    "M": "month",
    "Y": "year",
}
_MICROSECONDS_PER_SECOND = 1_000_000


class PeriodError(ValueError):
    """A period, or its periodEndOverride, breaks one of the grammar rules."""


class ActivationPolicy(StrEnum):
    """How an achievement's iterations start (plain strings are accepted too)."""

    USER_ACTION = "user_action"
    FIXED_SCHEDULE = "fixed_schedule"


# --------------------------------------------------------------------------------------------
# Period grammar
# --------------------------------------------------------------------------------------------


def _format_amount(amount: Decimal) -> str:
    """Canonical text of an amount: no exponent, no trailing zeros (``1.50`` -> ``1.5``)."""
    return format(amount.normalize(), "f")


def _check_rules(*, amount: Decimal, unit: str, rounding: str | None, text: str) -> None:
    """Raise PeriodError naming the first rule that ``amount``/``unit``/``rounding`` break."""
    where = f"period {text!r}"
    if unit not in _UNIT_NAMES:
        raise PeriodError(f"{where}: the unit must be one of s, m, h, D, W, M, Y")
    if rounding not in (None, "D", "U"):
        raise PeriodError(f"{where}: rounding must be 'D' (round down), 'U' (round up) or None")
    if not amount.is_finite():
        raise PeriodError(f"{where}: the amount must be a finite number")
    if amount <= 0:
        raise PeriodError(f"{where}: the amount must be greater than 0")
    if unit in CALENDAR_UNITS and amount != amount.to_integral_value():
        raise PeriodError(
            f"{where}: D, W, M and Y need a whole number amount "
            "(fractions are allowed only for s, m and h)"
        )
    if rounding == "D" and unit != "D":
        raise PeriodError(f"{where}: _D (round down) applies only to D")
    if rounding == "U" and unit not in CALENDAR_UNITS:
        raise PeriodError(f"{where}: _U (round up) applies only to D, W, M and Y")


@dataclass(frozen=True, slots=True)
class PeriodSpec:
    """A parsed period: ``amount`` of ``unit`` with optional rounding ``"D"`` or ``"U"``.

    Construction validates the same rules as :func:`parse_period`; an ``int`` amount is
    converted to ``Decimal``.
    """

    amount: Decimal
    unit: str
    rounding: str | None = None

    def __post_init__(self) -> None:
        amount = self.amount
        if isinstance(amount, bool) or not isinstance(amount, int | Decimal):
            raise TypeError(f"amount must be an int or a Decimal, not {type(amount).__name__}")
        if isinstance(amount, int):
            object.__setattr__(self, "amount", Decimal(amount))
        suffix = f"_{self.rounding}" if isinstance(self.rounding, str) else ""
        _check_rules(
            amount=self.amount,
            unit=self.unit,
            rounding=self.rounding,
            text=f"{self.amount}{self.unit}{suffix}",
        )

    def __str__(self) -> str:
        suffix = f"_{self.rounding}" if self.rounding else ""
        return f"{_format_amount(self.amount)}{self.unit}{suffix}"

    @property
    def is_exact(self) -> bool:
        """True for s, m and h: exact durations rather than calendar arithmetic."""
        return self.unit in EXACT_UNITS

    @property
    def whole_amount(self) -> int:
        """The amount as an int (calendar units only ever have whole amounts)."""
        return int(self.amount)


def parse_period(text: str) -> PeriodSpec:
    """Parse a Talon.One period such as ``1D``, ``30D_D``, ``3M_U`` or ``1.5h``.

    Grammar: a positive number, one unit letter (case-sensitive) and optionally ``_D`` or
    ``_U``. Fractions are allowed only for s, m and h; ``_D`` only with D; ``_U`` only with
    D, W, M and Y. No surrounding whitespace is allowed. Raises PeriodError naming the rule.
    """
    if not isinstance(text, str):
        raise PeriodError(f"period {text!r}: the period must be a string")
    match = _PERIOD_RE.fullmatch(text)
    if match is None:
        raise PeriodError(f"period {text!r}: {_GRAMMAR_HINT}")
    amount = Decimal(match["n"])
    unit = match["unit"]
    rounding = match["round"][1:] if match["round"] else None
    _check_rules(amount=amount, unit=unit, rounding=rounding, text=text)
    return PeriodSpec(amount=amount, unit=unit, rounding=rounding)


# The longest period a definition may have: 100 years, or its equivalent in each unit (a
# year of 365.25 days). Longer periods would put windows past the supported dates (1-9999)
# for events Laurel accepts.
MAX_PERIOD_YEARS = 100
MAX_PERIOD_AMOUNT = {
    "Y": 100,
    "M": 1_200,
    "W": 5_218,
    "D": 36_525,
    "h": 876_600,
    "m": 52_596_000,
    "s": 3_155_760_000,
}


def validate_period_bounds(spec: PeriodSpec) -> None:
    """Raise PeriodError when ``spec`` is longer than MAX_PERIOD_YEARS (saying the bound)."""
    limit = MAX_PERIOD_AMOUNT[spec.unit]
    if spec.amount > limit:
        raise PeriodError(
            f"period '{spec}': a period is at most {MAX_PERIOD_YEARS} years "
            f"({limit}{spec.unit} in this unit)"
        )


def describe_period(spec: PeriodSpec) -> str:
    """Human description for the admin, e.g. ``3 months, rounded up to the end of the month``."""
    name = _UNIT_NAMES[spec.unit]
    plural = "" if spec.amount == 1 else "s"
    text = f"{_format_amount(spec.amount)} {name}{plural}"
    if spec.rounding == "D":
        text += ", rounded down to the start of the day"
    elif spec.rounding == "U":
        text += f", rounded up to the end of the {name}"
    return text


# --------------------------------------------------------------------------------------------
# periodEndOverride
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TimePoint:
    """Talon.One ``periodEndOverride``: pins the end of a period to a local time.

    ``day_of_week`` is ISO: 1 = Monday .. 7 = Sunday. Not validated on construction; call
    :func:`validate_time_point` with the period it belongs to.
    """

    hour: int
    minute: int
    second: int
    month: int | None = None
    day_of_month: int | None = None
    day_of_week: int | None = None


def _check_range(name: str, value: int | None, low: int, high: int) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise PeriodError(f"periodEndOverride {name} must be an integer (got {value!r})")
    if not low <= value <= high:
        raise PeriodError(
            f"periodEndOverride {name} must be between {low} and {high} (got {value})"
        )


def validate_time_point(*, spec: PeriodSpec, point: TimePoint) -> None:
    """Check ``point`` as the periodEndOverride of ``spec``; raise PeriodError if invalid.

    Ranges: hour 0..23, minute and second 0..59, month 1..12, dayOfMonth 1..31,
    dayOfWeek 1..7. An override cannot be combined with _D/_U, applies only to D, W, M and
    Y periods; month only to Y, dayOfMonth only to Y and M, dayOfWeek only to W.
    """
    if point.hour is None or point.minute is None or point.second is None:
        raise PeriodError("periodEndOverride needs hour, minute and second")
    _check_range("hour", point.hour, 0, 23)
    _check_range("minute", point.minute, 0, 59)
    _check_range("second", point.second, 0, 59)
    _check_range("month", point.month, 1, 12)
    _check_range("dayOfMonth", point.day_of_month, 1, 31)
    _check_range("dayOfWeek", point.day_of_week, 1, 7)
    if spec.rounding is not None:
        raise PeriodError(f"periodEndOverride cannot be combined with _D/_U (period '{spec}')")
    if spec.unit not in CALENDAR_UNITS:
        raise PeriodError(
            f"periodEndOverride applies only to D, W, M and Y periods (period '{spec}')"
        )
    if point.month is not None and spec.unit != "Y":
        raise PeriodError(f"periodEndOverride month applies only to Y periods (period '{spec}')")
    if point.day_of_month is not None and spec.unit not in ("Y", "M"):
        raise PeriodError(
            f"periodEndOverride dayOfMonth applies only to Y and M periods (period '{spec}')"
        )
    if point.day_of_week is not None and spec.unit != "W":
        raise PeriodError(
            f"periodEndOverride dayOfWeek applies only to W periods (period '{spec}')"
        )


# --------------------------------------------------------------------------------------------
# Calendar arithmetic
# --------------------------------------------------------------------------------------------


def _require_aware(value: datetime, name: str) -> datetime:
    """Return ``value`` in UTC; reject naive datetimes with ValueError."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime (got naive {value})")
    return value.astimezone(UTC)


def _out_of_range(spec: PeriodSpec) -> PeriodError:
    return PeriodError(f"period '{spec}': the result is outside the supported dates (1-9999)")


def _wall_to_utc(wall: datetime) -> datetime:
    """Local wall time -> UTC; gaps and overlaps resolve with fold=0 (see module doc)."""
    return wall.replace(fold=0).astimezone(UTC)


def _with_date(wall: datetime, day: date) -> datetime:
    return wall.replace(year=day.year, month=day.month, day=day.day)


def _days_in_month(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def _add_months(wall: datetime, months: int) -> datetime:
    """Add calendar months, clamping the day to the target month's length."""
    year, month0 = divmod(wall.year * 12 + (wall.month - 1) + months, 12)
    if not 1 <= year <= 9999:
        raise OverflowError("year out of range")
    day = min(wall.day, _days_in_month(year, month0 + 1))
    return wall.replace(year=year, month=month0 + 1, day=day)


def _add_calendar_units(wall: datetime, unit: str, count: int) -> datetime:
    """Add ``count`` local calendar units to a wall time (no time-zone conversion here)."""
    if unit == "D":
        return _with_date(wall, wall.date() + timedelta(days=count))
    if unit == "W":
        return _with_date(wall, wall.date() + timedelta(weeks=count))
    if unit == "M":
        return _add_months(wall, count)
    return _add_months(wall, 12 * count)


def _round_wall(wall: datetime, spec: PeriodSpec) -> datetime:
    """Apply ``_D`` (00:00:00 of the day) or ``_U`` (23:59:59 at the end of the unit)."""
    if spec.rounding == "D":
        return wall.replace(hour=0, minute=0, second=0, microsecond=0)
    if spec.rounding != "U":
        return wall
    wall = wall.replace(hour=23, minute=59, second=59, microsecond=0)
    if spec.unit == "W":
        return _with_date(wall, wall.date() + timedelta(days=7 - wall.isoweekday()))
    if spec.unit == "M":
        return wall.replace(day=_days_in_month(wall.year, wall.month))
    if spec.unit == "Y":
        return wall.replace(month=12, day=31)
    return wall


def _pin_wall(wall: datetime, unit: str, point: TimePoint) -> datetime:
    """Pin the override's components relevant to ``unit`` on a wall time."""
    if unit == "Y":
        month = point.month if point.month is not None else wall.month
        day = point.day_of_month if point.day_of_month is not None else wall.day
        wall = wall.replace(month=month, day=min(day, _days_in_month(wall.year, month)))
    elif unit == "M" and point.day_of_month is not None:
        day = min(point.day_of_month, _days_in_month(wall.year, wall.month))
        wall = wall.replace(day=day)
    elif unit == "W" and point.day_of_week is not None:
        shift = point.day_of_week - wall.isoweekday()
        wall = _with_date(wall, wall.date() + timedelta(days=shift))
    return wall.replace(hour=point.hour, minute=point.minute, second=point.second, microsecond=0)


def _exact_duration(spec: PeriodSpec) -> timedelta:
    """The exact timedelta of an s/m/h period, rounded up to a whole microsecond."""
    with localcontext() as ctx:
        ctx.prec = 60
        micros = spec.amount * _UNIT_SECONDS[spec.unit] * _MICROSECONDS_PER_SECOND
        micros = micros.to_integral_value(rounding=ROUND_CEILING)
    return timedelta(microseconds=int(micros))


def _boundary(
    *,
    start: datetime,
    spec: PeriodSpec,
    tz: ZoneInfo,
    k: int,
    end_override: TimePoint | None,
) -> datetime:
    """``start`` plus ``k`` periods (k >= 1) with rounding/override applied, in UTC.

    ``start`` must already be in UTC. Always computed from ``start`` so that month
    clamping never drifts.
    """
    try:
        if spec.is_exact:
            return start + k * _exact_duration(spec)
        local = start.astimezone(tz)
        count = k * spec.whole_amount
        wall = _add_calendar_units(local, spec.unit, count)
        if end_override is None:
            return _wall_to_utc(_round_wall(wall, spec))
        # The end is the first pinned point after start + (k·n - 1) units: "1W, Sunday"
        # ends on the coming Sunday, "1Y, 23 Nov" on the coming 23 November.
        count -= 1
        anchor = _wall_to_utc(_add_calendar_units(local, spec.unit, count))
        while True:
            wall = _add_calendar_units(local, spec.unit, count)
            end = _wall_to_utc(_pin_wall(wall, spec.unit, end_override))
            if end > anchor:
                return end
            count += 1
    except OverflowError as exc:
        raise _out_of_range(spec) from exc


def add_period(
    *,
    at: datetime,
    spec: PeriodSpec,
    tz: ZoneInfo,
    end_override: TimePoint | None = None,
) -> datetime:
    """Return the end of a period starting at ``at`` (aware), in UTC.

    s/m/h add an exact duration to the instant. D/W/M/Y add local calendar units in ``tz``
    (days keep the wall-clock time across DST; months and years clamp the day), then apply
    ``_D``/``_U`` rounding. With ``end_override`` the end is instead the first point after
    ``at`` + (n - 1) units that matches the override's components (Y: month, day, time;
    M: day, time; W: ISO weekday, time; D: time): ``1W`` ending Sunday 23:59:59 from a
    Wednesday ends that same week.
    """
    start = _require_aware(at, "at")
    if end_override is not None:
        validate_time_point(spec=spec, point=end_override)
    return _boundary(start=start, spec=spec, tz=tz, k=1, end_override=end_override)


# --------------------------------------------------------------------------------------------
# Iteration windows
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open iteration window ``[start, end)``; ``end=None`` means open-ended.

    ``index`` is the fixed-schedule window number k (always 0 for user_action).
    """

    start: datetime
    end: datetime | None
    index: int = 0

    def contains(self, at: datetime) -> bool:
        """True when ``start <= at < end`` (``at`` must be aware)."""
        instant = _require_aware(at, "at")
        return self.start <= instant and (self.end is None or instant < self.end)


def _capped(window: Window, end_date: datetime | None) -> Window:
    if end_date is None or (window.end is not None and window.end <= end_date):
        return window
    return Window(start=window.start, end=end_date, index=window.index)


def _estimate_index(*, start: datetime, at: datetime, spec: PeriodSpec, tz: ZoneInfo) -> int:
    """A close guess of the fixed-schedule window number containing ``at`` (>= 0)."""
    if spec.is_exact:
        return (at - start) // _exact_duration(spec)
    first = start.astimezone(tz)
    now = at.astimezone(tz)
    if spec.unit in ("D", "W"):
        span = (now.date() - first.date()).days
        per = spec.whole_amount * (7 if spec.unit == "W" else 1)
    elif spec.unit == "M":
        span = (now.year - first.year) * 12 + (now.month - first.month)
        per = spec.whole_amount
    else:
        span = now.year - first.year
        per = spec.whole_amount
    return max(span // per, 0)


def iteration_window(
    *,
    activation_policy: str,
    recurring: bool,
    spec: PeriodSpec | None,
    tz: ZoneInfo,
    at: datetime,
    fixed_start: datetime | None = None,
    end_date: datetime | None = None,
    end_override: TimePoint | None = None,
) -> Window | None:
    """Return the iteration window an event at ``at`` falls in, or None if it counts for nothing.

    * ``user_action``: a new iteration ``[at, add_period(at))`` (open-ended without a period).
    * ``fixed_schedule``: boundaries ``b_0 = fixed_start`` and ``b_k = fixed_start + k
      periods`` (rounding/override applied for k >= 1, always computed from fixed_start);
      window k is ``[b_k, b_{k+1})``. Events before fixed_start get None; a one-time
      achievement only has window 0; a recurring one has the window containing ``at``.
      Without a period there is a single window ``[fixed_start, end_date)``.
    * ``end_date`` caps everything: events at or after it get None and window ends are
      clipped to it.
    """
    try:
        policy = ActivationPolicy(activation_policy)
    except ValueError:
        raise ValueError(
            "activation_policy must be 'user_action' or 'fixed_schedule' "
            f"(got {activation_policy!r})"
        ) from None
    instant = _require_aware(at, "at")
    cap = None if end_date is None else _require_aware(end_date, "end_date")
    if end_override is not None:
        if spec is None:
            raise PeriodError("periodEndOverride needs a period")
        validate_time_point(spec=spec, point=end_override)
    if cap is not None and instant >= cap:
        return None

    if policy is ActivationPolicy.USER_ACTION:
        end = None
        if spec is not None:
            end = _boundary(start=instant, spec=spec, tz=tz, k=1, end_override=end_override)
        return _capped(Window(start=instant, end=end, index=0), cap)

    if fixed_start is None:
        raise ValueError("fixed_schedule achievements need a fixed_start")
    origin = _require_aware(fixed_start, "fixed_start")
    if instant < origin:
        return None
    if spec is None:
        return _capped(Window(start=origin, end=None, index=0), cap)

    def boundary(k: int) -> datetime:
        if k == 0:
            return origin
        return _boundary(start=origin, spec=spec, tz=tz, k=k, end_override=end_override)

    if not recurring:
        first_end = boundary(1)
        if instant >= first_end:
            return None
        return _capped(Window(start=origin, end=first_end, index=0), cap)

    k = _estimate_index(start=origin, at=instant, spec=spec, tz=tz)
    while k > 0 and boundary(k) > instant:
        k -= 1
    start = boundary(k)
    end = boundary(k + 1)
    while end <= instant:
        k += 1
        start, end = end, boundary(k + 1)
    return _capped(Window(start=start, end=end, index=k), cap)
