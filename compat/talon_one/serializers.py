"""Talon.One's request and response models (camelCase on the wire through Laurel's camelCase
parser and renderer, snake_case here). Laurel's `Achievement` already is Talon.One's
`Achievement` field for field, so its serializer is reused for the answers."""

from rest_framework import serializers

from achievements.api.serializers import (
    AchievementProgressWithDefinitionSerializer,
    AchievementSerializer,
    TimePointSerializer,
)
from achievements.models import Achievement
from config.api.fields import NumberField


class TalonOneCreateAchievementSerializer(serializers.Serializer):
    """`CreateAchievement`; with partial=True, `UpdateAchievement` (absent = unchanged)."""

    name = serializers.CharField(max_length=1000)
    title = serializers.CharField(max_length=1000)
    description = serializers.CharField(allow_blank=True)
    target = NumberField(min_value=0)
    period = serializers.CharField(max_length=32, required=False, allow_blank=True)
    period_end_override = TimePointSerializer(required=False, allow_null=True)
    recurrence_policy = serializers.ChoiceField(choices=Achievement.RecurrencePolicy.choices,
                                                required=False)
    activation_policy = serializers.ChoiceField(choices=Achievement.ActivationPolicy.choices,
                                                required=False)
    fixed_start_date = serializers.DateTimeField(required=False, allow_null=True)
    end_date = serializers.DateTimeField(required=False, allow_null=True)
    allow_rollback_after_completion = serializers.BooleanField(required=False)


class TalonOneListAchievementsSerializer(serializers.Serializer):
    has_more = serializers.BooleanField()
    data = AchievementSerializer(many=True)


class TalonOneCustomerProgressSerializer(serializers.Serializer):
    has_more = serializers.BooleanField()
    data = AchievementProgressWithDefinitionSerializer(many=True)


class TalonOneCustomerInventorySerializer(serializers.Serializer):
    achievements = AchievementProgressWithDefinitionSerializer(many=True, required=False)


class TalonOneAchievementProgressSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["inprogress", "completed", "expired",
                                              "not_started"])
    progress = NumberField()
    start_date = serializers.DateTimeField(required=False)
    completion_date = serializers.DateTimeField(required=False)
    end_date = serializers.DateTimeField(required=False)


class TalonOneAchievementStatusEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created = serializers.DateTimeField()
    name = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    target = NumberField()
    period = serializers.CharField(required=False)
    period_end_override = TimePointSerializer(required=False)
    recurrence_policy = serializers.CharField(required=False)
    activation_policy = serializers.CharField(required=False)
    fixed_start_date = serializers.DateTimeField(required=False)
    end_date = serializers.DateTimeField(required=False)
    allow_rollback_after_completion = serializers.BooleanField(required=False)
    campaign_id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["active", "scheduled"])
    current_progress = TalonOneAchievementProgressSerializer(required=False)


class TalonOneCustomerAchievementsSerializer(serializers.Serializer):
    total_result_size = serializers.IntegerField()
    data = TalonOneAchievementStatusEntrySerializer(many=True)


class TalonOneAchievementHistorySerializer(serializers.Serializer):
    total_result_size = serializers.IntegerField()
    data = TalonOneAchievementProgressSerializer(many=True)


class TalonOneEventV2RequestSerializer(serializers.Serializer):
    """`IntegrationEventV2Request`: a custom event of a customer profile."""

    profile_id = serializers.CharField(max_length=1000, help_text="The customer's integration "
                                       "id; Laurel needs one (no anonymous events).")
    store_integration_id = serializers.CharField(max_length=200, required=False)
    evaluable_campaign_ids = serializers.ListField(child=serializers.IntegerField(),
                                                   required=False)
    type = serializers.CharField(max_length=10000)
    attributes = serializers.DictField(required=False)
    loyalty_cards = serializers.ListField(child=serializers.CharField(), required=False,
                                          max_length=1)
    response_content = serializers.ListField(child=serializers.CharField(), required=False)


class TalonOneEffectSerializer(serializers.Serializer):
    campaign_id = serializers.IntegerField()
    ruleset_id = serializers.IntegerField()
    rule_index = serializers.IntegerField()
    rule_name = serializers.CharField()
    effect_type = serializers.ChoiceField(choices=["increaseAchievementProgress",
                                                   "rollbackIncreasedAchievementProgress"])
    props = serializers.DictField()


class TalonOneEventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created = serializers.DateTimeField()
    application_id = serializers.IntegerField()
    profile_id = serializers.CharField()
    store_integration_id = serializers.CharField(required=False)
    type = serializers.CharField()
    attributes = serializers.DictField()
    effects = serializers.ListField(child=serializers.DictField())


class TalonOneTrackEventV2ResponseSerializer(serializers.Serializer):
    event = TalonOneEventSerializer()
    effects = TalonOneEffectSerializer(many=True)
    created_coupons = serializers.ListField(child=serializers.DictField())
    created_referrals = serializers.ListField(child=serializers.DictField())


class TalonOneAPIErrorSerializer(serializers.Serializer):
    title = serializers.CharField()
    details = serializers.CharField(required=False)
    source = serializers.DictField(child=serializers.CharField())


class TalonOneErrorResponseSerializer(serializers.Serializer):
    """ErrorResponseWithStatus (`StatusCode` keeps its capitals)."""

    message = serializers.CharField()
    errors = TalonOneAPIErrorSerializer(many=True)
    StatusCode = serializers.IntegerField()
