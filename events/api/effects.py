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


# Emitted by the event-time progress engine (late events and cancellations re-fold a goal).
class IterationChangeSerializer(serializers.Serializer):
    change = serializers.CharField(help_text="added, moved, changed or removed.")
    progress_tracker_id = serializers.IntegerField()
    sequence = serializers.IntegerField()
    before = serializers.DictField(allow_null=True)
    after = serializers.DictField(allow_null=True)


class AchievementProgressRefoldedEffectSerializer(serializers.Serializer):
    """A late event or a cancellation re-folded an achievement for the customer."""

    effect_type = serializers.ChoiceField(choices=["achievementProgressRefolded"])
    achievement_id = serializers.IntegerField()
    achievement_name = serializers.CharField()
    refolded_from = serializers.DateTimeField()
    iterations = IterationChangeSerializer(many=True)


class AchievementCompletionKeptEffectSerializer(serializers.Serializer):
    """A completion that stays although the fold would take it back (no rollback after
    completion)."""

    effect_type = serializers.ChoiceField(choices=["achievementCompletionKept"])
    achievement_id = serializers.IntegerField()
    achievement_name = serializers.CharField()
    progress_tracker_id = serializers.IntegerField()
    completion_date = serializers.DateTimeField()
    reason = serializers.CharField()


class AchievementCompletionsTruncatedEffectSerializer(serializers.Serializer):
    """One event completed as many iterations of an achievement as one event may."""

    effect_type = serializers.ChoiceField(choices=["achievementCompletionsTruncated"])
    achievement_id = serializers.IntegerField()
    achievement_name = serializers.CharField()
    limit = serializers.IntegerField()
    message = serializers.CharField()


class AchievementCustomerEventMovedEffectSerializer(serializers.Serializer):
    """A re-fold moved a completion: its ACHIEVEMENT event now carries the new moment."""

    effect_type = serializers.ChoiceField(choices=["achievementCustomerEventMoved"])
    customer_event_id = serializers.IntegerField()
    achievement_id = serializers.IntegerField()
    progress_tracker_id = serializers.IntegerField()
    performed_on = serializers.DateTimeField()


class AchievementSkippedEffectSerializer(serializers.Serializer):
    """A goal that failed while counting the event: skipped, the event counted everywhere
    else (one bad definition never stops ingestion)."""

    effect_type = serializers.ChoiceField(choices=["achievementSkipped"])
    achievement_id = serializers.IntegerField()
    achievement_name = serializers.CharField()
    message = serializers.CharField()


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
    "achievementProgressRefolded": AchievementProgressRefoldedEffectSerializer,
    "achievementCompletionKept": AchievementCompletionKeptEffectSerializer,
    "achievementCompletionsTruncated": AchievementCompletionsTruncatedEffectSerializer,
    "achievementCustomerEventMoved": AchievementCustomerEventMovedEffectSerializer,
    "achievementSkipped": AchievementSkippedEffectSerializer,
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
