"""Capillary's target group payload (camelCase on the wire, through Laurel's camelCase parser
and renderer; snake_case here)."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from achievements.api.serializers import TrackingTypeField
from achievements.models import Target, TargetGroup


@extend_schema_field(OpenApiTypes.STR)
class CapillaryDateTimeField(serializers.Field):
    """`YYYY-MM-DDTHH:mm:ss.SSS`, optionally with `Z` or `±hh:mm`; without an offset it is the
    group's local time (`timeZoneName`, else the program's), passed in the context."""

    default_error_messages = {"invalid": "Use YYYY-MM-DDTHH:mm:ss.SSS (optionally with Z or "
                                         "an offset)."}

    def to_internal_value(self, data):
        tz = self.context.get("tz") or ZoneInfo("UTC")
        value = None
        if isinstance(data, str):
            try:
                value = parse_datetime(data)
                if value is None and (day := parse_date(data)):
                    value = datetime(day.year, day.month, day.day, tzinfo=tz)
            except ValueError:
                value = None
        if value is None:
            self.fail("invalid")
        return value if value.tzinfo else value.replace(tzinfo=tz)

    def to_representation(self, value):
        return value


@extend_schema_field(OpenApiTypes.STR)
class TextOrValueField(serializers.Field):
    """A string that clients also send as a number or a boolean (refCode, expression)."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return "true" if data else "false"
        if isinstance(data, (str, int, float)):
            return str(data)
        raise serializers.ValidationError("Must be a string.")

    def to_representation(self, value):
        return value


class CapillaryPeriodSerializer(serializers.Serializer):
    ref_code = TextOrValueField()
    start_date = CapillaryDateTimeField()
    end_date = CapillaryDateTimeField()
    period_status = serializers.ChoiceField(choices=["RUNNING", "UPCOMING", "NOT_STARTED"],
                                            required=False,
                                            help_text="Accepted; answers compute it from "
                                                      "the clock.")
    description = serializers.CharField(max_length=255, required=False, allow_blank=True)
    active = serializers.BooleanField(required=False, default=True)


class CapillaryExtendedFieldInfoSerializer(serializers.Serializer):
    alternate_currency_identifier = serializers.CharField(max_length=20, required=False,
                                                          allow_blank=True, allow_null=True)
    program_id = serializers.IntegerField(required=False, allow_null=True)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    aggregate_function = serializers.ChoiceField(choices=["SUM", "COUNT"], required=False)


class CapillaryTargetSerializer(serializers.Serializer):
    id = serializers.IntegerField(required=False)
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=255, required=False, allow_blank=True)
    active = serializers.BooleanField(required=False, default=True)
    target_entity = serializers.ChoiceField(choices=Target.Entity.choices)
    target_type = serializers.ChoiceField(choices=Target.Kpi.choices)
    event_name = serializers.CharField(max_length=64, required=False, allow_blank=True,
                                       allow_null=True)
    expression = TextOrValueField(required=False)
    expression_json = serializers.CharField(required=False, allow_blank=True,
                                            help_text="Accepted, not stored (Laurel reads "
                                                      "expression).")
    filters = serializers.ListField(child=serializers.DictField(), required=False)
    enrolment_method = serializers.ChoiceField(choices=Target.EnrolmentMethod.choices,
                                               required=False)
    default_values = serializers.ListField(child=serializers.JSONField(), required=False,
                                           help_text="[{defaultValue: 500}, …], one per "
                                                     "period, in period order.")
    extended_field_info = CapillaryExtendedFieldInfoSerializer(required=False,
                                                               allow_null=True)
    target_milestone_triggers = serializers.ListField(child=serializers.DictField(),
                                                      required=False)


class CapillaryStreakLevelSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=200)
    target_count_of_sequence = serializers.IntegerField(min_value=1)


class CapillaryTargetGroupInputSerializer(serializers.Serializer):
    """`POST /v3/targetGroups`, the seed's body."""

    name = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=255, required=False, allow_blank=True)
    active = serializers.BooleanField(required=False, default=True)
    preferred_till_id = serializers.IntegerField(required=False, allow_null=True)
    tracking_type = TrackingTypeField(choices=TargetGroup.TrackingType.choices)
    target_evaluation_type = serializers.ChoiceField(
        choices=TargetGroup.EvaluationType.choices, required=False,
        default=TargetGroup.EvaluationType.FIXED_CALENDAR_WINDOW)
    total_periods = serializers.IntegerField(min_value=1, max_value=100, required=False,
                                             help_text="Accepted; Laurel counts the periods.")
    frequency_type = serializers.ChoiceField(choices=TargetGroup.FrequencyType.choices)
    frequency = serializers.IntegerField(min_value=0, required=False, default=0)
    recurring_cycles = serializers.IntegerField(min_value=-1, max_value=100, required=False,
                                                default=0)
    time_zone_name = serializers.CharField(max_length=64, required=False, allow_blank=True)
    user_created = serializers.BooleanField(required=False, default=False)
    leaderboard_enabled = serializers.BooleanField(required=False, default=False)
    from_date = CapillaryDateTimeField(required=False,
                                       help_text="Without periods: generate recurringCycles "
                                                 "periods from here.")
    periods = CapillaryPeriodSerializer(many=True, required=False)
    targets = CapillaryTargetSerializer(many=True)
    streaks = CapillaryStreakLevelSerializer(many=True, required=False)


class CapillaryTargetEditSerializer(serializers.Serializer):
    """`PUT /v3/targetGroups/{groupId}/targets/{targetId}`: what a target may change."""

    expression = TextOrValueField(required=False)
    expression_json = serializers.CharField(required=False, allow_blank=True)
    filters = serializers.ListField(child=serializers.DictField(), required=False)
    default_values = serializers.ListField(child=serializers.JSONField(), required=False)


class CapillaryEnrolSerializer(serializers.Serializer):
    customer_id = serializers.JSONField(help_text="The customer's id (Laurel's integration "
                                                  "id).")
    period_name = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    initial_balance = serializers.JSONField(required=False, allow_null=True,
                                            help_text="Accepted, not used.")
    reset_streak_status = serializers.BooleanField(required=False, default=False)


# Answer shapes (documentation; the views build the bodies) ---------------------------------
class CapillaryErrorItemSerializer(serializers.Serializer):
    code = serializers.IntegerField()
    message = serializers.CharField()


class CapillaryPeriodOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    ref_code = serializers.CharField()
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    start_date_with_time_stamp = serializers.CharField()
    end_date_with_time_stamp = serializers.CharField()
    period_status = serializers.ChoiceField(choices=["NOT_STARTED", "RUNNING", "ENDED"])
    target_group_id = serializers.IntegerField()
    description = serializers.CharField()
    active = serializers.BooleanField()


class CapillaryDefaultValueOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    period_id = serializers.IntegerField()
    default_value = serializers.FloatField()


class CapillaryTargetOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    target_type = serializers.CharField()
    target_entity = serializers.CharField()
    event_name = serializers.CharField(allow_null=True)
    target_group_id = serializers.IntegerField()
    description = serializers.CharField()
    active = serializers.BooleanField()
    expression = serializers.CharField()
    filters = serializers.ListField(child=serializers.DictField())
    enrolment_method = serializers.CharField()
    default_values = CapillaryDefaultValueOutputSerializer(many=True)
    extended_field_info = serializers.DictField(allow_null=True)


class CapillaryStreakLevelOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    target_group_id = serializers.IntegerField()
    name = serializers.CharField()
    target_count_of_sequence = serializers.IntegerField()


class CapillaryTargetGroupSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    active = serializers.BooleanField()
    preferred_till_id = serializers.IntegerField(allow_null=True)
    tracking_type = serializers.CharField()
    target_evaluation_type = serializers.CharField()
    total_periods = serializers.IntegerField()
    frequency_type = serializers.CharField()
    frequency = serializers.IntegerField()
    recurring_cycles = serializers.IntegerField()
    time_zone_name = serializers.CharField()
    target_cycle_start_date = serializers.CharField(allow_null=True)
    target_cycle_end_date = serializers.CharField(allow_null=True)
    periods = CapillaryPeriodOutputSerializer(many=True, required=False)
    targets = CapillaryTargetOutputSerializer(many=True)
    streaks = CapillaryStreakLevelOutputSerializer(many=True)


class CapillaryTargetGroupEnvelopeSerializer(serializers.Serializer):
    data = CapillaryTargetGroupSerializer(allow_null=True)
    errors = CapillaryErrorItemSerializer(many=True, allow_null=True)
    warnings = serializers.ListField(child=serializers.CharField(), allow_null=True)


class CapillaryTargetGroupListEnvelopeSerializer(serializers.Serializer):
    data = CapillaryTargetGroupSerializer(many=True, allow_null=True)
    errors = CapillaryErrorItemSerializer(many=True, allow_null=True)
    warnings = serializers.ListField(child=serializers.CharField(), allow_null=True)


class CapillaryCustomerIdEnvelopeSerializer(serializers.Serializer):
    data = serializers.JSONField(help_text="The customerId.")
    errors = CapillaryErrorItemSerializer(many=True, allow_null=True)
    warnings = serializers.ListField(child=serializers.CharField(), allow_null=True)


class CapillaryUserTargetSerializer(serializers.Serializer):
    target_id = serializers.IntegerField(allow_null=True)
    period_id = serializers.IntegerField()
    period_ref_code = serializers.CharField()
    period_start_date = serializers.DateField()
    period_end_date = serializers.DateField()
    period_start_date_with_time_stamp = serializers.CharField()
    period_end_date_with_time_stamp = serializers.CharField()
    target_value = serializers.FloatField()
    target_achieved_value = serializers.FloatField()
    target_name = serializers.CharField()
    target_type = serializers.CharField()
    target_entity = serializers.CharField()
    target_rule_id = serializers.IntegerField()
    enrolled_on = serializers.CharField()
    event_name = serializers.CharField(allow_null=True)
    current_period = serializers.BooleanField()
    milestones = serializers.ListField(child=serializers.DictField(), allow_null=True)


class CapillaryUserStreakSerializer(serializers.Serializer):
    user_streak_id = serializers.IntegerField()
    streak_id = serializers.IntegerField()
    streak_name = serializers.CharField()
    status = serializers.ChoiceField(choices=["INPROGRESS", "ACHIEVED"])
    current_count = serializers.IntegerField()
    total_target_count_of_sequence = serializers.IntegerField()
    streak_achieved_date_time = serializers.CharField(required=False)


class CapillaryUserTargetGroupSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    preferred_till_id = serializers.IntegerField(allow_null=True)
    targets = CapillaryUserTargetSerializer(many=True)
    streaks = CapillaryUserStreakSerializer(many=True)
    target_evaluation_type = serializers.CharField()
    tracking_type = serializers.CharField()


class CapillaryUserProgressSerializer(serializers.Serializer):
    user_id = serializers.JSONField()
    customer = serializers.DictField()
    target_groups = CapillaryUserTargetGroupSerializer(many=True)


class CapillaryUserProgressEnvelopeSerializer(serializers.Serializer):
    data = CapillaryUserProgressSerializer(allow_null=True)
    errors = CapillaryErrorItemSerializer(many=True, allow_null=True)
    warnings = serializers.ListField(child=serializers.CharField(), allow_null=True)


class CapillaryIsValidNameSerializer(serializers.Serializer):
    type = serializers.CharField(help_text="targetGroupName, streakName, targetName, "
                                           "streakLevelName or periodName.")
    value = serializers.CharField()


class CapillaryBooleanEnvelopeSerializer(serializers.Serializer):
    data = serializers.BooleanField(allow_null=True)
    errors = CapillaryErrorItemSerializer(many=True, allow_null=True)
    warnings = serializers.ListField(child=serializers.CharField(), allow_null=True)


class CapillaryPeriodListEnvelopeSerializer(serializers.Serializer):
    data = CapillaryPeriodOutputSerializer(many=True, allow_null=True)
    errors = CapillaryErrorItemSerializer(many=True, allow_null=True)
    warnings = serializers.ListField(child=serializers.CharField(), allow_null=True)


class CapillaryTargetListEnvelopeSerializer(serializers.Serializer):
    data = CapillaryTargetOutputSerializer(many=True, allow_null=True)
    errors = CapillaryErrorItemSerializer(many=True, allow_null=True)
    warnings = serializers.ListField(child=serializers.CharField(), allow_null=True)
