"""Admin form fields for achievement definitions: event types as a choice of the types
Laurel knows, the TimePoint (`periodEndOverride`) as its fields, time zones as a choice."""

import copy

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from achievements.models import Achievement
from loyalty.event_types import EventType
from loyalty.validators import time_zone_choices

WEEKDAYS = [("", "any day"), (1, "Monday"), (2, "Tuesday"), (3, "Wednesday"),
            (4, "Thursday"), (5, "Friday"), (6, "Saturday"), (7, "Sunday")]
MONTHS = [("", "any month"), *((i, name) for i, name in enumerate(
    ("January", "February", "March", "April", "May", "June", "July", "August", "September",
     "October", "November", "December"), start=1))]
# (key, label) of the TimePoint's parts, in the order the widget shows them.
TIME_POINT_PARTS = (
    ("month", "Month"), ("day_of_month", "Day of month"), ("day_of_week", "Weekday"),
    ("hour", "Hour"), ("minute", "Minute"), ("second", "Second"),
)


class TimePointWidget(forms.MultiWidget):
    template_name = "admin/achievements/widgets/time_point.html"

    def __init__(self, attrs=None):
        small = {"style": "width: 5em", "min": 0}
        super().__init__(
            [
                forms.Select(choices=MONTHS),
                forms.NumberInput(attrs={**small, "min": 1, "max": 31}),
                forms.Select(choices=WEEKDAYS),
                forms.NumberInput(attrs={**small, "max": 23}),
                forms.NumberInput(attrs={**small, "max": 59}),
                forms.NumberInput(attrs={**small, "max": 59}),
            ],
            attrs,
        )

    def decompress(self, value):
        if not value:
            return [None] * len(TIME_POINT_PARTS)
        return [value.get(key) for key, _ in TIME_POINT_PARTS]

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["parts"] = list(
            zip(context["widget"]["subwidgets"], (label for _, label in TIME_POINT_PARTS),
                strict=True)
        )
        return context


class TimePointField(forms.MultiValueField):
    """`{"day_of_month": 1, "hour": 0, "minute": 0, "second": 0}` from six inputs; all empty
    is no override. The period engine checks the combination against the period."""

    widget = TimePointWidget

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        fields = (
            forms.TypedChoiceField(choices=MONTHS, coerce=int, empty_value=None,
                                   required=False),
            forms.IntegerField(min_value=1, max_value=31, required=False),
            forms.TypedChoiceField(choices=WEEKDAYS, coerce=int, empty_value=None,
                                   required=False),
            forms.IntegerField(min_value=0, max_value=23, required=False),
            forms.IntegerField(min_value=0, max_value=59, required=False),
            forms.IntegerField(min_value=0, max_value=59, required=False),
        )
        kwargs.pop("encoder", None)
        kwargs.pop("decoder", None)
        kwargs.pop("max_length", None)
        super().__init__(fields, require_all_fields=False, **kwargs)

    def compress(self, data_list):
        if not data_list or all(v in (None, "") for v in data_list):
            return None
        point = {key: value for (key, _), value in zip(TIME_POINT_PARTS, data_list, strict=True)
                 if value not in (None, "")}
        missing = [label for key, label in TIME_POINT_PARTS[3:] if key not in point]
        if missing:
            raise ValidationError(
                f"A time point needs hour, minute and second; give the {', '.join(missing)} "
                "too (0 for the start of the hour).", code="incomplete")
        return point

    def has_changed(self, initial, data):
        try:
            typed = self.clean(data) if data else None
        except ValidationError:
            return True
        return (initial or None) != typed


class AchievementForm(forms.ModelForm):
    event_types = forms.MultipleChoiceField(
        choices=EventType.choices, required=False, widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every activity type counts (ACHIEVEMENT events count only "
        "where ticked).",
    )
    period_end_override = TimePointField(
        label="Period end override",
        help_text="Pins the end of an iteration to a local time instead of start + period, "
        "e.g. day of month 1 at 00:00:00. Leave all empty for none. Needs a period without "
        "_D/_U.",
    )
    time_zone = forms.ChoiceField(
        choices=time_zone_choices(empty_label="The program's time zone"), required=False,
        help_text="For calendar periods (days, weeks, months); empty means the program's.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        zone_name = timezone.get_current_timezone_name()
        for name in ("fixed_start_date", "end_date"):
            if name in self.fields:
                field = self.fields[name]
                field.help_text = f"{field.help_text} In {zone_name} (the achievement's time " \
                                  "zone, else its program's)."

    class Meta:
        model = Achievement
        fields = (
            "campaign", "name", "title", "description", "target", "event_types",
            "progress_condition", "progress_increment", "is_capped_by_target",
            "activation_policy", "recurrence_policy", "period", "period_end_override",
            "fixed_start_date", "end_date", "time_zone", "allow_rollback_after_completion",
        )

    def clean_event_types(self):
        return list(self.cleaned_data["event_types"])


def _posted(data, name: str) -> bool:
    """Whether the form posted field `name` (a multi-widget posts name_0, name_1, ...)."""
    return name in data or any(f"{name}_{i}" in data for i in range(6))


def achievement_candidate(*, data, obj: Achievement | None,
                          fields) -> tuple[Achievement, list[str]]:
    """The definition the achievement form describes, unsaved: `obj` (or a new achievement)
    with what the form posts of `fields` changed; fields it does not post (locked ones) keep
    their values. Returns it and the form's errors on those fields, as sentences. The caller
    activates the form's time zone (dates are typed in it)."""
    candidate = copy.copy(obj) if obj is not None else Achievement()
    form = AchievementForm(data=data, instance=Achievement())
    form.is_valid()  # partial input is fine: only the posted fields are read
    errors = []
    for name in fields:
        if name not in form.fields or not _posted(data, name):
            continue
        if name in form.errors:
            errors.append(f"{form.fields[name].label or name}: {form.errors[name][0]}")
        elif name in form.cleaned_data:
            value = form.cleaned_data[name]
            if value is None and name in ("period", "time_zone", "description"):
                value = ""
            setattr(candidate, name, value)
    return candidate, errors
