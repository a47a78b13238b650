"""CRM.COM's customer event, camelCase on the wire."""

from datetime import UTC
from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from achievements.api.serializers import TimePointSerializer
from achievements.models import Achievement
from config.api.fields import AwareDateTimeField, NumberField
from config.api.limits import EARLIEST_EVENT, no_control_characters
from config.exceptions import api_name
from events.api.effects import EventEffectSerializer
from events.models import CustomerEvent
from events.services import EVENT_FIELDS
from loyalty.models import AwardTransaction


def _text(max_length: int) -> serializers.CharField:
    return serializers.CharField(max_length=max_length, required=False, allow_blank=True)


def _code(max_length: int, **kwargs) -> serializers.CharField:
    """An identifier or code: no control characters at all."""
    kwargs.setdefault("required", False)
    kwargs.setdefault("allow_blank", True)
    return serializers.CharField(max_length=max_length, validators=[no_control_characters],
                                 **kwargs)


class CustomerEventInputSerializer(serializers.Serializer):
    customer = _code(1000, required=True, allow_blank=False,
                     help_text="The customer's integrationId.")
    type = serializers.ChoiceField(choices=CustomerEvent.Type.choices)
    classification = _code(200, help_text="A classification code of the program.")
    product = _code(200)
    payment_medium_type = _text(50)
    payment_medium_brand = _text(100)
    payment_medium_identifier = _text(200)
    amount = NumberField(min_value=0, required=False, allow_null=True)
    performed_by_business_unit = _text(200)
    performed_by_unit = _text(200)
    performed_by_tap = _text(200)
    performed_on = AwareDateTimeField(
        help_text="When it happened; may be in the past, at most 5 minutes in the future."
    )
    description = _text(10000)
    external_system = _code(100)
    external_system_reference_number = _code(200)
    promo_code = _code(100)
    udf_string1 = _text(255)
    udf_string2 = _text(255)
    udf_string3 = _text(255)
    udf_string4 = _text(255)
    udf_string5 = _text(255)
    udf_string6 = _text(255)
    udf_string7 = _text(255)
    udf_string8 = _text(255)
    udf_float1 = serializers.FloatField(required=False, allow_null=True)
    udf_float2 = serializers.FloatField(required=False, allow_null=True)
    udf_float3 = serializers.FloatField(required=False, allow_null=True)
    udf_float4 = serializers.FloatField(required=False, allow_null=True)
    udf_date1 = AwareDateTimeField(required=False, allow_null=True)
    udf_date2 = AwareDateTimeField(required=False, allow_null=True)
    udf_date3 = AwareDateTimeField(required=False, allow_null=True)
    udf_date4 = AwareDateTimeField(required=False, allow_null=True)
    attributes = serializers.DictField(required=False)

    def validate_performed_on(self, value):
        if value < EARLIEST_EVENT:
            raise serializers.ValidationError(
                "performedOn must be on or after 1970-01-01T00:00:00Z."
            )
        return value

    def validate(self, data):
        if bool(data.get("external_system")) != bool(data.get("external_system_reference_number")):
            raise serializers.ValidationError({
                "external_system_reference_number":
                    "externalSystem and externalSystemReferenceNumber go together.",
            })
        return data


class AwardTransactionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=AwardTransaction.Kind.choices)
    state = serializers.ChoiceField(choices=AwardTransaction.State.choices)
    amount = NumberField()
    currency = serializers.CharField(source="currency.code")
    reward_offer_id = serializers.IntegerField(allow_null=True)
    created_at = AwareDateTimeField()


class CustomerEventSerializer(serializers.ModelSerializer):
    customer = serializers.CharField(source="customer.integration_id")
    classification = serializers.CharField(source="classification.code", allow_null=True,
                                           default=None)
    amount = NumberField(allow_null=True)
    total_awarded_amount = serializers.SerializerMethodField()
    total_awarded_alternative_amount = serializers.SerializerMethodField()
    award_transactions = serializers.SerializerMethodField()
    triggered_by_id = serializers.IntegerField(allow_null=True)

    class Meta:
        model = CustomerEvent
        fields = ["id", "number", "customer", "classification", *EVENT_FIELDS,
                  "life_cycle_state", "received_at", "cancelled_at", "cancellation_reason",
                  "triggered_by_id", "total_awarded_amount", "total_awarded_alternative_amount",
                  "award_transactions"]
        read_only_fields = fields

    def _awards(self, obj: CustomerEvent):
        awards_by_event = self.context.get("awards_by_event") or {}
        return awards_by_event.get(obj.pk, [])

    def _total(self, obj: CustomerEvent, *, points: bool) -> float | int:
        total = sum(
            (a.amount for a in self._awards(obj)
             if (a.currency.code == obj.program.currency_code) == points),
            start=0,
        )
        return NumberField().to_representation(total)

    def get_total_awarded_amount(self, obj) -> float:
        return self._total(obj, points=True)

    def get_total_awarded_alternative_amount(self, obj) -> float:
        return self._total(obj, points=False)

    def get_award_transactions(self, obj) -> list[dict]:
        return AwardTransactionSerializer(self._awards(obj), many=True).data


class CustomerEventResultSerializer(CustomerEventSerializer):
    """The answer to POST /events: the event and its effects."""

    effects = serializers.SerializerMethodField()

    class Meta(CustomerEventSerializer.Meta):
        fields = [*CustomerEventSerializer.Meta.fields, "effects"]
        read_only_fields = fields

    @extend_schema_field(EventEffectSerializer)
    def get_effects(self, obj) -> list[dict]:
        return self.context.get("effects", obj.effects)


class CustomerEventCancelResultSerializer(CustomerEventResultSerializer):
    """The answer to a cancel: the event, its effects (what was taken back, and what was
    kept: achievementCustomerEventKept and awardTransactionKept) and a message saying so."""

    message = serializers.CharField()

    class Meta(CustomerEventResultSerializer.Meta):
        fields = [*CustomerEventResultSerializer.Meta.fields, "message"]
        read_only_fields = fields


class EventCancelInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=1000, required=False, allow_blank=True)


class EventBulkInputSerializer(serializers.Serializer):
    events = serializers.ListField(child=serializers.DictField(), min_length=1,
                                   max_length=1000)


def _instant(value):
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


_NUMBER = NumberField()
_DATES = {f"udf_date{i}" for i in range(1, 5)}


def event_body(event: CustomerEvent, *, awards: list, effects: list | None = None) -> dict:
    """A customer event as camelCase JSON, built directly: the hot paths (POST /events, bulk)
    skip the DRF serializer and the camelCase renderer. CustomerEventSerializer and
    CustomerEventResultSerializer describe the same body in the schema; the API tests check
    both."""
    body = {"id": event.pk, "number": event.number, "customer": event.customer.integration_id,
            "classification": event.classification.code if event.classification else None}
    for name in EVENT_FIELDS:
        value = getattr(event, name)
        if name == "amount":
            value = None if value is None else _NUMBER.to_representation(value)
        elif name == "performed_on" or name in _DATES:
            value = _instant(value)
        body[api_name(name)] = value
    points = event.program.currency_code
    total = sum((a.amount for a in awards if a.currency.code == points), start=0)
    alternative = sum((a.amount for a in awards if a.currency.code != points), start=0)
    body |= {
        "lifeCycleState": event.life_cycle_state,
        "receivedAt": _instant(event.received_at),
        "cancelledAt": _instant(event.cancelled_at),
        "cancellationReason": event.cancellation_reason,
        "triggeredById": event.triggered_by_id,
        "totalAwardedAmount": _NUMBER.to_representation(total),
        "totalAwardedAlternativeAmount": _NUMBER.to_representation(alternative),
        "awardTransactions": [
            {"id": a.pk, "kind": a.kind, "state": a.state,
             "amount": _NUMBER.to_representation(a.amount), "currency": a.currency.code,
             "rewardOfferId": a.reward_offer_id, "createdAt": _instant(a.created_at)}
            for a in awards
        ],
    }
    if effects is not None:
        body["effects"] = effects
    return body


class AchievementSimulationInputSerializer(serializers.Serializer):
    """A definition to try: the fields of an achievement as for create, or `achievementId`
    plus the fields to change; and the range of stored events to run it over."""

    achievement_id = serializers.IntegerField(required=False, help_text=(
        "Simulate this achievement, with the fields given here changed."))
    campaign_id = serializers.IntegerField(required=False, help_text=(
        "For a new definition: its campaign (dates and time zone)."))
    target = NumberField(required=False, min_value=Decimal("0.000001"))
    period = serializers.CharField(required=False, allow_blank=True, max_length=32)
    period_end_override = TimePointSerializer(required=False, allow_null=True)
    recurrence_policy = serializers.ChoiceField(
        choices=Achievement.RecurrencePolicy.choices, required=False)
    activation_policy = serializers.ChoiceField(
        choices=Achievement.ActivationPolicy.choices, required=False)
    fixed_start_date = serializers.DateTimeField(required=False, allow_null=True)
    end_date = serializers.DateTimeField(required=False, allow_null=True)
    allow_rollback_after_completion = serializers.BooleanField(required=False)
    is_capped_by_target = serializers.BooleanField(required=False)
    time_zone = serializers.CharField(required=False, allow_blank=True, max_length=64)
    event_types = serializers.ListField(child=serializers.CharField(max_length=64),
                                        required=False, max_length=50)
    progress_condition = serializers.CharField(required=False, max_length=2000)
    progress_increment = serializers.CharField(required=False, max_length=2000)
    from_ = serializers.DateTimeField(help_text="Run over events performed from here ...")
    to = serializers.DateTimeField(help_text="... to here (exclusive); statuses as of `to`.")

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields

    def validate(self, data):
        if data["from"] >= data["to"]:
            raise serializers.ValidationError({"to": "`to` must be after `from`."})
        if "achievement_id" not in data:
            missing = [name for name in ("campaign_id", "target") if name not in data]
            if missing:
                raise serializers.ValidationError({
                    name: "A new definition needs it (or give achievementId)."
                    for name in missing})
        return data


class SimulatedIterationSerializer(serializers.Serializer):
    sequence = serializers.IntegerField()
    start_date = serializers.DateTimeField()
    end_date = serializers.DateTimeField(allow_null=True)
    progress = NumberField()
    status = serializers.ChoiceField(choices=["inprogress", "completed", "expired"])
    completion_date = serializers.DateTimeField(allow_null=True)


class SimulatedCustomerSerializer(serializers.Serializer):
    integration_id = serializers.CharField(source="integrationId")
    iterations = SimulatedIterationSerializer(many=True)


class AchievementSimulationSerializer(serializers.Serializer):
    customers = serializers.IntegerField(help_text="Customers with events in the range.")
    events = serializers.IntegerField(help_text="Events in the range.")
    started = serializers.IntegerField(help_text="Customers with at least one iteration.")
    in_progress = serializers.IntegerField(
        help_text="Customers whose latest iteration is in progress at `to`.")
    completed = serializers.IntegerField(help_text="Customers with at least one completion.")
    expired = serializers.IntegerField(
        help_text="Customers whose latest iteration expired by `to`.")
    completions = serializers.IntegerField(help_text="Completed iterations in all.")
    rewards = serializers.DictField(child=NumberField(), help_text=(
        "Amount per currency code the offers on the achievement's classification would pay "
        "(none for a new definition)."))
    sample = SimulatedCustomerSerializer(many=True)
    truncated_events = serializers.IntegerField(help_text=(
        "Events whose carry-over stopped at the per-event completion bound."))
