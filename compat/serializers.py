"""Shared serializer plumbing for the vendor adapters."""

from rest_framework import serializers


class VendorSerializer(serializers.Serializer):
    """A serializer in a vendor's own field names: the schema keeps them as written (see
    config.api.schema.camelize_native_fields)."""

    keep_field_case = True
