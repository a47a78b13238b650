from datetime import timedelta
from decimal import Decimal

from django.db import models
from django.utils.dateparse import parse_datetime, parse_duration
from django.utils.duration import duration_iso_string
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
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


@extend_schema_field(OpenApiTypes.DURATION)
class IsoDurationField(serializers.Field):
    """An ISO-8601 duration on the wire (P30D, PT12H), a timedelta inside."""

    default_error_messages = {
        "invalid": "Use an ISO-8601 duration such as P30D or PT12H.",
        "not_positive": "The duration must be longer than zero.",
    }

    def to_internal_value(self, data) -> timedelta:
        value = parse_duration(data) if isinstance(data, str) else None
        if value is None or not isinstance(data, str) or not data.startswith(("P", "-P")):
            self.fail("invalid")
        if value <= timedelta(0):
            self.fail("not_positive")
        return value

    def to_representation(self, value: timedelta) -> str:
        return duration_iso_string(value)
class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 datetime with its UTC offset (`Z`, `+01:00`); a naive one is refused, as
    is an offset beyond ±14:00 (see config.api.limits)."""

    def to_internal_value(self, value):
        from config.api.limits import aware_datetime_problem

        if isinstance(value, str):
            parsed = parse_datetime(value.strip()) if value.strip() else None
            if parsed is not None:
                problem = aware_datetime_problem(parsed)
                if problem:
                    raise serializers.ValidationError(problem, code="invalid")
        return super().to_internal_value(value)


class LaurelModelSerializer(serializers.ModelSerializer):
    """A ModelSerializer whose datetimes must carry an offset."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: AwareDateTimeField,
    }


class SometimesSentCharField(serializers.CharField):
    """A read-only string that some answers leave out (the schema marks it optional)."""

    sometimes_sent = True
