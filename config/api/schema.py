"""drf-spectacular hooks."""


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
