"""CRM.COM's error envelope: `{"status": {"code", "message", "description"}, "data": null}`.

CRM.COM answers HTTP 200 and lets `status.code` say what went wrong; its clients test
`status.code == "OK"`. Laurel does the same and writes nothing for a refused request.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response

from config.exceptions import ApplicationError, ConflictError, NotFoundError


class CrmError(Exception):
    def __init__(self, code: str, message: str, description: str = ""):
        super().__init__(message)
        self.code = code
        self.message = message
        self.description = description


def envelope(data, *, code: str = "OK", message: str = "", description: str = "") -> dict:
    return {"status": {"code": code, "message": message, "description": description},
            "data": data}


def _validation_error(detail) -> CrmError:
    """The first problem of a serializer's errors, named by its CRM.COM parameter."""
    path: list[str] = []
    while isinstance(detail, (dict, list)) and detail:
        if isinstance(detail, dict):
            key, detail = next(iter(detail.items()))
            if key != "non_field_errors":
                path.append(str(key))
        else:
            detail = next((item for item in detail if item), detail[0])
    name = ".".join(path)
    text = str(detail)
    if getattr(detail, "code", None) == "required":
        return CrmError("MISSING_PARAMETER", f"{name} is mandatory.", name)
    return CrmError("INVALID_VALUE", f"{name}: {text}" if name else text, name)


def crm_error(exc: Exception) -> CrmError | None:
    if isinstance(exc, CrmError):
        return exc
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        return CrmError("INVALID_TOKEN", str(exc.detail), "Authorization")
    if isinstance(exc, exceptions.PermissionDenied):
        return CrmError("INVALID_TOKEN", "This key may not call CRM.COM methods; "
                        "use the program's integration key.", "Authorization")
    if isinstance(exc, exceptions.ValidationError):
        return _validation_error(exc.detail)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        return _validation_error(detail)
    if isinstance(exc, ConflictError):
        return CrmError("DUPLICATE_EXTERNAL_REFERENCE", exc.message,
                        "external_system_reference_number")
    if isinstance(exc, NotFoundError):
        return CrmError("NOT_FOUND", exc.message, exc.field or "")
    if isinstance(exc, ApplicationError):
        return CrmError("INVALID_VALUE", exc.message, exc.field or "")
    if isinstance(exc, Http404):
        return CrmError("NOT_FOUND", "Not found.")
    if isinstance(exc, exceptions.ParseError):
        return CrmError("INVALID_VALUE", str(exc.detail), "body")
    if isinstance(exc, exceptions.MethodNotAllowed):
        return CrmError("METHOD_NOT_ALLOWED", str(exc.detail))
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return CrmError("INVALID_VALUE", str(exc.detail), "Content-Type")
    return None


def crm_exception_handler(exc: Exception, context) -> Response | None:
    error = crm_error(exc)
    if error is None:
        return None
    return Response(envelope(None, code=error.code, message=error.message,
                             description=error.description))
