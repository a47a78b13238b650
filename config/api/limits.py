"""What the native API accepts, checked once at the edge so that bad input is a 4xx that names
the field and the rule, and never reaches the database.

- JSON bodies: at most `LAUREL_MAX_JSON_DEPTH` levels of nesting; no NUL or other C0 control
  character (tab, line feed and carriage return are allowed in text); numbers finite
  (no NaN, Infinity or 1e400).
- Identifiers and codes: no control character at all (`no_control_characters`).
- Datetimes: with a UTC offset (`Z`, `+01:00`), the offset at most 14 hours either way, and
  the instant inside the years 1-9999 in UTC.
"""

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError

from config.exceptions import ApplicationError

# C0 controls and DEL, except tab, line feed and carriage return (allowed in free text).
TEXT_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Every C0 control and DEL: refused in identifiers, codes and names.
ANY_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
MAX_OFFSET = timedelta(hours=14)
# The earliest performedOn the native API takes: every period's windows stay inside the
# supported dates (years 1-9999) in any time zone for events from then on.
EARLIEST_EVENT = datetime(1970, 1, 1, tzinfo=UTC)


def max_json_depth() -> int:
    return getattr(settings, "LAUREL_MAX_JSON_DEPTH", 20)


class InputRefused(ApplicationError):
    """Bad input found before any serializer ran. `field` is a path as the client sent it
    (`attributes.basket.0.sku`), so the error handler leaves it as it is."""

    field_as_sent = True


def _describe(char: str) -> str:
    return f"U+{ord(char):04X}"


def check_json(data: Any, *, path: str = "", depth: int = 1) -> None:
    """Raise InputRefused for the first nesting, control-character or number rule `data`
    breaks."""
    limit = max_json_depth()
    if depth > limit:
        raise InputRefused(
            f"JSON is nested deeper than {limit} levels.", field=path or None, extra={}
        )
    if isinstance(data, dict):
        for key, value in data.items():
            where = f"{path}.{key}" if path else str(key)
            match = TEXT_CONTROL_RE.search(key)
            if match:
                raise InputRefused(
                    f"The key contains the control character {_describe(match.group())}; "
                    "control characters are not allowed.", field=where,
                )
            check_json(value, path=where, depth=depth + 1)
    elif isinstance(data, list):
        for index, value in enumerate(data):
            check_json(value, path=f"{path}.{index}" if path else str(index), depth=depth + 1)
    elif isinstance(data, str):
        match = TEXT_CONTROL_RE.search(data)
        if match:
            raise InputRefused(
                f"Contains the control character {_describe(match.group())}; control "
                "characters other than tab, line feed and carriage return are not allowed.",
                field=path or None,
            )
    elif isinstance(data, float) and not math.isfinite(data):
        raise InputRefused(
            "Numbers must be finite: NaN, Infinity and values beyond ±1.8e308 are not allowed.",
            field=path or None,
        )


def no_control_characters(value: Any) -> None:
    """A validator for identifiers, codes and names: no control character at all."""
    if isinstance(value, str):
        match = ANY_CONTROL_RE.search(value)
        if match:
            raise DjangoValidationError(
                f"Contains the control character {_describe(match.group())}; identifiers, "
                "codes and names may not contain control characters.",
                code="control_character",
            )


def aware_datetime_problem(value: datetime) -> str | None:
    """Why an API datetime is refused, or None when it is fine."""
    offset = value.utcoffset()
    if offset is None:
        return "Give a UTC offset (for example 2026-03-01T09:30:00Z or +01:00)."
    if abs(offset) > MAX_OFFSET:
        return "The UTC offset must be between -14:00 and +14:00."
    try:
        value.astimezone(UTC)
    except OverflowError:
        return "The moment must lie between the years 1 and 9999 in UTC."
    return None
