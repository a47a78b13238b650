"""Field validators shared by the apps."""

import re
import zoneinfo
from functools import cache

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate_time_zone(value: str) -> None:
    """An IANA time zone name such as `Europe/Amsterdam` or `UTC`."""
    if value not in _time_zones():
        raise ValidationError(
            "'%(value)s' is not an IANA time zone name (for example Europe/Amsterdam or UTC).",
            code="invalid_time_zone",
            params={"value": value},
        )


validate_currency_code = RegexValidator(
    re.compile(r"^[A-Z][A-Z0-9_]{1,19}$"),
    "A currency code is 2 to 20 characters: an upper-case letter, then upper-case letters, "
    "digits or underscores (for example PTS or STARS).",
    code="invalid_currency_code",
)


def time_zone_choices(*, empty_label: str | None = None) -> list[tuple[str, str]]:
    """Every IANA zone for a select, UTC first; an empty choice when `empty_label` is given."""
    zones = sorted(_time_zones() - {"UTC"})
    choices = [("UTC", "UTC"), *((name, name.replace("_", " ")) for name in zones)]
    return [("", empty_label), *choices] if empty_label is not None else choices
