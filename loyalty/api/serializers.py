"""Shapes of loyalty resources. Field names are snake_case here and camelCase on the wire."""

from rest_framework import serializers

from loyalty.models import Campaign, Currency, Customer, Program


class ProgramSerializer(serializers.ModelSerializer):
    class Meta:
        model = Program
        fields = ["id", "name", "time_zone", "currency_code", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs = {"name": {"validators": []}}  # duplicates are a 409 from the service


class CampaignSerializer(serializers.ModelSerializer):
    program_id = serializers.IntegerField(read_only=True)

    class Meta:
        model = Campaign
        fields = ["id", "program_id", "name", "description", "state", "start_time", "end_time",
                  "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
        validators = []  # duplicates are a 409 from the service; invariants via full_clean


class CustomerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = ["id", "integration_id", "name", "attributes", "created_at"]
        read_only_fields = ["id", "created_at"]
        validators = []


class CustomerUpdateSerializer(CustomerSerializer):
    class Meta(CustomerSerializer.Meta):
        read_only_fields = ["id", "integration_id", "created_at"]


class CurrencySerializer(serializers.ModelSerializer):
    class Meta:
        model = Currency
        fields = ["id", "code", "name", "kind", "created_at"]
        read_only_fields = ["id", "kind", "created_at"]
        validators = []
