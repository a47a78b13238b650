"""django-filter pieces shared by the apps' FilterSets."""

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField

from config.api.limits import aware_datetime_problem


class AwareIsoDateTimeField(IsoDateTimeField):
    def to_python(self, value):
        if isinstance(value, str) and value.strip():
            from django.utils.dateparse import parse_datetime

            try:
                parsed = parse_datetime(value.strip())
            except ValueError:
                parsed = None
            if parsed is not None:
                problem = aware_datetime_problem(parsed)
                if problem:
                    raise forms.ValidationError(problem, code="invalid")
        return super().to_python(value)


class AwareIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 filter value with a UTC offset at most ±14:00 (naive values refused)."""

    field_class = AwareIsoDateTimeField
