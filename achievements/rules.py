"""Laurel's rule evaluation: the CEL expressions on achievements and streak targets.

This module is pure: no Django, no ORM, no settings and no clock. Campaign managers write two
CEL expressions per achievement definition or streak target:

* ``progressCondition`` must evaluate to ``true`` for an event to count (default ``true``);
* ``progressIncrement`` gives the amount the event adds (default ``1``).

Both are evaluated against an *activation* built by :func:`event_activation`, which binds the
event as ``event`` and, for Capillary-style targets, as ``currentEvent``, plus a ``customer``
map (``integrationId``, ``attributes``).

Python values are mapped into CEL (``common-expression-language`` 0.10.0) as follows:

* ``None`` -> the key is **omitted** from its map, so ``has(event.product)`` is false when the
  event has no product and ``event.product == "X"`` is simply a non-match (so is
  ``event.product == null``: write ``!has(event.product)``). Inside lists, ``None`` stays
  ``null`` (omitting it would shift indices).
* ``bool`` -> ``bool``; ``int`` -> ``int`` (outside the int64 range -> ``double``, instead of
  the library's silent switch to ``uint``/``double``).
* ``float`` -> ``double``; ``Decimal`` -> ``double`` (``amount`` is therefore always a double:
  write ``event.amount / 10.0``, not ``/ 10``; comparisons such as ``event.amount > 10`` work
  across int and double).
* ``str`` (and ``str`` enums) -> ``string``; other enums -> their value.
* aware ``datetime`` -> ``timestamp``, normalised to UTC so ``getHours()`` and friends follow
  the CEL spec (UTC). The library has no time-zone overloads (``getHours("Europe/...")``).
  A naive ``datetime`` is taken as UTC; a ``date`` becomes midnight UTC of that day.
* ``timedelta`` -> ``duration``; ``bytes``/``bytearray``/``memoryview`` -> ``bytes``.
* mappings -> ``map`` (recursively; ``str``/``int``/``bool`` keys kept, other keys ``str()``);
  lists/tuples -> ``list``; sets -> a list sorted by ``repr``.
* anything else (``UUID``, ``time``, ...) -> ``str(value)``.

Validation (:func:`expression_validate`) compiles the source and evaluates it once on a sample
event that has every field with a plausible value and empty ``attributes``. Wrong result types
("progressIncrement must evaluate to a number, got string") and runtime errors that do not
depend on attributes (``event.classification > 3``, ``event.amount / 10``, ``evnt.x``,
``event.amout``) are rejected. A missing key that ``attributes`` could supply is not an
error: such keys are re-tried with an int, double, string, bool, list and map value, and the
expression passes if any of those yields the right type. It also passes when every probe fails
for attribute-shaped reasons (the shape of attributes is unknowable at save time); CEL's
error-absorbing ``&&``/``||`` make such checks a smoke test, not a type checker.

Evaluation never raises for runtime errors: a missing key, a type mismatch, a division by zero
or an overflow makes a condition not match and an increment count for nothing. A source that
does not compile raises :class:`ExpressionError` everywhere (definitions should have been
checked with :func:`expression_validate` when saved).

Compiled programs are cached per source string; the library's ``Program`` objects are
immutable and safe to share between threads.
"""

from __future__ import annotations

import enum
import functools
import itertools
import math
import re
from collections.abc import Iterator, Mapping, Set
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Any

import cel

__all__ = [
    "DEFAULT_CONDITION",
    "DEFAULT_INCREMENT",
    "EVENT_FIELDS",
    "MAX_EXPRESSION_LENGTH",
    "ExpressionError",
    "condition_matches",
    "event_activation",
    "event_fields_used",
    "expression_compile",
    "expression_validate",
    "increment_amount",
]

DEFAULT_CONDITION = "true"
DEFAULT_INCREMENT = "1"
MAX_EXPRESSION_LENGTH = 2000

EVENT_FIELDS: tuple[str, ...] = (
    "type",
    "classification",
    "product",
    "amount",
    "paymentMediumType",
    "paymentMediumBrand",
    "paymentMediumIdentifier",
    "performedByBusinessUnit",
    "performedByUnit",
    "performedByTap",
    "performedOn",
    "description",
    "externalSystem",
    "externalSystemReferenceNumber",
    "promoCode",
    *(f"udfString{i}" for i in range(1, 9)),
    *(f"udfFloat{i}" for i in range(1, 5)),
    *(f"udfDate{i}" for i in range(1, 5)),
    "attributes",
)

_KIND_LABELS = {"condition": "progressCondition", "increment": "progressIncrement"}
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
_QUANTUM = Decimal("0.000001")
# Explicit context: results never depend on the caller's thread-local decimal context.
_DECIMAL_CONTEXT = Context(prec=34, rounding=ROUND_HALF_UP)
_ZERO = Decimal(0).quantize(_QUANTUM)
_MESSAGE_LIMIT = 300

# Validation probes: the value types an attribute may plausibly have (see _probe_outcome).
_MAX_PROBED_KEYS = 8
_MAX_PRODUCT_KEYS = 3

_SAMPLE_PERFORMED_ON = datetime(2024, 1, 15, 12, 30, tzinfo=UTC)
_SAMPLE_EVENT: dict[str, Any] = {
    "type": "PURCHASE",
    "classification": "COFFEE",
    "product": "ESPRESSO",
    "amount": Decimal("25.00"),
    "paymentMediumType": "CARD",
    "paymentMediumBrand": "VISA",
    "paymentMediumIdentifier": "411111******1111",
    "performedByBusinessUnit": "BU-1",
    "performedByUnit": "STORE-1",
    "performedByTap": "TAP-1",
    "performedOn": _SAMPLE_PERFORMED_ON,
    "description": "Sample event",
    "externalSystem": "POS",
    "externalSystemReferenceNumber": "REF-1",
    "promoCode": "PROMO",
    **{f"udfString{i}": f"sample{i}" for i in range(1, 9)},
    **{f"udfFloat{i}": Decimal("1.5") for i in range(1, 5)},
    **{f"udfDate{i}": _SAMPLE_PERFORMED_ON for i in range(1, 5)},
    "attributes": {},
}
_SAMPLE_CUSTOMER_ID = "sample-customer"


class ExpressionError(ValueError):
    """A progressCondition/progressIncrement that cannot be saved; ``message`` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    if len(line) > _MESSAGE_LIMIT:
        line = line[: _MESSAGE_LIMIT - 3] + "..."
    return line


def _compiler_message(source: str, exc: Exception) -> str:
    """The compiler's first error line, without the echo of the (possibly long) source."""
    text = str(exc)
    prefix = f"Failed to parse expression '{source}': "
    if text.startswith(prefix):
        text = text[len(prefix) :]
    return _first_line(text) or type(exc).__name__


@functools.lru_cache(maxsize=4096)
def expression_compile(source: str) -> cel.Program:
    """Compile ``source`` once per distinct string; raise ExpressionError if it is unusable."""
    if not isinstance(source, str):
        raise ExpressionError(f"expression must be a string, got {type(source).__name__}")
    if not source.strip():
        raise ExpressionError("expression is empty")
    if len(source) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(
            f"expression is too long ({len(source)} characters, maximum {MAX_EXPRESSION_LENGTH})"
        )
    try:
        return cel.compile(source)
    except Exception as exc:  # the library raises ValueError; be defensive about the rest
        raise ExpressionError(f"invalid CEL expression: {_compiler_message(source, exc)}") from exc


# --------------------------------------------------------------------------- activation


def _cel_key(key: Any) -> str | int:
    if isinstance(key, str):
        return str.__str__(key)
    if isinstance(key, int):  # includes bool, which CEL also allows as a map key
        return key
    return str(key)


def _to_cel(value: Any) -> Any:
    """Convert one Python value to something the CEL library accepts (see module docs)."""
    if value is None or isinstance(value, bool | float):
        return value
    if isinstance(value, int):
        return int(value) if _INT64_MIN <= value <= _INT64_MAX else float(value)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, Decimal):
        return math.nan if value.is_nan() else float(value)
    if isinstance(value, enum.Enum):
        return _to_cel(value.value)
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, Mapping):
        return _map_to_cel(value)
    if isinstance(value, list | tuple):
        return [_to_cel(item) for item in value]
    if isinstance(value, Set):
        return sorted((_to_cel(item) for item in value), key=repr)
    return str(value)


def _map_to_cel(mapping: Mapping[Any, Any]) -> dict[str | int, Any]:
    return {_cel_key(k): _to_cel(v) for k, v in mapping.items() if v is not None}


def _with_attributes(mapping: Mapping[str, Any] | None) -> dict[str | int, Any]:
    converted = _map_to_cel(mapping or {})
    if not isinstance(converted.get("attributes"), dict):
        converted["attributes"] = {}
    return converted


class Activation(dict):
    """The variables of one event's evaluations. It builds its `cel.Context` once, on first
    use: every condition and increment of the event then runs against the converted values
    (about 1 µs an evaluation instead of 40 µs re-converting the whole event each time)."""

    _context: cel.Context | None = None

    @property
    def context(self) -> cel.Context:
        if self._context is None:
            self._context = cel.Context(dict(self))
        return self._context


def event_activation(
    *, event: Mapping[str, Any], customer: Mapping[str, Any] | None = None
) -> Activation:
    """Build the CEL activation: ``event``/``currentEvent`` and ``customer`` as CEL maps.

    ``attributes`` is always a map (empty when absent or None) on both, so
    ``has(event.attributes.x)`` never errors. Keys whose value is None are omitted.
    """
    converted_event = _with_attributes(event)
    return Activation(
        event=converted_event,
        currentEvent=converted_event,
        customer=_with_attributes(customer),
    )


# --------------------------------------------------------------------------- evaluation


_FIELD_PATH = re.compile(r"^\s*(event|currentEvent)\.([A-Za-z_][A-Za-z0-9_]*)\s*$")


@functools.lru_cache(maxsize=4096)
def _shortcut(source: str) -> tuple[str, Any] | None:
    """The defaults (`true`, `1`) and a plain `event.field` need no CEL run: the hot path
    skips the interpreter for them, with the same results."""
    text = source.strip()
    if text == "true":
        return ("constant", True)
    if text.isdigit():
        return ("constant", int(text))
    match = _FIELD_PATH.match(text)
    if match:
        return ("field", match.group(2))
    return None


def _evaluate(source: str, activation: dict[str, Any]) -> Any:
    """Run an expression; raises whatever the interpreter raises at runtime."""
    shortcut = _shortcut(source)
    if shortcut is not None:
        kind, value = shortcut
        if kind == "constant":
            return value
        return activation["event"][value]  # KeyError, like CEL's "no such key"
    variables = activation.context if isinstance(activation, Activation) else activation
    return expression_compile(source).execute(variables)


def event_fields_used(source: str) -> frozenset[str] | None:
    """The event fields an expression reads when it needs no CEL run (a constant reads none,
    a plain `event.field` that one); None when it may read anything. Lets a caller that
    evaluates many events build only the part of the activation that is read."""
    shortcut = _shortcut(source)
    if shortcut is None:
        return None
    kind, value = shortcut
    return frozenset() if kind == "constant" else frozenset({value})


def condition_matches(*, source: str, activation: dict[str, Any]) -> bool:
    """True only if ``source`` evaluates to boolean true; runtime errors mean False.

    Raises ExpressionError only if ``source`` does not compile at all.
    """
    expression_compile(source)
    try:
        result = _evaluate(source, activation)
    except Exception:
        return False
    return isinstance(result, bool) and result


def _to_decimal(value: Any) -> Decimal | None:
    """A CEL number as a non-negative Decimal at 6 dp, or None if it counts for nothing."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            return None
        amount = Decimal(str(value))
    else:
        return None
    if amount < 0:
        return None
    if amount.is_zero():
        return _ZERO  # also turns -0.0 into 0
    try:
        return amount.quantize(_QUANTUM, context=_DECIMAL_CONTEXT)
    except InvalidOperation:  # 10**28 or more: too many digits to hold at 6 dp
        return None


def increment_amount(*, source: str, activation: dict[str, Any]) -> Decimal:
    """The non-negative amount ``source`` gives, quantized to 6 dp; anything else is 0.

    Negative results count for nothing: returns are separate RETURN events for the engine.
    Doubles go through ``str(float)`` (12.5 -> 12.500000), ints are exact; rounding is
    half-up. Raises ExpressionError only if ``source`` does not compile at all.
    """
    expression_compile(source)
    try:
        result = _evaluate(source, activation)
    except Exception:
        return _ZERO
    amount = _to_decimal(result)
    return _ZERO if amount is None else amount


def increment_on_sample(*, source: str) -> Decimal:
    """What ``source`` adds for the sample event (empty attributes): for a constant
    increment, what every event adds."""
    return increment_amount(source=source, activation=_sample_activation({}))


# --------------------------------------------------------------------------- validation


def _cel_type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bytes):
        return "bytes"
    if isinstance(value, datetime):
        return "timestamp"
    if isinstance(value, timedelta):
        return "duration"
    if isinstance(value, Mapping):
        return "map"
    if isinstance(value, list):
        return "list"
    return type(value).__name__


def _kind_accepts(kind: str, value: Any) -> bool:
    if kind == "condition":
        return isinstance(value, bool)
    return isinstance(value, int | float) and not isinstance(value, bool)


def _sample_activation(attributes: Mapping[str, Any]) -> dict[str, Any]:
    return event_activation(
        event={**_SAMPLE_EVENT, "attributes": attributes},
        customer={"integrationId": _SAMPLE_CUSTOMER_ID, "attributes": attributes},
    )


def _attribute_assignments(keys: list[str]) -> Iterator[dict[str, Any]]:
    """Plausible attribute maps holding ``keys``: each key as int, double, string, bool,
    list or map (the map holds every probed key, for nested attributes). Every combination
    for up to three keys, otherwise one type for all keys at a time."""
    nested = dict.fromkeys(keys, 1)
    values = (1, 1.5, "sample", True, ["sample"], nested)
    if len(keys) <= _MAX_PRODUCT_KEYS:
        combos: Iterator[tuple[Any, ...]] = itertools.product(values, repeat=len(keys))
    else:
        combos = ((value,) * len(keys) for value in values)
    for combo in combos:
        yield dict(zip(keys, combo, strict=True))


def _runtime_message(exc: Exception) -> str:
    if isinstance(exc, KeyError) and exc.args:
        return f"no such key {exc.args[0]!r}"
    text = _first_line(str(exc))
    # The library appends long hints ("CEL does not coerce ..."); keep the first sentence.
    head, dot, _ = text.partition(". ")
    return (head + dot.strip()) or type(exc).__name__


def _probe_outcome(program: cel.Program, kind: str, label: str) -> None:
    """Evaluate ``program`` on the sample event; raise ExpressionError on obvious mistakes.

    The sample has every event field and empty ``attributes`` (event and customer). A
    missing-key error whose key can be supplied through ``attributes`` is not a mistake:
    those keys are probed with plausible values of each type, and the expression passes if
    any probe yields a result of the right kind. It is rejected when a result has the wrong
    kind under every successful probe, when a key stays missing although ``attributes``
    holds it (e.g. ``event.amout`` or ``customer.tier``), or when it fails without reading
    attributes at all. If it reads attributes and every probe fails with some other error,
    it is accepted: the shape of attributes is unknowable at save time and such errors only
    make the rule not count at runtime.
    """
    keys: list[str] = []
    while True:
        successes: list[Any] = []
        errors: list[Exception] = []
        missing: list[str] = []
        for attributes in _attribute_assignments(keys):
            try:
                result = program.execute(_sample_activation(attributes))
            except KeyError as exc:
                errors.append(exc)
                if exc.args and isinstance(exc.args[0], str):
                    missing.append(exc.args[0])
            except Exception as exc:
                errors.append(exc)
            else:
                if _kind_accepts(kind, result):
                    return
                successes.append(result)
        new_keys = sorted(set(missing) - set(keys))
        if new_keys and len(keys) < _MAX_PROBED_KEYS:
            keys.extend(new_keys[: _MAX_PROBED_KEYS - len(keys)])
            continue
        break
    if new_keys:
        return  # more attributes than we probe: too many shapes to judge
    if successes:
        expected = "a bool" if kind == "condition" else "a number"
        got = _cel_type_name(successes[0])
        raise ExpressionError(f"{label} must evaluate to {expected}, got {got}")
    reads_attributes = bool(keys)
    stuck_key = len(set(missing)) == 1 and len(missing) == len(errors) and missing[0] in keys
    if reads_attributes and not stuck_key:
        return  # every probe failed, but only through attribute shapes we cannot know
    raise ExpressionError(f"{label} fails on a sample event: {_runtime_message(errors[0])}")


def expression_validate(*, source: str, kind: str, label: str | None = None) -> None:
    """Check a progressCondition (``kind="condition"``) or progressIncrement
    (``kind="increment"``) before saving; raise ExpressionError naming the problem. `label`
    names the field in messages (default: progressCondition / progressIncrement)."""
    if kind not in _KIND_LABELS:
        raise ValueError(f"kind must be 'condition' or 'increment', got {kind!r}")
    label = label or _KIND_LABELS[kind]
    try:
        program = expression_compile(source)
    except ExpressionError as exc:
        raise ExpressionError(f"{label}: {exc.message}") from exc
    _probe_outcome(program, kind, label)
