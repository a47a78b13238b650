"""Shapes of loyalty resources. Field names are snake_case here and camelCase on the wire."""

from rest_framework import serializers

from config.api.fields import (
    IsoDurationField,
    LaurelModelSerializer,
    NumberField,
    SometimesSentCharField,
)
from config.api.limits import no_control_characters
from loyalty.models import (
    AwardTransaction,
    Campaign,
    Classification,
    Currency,
    Customer,
    Notification,
    Program,
    RewardOffer,
)


class ProgramSerializer(LaurelModelSerializer):
    """`webhookSecret` is shown once, in the answer that set it, and never in reads."""

    late_event_window = IsoDurationField(
        required=False, allow_null=True,
        help_text="Events performed longer ago than this (ISO-8601 duration, e.g. P30D) are "
        "refused with a 400; null: backdated events of any age count.",
    )
    rotate_webhook_secret = serializers.BooleanField(
        write_only=True, required=False,
        help_text="true: give the webhook a new signing secret; the answer shows it once.",
    )
    webhook_secret = SometimesSentCharField(
        read_only=True,
        help_text="Signs webhook deliveries (HMAC-SHA256). Sent only in the answer that set "
        "it (the create or update that gave the program its first webhookUrl); never in reads.",
    )

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not self.context.get("reveal_webhook_secret"):
            data.pop("webhook_secret", None)
        return data

    class Meta:
        model = Program
        fields = ["id", "name", "time_zone", "currency_code", "late_event_window",
                  "webhook_url", "webhook_secret", "rotate_webhook_secret", "created_at",
                  "updated_at"]
        read_only_fields = ["id", "webhook_secret", "created_at", "updated_at"]
        extra_kwargs = {"name": {"validators": []}}  # duplicates are a 409 from the service


class CampaignSerializer(LaurelModelSerializer):
    program_id = serializers.IntegerField(read_only=True)

    class Meta:
        model = Campaign
        fields = ["id", "program_id", "name", "description", "state", "start_time", "end_time",
                  "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
        validators = []  # duplicates are a 409 from the service; invariants via full_clean


class CustomerSerializer(LaurelModelSerializer):
    class Meta:
        model = Customer
        fields = ["id", "integration_id", "name", "attributes", "created_at"]
        read_only_fields = ["id", "created_at"]
        validators = []
        extra_kwargs = {"integration_id": {"validators": [no_control_characters]}}


class CustomerUpdateSerializer(CustomerSerializer):
    class Meta(CustomerSerializer.Meta):
        read_only_fields = ["id", "integration_id", "created_at"]


class CurrencySerializer(LaurelModelSerializer):
    class Meta:
        model = Currency
        fields = ["id", "code", "name", "kind", "created_at"]
        read_only_fields = ["id", "kind", "created_at"]
        validators = []


class ClassificationSerializer(LaurelModelSerializer):
    achievement_id = serializers.SerializerMethodField()

    class Meta:
        model = Classification
        fields = ["id", "code", "name", "event_type", "description", "achievement_id",
                  "created_at"]
        read_only_fields = ["id", "achievement_id", "created_at"]
        validators = []
        extra_kwargs = {"code": {"validators": [no_control_characters]}}

    def get_achievement_id(self, obj: Classification) -> int | None:
        achievement = getattr(obj, "achievement", None)
        return achievement.pk if achievement is not None else None


class RewardOfferSerializer(LaurelModelSerializer):
    classifications = serializers.SlugRelatedField(
        slug_field="code", many=True, queryset=Classification.objects.none(),
        help_text="Codes of the achievement classifications that trigger the offer.",
    )
    currency = serializers.SlugRelatedField(slug_field="code", queryset=Currency.objects.none())
    award_value = NumberField(min_value=0)

    class Meta:
        model = RewardOffer
        fields = ["id", "name", "code", "description", "state", "valid_from", "valid_to",
                  "classifications", "all_achievements_should_exist", "number_of_awards",
                  "award_period", "award_type", "award_value", "currency", "created_at"]
        read_only_fields = ["id", "created_at"]
        validators = []
        extra_kwargs = {"code": {"validators": [no_control_characters]}}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        program = self.context.get("program")
        if program is not None:
            self.fields["classifications"].child_relation.queryset = program.classifications.all()
            self.fields["currency"].queryset = program.currencies.all()


class WalletBalanceSerializer(serializers.Serializer):
    currency = serializers.CharField(source="currency.code")
    kind = serializers.ChoiceField(source="currency.kind", choices=Currency.Kind.choices)
    balance = NumberField()


class LedgerEntrySerializer(LaurelModelSerializer):
    currency = serializers.CharField(source="currency.code")
    amount = NumberField()
    created_by = serializers.CharField(source="created_by.username", default=None,
                                       allow_null=True,
                                       help_text="The staff user of a manual correction; "
                                       "null for what Laurel did itself.")

    class Meta:
        model = AwardTransaction
        fields = ["id", "kind", "state", "amount", "currency", "reward_offer_id",
                  "customer_event_id", "reverses_id", "reason", "created_by", "created_at"]
        read_only_fields = fields


class WalletSerializer(serializers.Serializer):
    integration_id = serializers.CharField()
    balances = WalletBalanceSerializer(many=True)
    transactions = LedgerEntrySerializer(many=True)


class NotificationSerializer(LaurelModelSerializer):
    type = serializers.ChoiceField(source="kind", choices=Notification.Kind.choices)
    customer = serializers.CharField(source="customer.integration_id", default=None,
                                     allow_null=True)

    class Meta:
        model = Notification
        fields = ["id", "type", "customer", "occurred_at", "payload", "delivery", "attempts",
                  "delivered_at", "last_error"]
        read_only_fields = fields
