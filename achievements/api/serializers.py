"""Talon.One's `CreateAchievement` / `Achievement`, plus Laurel's counting rules."""

from django.utils import timezone
from rest_framework import serializers

from achievements.models import Achievement
from achievements.selectors import achievement_has_progress, achievement_status
from config.api.fields import NumberField


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


class AchievementSerializer(serializers.ModelSerializer):
    created = serializers.DateTimeField(source="created_at", read_only=True)
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
            "progress_increment", "user_id", "created_by", "has_progress", "status",
        ]
        read_only_fields = ["id", "created"]
        validators = []  # duplicate name/title: 409 from the service
        extra_kwargs = {
            "description": {"required": False, "allow_blank": True},
            "time_zone": {"required": False, "allow_blank": True},
            "period": {"required": False, "allow_blank": True},
        }

    def get_user_id(self, obj: Achievement) -> int:
        return obj.created_by_id or 0

    def get_created_by(self, obj: Achievement) -> str | None:
        user = obj.created_by
        return (user.get_full_name() or user.get_username()) if user else None

    def get_has_progress(self, obj: Achievement) -> bool:
        return achievement_has_progress(achievement=obj)

    def get_status(self, obj: Achievement) -> str:
        return achievement_status(achievement=obj, now=self.context.get("now") or timezone.now())


class AchievementProgressWithDefinitionSerializer(serializers.Serializer):
    """Talon.One's AchievementProgressWithDefinition, field for field."""

    status = serializers.CharField()
    progress = NumberField()
    start_date = serializers.DateTimeField(source="record.start_date", allow_null=True,
                                           default=None)
    completion_date = serializers.DateTimeField(source="record.completion_date",
                                                allow_null=True, default=None)
    end_date = serializers.DateTimeField(source="record.end_date", allow_null=True,
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
    achievement_fixed_start_date = serializers.DateTimeField(
        source="achievement.fixed_start_date", allow_null=True
    )
    achievement_end_date = serializers.DateTimeField(source="achievement.end_date",
                                                     allow_null=True)

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
    status = serializers.CharField()
    progress = NumberField(source="record.progress")
    start_date = serializers.DateTimeField(source="record.start_date")
    completion_date = serializers.DateTimeField(source="record.completion_date",
                                                allow_null=True)
    end_date = serializers.DateTimeField(source="record.end_date", allow_null=True)


class CustomerProgressSerializer(serializers.Serializer):
    """A customer's current iteration in an achievement (the progress export's row)."""

    profile_integration_id = serializers.CharField(source="customer.integration_id")
    progress_tracker_id = serializers.IntegerField(source="pk")
    status = serializers.CharField(source="current_status")
    progress = NumberField()
    start_date = serializers.DateTimeField()
    end_date = serializers.DateTimeField(allow_null=True)
    completion_date = serializers.DateTimeField(allow_null=True)


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
