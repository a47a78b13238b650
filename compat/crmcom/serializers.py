"""CRM.COM's request parameters (snake_case, identifier objects) and its answer shapes."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from compat.serializers import VendorSerializer
from config.api.fields import NumberField
from events.models import CustomerEvent


@extend_schema_field(OpenApiTypes.STR)
class CrmDateTimeField(serializers.Field):
    """An ISO-8601 date-time or date. Without an offset it is the program's local time (the
    view passes the zone in the context); a plain date is its midnight."""

    default_error_messages = {"invalid": "Use an ISO-8601 date-time (2024-05-01T10:00:00) "
                                         "or date (2024-05-01)."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        tz = self.context.get("tz") or ZoneInfo("UTC")
        try:
            value = parse_datetime(data)
            if value is None:
                day = parse_date(data)
                value = datetime(day.year, day.month, day.day, tzinfo=tz) if day else None
        except ValueError:
            value = None
        if value is None:
            self.fail("invalid")
        return value if value.tzinfo is not None else value.replace(tzinfo=tz)

    def to_representation(self, value):
        return value


def _identifier(**kwargs) -> serializers.DictField:
    kwargs.setdefault("allow_null", not kwargs.get("required", True))
    return serializers.DictField(child=serializers.JSONField(), **kwargs)


def _text(max_length: int) -> serializers.CharField:
    return serializers.CharField(max_length=max_length, required=False, allow_blank=True,
                                 allow_null=True)


class CrmAchievementCreateInputSerializer(VendorSerializer):
    token = serializers.CharField(required=False, allow_blank=True,
                                  help_text="Accepted and ignored: Laurel authenticates the "
                                            "Authorization header.")
    accounts_receivable_identifier = _identifier(
        required=False, help_text="Exactly one of id, number (the integration id) or name.")
    rewards_participant_identifier = _identifier(
        required=False, help_text="Deprecated alias of accounts_receivable_identifier.")
    classification_identifier = _identifier(
        help_text="Exactly one of id, name or alternative_code; of type ACHIEVEMENT.")
    product_identifier = _identifier(required=False)
    payment_medium_type_identifier = _identifier(required=False)
    payment_medium_brand_identifier = _identifier(required=False)
    payment_medium_identifier = _text(200)
    amount = NumberField(min_value=0, required=False, allow_null=True)
    performed_by_business_unit_identifier = _identifier(required=False)
    performed_by_unit_identifier = _identifier(required=False)
    performed_by_tap_identifier = _identifier(required=False)
    performed_on = CrmDateTimeField()
    description = _text(10000)
    external_system = _text(100)
    external_system_reference_number = _text(200)
    authorized_by_access_token_identifier = _identifier(required=False,
                                                        help_text="Accepted and ignored.")
    promo_code = _text(100)
    udf_string_1 = _text(255)
    udf_string_2 = _text(255)
    udf_string_3 = _text(255)
    udf_string_4 = _text(255)
    udf_string_5 = _text(255)
    udf_string_6 = _text(255)
    udf_string_7 = _text(255)
    udf_string_8 = _text(255)
    udf_float_1 = serializers.FloatField(required=False, allow_null=True)
    udf_float_2 = serializers.FloatField(required=False, allow_null=True)
    udf_float_3 = serializers.FloatField(required=False, allow_null=True)
    udf_float_4 = serializers.FloatField(required=False, allow_null=True)
    udf_date_1 = CrmDateTimeField(required=False, allow_null=True)
    udf_date_2 = CrmDateTimeField(required=False, allow_null=True)
    udf_date_3 = CrmDateTimeField(required=False, allow_null=True)
    udf_date_4 = CrmDateTimeField(required=False, allow_null=True)
    fields_set = serializers.CharField(required=False, allow_blank=True,
                                       help_text="Comma-separated top-level fields to return.")


class CrmAchievementBulkInputSerializer(VendorSerializer):
    token = serializers.CharField(required=False, allow_blank=True)
    achievement_customer_events_set = serializers.ListField(
        child=serializers.DictField(), min_length=1,
        help_text="Up to 1000 create requests, each with its request_unique_identifier.")
    fields_set = serializers.CharField(required=False, allow_blank=True)


class CrmAchievementCancelInputSerializer(VendorSerializer):
    token = serializers.CharField(required=False, allow_blank=True)
    customer_event_identifier = _identifier(help_text="Exactly one of id or number.")
    fields_set = serializers.CharField(required=False, allow_blank=True)


class CrmAchievementShowInputSerializer(VendorSerializer):
    token = serializers.CharField(required=False, allow_blank=True)
    customer_event_identifier = serializers.CharField(help_text="number=306 or id=12.")
    fields_set = serializers.CharField(required=False, allow_blank=True)


class CrmAchievementListInputSerializer(VendorSerializer):
    """POST body or GET query (identifiers then as key=value strings)."""

    token = serializers.CharField(required=False, allow_blank=True)
    accounts_receivable_identifier = serializers.JSONField(required=False)
    rewards_participant_identifier = serializers.JSONField(required=False)
    classification_identifier = serializers.JSONField(required=False)
    submitted_after_date = CrmDateTimeField(required=False)
    submitted_before_date = CrmDateTimeField(required=False)
    number_of_results = serializers.IntegerField(min_value=1, max_value=1000, default=50)
    offset = serializers.IntegerField(min_value=0, default=0)
    fields_set = serializers.CharField(required=False, allow_blank=True)


# Answer shapes (documentation; the views build the bodies directly) -------------------------
class CrmStatusSerializer(VendorSerializer):
    code = serializers.CharField(help_text="OK, or an error code such as INVALID_TOKEN, "
                                           "MISSING_PARAMETER, INVALID_IDENTIFIER, NOT_FOUND.")
    message = serializers.CharField(allow_blank=True)
    description = serializers.CharField(allow_blank=True)


class CrmNamedRefSerializer(VendorSerializer):
    id = serializers.CharField(allow_null=True)
    name = serializers.CharField(allow_null=True)


class CrmClassificationSerializer(VendorSerializer):
    id = serializers.CharField()
    name = serializers.CharField()
    alternative_code = serializers.CharField()


class CrmAccountsReceivableSerializer(VendorSerializer):
    id = serializers.CharField()
    number = serializers.CharField()
    name = serializers.CharField(required=False)
    life_cycle_state = serializers.CharField(required=False)


class CrmRewardOfferRefSerializer(VendorSerializer):
    id = serializers.CharField()
    number = serializers.CharField()
    name = serializers.CharField()
    alternative_code = serializers.CharField()
    life_cycle_state = serializers.CharField(help_text="EFFECTIVE or NOT_EFFECTIVE.")


class CrmAwardTransactionSerializer(VendorSerializer):
    id = serializers.CharField()
    number = serializers.CharField()
    life_cycle_state = serializers.ChoiceField(choices=CustomerEvent.LifeCycleState.choices)
    amount = serializers.FloatField()
    alternative_amount = serializers.FloatField()
    currency = serializers.CharField()
    expiration_date = serializers.CharField(allow_null=True)
    reward_offer = CrmRewardOfferRefSerializer(allow_null=True)
    accounts_receivable = CrmAccountsReceivableSerializer()


class CrmLogInformationSerializer(VendorSerializer):
    created_date = serializers.CharField()
    updated_date = serializers.CharField()


class CrmAchievementEventSerializer(VendorSerializer):
    id = serializers.CharField()
    number = serializers.CharField()
    type = serializers.CharField()
    life_cycle_state = serializers.ChoiceField(choices=CustomerEvent.LifeCycleState.choices)
    performed_on = serializers.CharField(help_text="Local time of the program, no offset.")
    description = serializers.CharField(allow_null=True)
    payment_medium_identifier = serializers.CharField(allow_null=True)
    amount = serializers.FloatField(allow_null=True)
    external_system = serializers.CharField(allow_null=True)
    external_system_reference_number = serializers.CharField(allow_null=True)
    promo_code = serializers.CharField(allow_null=True)
    total_awarded_amount = serializers.FloatField()
    total_awarded_alternative_amount = serializers.FloatField()
    udf_string_1 = serializers.CharField(allow_null=True)
    udf_float_1 = serializers.FloatField(allow_null=True)
    udf_date_1 = serializers.CharField(allow_null=True)
    classification = CrmClassificationSerializer()
    accounts_receivable = CrmAccountsReceivableSerializer()
    rewards_participant = serializers.DictField()
    product = CrmNamedRefSerializer(allow_null=True)
    payment_medium_type = CrmNamedRefSerializer(allow_null=True)
    payment_medium_brand = CrmNamedRefSerializer(allow_null=True)
    performed_by_business_unit = CrmNamedRefSerializer(allow_null=True)
    performed_by_unit = CrmNamedRefSerializer(allow_null=True)
    performed_by_tap = CrmNamedRefSerializer(allow_null=True)
    award_reward_transactions_set = CrmAwardTransactionSerializer(many=True)
    log_information = CrmLogInformationSerializer()


class CrmAchievementEnvelopeSerializer(VendorSerializer):
    status = CrmStatusSerializer()
    data = CrmAchievementEventSerializer(allow_null=True)


class CrmAchievementListEnvelopeSerializer(VendorSerializer):
    status = CrmStatusSerializer()
    data = CrmAchievementEventSerializer(many=True, allow_null=True)


class CrmBulkProcessedSerializer(VendorSerializer):
    request_unique_identifier = serializers.CharField()
    id = serializers.CharField()
    number = serializers.CharField()


class CrmBulkUnprocessedSerializer(VendorSerializer):
    request_unique_identifier = serializers.CharField(allow_null=True)
    error_code = serializers.CharField()
    error_description = serializers.CharField()


class CrmBulkResultSerializer(VendorSerializer):
    processed_customer_events_set = CrmBulkProcessedSerializer(many=True)
    unprocessed_customer_events_set = CrmBulkUnprocessedSerializer(many=True)


class CrmAchievementBulkEnvelopeSerializer(VendorSerializer):
    status = CrmStatusSerializer()
    data = CrmBulkResultSerializer(allow_null=True)


class CrmPreviewSerializer(VendorSerializer):
    total_award_amount = serializers.FloatField()
    total_award_alternative_amount = serializers.FloatField()
    rewards_participant_id = serializers.CharField(allow_null=True)
    rewards_participant_name = serializers.CharField()
    wallet_balance = serializers.FloatField()
    wallet_alternative_balance = serializers.FloatField()
    voucher_types_set = serializers.ListField(child=serializers.DictField())


class CrmAchievementPreviewEnvelopeSerializer(VendorSerializer):
    status = CrmStatusSerializer()
    data = CrmPreviewSerializer(allow_null=True)
