"""CRM.COM identifier objects: `{"number": "ACR1"}` in a POST body, `number=ACR1` in a GET query.

Each holds exactly one of its documented keys. Laurel resolves them to its own rows:

- accounts_receivable / rewards_participant: `id` is the customer's Laurel id, `number` its
  integration id, `name` its name;
- classification: `id` is the Laurel id, `name` the name, `alternative_code` the code;
- customer_event: `id` is the Laurel id, `number` the event's number;
- product, payment medium type and brand, performed-by unit, business unit and TAP: kept as
  text (the value of the key sent); Laurel has no such entities.
"""

from typing import Any

from compat.crmcom.errors import CrmError
from events.models import CustomerEvent
from events.selectors import event_list
from loyalty.models import Classification, Customer, Program
from loyalty.selectors import classification_list, customer_list

ACCOUNT_KEYS = ("id", "number", "name", "access_token_identifier",
                "customer_identification_medium_identifier")
PARTICIPANT_KEYS = ("id", "number", "access_token_identifier")
CLASSIFICATION_KEYS = ("id", "name", "alternative_code")
EVENT_KEYS = ("id", "number")
TEXT_KEYS = {
    "product_identifier": ("id", "code", "alternative_code"),
    "payment_medium_type_identifier": ("id", "name", "alternative_code"),
    "payment_medium_brand_identifier": ("id", "name", "alternative_code"),
    "performed_by_business_unit_identifier": ("id", "name", "code"),
    "performed_by_unit_identifier": ("id", "name", "alternative_code"),
    "performed_by_tap_identifier": ("id", "name", "code"),
}
UNSUPPORTED = {"access_token_identifier", "customer_identification_medium_identifier"}


def identifier_parse(value: Any, *, parameter: str) -> dict[str, Any]:
    """A GET `key=value` string or a POST object, as a dict."""
    if isinstance(value, str):
        key, equals, rest = value.partition("=")
        if not equals or not key:
            raise CrmError("INVALID_IDENTIFIER", f"{parameter} must look like key=value.",
                           parameter)
        return {key: rest}
    if not isinstance(value, dict):
        raise CrmError("INVALID_IDENTIFIER", f"{parameter} must be an object.", parameter)
    return value


def identifier_key(value: Any, *, parameter: str, keys: tuple[str, ...]) -> tuple[str, str]:
    """The one (key, value) pair of an identifier object, checked against `keys`."""
    identifier = identifier_parse(value, parameter=parameter)
    given = [k for k, v in identifier.items() if v not in (None, "")]
    if len(given) != 1:
        raise CrmError(
            "INVALID_IDENTIFIER",
            f"{parameter} needs exactly one of: {', '.join(keys)} (got {len(given)}).",
            parameter)
    key = given[0]
    if key not in keys:
        raise CrmError("INVALID_IDENTIFIER",
                       f"{parameter}.{key} is not one of: {', '.join(keys)}.", parameter)
    if key in UNSUPPORTED:
        raise CrmError("INVALID_IDENTIFIER",
                       f"{parameter}.{key} is not supported by Laurel; use id, number or name.",
                       parameter)
    found = identifier[key]
    if isinstance(found, (dict, list, bool)):
        raise CrmError("INVALID_IDENTIFIER", f"{parameter}.{key} must be a string.", parameter)
    return key, str(found)


def _not_found(parameter: str, key: str, value: str) -> CrmError:
    return CrmError("NOT_FOUND", f"No {parameter.removesuffix('_identifier')} has "
                    f"{key} {value!r}.", parameter)


def customer_resolve(*, program: Program, value: Any, parameter: str,
                     create: bool = False) -> tuple[Customer | None, str]:
    """(customer, integration id). With `create`, an unknown `number` names a customer that
    Laurel creates with the event (as it does for every event); `id` and `name` must exist."""
    keys = ACCOUNT_KEYS if parameter == "accounts_receivable_identifier" else PARTICIPANT_KEYS
    key, found = identifier_key(value, parameter=parameter, keys=keys)
    customers = customer_list(program=program)
    if key == "number":
        customer = customers.filter(integration_id=found).first()
        if customer is None and not create:
            raise _not_found(parameter, key, found)
        return customer, found
    if key == "id":
        customer = customers.filter(pk=int(found)).first() if found.isdigit() else None
    else:
        matches = list(customers.filter(name=found)[:2])
        if len(matches) > 1:
            raise CrmError("INVALID_IDENTIFIER",
                           f"More than one customer is named {found!r}; use number.", parameter)
        customer = matches[0] if matches else None
    if customer is None:
        raise _not_found(parameter, key, found)
    return customer, customer.integration_id


def classification_resolve(*, program: Program, value: Any,
                           parameter: str = "classification_identifier") -> Classification:
    key, found = identifier_key(value, parameter=parameter, keys=CLASSIFICATION_KEYS)
    classifications = classification_list(program=program)
    if key == "id":
        classification = (classifications.filter(pk=int(found)).first()
                          if found.isdigit() else None)
    elif key == "name":
        classification = classifications.filter(name=found).order_by("pk").first()
    else:
        classification = classifications.filter(code=found).first()
    if classification is None:
        raise _not_found(parameter, key, found)
    return classification


def event_resolve(*, program: Program, value: Any,
                  parameter: str = "customer_event_identifier") -> CustomerEvent:
    """An ACHIEVEMENT customer event of the program (any other event is NOT_FOUND)."""
    key, found = identifier_key(value, parameter=parameter, keys=EVENT_KEYS)
    if not found.isdigit():
        raise _not_found(parameter, key, found)
    events = event_list(program=program).filter(type=CustomerEvent.Type.ACHIEVEMENT)
    event = events.filter(**{"pk" if key == "id" else "number": int(found)}).first()
    if event is None:
        raise _not_found(parameter, key, found)
    return event


def text_resolve(*, data: dict[str, Any], parameter: str) -> str:
    """A reference Laurel keeps as text: the value of whichever key was sent."""
    if data.get(parameter) in (None, {}):
        return ""
    return identifier_key(data[parameter], parameter=parameter, keys=TEXT_KEYS[parameter])[1]
