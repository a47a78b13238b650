"""Tests for achievements.periods, Laurel's pure period engine (no DB, no Django)."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from achievements import periods
from achievements.periods import (
    ActivationPolicy,
    PeriodError,
    PeriodSpec,
    TimePoint,
    Window,
    add_period,
    describe_period,
    iteration_window,
    parse_period,
    validate_time_point,
)

UTC_ZONE = ZoneInfo("UTC")
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
KOLKATA = ZoneInfo("Asia/Kolkata")

GRAMMAR_RULE = "expected a positive number followed by one of s, m, h, D, W, M, Y"


def utc(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=UTC)


def wall(tz: ZoneInfo, *fields: int, fold: int = 0) -> datetime:
    return datetime(*fields, tzinfo=tz, fold=fold)


def user_window(period: str, at: datetime, tz: ZoneInfo = UTC_ZONE, **kwargs) -> Window | None:
    return iteration_window(
        activation_policy="user_action",
        recurring=kwargs.pop("recurring", False),
        spec=parse_period(period),
        tz=tz,
        at=at,
        **kwargs,
    )


def fixed_window(
    period: str | None,
    *,
    start: datetime,
    at: datetime,
    tz: ZoneInfo = UTC_ZONE,
    recurring: bool = True,
    **kwargs,
) -> Window | None:
    return iteration_window(
        activation_policy="fixed_schedule",
        recurring=recurring,
        spec=None if period is None else parse_period(period),
        tz=tz,
        at=at,
        fixed_start=start,
        **kwargs,
    )


def end_of(period: str, at: datetime, tz: ZoneInfo = UTC_ZONE, **kwargs) -> datetime:
    return add_period(at=at, spec=parse_period(period), tz=tz, **kwargs)


# --------------------------------------------------------------------------------------------
# The four reference examples (tz UTC), to the second
# --------------------------------------------------------------------------------------------


def test_iteration_window_ends_next_day_when_user_action_one_time_1d():
    # given / when
    window = user_window("1D", utc(2023, 10, 10, 9, 30, 45), recurring=False)

    # then
    assert window == Window(
        start=utc(2023, 10, 10, 9, 30, 45), end=utc(2023, 10, 11, 9, 30, 45), index=0
    )


def test_iteration_window_spans_first_month_when_fixed_schedule_one_time_1m():
    window = fixed_window(
        "1M", start=utc(2023, 10, 10), at=utc(2023, 10, 18, 10, 20), recurring=False
    )

    assert window == Window(start=utc(2023, 10, 10), end=utc(2023, 11, 10), index=0)


def test_iteration_window_ends_at_last_second_of_month_when_user_action_recurring_3m_u():
    window = user_window("3M_U", utc(2023, 10, 10, 9, 30, 45), recurring=True)

    assert window == Window(
        start=utc(2023, 10, 10, 9, 30, 45), end=utc(2024, 1, 31, 23, 59, 59), index=0
    )


def test_iteration_window_spans_two_years_when_fixed_schedule_recurring_2y():
    window = fixed_window("2Y", start=utc(2023, 1, 1), at=utc(2023, 8, 12, 14, 15, 2))

    assert window == Window(start=utc(2023, 1, 1), end=utc(2025, 1, 1), index=0)


# --------------------------------------------------------------------------------------------
# Grammar
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amount", "unit", "rounding"),
    [
        ("1D", Decimal(1), "D", None),
        ("1W", Decimal(1), "W", None),
        ("1M", Decimal(1), "M", None),
        ("1Y", Decimal(1), "Y", None),
        ("3M", Decimal(3), "M", None),
        ("30D_D", Decimal(30), "D", "D"),
        ("23W_U", Decimal(23), "W", "U"),
        ("3M_U", Decimal(3), "M", "U"),
        ("1M_U", Decimal(1), "M", "U"),
        ("12M_U", Decimal(12), "M", "U"),
        ("1D_U", Decimal(1), "D", "U"),
        ("1Y_U", Decimal(1), "Y", "U"),
        ("30s", Decimal(30), "s", None),
        ("40m", Decimal(40), "m", None),
        ("1h", Decimal(1), "h", None),
        ("1.5h", Decimal("1.5"), "h", None),
        ("0.25m", Decimal("0.25"), "m", None),
    ],
)
def test_parse_period_returns_spec_when_text_is_valid(text, amount, unit, rounding):
    spec = parse_period(text)

    assert spec == PeriodSpec(amount=amount, unit=unit, rounding=rounding)
    assert str(spec) == text


@pytest.mark.parametrize(
    ("text", "canonical"),
    [("01D", "1D"), (".5h", "0.5h"), ("1.50h", "1.5h"), ("1.0D", "1D"), ("100Y", "100Y")],
)
def test_parse_period_gives_canonical_text_when_amount_has_redundant_digits(text, canonical):
    assert str(parse_period(text)) == canonical


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("3X", GRAMMAR_RULE),
        ("0D", "the amount must be greater than 0"),
        ("0.0h", "the amount must be greater than 0"),
        ("1h_U", "_U (round up) applies only to D, W, M and Y"),
        ("30s_U", "_U (round up) applies only to D, W, M and Y"),
        ("1M_D", "_D (round down) applies only to D"),
        ("1W_D", "_D (round down) applies only to D"),
        ("1h_D", "_D (round down) applies only to D"),
        ("-1D", GRAMMAR_RULE),
        ("1.5D", "D, W, M and Y need a whole number amount"),
        ("2.5M", "D, W, M and Y need a whole number amount"),
        ("D", GRAMMAR_RULE),
        ("", GRAMMAR_RULE),
        ("1d", GRAMMAR_RULE),
        ("1H", GRAMMAR_RULE),
        ("1D_X", GRAMMAR_RULE),
        ("1D_d", GRAMMAR_RULE),
        (" 1D", GRAMMAR_RULE),
        ("1D ", GRAMMAR_RULE),
        ("1D\n", GRAMMAR_RULE),
        ("1 D", GRAMMAR_RULE),
        ("1.D", GRAMMAR_RULE),
        ("1e3s", GRAMMAR_RULE),
        ("\u0661D", GRAMMAR_RULE),  # ARABIC-INDIC DIGIT ONE: ASCII digits only
    ],
)
def test_parse_period_raises_period_error_naming_rule_when_text_is_invalid(text, rule):
    with pytest.raises(PeriodError) as excinfo:
        parse_period(text)

    message = str(excinfo.value)
    assert message.startswith(f"period {text!r}: ")
    assert rule in message


def test_parse_period_gives_full_messages_when_text_breaks_a_rule():
    with pytest.raises(PeriodError, match=r"^period '0D': the amount must be greater than 0$"):
        parse_period("0D")
    with pytest.raises(
        PeriodError, match=r"^period '1h_U': _U \(round up\) applies only to D, W, M and Y$"
    ):
        parse_period("1h_U")
    expected = (
        "period '3X': expected a positive number followed by one of s, m, h, D, W, M, Y, "
        "optionally with _D or _U (e.g. 1D, 30D_D, 3M_U)"
    )
    with pytest.raises(PeriodError) as excinfo:
        parse_period("3X")
    assert str(excinfo.value) == expected


def test_period_error_is_value_error_when_caught_generically():
    with pytest.raises(ValueError, match="greater than 0"):
        parse_period("0W")


def test_parse_period_raises_period_error_when_text_is_not_a_string():
    with pytest.raises(PeriodError, match="must be a string"):
        parse_period(1)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("amount", "unit", "rounding", "rule"),
    [
        (Decimal(0), "D", None, "greater than 0"),
        (Decimal(-3), "h", None, "greater than 0"),
        (Decimal("1.5"), "W", None, "whole number"),
        (Decimal(1), "x", None, "unit must be one of"),
        (Decimal(1), "M", "D", "_D (round down) applies only to D"),
        (Decimal(1), "s", "U", "_U (round up) applies only to D, W, M and Y"),
        (Decimal(1), "D", "_U", "rounding must be"),
        (Decimal("NaN"), "h", None, "finite"),
        (Decimal("Infinity"), "h", None, "finite"),
    ],
)
def test_period_spec_raises_period_error_when_constructed_against_the_rules(
    amount, unit, rounding, rule
):
    with pytest.raises(PeriodError, match=re.escape(rule)):
        PeriodSpec(amount=amount, unit=unit, rounding=rounding)


def test_period_spec_converts_amount_to_decimal_when_given_an_int():
    spec = PeriodSpec(amount=3, unit="M", rounding="U")  # type: ignore[arg-type]

    assert spec.amount == Decimal(3)
    assert isinstance(spec.amount, Decimal)
    assert spec == parse_period("3M_U")


@pytest.mark.parametrize("amount", [1.5, "1", True])
def test_period_spec_raises_type_error_when_amount_is_not_int_or_decimal(amount):
    with pytest.raises(TypeError):
        PeriodSpec(amount=amount, unit="h")


def test_period_spec_is_immutable_when_frozen():
    spec = parse_period("1D")

    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.unit = "W"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "description"),
    [
        ("3M_U", "3 months, rounded up to the end of the month"),
        ("1M", "1 month"),
        ("1D", "1 day"),
        ("30D_D", "30 days, rounded down to the start of the day"),
        ("1D_U", "1 day, rounded up to the end of the day"),
        ("23W_U", "23 weeks, rounded up to the end of the week"),
        ("1Y_U", "1 year, rounded up to the end of the year"),
        ("2Y", "2 years"),
        ("30s", "30 seconds"),
        ("1s", "1 second"),
        ("40m", "40 minutes"),
        ("1h", "1 hour"),
        ("1.5h", "1.5 hours"),
    ],
)
def test_describe_period_returns_admin_text_when_given_a_spec(text, description):
    assert describe_period(parse_period(text)) == description


# --------------------------------------------------------------------------------------------
# Calendar arithmetic
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "start", "expected"),
    [
        ("1M", utc(2024, 1, 31, 10), utc(2024, 2, 29, 10)),
        ("1M", utc(2023, 1, 31, 10), utc(2023, 2, 28, 10)),
        ("1M", utc(2024, 3, 31), utc(2024, 4, 30)),
        ("13M", utc(2023, 1, 31), utc(2024, 2, 29)),
        ("1Y", utc(2024, 2, 29, 12), utc(2025, 2, 28, 12)),
        ("4Y", utc(2024, 2, 29, 12), utc(2028, 2, 29, 12)),
        ("12M", utc(2024, 2, 29), utc(2025, 2, 28)),
        ("1M_U", utc(2024, 1, 31), utc(2024, 2, 29, 23, 59, 59)),
    ],
)
def test_add_period_clamps_to_month_end_when_day_overflows(period, start, expected):
    assert end_of(period, start) == expected


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (utc(2024, 5, 15, 10, 0), utc(2024, 5, 26, 23, 59, 59)),  # Wednesday
        (utc(2024, 5, 19, 10, 0), utc(2024, 5, 26, 23, 59, 59)),  # Sunday
        (utc(2024, 5, 19, 23, 59, 59, 999_999), utc(2024, 5, 26, 23, 59, 59)),
        (utc(2024, 5, 20, 0, 0), utc(2024, 6, 2, 23, 59, 59)),  # Monday
    ],
)
def test_add_period_ends_sunday_last_second_when_1w_u(start, expected):
    end = end_of("1W_U", start)

    assert end == expected
    assert end.isoweekday() == 7


@pytest.mark.parametrize(
    ("period", "start", "expected"),
    [
        ("1Y_U", utc(2023, 3, 15, 8), utc(2024, 12, 31, 23, 59, 59)),
        ("1Y_U", utc(2023, 12, 31, 23, 59, 59), utc(2024, 12, 31, 23, 59, 59)),
        ("1D_U", utc(2024, 5, 15, 10, 20, 30), utc(2024, 5, 16, 23, 59, 59)),
        ("1D_U", utc(2024, 5, 15, 0, 0), utc(2024, 5, 16, 23, 59, 59)),
        ("30D_D", utc(2024, 1, 10, 15, 45, 12), utc(2024, 2, 9)),
        ("1D_D", utc(2024, 1, 10, 23, 59, 59), utc(2024, 1, 11)),
        ("23W_U", utc(2024, 1, 3, 12), utc(2024, 6, 16, 23, 59, 59)),
    ],
)
def test_add_period_rounds_end_when_period_has_rounding(period, start, expected):
    assert end_of(period, start) == expected


def test_add_period_rounds_down_to_local_midnight_when_30d_d_in_amsterdam():
    start = wall(AMSTERDAM, 2024, 1, 10, 15, 0)

    end = end_of("30D_D", start, AMSTERDAM)

    assert end == utc(2024, 2, 8, 23, 0)  # 2024-02-09 00:00 CET
    assert end.astimezone(AMSTERDAM) == wall(AMSTERDAM, 2024, 2, 9)


@pytest.mark.parametrize(
    ("period", "expected_delta"),
    [
        ("30s", timedelta(seconds=30)),
        ("40m", timedelta(minutes=40)),
        ("1h", timedelta(hours=1)),
        ("1.5h", timedelta(minutes=90)),
        ("0.5s", timedelta(milliseconds=500)),
        ("36h", timedelta(hours=36)),
        ("0.0000001s", timedelta(microseconds=1)),  # rounded up to a whole microsecond
    ],
)
@pytest.mark.parametrize("tz", [UTC_ZONE, AMSTERDAM, NEW_YORK])
def test_add_period_adds_exact_duration_when_unit_is_s_m_or_h(period, expected_delta, tz):
    start = utc(2023, 10, 10, 9, 30, 45)

    assert end_of(period, start, tz) - start == expected_delta


@pytest.mark.parametrize(
    ("tz", "start_utc", "expected_local"),
    [
        # spring forward: 01:30 CET + 1 real hour = 03:30 CEST
        (AMSTERDAM, utc(2024, 3, 31, 0, 30), wall(AMSTERDAM, 2024, 3, 31, 3, 30)),
        # fall back: 02:30 CEST + 1 real hour = 02:30 CET (the second 02:30)
        (AMSTERDAM, utc(2024, 10, 27, 0, 30), wall(AMSTERDAM, 2024, 10, 27, 2, 30, fold=1)),
        # spring forward: 01:30 EST + 1 real hour = 03:30 EDT
        (NEW_YORK, utc(2024, 3, 10, 6, 30), wall(NEW_YORK, 2024, 3, 10, 3, 30)),
        # fall back: 01:30 EDT + 1 real hour = 01:30 EST
        (NEW_YORK, utc(2024, 11, 3, 5, 30), wall(NEW_YORK, 2024, 11, 3, 1, 30, fold=1)),
    ],
)
def test_add_period_adds_one_real_hour_when_1h_crosses_dst_change(tz, start_utc, expected_local):
    end = end_of("1h", start_utc, tz)

    assert end - start_utc == timedelta(hours=1)
    assert end == expected_local.astimezone(UTC)


def test_add_period_returns_utc_when_input_has_another_zone():
    end = end_of("1D", wall(KOLKATA, 2024, 5, 1, 0, 0), KOLKATA)

    assert end.tzinfo is UTC
    assert end == utc(2024, 5, 1, 18, 30)


def test_add_period_raises_value_error_when_datetime_is_naive():
    naive = utc(2024, 1, 1).replace(tzinfo=None)

    with pytest.raises(ValueError, match="timezone-aware"):
        add_period(at=naive, spec=parse_period("1D"), tz=UTC_ZONE)


def test_add_period_raises_period_error_when_result_is_out_of_range():
    with pytest.raises(PeriodError, match="outside the supported dates"):
        end_of("1Y", utc(9999, 6, 1))
    with pytest.raises(PeriodError, match="outside the supported dates"):
        end_of("99999999999999999999D", utc(2024, 1, 1))


# --------------------------------------------------------------------------------------------
# DST in local calendar time
# --------------------------------------------------------------------------------------------

DST_DAYS = [
    pytest.param(AMSTERDAM, (2024, 3, 30), 23, id="amsterdam-spring"),
    pytest.param(AMSTERDAM, (2024, 10, 26), 25, id="amsterdam-fall"),
    pytest.param(NEW_YORK, (2024, 3, 9), 23, id="new-york-spring"),
    pytest.param(NEW_YORK, (2024, 11, 2), 25, id="new-york-fall"),
]


@pytest.mark.parametrize(("tz", "day_before", "real_hours"), DST_DAYS)
def test_add_period_keeps_local_wall_time_when_1d_crosses_dst_change(tz, day_before, real_hours):
    # given 09:30 local on the day before the change
    start = wall(tz, *day_before, 9, 30)

    # when
    end = end_of("1D", start, tz)

    # then 09:30 local the next day, which is 23 or 25 real hours later
    local_end = end.astimezone(tz)
    assert (local_end.date() - start.date()).days == 1
    assert (local_end.hour, local_end.minute, local_end.second) == (9, 30, 0)
    assert end - start == timedelta(hours=real_hours)


@pytest.mark.parametrize(("tz", "day_before", "real_hours"), DST_DAYS)
def test_add_period_ends_at_local_last_second_when_1d_u_crosses_dst_change(
    tz, day_before, real_hours
):
    start = wall(tz, *day_before, 9, 30)

    end = end_of("1D_U", start, tz)

    local_end = end.astimezone(tz)
    assert (local_end.date() - start.date()).days == 1
    assert (local_end.hour, local_end.minute, local_end.second) == (23, 59, 59)
    assert end - start == timedelta(hours=real_hours + 14, minutes=29, seconds=59)


@pytest.mark.parametrize(("tz", "day_before", "real_hours"), DST_DAYS)
def test_iteration_window_starts_at_local_midnight_when_fixed_daily_windows_cross_dst(
    tz, day_before, real_hours
):
    # given daily windows from local midnight two days before the change
    first_day = date(*day_before) - timedelta(days=1)
    change_day = date(*day_before) + timedelta(days=1)
    fixed_start = wall(tz, first_day.year, first_day.month, first_day.day)

    # when an event happens at noon local on the day of the change
    at = wall(tz, change_day.year, change_day.month, change_day.day, 12)
    window = fixed_window("1D", start=fixed_start, at=at, tz=tz)

    # then the window is that local day, midnight to midnight (23 or 25 real hours)
    assert window is not None
    assert window.index == 2
    assert window.start.astimezone(tz) == wall(tz, *change_day.timetuple()[:3])
    assert window.end.astimezone(tz) == wall(tz, *(change_day + timedelta(days=1)).timetuple()[:3])
    assert window.end - window.start == timedelta(hours=real_hours)
    # and the next window starts at the following local midnight, 24 real hours long
    following = fixed_window("1D", start=fixed_start, at=window.end, tz=tz)
    assert following.start == window.end
    assert following.end - following.start == timedelta(hours=24)


@pytest.mark.parametrize(
    ("tz", "start", "expected_utc", "expected_wall"),
    [
        # 02:30 does not exist on 2024-03-31 in Amsterdam: becomes 03:30 CEST
        (AMSTERDAM, wall(AMSTERDAM, 2024, 3, 30, 2, 30), utc(2024, 3, 31, 1, 30), (3, 30)),
        # 02:30 does not exist on 2024-03-10 in New York: becomes 03:30 EDT
        (NEW_YORK, wall(NEW_YORK, 2024, 3, 9, 2, 30), utc(2024, 3, 10, 7, 30), (3, 30)),
    ],
)
def test_add_period_shifts_forward_by_the_gap_when_local_wall_time_does_not_exist(
    tz, start, expected_utc, expected_wall
):
    end = end_of("1D", start, tz)

    assert end == expected_utc
    assert (end.astimezone(tz).hour, end.astimezone(tz).minute) == expected_wall


@pytest.mark.parametrize(
    ("period", "tz", "start", "expected_utc"),
    [
        # 02:30 happens twice on 2024-10-27 in Amsterdam: the first (CEST) one is used
        ("1D", AMSTERDAM, wall(AMSTERDAM, 2024, 10, 26, 2, 30), utc(2024, 10, 27, 0, 30)),
        ("1W", AMSTERDAM, wall(AMSTERDAM, 2024, 10, 20, 2, 30), utc(2024, 10, 27, 0, 30)),
        # 01:30 happens twice on 2024-11-03 in New York: the first (EDT) one is used
        ("1D", NEW_YORK, wall(NEW_YORK, 2024, 11, 2, 1, 30), utc(2024, 11, 3, 5, 30)),
        ("1M", NEW_YORK, wall(NEW_YORK, 2024, 10, 3, 1, 30), utc(2024, 11, 3, 5, 30)),
    ],
)
def test_add_period_uses_first_occurrence_when_local_wall_time_is_ambiguous(
    period, tz, start, expected_utc
):
    assert end_of(period, start, tz) == expected_utc


def test_add_period_keeps_wall_time_when_starting_at_second_occurrence_of_ambiguous_time():
    # given the second 01:30 in New York (EST)
    start = wall(NEW_YORK, 2024, 11, 3, 1, 30, fold=1)
    assert start.astimezone(UTC) == utc(2024, 11, 3, 6, 30)

    # when / then: 01:30 EST the next day
    assert end_of("1D", start, NEW_YORK) == utc(2024, 11, 4, 6, 30)


def test_iteration_window_contains_second_occurrence_when_fixed_daily_window_is_ambiguous():
    # given daily windows starting at 01:30 New York time
    start = wall(NEW_YORK, 2024, 11, 1, 1, 30)
    # when an event happens at the second 01:45 (EST) on the fall-back day
    at = wall(NEW_YORK, 2024, 11, 3, 1, 45, fold=1)

    window = fixed_window("1D", start=start, at=at, tz=NEW_YORK)

    # then the window starts at the first 01:30 (EDT) and lasts 25 hours
    assert window == Window(start=utc(2024, 11, 3, 5, 30), end=utc(2024, 11, 4, 6, 30), index=2)


# --------------------------------------------------------------------------------------------
# Fixed schedule
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (utc(2024, 1, 31), Window(utc(2024, 1, 31), utc(2024, 2, 29), 0)),
        (utc(2024, 2, 28, 23, 59, 59), Window(utc(2024, 1, 31), utc(2024, 2, 29), 0)),
        (utc(2024, 2, 29), Window(utc(2024, 2, 29), utc(2024, 3, 31), 1)),
        (utc(2024, 3, 5, 12), Window(utc(2024, 2, 29), utc(2024, 3, 31), 1)),
        (utc(2024, 4, 1), Window(utc(2024, 3, 31), utc(2024, 4, 30), 2)),
        (utc(2024, 5, 30), Window(utc(2024, 4, 30), utc(2024, 5, 31), 3)),
        (utc(2024, 6, 15), Window(utc(2024, 5, 31), utc(2024, 6, 30), 4)),
        (utc(2025, 2, 27, 12), Window(utc(2025, 1, 31), utc(2025, 2, 28), 12)),
        (utc(2025, 2, 28, 12), Window(utc(2025, 2, 28), utc(2025, 3, 31), 13)),
        (utc(2025, 3, 1), Window(utc(2025, 2, 28), utc(2025, 3, 31), 13)),
    ],
)
def test_iteration_window_does_not_drift_when_monthly_windows_start_on_31st(at, expected):
    assert fixed_window("1M", start=utc(2024, 1, 31), at=at) == expected


def test_iteration_window_finds_far_window_when_weekly_k_is_500():
    # given weekly windows from Monday 2024-01-01
    start = utc(2024, 1, 1)
    expected_start = start + timedelta(weeks=500)

    # when an event lands in the middle of week 500
    window = fixed_window("1W", start=start, at=expected_start + timedelta(days=3, hours=5))

    # then
    assert window == Window(expected_start, expected_start + timedelta(weeks=1), 500)
    assert window.start.isoweekday() == 1


@pytest.mark.parametrize(
    ("period", "start", "at", "expected"),
    [
        (
            "1h",
            utc(2020, 1, 1),
            utc(2024, 6, 1, 10, 15),
            Window(utc(2024, 6, 1, 10), utc(2024, 6, 1, 11), 38_722),
        ),
        (
            "30s",
            utc(2024, 1, 1),
            utc(2024, 1, 2, 0, 0, 45),
            Window(utc(2024, 1, 2, 0, 0, 30), utc(2024, 1, 2, 0, 1), 2881),
        ),
        (
            "1.5h",
            utc(2024, 1, 1),
            utc(2024, 1, 1, 4, 0),
            Window(utc(2024, 1, 1, 3), utc(2024, 1, 1, 4, 30), 2),
        ),
        (
            "1D",
            utc(1970, 1, 1),
            utc(2024, 1, 1, 12),
            Window(utc(2024, 1, 1), utc(2024, 1, 2), 19_723),
        ),
        (
            "1M_U",
            utc(1900, 1, 15),
            utc(2024, 2, 10),
            Window(utc(2024, 1, 31, 23, 59, 59), utc(2024, 2, 29, 23, 59, 59), 1488),
        ),
        ("3Y", utc(1000, 3, 1), utc(2024, 2, 10), Window(utc(2023, 3, 1), utc(2026, 3, 1), 341)),
    ],
)
def test_iteration_window_returns_window_k_quickly_when_k_is_in_the_thousands(
    monkeypatch, period, start, at, expected
):
    # given a spy on the boundary computation
    calls = []
    real_boundary = periods._boundary

    def spy(**kwargs):
        calls.append(kwargs["k"])
        return real_boundary(**kwargs)

    monkeypatch.setattr(periods, "_boundary", spy)

    # when
    window = fixed_window(period, start=start, at=at)

    # then the window is found by estimation, not by walking from k = 0
    assert window == expected
    assert len(calls) <= 6


@pytest.mark.parametrize(
    ("period", "at", "expected"),
    [
        ("1M_U", utc(2024, 1, 20), Window(utc(2024, 1, 10), utc(2024, 2, 29, 23, 59, 59), 0)),
        (
            "1M_U",
            utc(2024, 2, 29, 23, 59, 59),
            Window(utc(2024, 2, 29, 23, 59, 59), utc(2024, 3, 31, 23, 59, 59), 1),
        ),
        ("1D_D", utc(2024, 1, 10, 23), Window(utc(2024, 1, 10, 8), utc(2024, 1, 11), 0)),
        ("1D_D", utc(2024, 1, 12, 7), Window(utc(2024, 1, 12), utc(2024, 1, 13), 2)),
        # 2024-01-10 is a Wednesday: + 1W is Wednesday 17th, whose ISO week ends on the 21st
        ("1W_U", utc(2024, 1, 15), Window(utc(2024, 1, 10), utc(2024, 1, 21, 23, 59, 59), 0)),
        (
            "1W_U",
            utc(2024, 1, 25),
            Window(utc(2024, 1, 21, 23, 59, 59), utc(2024, 1, 28, 23, 59, 59), 1),
        ),
    ],
)
def test_iteration_window_uses_rounded_boundaries_when_fixed_period_has_rounding(
    period, at, expected
):
    start = utc(2024, 1, 10, 8) if period == "1D_D" else utc(2024, 1, 10)

    assert fixed_window(period, start=start, at=at) == expected


@pytest.mark.parametrize("recurring", [True, False])
@pytest.mark.parametrize("at", [utc(2023, 10, 9, 23, 59, 59, 999_999), utc(2020, 1, 1)])
def test_iteration_window_returns_none_when_event_precedes_fixed_start(recurring, at):
    assert fixed_window("1M", start=utc(2023, 10, 10), at=at, recurring=recurring) is None


@pytest.mark.parametrize("at", [utc(2023, 11, 10), utc(2023, 12, 25), utc(2030, 1, 1)])
def test_iteration_window_returns_none_when_one_time_event_is_after_first_window(at):
    assert fixed_window("1M", start=utc(2023, 10, 10), at=at, recurring=False) is None


def test_iteration_window_returns_first_window_when_one_time_event_is_in_its_last_microsecond():
    at = utc(2023, 11, 9, 23, 59, 59, 999_999)

    window = fixed_window("1M", start=utc(2023, 10, 10), at=at, recurring=False)

    assert window == Window(utc(2023, 10, 10), utc(2023, 11, 10), 0)


def test_iteration_window_returns_window_k_when_event_is_exactly_on_boundary_k():
    window = fixed_window("1W", start=utc(2024, 1, 1), at=utc(2024, 1, 15))

    assert window == Window(utc(2024, 1, 15), utc(2024, 1, 22), 2)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (utc(2024, 6, 1), Window(utc(2024, 1, 1), utc(2024, 12, 31, 12), 0)),
        (utc(2023, 12, 31, 23), None),
    ],
)
def test_iteration_window_is_single_window_when_fixed_schedule_has_no_period(at, expected):
    window = fixed_window(None, start=utc(2024, 1, 1), at=at, end_date=utc(2024, 12, 31, 12))

    assert window == expected


def test_iteration_window_is_open_ended_when_fixed_schedule_has_no_period_nor_end_date():
    window = fixed_window(None, start=utc(2024, 1, 1), at=utc(2090, 1, 1))

    assert window == Window(utc(2024, 1, 1), None, 0)


def test_iteration_window_raises_value_error_when_fixed_schedule_has_no_fixed_start():
    with pytest.raises(ValueError, match="fixed_start"):
        iteration_window(
            activation_policy="fixed_schedule",
            recurring=True,
            spec=parse_period("1D"),
            tz=UTC_ZONE,
            at=utc(2024, 1, 1),
        )


def test_iteration_window_raises_value_error_when_policy_is_unknown():
    with pytest.raises(ValueError, match="activation_policy must be"):
        iteration_window(
            activation_policy="on_tuesdays",
            recurring=True,
            spec=parse_period("1D"),
            tz=UTC_ZONE,
            at=utc(2024, 1, 1),
        )


def test_iteration_window_accepts_enum_when_policy_is_activation_policy():
    window = iteration_window(
        activation_policy=ActivationPolicy.FIXED_SCHEDULE,
        recurring=True,
        spec=parse_period("1D"),
        tz=UTC_ZONE,
        at=utc(2024, 1, 3, 5),
        fixed_start=utc(2024, 1, 1),
    )

    assert window == Window(utc(2024, 1, 3), utc(2024, 1, 4), 2)


@pytest.mark.parametrize("argument", ["at", "fixed_start", "end_date"])
def test_iteration_window_raises_value_error_when_a_datetime_is_naive(argument):
    values = {"at": utc(2024, 1, 5), "fixed_start": utc(2024, 1, 1), "end_date": utc(2025, 1, 1)}
    values[argument] = values[argument].replace(tzinfo=None)

    with pytest.raises(ValueError, match=f"{argument} must be a timezone-aware datetime"):
        iteration_window(
            activation_policy="fixed_schedule",
            recurring=True,
            spec=parse_period("1D"),
            tz=UTC_ZONE,
            **values,
        )


def test_iteration_window_is_open_ended_when_user_action_has_no_period():
    window = iteration_window(
        activation_policy="user_action",
        recurring=False,
        spec=None,
        tz=UTC_ZONE,
        at=utc(2024, 1, 1, 10),
    )

    assert window == Window(utc(2024, 1, 1, 10), None, 0)


def test_iteration_window_ignores_fixed_start_when_policy_is_user_action():
    window = user_window("1D", utc(2024, 1, 1, 10), fixed_start=utc(2030, 1, 1))

    assert window == Window(utc(2024, 1, 1, 10), utc(2024, 1, 2, 10), 0)


# --------------------------------------------------------------------------------------------
# end_date cap
# --------------------------------------------------------------------------------------------


def test_iteration_window_clips_end_when_end_date_falls_inside_fixed_window():
    window = fixed_window(
        "1M", start=utc(2024, 1, 1), at=utc(2024, 3, 10), end_date=utc(2024, 3, 15, 12)
    )

    assert window == Window(utc(2024, 3, 1), utc(2024, 3, 15, 12), 2)


def test_iteration_window_clips_end_when_end_date_falls_inside_user_action_window():
    window = user_window("3M_U", utc(2023, 10, 10, 9), end_date=utc(2023, 12, 1))

    assert window == Window(utc(2023, 10, 10, 9), utc(2023, 12, 1), 0)


def test_iteration_window_keeps_end_when_end_date_is_later():
    window = user_window("1D", utc(2024, 1, 1), end_date=utc(2024, 6, 1))

    assert window == Window(utc(2024, 1, 1), utc(2024, 1, 2), 0)


def test_iteration_window_ends_at_end_date_when_user_action_has_no_period():
    window = iteration_window(
        activation_policy="user_action",
        recurring=True,
        spec=None,
        tz=UTC_ZONE,
        at=utc(2024, 1, 1, 10),
        end_date=utc(2024, 2, 1),
    )

    assert window == Window(utc(2024, 1, 1, 10), utc(2024, 2, 1), 0)


@pytest.mark.parametrize("policy", ["user_action", "fixed_schedule"])
@pytest.mark.parametrize("recurring", [True, False])
@pytest.mark.parametrize("at", [utc(2024, 3, 15, 12), utc(2024, 3, 15, 12, 0, 1), utc(2025, 1, 1)])
def test_iteration_window_returns_none_when_event_is_at_or_after_end_date(policy, recurring, at):
    window = iteration_window(
        activation_policy=policy,
        recurring=recurring,
        spec=parse_period("1M"),
        tz=UTC_ZONE,
        at=at,
        fixed_start=utc(2024, 3, 1),
        end_date=utc(2024, 3, 15, 12),
    )

    assert window is None


def test_window_contains_checks_half_open_interval_when_asked():
    window = Window(utc(2024, 1, 1), utc(2024, 1, 2), 0)

    assert window.contains(utc(2024, 1, 1))
    assert window.contains(utc(2024, 1, 1, 23, 59, 59, 999_999))
    assert not window.contains(utc(2024, 1, 2))
    assert not window.contains(utc(2023, 12, 31, 23, 59, 59))
    assert Window(utc(2024, 1, 1), None, 0).contains(utc(9999, 1, 1))


# --------------------------------------------------------------------------------------------
# periodEndOverride
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "start", "point", "expected"),
    [
        (
            "1Y",
            utc(2023, 10, 10, 9, 30, 45),
            TimePoint(hour=23, minute=59, second=59, month=11, day_of_month=23),
            utc(2023, 11, 23, 23, 59, 59),
        ),
        (
            "1Y",
            utc(2023, 1, 31, 8),
            TimePoint(hour=0, minute=0, second=0, month=2),
            utc(2023, 2, 28),
        ),
        (
            "1M",
            utc(2024, 1, 15, 8),
            TimePoint(hour=23, minute=59, second=59, day_of_month=31),
            utc(2024, 1, 31, 23, 59, 59),
        ),
        (
            "1M",
            utc(2023, 1, 15, 8),
            TimePoint(hour=23, minute=59, second=59, day_of_month=31),
            utc(2023, 1, 31, 23, 59, 59),
        ),
        (
            "1M",
            utc(2024, 3, 15, 8),
            TimePoint(hour=12, minute=0, second=0, day_of_month=31),
            utc(2024, 3, 31, 12),
        ),
        (
            "1W",
            utc(2024, 5, 15, 10),  # Wednesday
            TimePoint(hour=23, minute=59, second=59, day_of_week=7),
            utc(2024, 5, 19, 23, 59, 59),
        ),
        (
            "1W",
            utc(2024, 5, 15, 10),
            TimePoint(hour=9, minute=0, second=0, day_of_week=1),
            utc(2024, 5, 20, 9),
        ),
        (
            "1D",
            utc(2024, 5, 15, 10, 20, 30, 123),
            TimePoint(hour=6, minute=0, second=0),
            utc(2024, 5, 16, 6),
        ),
        (
            "1M",
            utc(2024, 5, 15, 10),
            TimePoint(hour=6, minute=30, second=0),
            utc(2024, 6, 15, 6, 30),
        ),
    ],
)
def test_add_period_pins_end_when_period_end_override_is_given(period, start, point, expected):
    assert end_of(period, start, end_override=point) == expected


def test_add_period_pins_local_time_when_override_is_used_in_amsterdam():
    start = wall(AMSTERDAM, 2024, 3, 30, 10)

    end = end_of("1D", start, AMSTERDAM, end_override=TimePoint(hour=6, minute=0, second=0))

    assert end == wall(AMSTERDAM, 2024, 3, 31, 6).astimezone(UTC)
    assert end == utc(2024, 3, 31, 4)


def test_iteration_window_pins_every_boundary_when_fixed_schedule_has_override():
    # given monthly windows from 2024-01-10 that end on the last day of the month
    point = TimePoint(hour=23, minute=59, second=59, day_of_month=31)

    # when
    window = fixed_window("1M", start=utc(2024, 1, 10), at=utc(2024, 3, 5), end_override=point)

    # then
    assert window == Window(utc(2024, 2, 29, 23, 59, 59), utc(2024, 3, 31, 23, 59, 59), 2)
    first = fixed_window("1M", start=utc(2024, 1, 10), at=utc(2024, 1, 20), end_override=point)
    assert first == Window(utc(2024, 1, 10), utc(2024, 1, 31, 23, 59, 59), 0)


def test_iteration_window_pins_user_action_end_when_override_is_given():
    point = TimePoint(hour=23, minute=59, second=59, month=11, day_of_month=23)

    window = user_window("1Y", utc(2023, 10, 10, 9, 30, 45), end_override=point)

    assert window == Window(utc(2023, 10, 10, 9, 30, 45), utc(2023, 11, 23, 23, 59, 59), 0)


@pytest.mark.parametrize(
    ("period", "point", "rule"),
    [
        ("1D", TimePoint(hour=24, minute=0, second=0), "hour must be between 0 and 23"),
        ("1D", TimePoint(hour=-1, minute=0, second=0), "hour must be between 0 and 23"),
        ("1D", TimePoint(hour=0, minute=60, second=0), "minute must be between 0 and 59"),
        ("1D", TimePoint(hour=0, minute=-1, second=0), "minute must be between 0 and 59"),
        ("1D", TimePoint(hour=0, minute=0, second=60), "second must be between 0 and 59"),
        ("1Y", TimePoint(hour=0, minute=0, second=0, month=13), "month must be between 1 and 12"),
        ("1Y", TimePoint(hour=0, minute=0, second=0, month=0), "month must be between 1 and 12"),
        (
            "1M",
            TimePoint(hour=0, minute=0, second=0, day_of_month=32),
            "dayOfMonth must be between 1 and 31",
        ),
        (
            "1M",
            TimePoint(hour=0, minute=0, second=0, day_of_month=0),
            "dayOfMonth must be between 1 and 31",
        ),
        (
            "1W",
            TimePoint(hour=0, minute=0, second=0, day_of_week=0),
            "dayOfWeek must be between 1 and 7",
        ),
        (
            "1W",
            TimePoint(hour=0, minute=0, second=0, day_of_week=8),
            "dayOfWeek must be between 1 and 7",
        ),
        ("1D", TimePoint(hour=1.5, minute=0, second=0), "hour must be an integer"),
        ("3M_U", TimePoint(hour=0, minute=0, second=0), "cannot be combined with _D/_U"),
        ("30D_D", TimePoint(hour=0, minute=0, second=0), "cannot be combined with _D/_U"),
        ("1h", TimePoint(hour=0, minute=0, second=0), "applies only to D, W, M and Y periods"),
        ("30s", TimePoint(hour=0, minute=0, second=0), "applies only to D, W, M and Y periods"),
        (
            "1M",
            TimePoint(hour=0, minute=0, second=0, month=11),
            "month applies only to Y periods",
        ),
        (
            "1D",
            TimePoint(hour=0, minute=0, second=0, month=11),
            "month applies only to Y periods",
        ),
        (
            "1W",
            TimePoint(hour=0, minute=0, second=0, day_of_month=1),
            "dayOfMonth applies only to Y and M periods",
        ),
        (
            "1D",
            TimePoint(hour=0, minute=0, second=0, day_of_month=1),
            "dayOfMonth applies only to Y and M periods",
        ),
        (
            "1M",
            TimePoint(hour=0, minute=0, second=0, day_of_week=7),
            "dayOfWeek applies only to W periods",
        ),
        (
            "1Y",
            TimePoint(hour=0, minute=0, second=0, day_of_week=7),
            "dayOfWeek applies only to W periods",
        ),
    ],
)
def test_validate_time_point_raises_period_error_when_override_breaks_a_rule(period, point, rule):
    with pytest.raises(PeriodError, match=re.escape(rule)):
        validate_time_point(spec=parse_period(period), point=point)


@pytest.mark.parametrize(
    ("period", "point"),
    [
        ("1Y", TimePoint(hour=23, minute=59, second=59, month=11, day_of_month=23)),
        ("2Y", TimePoint(hour=0, minute=0, second=0)),
        ("1M", TimePoint(hour=23, minute=59, second=59, day_of_month=31)),
        ("1W", TimePoint(hour=23, minute=59, second=59, day_of_week=7)),
        ("1D", TimePoint(hour=6, minute=0, second=0)),
        ("1D", TimePoint(hour=0, minute=0, second=0)),
    ],
)
def test_validate_time_point_accepts_override_when_it_fits_the_period(period, point):
    assert validate_time_point(spec=parse_period(period), point=point) is None


def test_add_period_raises_period_error_when_override_is_invalid():
    with pytest.raises(PeriodError, match="dayOfWeek applies only to W periods"):
        end_of("1M", utc(2024, 1, 1), end_override=TimePoint(0, 0, 0, day_of_week=1))


def test_iteration_window_raises_period_error_when_override_has_no_period():
    with pytest.raises(PeriodError, match="needs a period"):
        iteration_window(
            activation_policy="user_action",
            recurring=False,
            spec=None,
            tz=UTC_ZONE,
            at=utc(2024, 1, 1),
            end_override=TimePoint(0, 0, 0),
        )


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------

ZONES = [UTC_ZONE, AMSTERDAM, NEW_YORK, LORD_HOWE, KOLKATA]
# hypothesis wants naive bounds; they are interpreted as wall times in the drawn zone
EARLIEST = datetime(1980, 1, 1, tzinfo=UTC).replace(tzinfo=None)
LATEST = datetime(2080, 1, 1, tzinfo=UTC).replace(tzinfo=None)
MINIMAL_UNIT = {
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "D": timedelta(days=1),
    "W": timedelta(weeks=1),
    "M": timedelta(days=28),
    "Y": timedelta(days=365),
}
DST_SLACK = timedelta(hours=2)
PROPERTY_SETTINGS = settings(max_examples=200, deadline=None)

zones = st.sampled_from(ZONES)
instants = st.datetimes(min_value=EARLIEST, max_value=LATEST, timezones=zones)


@st.composite
def specs(draw, *, allow_rounding: bool = True) -> PeriodSpec:
    unit = draw(st.sampled_from("smhDWMY"))
    amount = Decimal(draw(st.integers(min_value=1, max_value=36)))
    if unit in "smh" and draw(st.booleans()):
        amount += Decimal(draw(st.integers(min_value=1, max_value=9))) / 10
    choices: list[str | None] = [None]
    if allow_rounding and unit in "DWMY":
        choices.append("U")
    if allow_rounding and unit == "D":
        choices.append("D")
    return PeriodSpec(amount=amount, unit=unit, rounding=draw(st.sampled_from(choices)))


@st.composite
def specs_with_overrides(draw) -> tuple[PeriodSpec, TimePoint | None]:
    spec = draw(specs())
    if spec.rounding is not None or spec.unit in "smh" or draw(st.booleans()):
        return spec, None
    time = {
        "hour": draw(st.integers(0, 23)),
        "minute": draw(st.integers(0, 59)),
        "second": draw(st.integers(0, 59)),
    }

    def optional(low: int, high: int) -> st.SearchStrategy[int | None]:
        return st.none() | st.integers(low, high)

    point = TimePoint(
        **time,
        month=draw(optional(1, 12)) if spec.unit == "Y" else None,
        day_of_month=draw(optional(1, 31)) if spec.unit in "YM" else None,
        day_of_week=draw(optional(1, 7)) if spec.unit == "W" else None,
    )
    return spec, point


offsets = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=365 * 40))


@PROPERTY_SETTINGS
@given(at=instants, spec_and_point=specs_with_overrides(), tz=zones)
def test_iteration_window_contains_event_when_user_action_starts_an_iteration(
    at, spec_and_point, tz
):
    spec, point = spec_and_point

    window = iteration_window(
        activation_policy="user_action",
        recurring=True,
        spec=spec,
        tz=tz,
        at=at,
        end_override=point,
    )

    assert window is not None
    # (imaginary wall times never compare equal across zones, so compare in UTC)
    assert window.start == at.astimezone(UTC)
    assert window.start < window.end
    assert window.contains(at)
    assert window.start.tzinfo is UTC
    assert window.end.tzinfo is UTC


@PROPERTY_SETTINGS
@given(at=instants, spec=specs(allow_rounding=False), tz=zones)
def test_add_period_lasts_at_least_the_minimal_unit_when_not_rounded(at, spec, tz):
    end = add_period(at=at, spec=spec, tz=tz)

    assert end > at
    if spec.is_exact:
        exact = spec.amount * int(MINIMAL_UNIT[spec.unit].total_seconds()) * 1_000_000
        assert end - at == timedelta(microseconds=int(exact))
    else:
        assert end - at >= MINIMAL_UNIT[spec.unit] * spec.whole_amount - DST_SLACK


@PROPERTY_SETTINGS
@given(at=instants, amount=st.integers(1, 36), unit=st.sampled_from("DW"), tz=zones)
def test_add_period_keeps_wall_clock_when_days_or_weeks_land_on_an_existing_time(
    at, amount, unit, tz
):
    local = at.astimezone(UTC).astimezone(tz)  # normalises an imaginary wall time
    days = amount * (7 if unit == "W" else 1)
    target = local.date() + timedelta(days=days)
    target_wall = datetime.combine(target, local.timetz().replace(fold=0))
    exists = target_wall.astimezone(UTC).astimezone(tz).time() == target_wall.time()

    end = add_period(at=at, spec=PeriodSpec(amount=Decimal(amount), unit=unit), tz=tz)

    local_end = end.astimezone(tz)
    if exists:
        assert local_end.date() == target
        assert local_end.time() == local.time()
    else:  # in a spring-forward gap: pushed forward by the gap, never backwards
        assert local_end.date() == target
        assert local_end.time() > local.time()


@PROPERTY_SETTINGS
@given(
    fixed_start=instants,
    offset=offsets,
    spec_and_point=specs_with_overrides(),
    tz=zones,
)
def test_iteration_window_tiles_time_when_fixed_schedule_recurs(
    fixed_start, offset, spec_and_point, tz
):
    # given an event somewhere after the fixed start
    spec, point = spec_and_point
    at = fixed_start + offset

    def window_at(instant: datetime) -> Window | None:
        return iteration_window(
            activation_policy="fixed_schedule",
            recurring=True,
            spec=spec,
            tz=tz,
            at=instant,
            fixed_start=fixed_start,
            end_override=point,
        )

    # when
    window = window_at(at)

    # then it contains the event and the following windows tile time
    assert window is not None
    assert window.contains(at)
    assert window.start < window.end
    assert window.index >= 0
    for _ in range(4):
        following = window_at(window.end)
        assert following is not None
        assert following.start == window.end
        assert following.index == window.index + 1
        assert following.start < following.end
        window = following


@PROPERTY_SETTINGS
@given(fixed_start=instants, spec_and_point=specs_with_overrides(), tz=zones)
def test_iteration_window_tiles_from_fixed_start_when_walking_the_first_windows(
    fixed_start, spec_and_point, tz
):
    spec, point = spec_and_point
    window = iteration_window(
        activation_policy="fixed_schedule",
        recurring=True,
        spec=spec,
        tz=tz,
        at=fixed_start,
        fixed_start=fixed_start,
        end_override=point,
    )
    assert window is not None
    assert (window.start, window.index) == (fixed_start.astimezone(UTC), 0)

    for k in range(1, 6):
        last_microsecond = window.end - timedelta(microseconds=1)
        same = iteration_window(
            activation_policy="fixed_schedule",
            recurring=True,
            spec=spec,
            tz=tz,
            at=last_microsecond,
            fixed_start=fixed_start,
            end_override=point,
        )
        assert same == window
        following = iteration_window(
            activation_policy="fixed_schedule",
            recurring=True,
            spec=spec,
            tz=tz,
            at=window.end,
            fixed_start=fixed_start,
            end_override=point,
        )
        assert following is not None
        assert following.start == window.end
        assert following.index == k
        window = following


@PROPERTY_SETTINGS
@given(
    fixed_start=instants,
    offset=offsets,
    cap_offset=offsets,
    spec=specs(),
    tz=zones,
    recurring=st.booleans(),
    policy=st.sampled_from(["user_action", "fixed_schedule"]),
)
def test_iteration_window_respects_end_date_when_one_is_set(
    fixed_start, offset, cap_offset, spec, tz, recurring, policy
):
    at = fixed_start + offset
    end_date = fixed_start + cap_offset

    window = iteration_window(
        activation_policy=policy,
        recurring=recurring,
        spec=spec,
        tz=tz,
        at=at,
        fixed_start=fixed_start,
        end_date=end_date,
    )

    if at >= end_date:
        assert window is None
    if window is not None:
        assert window.contains(at)
        assert window.start < window.end <= end_date
    if policy == "user_action" or recurring:
        assert (window is None) == (at >= end_date)
    else:
        first_end = add_period(at=fixed_start, spec=spec, tz=tz)
        assert (window is None) == (at >= min(end_date, first_end))
