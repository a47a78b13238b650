"""Numbers and times as people read them."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from loyalty.formatting import human_amount, human_number, local_datetime


@pytest.mark.parametrize(("value", "shown"), [
    (Decimal("300.000000"), "300"),
    (Decimal("1250.500000"), "1,250.5"),
    (Decimal("0.000001"), "0.000001"),
    (Decimal("1234567"), "1,234,567"),
    (None, "-"),
])
def test_human_number_drops_zeros_and_groups_thousands_when_shown(value, shown):
    assert human_number(value) == shown


@pytest.mark.parametrize(("value", "code", "signed", "shown"), [
    (Decimal("300.000000"), "PTS", False, "300 PTS"),
    (Decimal("1250.500000"), "PTS", False, "1,250.50 PTS"),
    (Decimal("0.125"), "STARS", False, "0.125 STARS"),
    (Decimal("100"), "PTS", True, "+100 PTS"),
    (Decimal("-12.5"), "", True, "-12.50"),
])
def test_human_amount_shows_cents_only_when_fractional(value, code, signed, shown):
    assert human_amount(value, code, signed=signed) == shown


def test_local_datetime_names_the_program_zone_when_shown():
    at = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert local_datetime(at, "Europe/Amsterdam") == "2026-07-01 14:00 CEST"
    assert local_datetime(at, "UTC", seconds=True) == "2026-07-01 12:00:00 UTC"
    # a zone without an abbreviation is named by its IANA key
    assert local_datetime(at, "America/Sao_Paulo") == "2026-07-01 09:00 America/Sao_Paulo"
