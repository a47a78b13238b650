"""The customer event types Laurel knows: one list for the events themselves
(`CustomerEvent.type`), the achievements that count them (`eventTypes`), the admin's choice
and the API's validation. It lives in `loyalty`, the bottom of the import order, so that
`achievements` can read it without importing `events`."""

from django.db import models


class EventType(models.TextChoices):
    PURCHASE = "PURCHASE", "Purchase"
    RETURN = "RETURN", "Return"
    CUSTOM = "CUSTOM", "Custom"
    VISIT = "VISIT", "Visit"
    REFERRAL = "REFERRAL", "Referral"
    SIGN_UP = "SIGN_UP", "Sign-up"
    ACHIEVEMENT = "ACHIEVEMENT", "Achievement"


KNOWN_EVENT_TYPES = tuple(EventType.values)


def event_type_problem(value: object) -> str | None:
    """Why `value` is not a known event type, or None when it is one."""
    if isinstance(value, str) and value in KNOWN_EVENT_TYPES:
        return None
    return (f"'{value}' is not an event type Laurel knows; use the upper-case types "
            f"{', '.join(KNOWN_EVENT_TYPES)}.")
