"""Talon.One's `ErrorResponseWithStatus`: `{"message", "errors": [APIError], "StatusCode"}`.

Laurel's own handler decides the status and the messages; this one only reshapes them. Every
authentication or scope failure is a 401, as Talon.One answers a key that may not call an
endpoint.
"""

from rest_framework import exceptions, status

from config.api.exception_handler import laurel_exception_handler

TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
          405: "Method not allowed", 406: "Not acceptable", 409: "Conflict"}

class QueryParameterError(exceptions.ValidationError):
    """A bad query parameter (`source.parameter` in the answer, camelCase as the SDK sends
    it)."""

    def __init__(self, parameter: str, message: str):
        super().__init__({parameter: [message]})
        self.parameter = parameter


def _source(field: str | None, *, query: bool) -> dict:
    if not field:
        return {}
    if query:
        return {"parameter": field}
    return {"pointer": "/" + field.replace(".", "/")}


def talon_exception_handler(exc, context):
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed,
                        exceptions.PermissionDenied)):
        detail = (exc.detail if not isinstance(exc, exceptions.PermissionDenied) else
                  "This key may not call this endpoint: the Management API needs the "
                  "application's management key, the Integration API its integration key.")
        exc = exceptions.AuthenticationFailed(detail)
    response = laurel_exception_handler(exc, context)
    if response is None:
        return None
    if response.status_code == status.HTTP_401_UNAUTHORIZED:
        response["WWW-Authenticate"] = 'ManagementKey-v1 realm="talon.one"'
    query = isinstance(exc, QueryParameterError)
    body = response.data
    title = TITLES.get(response.status_code, "Error")
    response.data = {
        "message": body.get("message") or title,
        "errors": [{"title": title, "details": error["message"],
                    "source": _source(error["field"], query=query)}
                   for error in body.get("errors", [])],
        "StatusCode": response.status_code,
    }
    return response
