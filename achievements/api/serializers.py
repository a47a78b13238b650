"""Talon.One's `CreateAchievement` / `Achievement`, plus Laurel's counting rules."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from achievements.models import Achievement, Target, TargetGroup
from achievements.selectors import achievement_has_progress, achievement_status, period_status
from config.api.fields import AwareDateTimeField, LaurelModelSerializer, NumberField
from config.api.limits import no_control_characters
from loyalty.event_types import event_type_problem

PROGRESS_STATUSES = ["not_started", "inprogress", "completed", "expired"]
ACHIEVEMENT_STATUSES = ["inprogress", "expired", "not_started"]


class TimePointSerializer(serializers.Serializer):
    """An absolute point an iteration ends at (`periodEndOverride`)."""

    month = serializers.IntegerField(required=False, allow_null=True)
    day_of_month = serializers.IntegerField(required=False, allow_null=True)
    day_of_week = serializers.IntegerField(required=False, allow_null=True)
    hour = serializers.IntegerField()
    minute = serializers.IntegerField()
    second = serializers.IntegerField()

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        return {k: v for k, v in value.items() if v is not None}

    def to_representation(self, instance):
        return {k: v for k, v in super().to_representation(instance).items() if v is not None}


class AchievementSerializer(LaurelModelSerializer):
    created = AwareDateTimeField(source="created_at", read_only=True)
    campaign_id = serializers.IntegerField()
    target = NumberField()
    period_end_override = TimePointSerializer(required=False, allow_null=True)
    event_types = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, max_length=50
    )
    user_id = serializers.SerializerMethodField()
    created_by = serializers.SerializerMethodField()
    has_progress = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()

    class Meta:
        model = Achievement
        fields = [
            "id", "created", "campaign_id", "name", "title", "description", "target",
            "period", "period_end_override", "recurrence_policy", "activation_policy",
            "fixed_start_date", "end_date", "allow_rollback_after_completion",
            "is_capped_by_target", "time_zone", "event_types", "progress_condition",
            "progress_increment", "enabled", "user_id", "created_by", "has_progress", "status",
        ]
        read_only_fields = ["id", "created"]
        validators = []  # duplicate name/title: 409 from the service
        extra_kwargs = {
            "description": {"required": False, "allow_blank": True},
            "time_zone": {"required": False, "allow_blank": True},
            "period": {"required": False, "allow_blank": True},
        }

    def validate_event_types(self, value: list[str]) -> list[str]:
        """Only the types Laurel knows: an unknown one (PURCHSE) would never count."""
        problems = [problem for problem in map(event_type_problem, value) if problem]
        if problems:
            raise serializers.ValidationError(problems)
        return value

    def get_user_id(self, obj: Achievement) -> int:
        return obj.created_by_id or 0

    def get_created_by(self, obj: Achievement) -> str | None:
        user = obj.created_by
        return (user.get_full_name() or user.get_username()) if user else None

    def get_has_progress(self, obj: Achievement) -> bool:
        return achievement_has_progress(achievement=obj)

    @extend_schema_field(serializers.ChoiceField(choices=ACHIEVEMENT_STATUSES))
    def get_status(self, obj: Achievement) -> str:
        return achievement_status(achievement=obj, now=self.context.get("now") or timezone.now())


class AchievementProgressWithDefinitionSerializer(serializers.Serializer):
    """Talon.One's AchievementProgressWithDefinition, field for field."""

    status = serializers.ChoiceField(choices=PROGRESS_STATUSES)
    progress = NumberField()
    start_date = AwareDateTimeField(source="record.start_date", allow_null=True,
                                           default=None)
    completion_date = AwareDateTimeField(source="record.completion_date",
                                                allow_null=True, default=None)
    end_date = AwareDateTimeField(source="record.end_date", allow_null=True,
                                         default=None)
    achievement_id = serializers.IntegerField(source="achievement.pk")
    name = serializers.CharField(source="achievement.name")
    title = serializers.CharField(source="achievement.title")
    description = serializers.CharField(source="achievement.description")
    campaign_id = serializers.IntegerField(source="achievement.campaign_id")
    target = NumberField(source="achievement.target")
    achievement_recurrence_policy = serializers.CharField(
        source="achievement.recurrence_policy"
    )
    achievement_activation_policy = serializers.CharField(
        source="achievement.activation_policy"
    )
    achievement_fixed_start_date = AwareDateTimeField(
        source="achievement.fixed_start_date", required=False,
        help_text="Left out unless the achievement runs on a fixed schedule.",
    )
    achievement_end_date = AwareDateTimeField(source="achievement.end_date", required=False,
                                              help_text="Left out when it has no end date.")

    def to_representation(self, instance):
        # Optional fields are left out rather than sent as null, as Talon.One does.
        data = super().to_representation(instance)
        for key in ("start_date", "completion_date", "end_date", "achievement_fixed_start_date",
                    "achievement_end_date"):
            if data.get(key) is None:
                data.pop(key, None)
        return data


class AchievementIterationSerializer(serializers.Serializer):
    """One iteration (Talon.One's AchievementProgress) plus its tracker id."""

    progress_tracker_id = serializers.IntegerField(source="record.pk")
    status = serializers.ChoiceField(choices=PROGRESS_STATUSES)
    progress = NumberField(source="record.progress")
    start_date = AwareDateTimeField(source="record.start_date")
    completion_date = AwareDateTimeField(source="record.completion_date",
                                                allow_null=True)
    end_date = AwareDateTimeField(source="record.end_date", allow_null=True)


class CustomerProgressSerializer(serializers.Serializer):
    """A customer's current iteration in an achievement (the progress export's row)."""

    profile_integration_id = serializers.CharField(source="customer.integration_id")
    progress_tracker_id = serializers.IntegerField(source="pk")
    status = serializers.ChoiceField(source="current_status", choices=PROGRESS_STATUSES)
    progress = NumberField()
    start_date = AwareDateTimeField()
    end_date = AwareDateTimeField(allow_null=True)
    completion_date = AwareDateTimeField(allow_null=True)


class CustomerAchievementFilterSerializer(serializers.Serializer):
    campaign_ids = serializers.CharField(required=False, help_text="Comma-separated ids.")
    status = serializers.CharField(required=False,
                                   help_text="Comma-separated: inprogress, completed, "
                                   "expired, not_started.")

    STATUSES = {"inprogress", "completed", "expired", "not_started"}

    def validate_campaign_ids(self, value: str) -> list[int]:
        try:
            return [int(v) for v in value.split(",") if v.strip()]
        except ValueError as exc:
            raise serializers.ValidationError("Use comma-separated campaign ids.") from exc

    def validate_status(self, value: str) -> list[str]:
        statuses = [v.strip() for v in value.split(",") if v.strip()]
        unknown = set(statuses) - self.STATUSES
        if unknown:
            raise serializers.ValidationError(
                f"Unknown status {', '.join(sorted(unknown))}; use "
                f"{', '.join(sorted(self.STATUSES))}."
            )
        return statuses


# Streak targets (Capillary's target groups)
# ------------------------------------------------------------------------------
class TargetPeriodSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    ref_code = serializers.CharField(max_length=100, validators=[no_control_characters])
    start_date = AwareDateTimeField()
    end_date = AwareDateTimeField()
    description = serializers.CharField(max_length=255, required=False, allow_blank=True)
    active = serializers.BooleanField(required=False, default=True)
    period_status = serializers.SerializerMethodField()

    def get_period_status(self, obj) -> str:
        return period_status(start=obj.start_date, end=obj.end_date,
                             now=self.context.get("now") or timezone.now())


class DefaultValueSerializer(serializers.Serializer):
    period_id = serializers.IntegerField(read_only=True)
    default_value = NumberField(min_value=0)

    def to_representation(self, instance):
        return {"period_id": instance.period_id,
                "default_value": NumberField().to_representation(instance.value)}


class TargetSerializer(serializers.Serializer):
    id = serializers.IntegerField(required=False)
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=255, required=False, allow_blank=True)
    active = serializers.BooleanField(required=False, default=True)
    target_entity = serializers.ChoiceField(choices=Target.Entity.choices)
    target_type = serializers.ChoiceField(choices=Target.Kpi.choices)
    event_name = serializers.CharField(max_length=64, required=False, allow_blank=True,
                                       validators=[no_control_characters])
    expression = serializers.CharField(required=False, default="true",
                                       help_text="CEL; `currentEvent.amount > 10` works.")
    attribute_name = serializers.CharField(max_length=200, required=False, allow_blank=True,
                                           validators=[no_control_characters])
    enrolment_method = serializers.ChoiceField(choices=Target.EnrolmentMethod.choices,
                                               required=False)
    alternate_currency_identifier = serializers.CharField(max_length=20, required=False,
                                                          validators=[no_control_characters],
                                                          allow_blank=True)
    program_id = serializers.IntegerField(source="alternate_program_id", required=False,
                                          allow_null=True)
    filters = serializers.ListField(child=serializers.DictField(), required=False)
    default_values = DefaultValueSerializer(many=True, source="values",
                                            help_text="One per period, in period order.")


class StreakLevelSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=200)
    target_count_of_sequence = serializers.IntegerField(min_value=1)
    classification = serializers.CharField(source="classification.code", read_only=True)


class TrackingTypeField(serializers.ChoiceField):
    """Accepts Capillary's `STREAK` spelling for `STREAKS`."""

    def to_internal_value(self, data):
        return super().to_internal_value("STREAKS" if data == "STREAK" else data)


class TargetGroupSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=255, required=False, allow_blank=True)
    active = serializers.BooleanField(required=False, default=True)
    preferred_till_id = serializers.IntegerField(required=False, allow_null=True)
    tracking_type = TrackingTypeField(choices=TargetGroup.TrackingType.choices)
    target_evaluation_type = serializers.ChoiceField(
        choices=TargetGroup.EvaluationType.choices, required=False,
        default=TargetGroup.EvaluationType.FIXED_CALENDAR_WINDOW,
    )
    frequency_type = serializers.ChoiceField(choices=TargetGroup.FrequencyType.choices)
    frequency = serializers.IntegerField(min_value=0, required=False, default=1)
    recurring_cycles = serializers.IntegerField(min_value=0, max_value=100, required=False,
                                                default=0)
    total_periods = serializers.IntegerField(read_only=True)
    time_zone = serializers.CharField(max_length=64, required=False, allow_blank=True)
    grace_period = serializers.DurationField(required=False, format="iso-8601",
                                             help_text="ISO 8601, e.g. PT6H.")
    reminder_window = serializers.DurationField(required=False, format="iso-8601")
    start_date = AwareDateTimeField(
        write_only=True, required=False,
        help_text="Generate recurringCycles periods from here (instead of `periods`).",
    )
    periods = TargetPeriodSerializer(many=True, required=False)
    targets = TargetSerializer(many=True)
    streaks = StreakLevelSerializer(many=True, required=False, source="levels")
    created_at = AwareDateTimeField(read_only=True)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["periods"] = TargetPeriodSerializer(
            instance.periods.all(), many=True, context=self.context).data
        return data


class TargetGroupUpdateSerializer(serializers.Serializer):
    """What may change after creation. Other fields sent are refused, by name, by the service."""

    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(max_length=255, required=False, allow_blank=True)
    active = serializers.BooleanField(required=False)
    targets = serializers.ListField(child=serializers.DictField(), required=False)


class EnrolmentInputSerializer(serializers.Serializer):
    customer = serializers.CharField(max_length=1000, help_text="The customer's integrationId.")
    reset_streak_status = serializers.BooleanField(required=False, default=False)


class EnrolmentSerializer(serializers.Serializer):
    target_group_id = serializers.IntegerField(source="group_id")
    customer = serializers.CharField(source="customer.integration_id")
    active = serializers.BooleanField()
    epoch = serializers.IntegerField()
    enrolled_at = AwareDateTimeField()
    unenrolled_at = AwareDateTimeField(allow_null=True)
    current_count = serializers.IntegerField()
    longest_count = serializers.IntegerField()


class CycleLedgerRowSerializer(serializers.Serializer):
    ref_code = serializers.CharField(source="period.ref_code")
    start_date = AwareDateTimeField(source="period.start_date")
    end_date = AwareDateTimeField(source="period.end_date")
    value = NumberField()
    target = NumberField()
    state = serializers.CharField(help_text="met, missed, open, pending_grace or upcoming.")
    counted = serializers.BooleanField(help_text="False before the customer's (re-)enrolment.")


class StreakLevelStatusSerializer(serializers.Serializer):
    name = serializers.CharField()
    target_count_of_sequence = serializers.IntegerField()
    status = serializers.CharField(help_text="ACHIEVED or INPROGRESS.")
    achieved_at = AwareDateTimeField(allow_null=True)


class CustomerStreakSerializer(serializers.Serializer):
    target_group_id = serializers.IntegerField(source="enrolment.group_id")
    name = serializers.CharField(source="enrolment.group.name")
    tracking_type = serializers.CharField(source="enrolment.group.tracking_type")
    enrolled = serializers.BooleanField(source="enrolment.active")
    current_count = serializers.IntegerField()
    longest_count = serializers.IntegerField()
    levels = StreakLevelStatusSerializer(many=True)
    cycles = CycleLedgerRowSerializer(many=True)
