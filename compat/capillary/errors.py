"""Capillary's envelope: `{"data", "errors": [{"code": int, "message"}], "warnings"}`.

Laurel's own handler decides the HTTP status and the messages; this one reshapes them and
adds Capillary's numeric codes where its reference documents one.
"""

import re

from rest_framework import exceptions
from rest_framework.response import Response

from config.api.exception_handler import laurel_exception_handler
from config.exceptions import ConflictError

INVALID_INPUT = 300004
TARGET_NAME_TOO_LONG = 310008
INVALID_USER = 310011
GROUP_NOT_FOUND = 310017
TARGET_NOT_FOUND = 310018
PERIOD_NOT_FOUND = 310019
DUPLICATE_NAME = 310069
METADATA_REQUIRED = 310094
ALREADY_ENROLLED = 310119
NOT_ENROLLED = 310126
LEADERBOARD_NOT_ENABLED = 310133
INVALID_KEY = 310145
INVALID_PROGRAM_ID = 310146
INVALID_CURRENCY = 310147


class CapillaryError(Exception):
    def __init__(self, code: int, message: str, *, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def envelope(data) -> dict:
    return {"data": data, "errors": None, "warnings": None}


def _code(field: str | None, code: str) -> int:
    if not field:
        return INVALID_INPUT
    if field.endswith("alternateCurrencyIdentifier"):
        return INVALID_CURRENCY
    if field.endswith(("programId", "alternateProgramId")):
        return INVALID_PROGRAM_ID
    if re.fullmatch(r"targets\.\d+\.name", field) and code == "max_length":
        return TARGET_NAME_TOO_LONG
    return INVALID_INPUT


def capillary_exception_handler(exc, context):
    if isinstance(exc, CapillaryError):
        return Response({"data": None, "errors": [{"code": exc.code, "message": exc.message}],
                         "warnings": None}, status=exc.status)
    if isinstance(exc, exceptions.PermissionDenied):
        exc = exceptions.AuthenticationFailed(
            "Capillary calls take the program's management key (Basic password or Bearer).")
    response = laurel_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ConflictError) and exc.field == "name":
        response.status_code = 400  # Capillary answers a duplicate name with 310069 in a 400
        errors = [{"code": DUPLICATE_NAME, "message": exc.message}]
    elif response.status_code in (401, 403, 404, 405, 406, 415):
        errors = [{"code": response.status_code, "message": response.data["message"]}]
    else:
        errors = [{"code": _code(e["field"], e["code"]),
                   "message": f"{e['field']}: {e['message']}" if e["field"] else e["message"]}
                  for e in response.data["errors"]]
    if response.status_code == 401:
        response["WWW-Authenticate"] = 'Basic realm="capillary"'
    response.data = {"data": None, "errors": errors, "warnings": None}
    return response
