from decimal import Decimal

from rest_framework import serializers


def plain_number(value: Decimal) -> str:
    """10, 12.5, 0.000001: never 1E+1."""
    return format(Decimal(value).normalize(), "f")


class NumberField(serializers.DecimalField):
    """A decimal that travels as a plain JSON number: 50, 12.5 (never "50.000000")."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 20)
        kwargs.setdefault("decimal_places", 6)
        kwargs.setdefault("coerce_to_string", False)
        super().__init__(**kwargs)

    def to_representation(self, value):
        value = Decimal(value)
        if value == value.to_integral_value():
            return int(value)
        return float(value.normalize())
