"""One error shape for the whole API.

    {"status": 400, "code": "invalid", "message": "period: ...",
     "errors": [{"field": "period", "code": "invalid", "message": "..."}]}

`field` uses the client's camelCase names, dotted for nested fields (`periodEndOverride.hour`,
`items.3.amount`); non-field errors have `field: null`.
"""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404
from djangorestframework_camel_case.util import camelize_re, underscore_to_camel
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler

from config.exceptions import ApplicationError

NON_FIELD_KEYS = {api_settings.NON_FIELD_ERRORS_KEY, "__all__"}


def _camel_path(path: list[str]) -> str | None:
    parts = [camelize_re.sub(underscore_to_camel, p) for p in path if p not in NON_FIELD_KEYS]
    return ".".join(parts) or None


def _flatten(detail: Any, path: list[str]) -> list[dict[str, Any]]:
    if isinstance(detail, dict):
        return [e for key, value in detail.items() for e in _flatten(value, [*path, str(key)])]
    if isinstance(detail, list):
        if all(isinstance(item, (str, exceptions.ErrorDetail)) for item in detail):
            return [e for item in detail for e in _flatten(item, path)]
        return [e for i, item in enumerate(detail) if item for e in _flatten(item, [*path, str(i)])]
    code = getattr(detail, "code", None) or "invalid"
    return [{"field": _camel_path(path), "code": code, "message": str(detail)}]


def error_items(detail: Any) -> list[dict[str, Any]]:
    """A serializer's errors as the API's error items: field (camelCase, dotted), code,
    message."""
    return _flatten(detail, [])


def error_body(*, status_code: int, code: str, errors: list[dict[str, Any]], message: str = ""):
    if not message:
        message = "; ".join(
            f"{e['field']}: {e['message']}" if e["field"] else e["message"] for e in errors
        )
    return {"status": status_code, "code": code, "message": message, "errors": errors}


def _in_use(exc: ProtectedError | RestrictedError) -> Response:
    """A delete that rows still point at: 409 naming what uses the row."""
    used: dict[str, list[str]] = {}
    for obj in list(exc.protected_objects if isinstance(exc, ProtectedError)
                    else exc.restricted_objects)[:50]:
        used.setdefault(str(obj._meta.verbose_name_plural), []).append(str(obj))
    listing = "; ".join(f"{kind}: {', '.join(names[:10])}" for kind, names in used.items())
    message = f"It is still in use ({listing}); remove those first."
    errors = [{"field": None, "code": "conflict", "message": message}]
    body = error_body(status_code=409, code="conflict", errors=errors)
    body["usedBy"] = used
    return Response(body, status=409)


NUMERIC_OUT_OF_RANGE = "22003"


def _too_large(exc: DataError) -> Response | None:
    """A number the database cannot hold (numeric field overflow): the request, or what it
    adds to a total, is too large. The transaction rolled back, so nothing was written."""
    if getattr(exc.__cause__, "sqlstate", None) != NUMERIC_OUT_OF_RANGE:
        return None
    message = ("A number in this request, or a total it adds to (progress, a balance), is "
               "larger than Laurel stores: at most 14 digits before the decimal point and 6 "
               "after. Nothing was written.")
    errors = [{"field": None, "code": "out_of_range", "message": message}]
    return Response(error_body(status_code=400, code="out_of_range", errors=errors),
                    status=400)


def laurel_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ProtectedError | RestrictedError):
        return _in_use(exc)
    if isinstance(exc, DataError):
        return _too_large(exc)
    if isinstance(exc, ApplicationError):
        if getattr(exc, "field_as_sent", False):
            field = exc.field
        else:
            field = _camel_path([exc.field]) if exc.field else None
        errors = [{"field": field, "code": exc.code, "message": exc.message}]
        body = error_body(status_code=exc.status_code, code=exc.code, errors=errors)
        body.update(exc.extra)
        return Response(body, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        exc = exceptions.ValidationError(detail=detail)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        code = "invalid"
        errors = _flatten(exc.detail, [])
    else:
        code = exc.default_code if isinstance(exc, exceptions.APIException) else "error"
        errors = [{"field": None, "code": code, "message": str(getattr(exc, "detail", exc))}]
    response.data = error_body(status_code=response.status_code, code=code, errors=errors)
    if response.status_code == status.HTTP_401_UNAUTHORIZED:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response
