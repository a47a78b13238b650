"""Errors raised by services; the API and the admin turn them into messages."""

from typing import Any


def api_name(field: str) -> str:
    """A field as API clients know it: `fixed_start_date` → `fixedStartDate`."""
    head, *rest = field.split("_")
    return head + "".join(part.title() for part in rest)


class ApplicationError(Exception):
    """A request that breaks a business rule. `field` names what the client must fix."""

    status_code = 400
    code = "invalid"

    def __init__(
        self, message: str, *, field: str | None = None, extra: dict[str, Any] | None = None
    ):
        super().__init__(message)
        self.message = message
        self.field = field
        self.extra = extra or {}


class ConflictError(ApplicationError):
    """The request clashes with what exists (a duplicate name, a key reused with other data)."""

    status_code = 409
    code = "conflict"


class NotFoundError(ApplicationError):
    status_code = 404
    code = "not_found"


class ItemFailedError(ApplicationError):
    """One item of a batch failed unexpectedly; the others went through."""

    status_code = 500
    code = "error"
