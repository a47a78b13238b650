"""Numbers and times as the admin shows them to people: `300`, `1,250.50 PTS`,
`2026-11-22 03:21 CET` in the program's time zone. Pure functions, no ORM."""

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils import timezone


def human_number(value: Decimal | int | float | None, *, signed: bool = False) -> str:
    """300.000000 as `300`, 1250.5 as `1,250.5`, 0.000001 as `0.000001`: thousands
    separated, no trailing zeros, never an exponent."""
    if value is None:
        return "-"
    number = Decimal(value).normalize()
    if number == number.to_integral_value():
        number = number.quantize(Decimal(1))
    text = format(number, ",f")
    return f"+{text}" if signed and number > 0 else text


def human_amount(value: Decimal | int | float | None, code: str = "", *,
                 signed: bool = False) -> str:
    """A money-like amount: whole amounts without decimals (`300 PTS`), others with at least
    two (`1,250.50 PTS`, `0.125 STARS`)."""
    if value is None:
        return "-"
    number = Decimal(value).normalize()
    if number == number.to_integral_value():
        text = format(number.quantize(Decimal(1)), ",f")
    elif -number.as_tuple().exponent <= 2:
        text = format(number.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), ",f")
    else:
        text = format(number, ",f")
    if signed and number > 0:
        text = f"+{text}"
    return f"{text} {code}" if code else text


def zone(name: str | None) -> ZoneInfo:
    """The IANA zone `name`, UTC when it is empty or unknown."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_datetime(value: datetime | None, time_zone: str | None, *,
                   seconds: bool = False) -> str:
    """`2026-11-22 03:21 CET`: the instant in the program's zone, with the zone named (its
    abbreviation, or the IANA name where the zone has none)."""
    if value is None:
        return "-"
    tz = zone(time_zone)
    local = timezone.localtime(value, tz)
    abbreviation = local.tzname() or tz.key
    if abbreviation.startswith(("+", "-")):
        abbreviation = tz.key
    shown = local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return f"{shown} {abbreviation}"
