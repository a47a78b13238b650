"""What an event did, one object per effect, typed by `effectType` (a discriminated union in
the schema). The bodies are built by the services (plain camelCase dicts); these serializers
only describe them. A new effect type is a new serializer here and a line in EFFECT_TYPES."""

from drf_spectacular.utils import PolymorphicProxySerializer
from rest_framework import serializers


def _number(**kwargs) -> serializers.FloatField:
    return serializers.FloatField(**kwargs)


class AchievementProgressIncreasedEffectSerializer(serializers.Serializer):
    effect_type = serializers.ChoiceField(choices=["increaseAchievementProgress"])
    achievement_id = serializers.IntegerField()
    achievement_name = serializers.CharField()
    progress_tracker_id = serializers.IntegerField()
    target = _number()
    delta = _number(help_text="What this event added.")
    value = _number(help_text="The iteration's progress after it.")
    is_just_completed = serializers.BooleanField()


class AchievementProgressRolledBackEffectSerializer(serializers.Serializer):
    effect_type = serializers.ChoiceField(choices=["rollbackIncreasedAchievementProgress"])
    achievement_id = serializers.IntegerField()
    achievement_name = serializers.CharField()
    progress_tracker_id = serializers.IntegerField()
    target = _number()
    decrease_progress_by = _number()
    current_progress = _number()


class AchievementProgressKeptEffectSerializer(serializers.Serializer):
    """On a cancel: what the cancelled event added to a completed iteration, kept because
    the achievement does not allow rollback after completion."""

    effect_type = serializers.ChoiceField(choices=["achievementProgressKept"])
    achievement_id = serializers.IntegerField()
    achievement_name = serializers.CharField()
    progress_tracker_id = serializers.IntegerField()
    delta = _number(help_text="What the cancelled event had added, kept.")
    reason = serializers.CharField()


class AchievementCustomerEventEffectSerializer(serializers.Serializer):
    """An ACHIEVEMENT customer event Laurel posted for a completion, a streak level or a
    met target (which of the optional ids is present says which)."""

    effect_type = serializers.ChoiceField(choices=["achievementCustomerEvent"])
    customer_event_id = serializers.IntegerField()
    classification = serializers.CharField()
    achievement_id = serializers.IntegerField(required=False)
    progress_tracker_id = serializers.IntegerField(required=False)
    streak_level_name = serializers.CharField(required=False)
    target_id = serializers.IntegerField(required=False)
    period_ref_code = serializers.CharField(required=False)


class AchievementCustomerEventCancelledEffectSerializer(serializers.Serializer):
    effect_type = serializers.ChoiceField(choices=["achievementCustomerEventCancelled"])
    customer_event_id = serializers.IntegerField()
    achievement_id = serializers.IntegerField(required=False)
    progress_tracker_id = serializers.IntegerField(required=False)


class AchievementCustomerEventKeptEffectSerializer(serializers.Serializer):
    """On a cancel: an ACHIEVEMENT event the cancelled event caused that stays posted (its
    achievement does not allow rollback after completion), with its awards."""

    effect_type = serializers.ChoiceField(choices=["achievementCustomerEventKept"])
    customer_event_id = serializers.IntegerField()
    classification = serializers.CharField(allow_null=True)
    reason = serializers.CharField()


class AwardTransactionEffectSerializer(serializers.Serializer):
    effect_type = serializers.ChoiceField(choices=["awardTransaction"])
    award_transaction_id = serializers.IntegerField()
    customer_event_id = serializers.IntegerField()
    reward_offer_id = serializers.IntegerField(allow_null=True)
    currency = serializers.CharField()
    amount = _number()


class AwardTransactionCancelledEffectSerializer(AwardTransactionEffectSerializer):
    effect_type = serializers.ChoiceField(choices=["awardTransactionCancelled"])


class AwardTransactionKeptEffectSerializer(AwardTransactionEffectSerializer):
    """On a cancel: an award that stays, because the completion that paid it is kept."""

    effect_type = serializers.ChoiceField(choices=["awardTransactionKept"])


class StreakCycleProgressEffectSerializer(serializers.Serializer):
    effect_type = serializers.ChoiceField(choices=["streakCycleProgress"])
    target_group_id = serializers.IntegerField()
    target_group_name = serializers.CharField()
    target_id = serializers.IntegerField()
    period_ref_code = serializers.CharField()
    delta = _number()
    value = _number()
    target = _number(allow_null=True)
    is_met = serializers.BooleanField()


class StreakCycleRollbackEffectSerializer(StreakCycleProgressEffectSerializer):
    effect_type = serializers.ChoiceField(choices=["streakCycleRollback"])


class StreakLevelAchievedEffectSerializer(serializers.Serializer):
    effect_type = serializers.ChoiceField(choices=["streakLevelAchieved"])
    target_group_id = serializers.IntegerField()
    streak_level_name = serializers.CharField()
    current_count = serializers.IntegerField()


class StreakLevelUnAchievedEffectSerializer(StreakLevelAchievedEffectSerializer):
    effect_type = serializers.ChoiceField(choices=["streakLevelUnAchieved"])


EFFECT_TYPES = {
    "increaseAchievementProgress": AchievementProgressIncreasedEffectSerializer,
    "rollbackIncreasedAchievementProgress": AchievementProgressRolledBackEffectSerializer,
    "achievementProgressKept": AchievementProgressKeptEffectSerializer,
    "achievementCustomerEvent": AchievementCustomerEventEffectSerializer,
    "achievementCustomerEventCancelled": AchievementCustomerEventCancelledEffectSerializer,
    "achievementCustomerEventKept": AchievementCustomerEventKeptEffectSerializer,
    "awardTransaction": AwardTransactionEffectSerializer,
    "awardTransactionCancelled": AwardTransactionCancelledEffectSerializer,
    "awardTransactionKept": AwardTransactionKeptEffectSerializer,
    "streakCycleProgress": StreakCycleProgressEffectSerializer,
    "streakCycleRollback": StreakCycleRollbackEffectSerializer,
    "streakLevelAchieved": StreakLevelAchievedEffectSerializer,
    "streakLevelUnAchieved": StreakLevelUnAchievedEffectSerializer,
}

EventEffectSerializer = PolymorphicProxySerializer(
    component_name="EventEffect",
    serializers={name: serializer() for name, serializer in EFFECT_TYPES.items()},
    resource_type_field_name="effectType",
    many=True,
)
