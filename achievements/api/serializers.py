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
