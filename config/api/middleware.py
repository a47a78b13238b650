"""Guards and error pages for everything under /api/.

Before a view runs: the path, the query string and the headers Laurel reads are checked
(no control characters, Idempotency-Key at most 200 characters, the body at most
LAUREL_MAX_BODY_BYTES). Whatever goes wrong under /api/, the client gets the one JSON error
shape (see config.api.exception_handler), 404, 413 and 500 included.
"""

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404, JsonResponse

from config.api.exception_handler import error_body
from config.api.limits import ANY_CONTROL_RE

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
MAX_IDEMPOTENCY_KEY = 200
# Headers Laurel reads, and the most characters each may have.
HEADER_LIMITS = {"Idempotency-Key": MAX_IDEMPOTENCY_KEY, "Authorization": 1000}


def is_api(request) -> bool:
    return request.path_info.startswith(API_PREFIX)


def json_error(status: int, code: str, message: str, *, field: str | None = None,
               headers: dict | None = None) -> JsonResponse:
    body = error_body(status_code=status, code=code,
                      errors=[{"field": field, "code": code, "message": message}])
    response = JsonResponse(body, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def max_body_bytes() -> int:
    return getattr(settings, "LAUREL_MAX_BODY_BYTES", 10 * 1024 * 1024)


def refuse(request) -> JsonResponse | None:
    """The first rule the request breaks, answered; None when it breaks none."""
    if ANY_CONTROL_RE.search(request.path_info):
        return json_error(400, "invalid", "The path contains a control character.",
                          field="path")
    for name, limit in HEADER_LIMITS.items():
        value = request.headers.get(name)
        if value is None:
            continue
        if len(value) > limit:
            return json_error(400, "invalid", f"{name} is at most {limit} characters long "
                              f"(this one has {len(value)}).", field=name)
        if ANY_CONTROL_RE.search(value):
            return json_error(400, "invalid", f"{name} contains a control character.",
                              field=name)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return json_error(400, "invalid", "Content-Length is not a number.",
                          field="Content-Length")
    if length > max_body_bytes():
        return json_error(413, "too_large", f"The body is {length} bytes; the API takes at "
                          f"most {max_body_bytes()} bytes.", field="Content-Length")
    for key, values in request.GET.lists():
        if ANY_CONTROL_RE.search(key) or any(ANY_CONTROL_RE.search(v) for v in values):
            return json_error(400, "invalid", "The query parameter contains a control "
                              "character.", field=key)
    return None


class ApiGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if is_api(request):
            refused = refuse(request)
            if refused is not None:
                return refused
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_api(request):
            return None
        return exception_response(request, exception)


def exception_response(request, exception) -> JsonResponse:
    if isinstance(exception, Http404):
        return not_found_response(request)
    if isinstance(exception, PermissionDenied):
        return json_error(403, "permission_denied", "You may not do this.")
    if isinstance(exception, RequestDataTooBig):
        return json_error(413, "too_large",
                          f"The body is larger than the API takes ({max_body_bytes()} bytes).")
    if isinstance(exception, SuspiciousOperation):
        return json_error(400, "invalid", str(exception) or "Bad request.")
    logger.error("Unhandled error on %s %s", request.method, request.path,
                 exc_info=(type(exception), exception, exception.__traceback__))
    return json_error(500, "error", "Laurel failed to answer this request; the error is "
                      "logged. Nothing was written.")


def not_found_response(request) -> JsonResponse:
    return json_error(404, "not_found", f"There is no API resource at {request.path}; "
                      "GET /api/v1/ lists them.")
