"""drf-spectacular hooks and the schema class: tags per resource, a summary on every
operation, and the error responses (one error shape) on every operation."""

from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers


def strip_optional_trailing_slash(endpoints, **kwargs):
    """Routes accept an optional trailing slash (`/?`); document them without it."""
    return [
        (path.rstrip("/") if path != "/" else path, path_regex, method, callback)
        for path, path_regex, method, callback in endpoints
    ]


def camelize_native_fields(result, generator, request, public):
    """drf-spectacular's camelCase hook for Laurel's own API only.

    Serializers that declare `keep_field_case = True` (the vendor-compatible adapters, whose
    clients send the vendors' own field names) and the query parameters of paths outside
    SCHEMA_PATH_PREFIX keep their names as written.
    """
    from django.conf import settings
    from drf_spectacular.contrib.djangorestframework_camel_case import (
        camelize_serializer_fields,
    )

    components = generator.registry._components
    kept = {key: component for key, component in components.items()
            if getattr(component.object, "keep_field_case", False)}
    prefix = settings.SPECTACULAR_SETTINGS.get("SCHEMA_PATH_PREFIX", "")
    foreign = {path: item for path, item in result["paths"].items()
               if prefix and not path.startswith(prefix)}
    for key in kept:
        del components[key]
    for path in foreign:
        del result["paths"][path]
    try:
        return camelize_serializer_fields(result, generator, request, public)
    finally:
        components.update(kept)
        result["paths"].update(foreign)
class ApiErrorItemSerializer(serializers.Serializer):
    field = serializers.CharField(allow_null=True,
                                  help_text="The field or header at fault (camelCase, dotted "
                                  "for nested fields), or null for the request as a whole.")
    code = serializers.CharField()
    message = serializers.CharField()


class ApiErrorSerializer(serializers.Serializer):
    """Every error answer of the API (4xx and 5xx). Some carry more keys, such as
    `usedBy` on a 409 for a delete of something in use, or `lockedFields`."""

    status = serializers.IntegerField()
    code = serializers.CharField(help_text="invalid, not_found, conflict, throttled, ...")
    message = serializers.CharField(help_text="Every error in one sentence, fields named.")
    errors = ApiErrorItemSerializer(many=True)


ERROR_RESPONSES = {
    "400": "Invalid input: the errors name each field or header and the rule it breaks.",
    "401": "No API key, or an unknown or revoked one.",
    "403": "The key's scope does not allow this request.",
    "404": "No such resource (or a program the key cannot see).",
    "406": "The Accept header asks for a format the operation cannot give.",
    "409": "The request clashes with what exists (a duplicate, a locked field, a delete of "
           "something in use).",
    "413": "The body is larger than the API takes.",
    "415": "The body is not JSON.",
    "429": "Too many requests (bad keys from this address, or the key's rate); see "
           "Retry-After.",
}

ACTION_SUMMARIES = {
    "list": "List {plural}",
    "retrieve": "Read one {singular}",
    "create": "Create {article} {singular}",
    "update": "Replace {article} {singular}",
    "partial_update": "Change some fields of {article} {singular}",
    "destroy": "Delete {article} {singular}",
}
PLURALS = {"currency": "currencies", "classification": "classifications"}


class LaurelAutoSchema(AutoSchema):
    def _resource_tokens(self) -> list[str]:
        tokens = [t for t in self._tokenize_path() if not t.startswith("{")]
        if tokens[:1] == ["programs"] and len(tokens) > 1:
            return tokens[1:]
        return tokens

    def get_tags(self) -> list[str]:
        explicit = super().get_tags()
        tokens = self._resource_tokens()
        default = tokens[:1] or ["api"]
        return explicit if explicit != self._tokenize_path()[:1] else default

    def get_summary(self) -> str | None:
        action = getattr(self.view, "action", None)
        basename = getattr(self.view, "basename", None)
        template = ACTION_SUMMARIES.get(action or "")
        if template and basename:
            singular = basename.replace("-", " ")
            plural = PLURALS.get(singular, f"{singular}s")
            article = "an" if singular[0] in "aeiou" else "a"
            return template.format(singular=singular, plural=plural, article=article)
        return f"{self.method} {self.path}"

    def _map_basic_serializer(self, serializer, direction):
        """Read-only fields marked `sometimes_sent` (left out of some answers) are optional."""
        result = super()._map_basic_serializer(serializer, direction)
        optional = {name for name, field in serializer.fields.items()
                    if getattr(field, "sometimes_sent", False)}
        if optional and "required" in result:
            result["required"] = [name for name in result["required"] if name not in optional]
            if not result["required"]:
                del result["required"]
        return result

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        error = self.resolve_serializer(ApiErrorSerializer(), "response").ref
        for code, description in ERROR_RESPONSES.items():
            responses.setdefault(code, {
                "description": description,
                "content": {"application/json": {"schema": error}},
            })
        return responses
