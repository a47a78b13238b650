"""Tests for achievements.rules: pure CEL rule evaluation (no DB, no Django)."""

from __future__ import annotations

import enum
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from achievements.rules import (
    DEFAULT_CONDITION,
    DEFAULT_INCREMENT,
    MAX_EXPRESSION_LENGTH,
    ExpressionError,
    condition_matches,
    event_activation,
    expression_compile,
    expression_validate,
    increment_amount,
)

PERFORMED_ON = datetime(2024, 3, 10, 9, 15, tzinfo=UTC)


def make_event(**overrides):
    event = {
        "type": "PURCHASE",
        "classification": "COFFEE",
        "product": "LATTE",
        "amount": Decimal("25.00"),
        "paymentMediumType": "CARD",
        "performedOn": PERFORMED_ON,
        "attributes": {},
    }
    event.update(overrides)
    return event


def activation_for(customer=None, **overrides):
    return event_activation(event=make_event(**overrides), customer=customer)


class Channel(enum.Enum):
    APP = "app"


class Tier(str, enum.Enum):  # noqa: UP042 - str() of this mixin is "Tier.GOLD", not "gold"
    GOLD = "gold"


# --------------------------------------------------------------------------- compile


def test_expression_compile_returns_same_program_when_source_repeats():
    source = "event.amount >= 20.0 && event.classification == 'COFFEE' && true"
    hits_before = expression_compile.cache_info().hits

    first = expression_compile(source)
    second = expression_compile(source)

    assert first is second
    assert expression_compile.cache_info().hits == hits_before + 1
    assert first.source == source


def test_expression_compile_returns_distinct_programs_when_sources_differ():
    assert expression_compile("event.amount > 1.0") is not expression_compile("event.amount > 2.0")


@pytest.mark.parametrize(
    "source",
    ["x >", "event.amount >= 20.0 &&", "a b", "'unterminated", "[1, 2", "event.(amount)"],
)
def test_expression_compile_raises_quoting_compiler_when_syntax_invalid(source):
    with pytest.raises(ExpressionError) as excinfo:
        expression_compile(source)

    message = excinfo.value.message
    assert message.startswith("invalid CEL expression: ERROR: <input>:1:")
    assert "Syntax error" in message
    assert "\n" not in message
    assert "Failed to parse expression" not in message
    assert str(excinfo.value) == message
    assert isinstance(excinfo.value, ValueError)


def test_expression_compile_quotes_position_when_error_on_later_line():
    with pytest.raises(ExpressionError, match=r"<input>:3:1: Syntax error"):
        expression_compile("event.amount\n>\n")


@pytest.mark.parametrize("source", ["", " ", "\n\t  \n"])
def test_expression_compile_raises_when_source_empty(source):
    with pytest.raises(ExpressionError) as excinfo:
        expression_compile(source)

    assert excinfo.value.message == "expression is empty"


def test_expression_compile_raises_when_source_too_long():
    source = "true" + " " * (MAX_EXPRESSION_LENGTH - 3)

    with pytest.raises(ExpressionError) as excinfo:
        expression_compile(source)

    assert excinfo.value.message == "expression is too long (2001 characters, maximum 2000)"


def test_expression_compile_accepts_when_source_exactly_max_length():
    source = "true" + " " * (MAX_EXPRESSION_LENGTH - 4)

    assert len(source) == MAX_EXPRESSION_LENGTH
    assert expression_compile(source).execute({}) is True


def test_expression_compile_raises_when_source_not_string():
    with pytest.raises(ExpressionError, match="must be a string, got NoneType"):
        expression_compile(None)


def test_expression_compile_raises_readably_when_nesting_too_deep():
    source = "(" * 200 + "1" + ")" * 200

    with pytest.raises(ExpressionError, match="Recursion limit"):
        expression_compile(source)


# --------------------------------------------------------------------------- validate


@pytest.mark.parametrize(
    ("kind", "source"),
    [
        ("condition", DEFAULT_CONDITION),
        ("increment", DEFAULT_INCREMENT),
        ("condition", 'event.amount >= 20.0 && event.classification == "COFFEE"'),
        ("condition", 'currentEvent.amount > 10 && currentEvent.type == "PURCHASE"'),
        ("condition", 'event.attributes.channel == "app"'),
        ("condition", "has(event.attributes.channel)"),
        ("condition", "has(event.attributes.minutes) && event.attributes.minutes >= 30"),
        ("condition", 'customer.attributes.tier == "gold"'),
        ("condition", 'event.attributes.address.city == "Paris"'),
        ("condition", '"vip" in event.attributes.tags'),
        ("condition", 'event.performedOn > timestamp("2024-01-01T00:00:00Z")'),
        ("condition", "event.performedOn.getHours() >= 17"),
        ("condition", "!has(event.promoCode)"),
        ("increment", "event.amount"),
        ("increment", "event.amount / 10.0"),
        ("increment", "event.attributes.minutes"),
        ("increment", "event.attributes.minutes * 2.0"),
        ("increment", "double(event.attributes.visits) + event.udfFloat1"),
    ],
)
def test_expression_validate_accepts_when_expression_plausible(kind, source):
    expression_validate(source=source, kind=kind)


@pytest.mark.parametrize(
    ("kind", "source", "got"),
    [
        ("increment", '"ten"', "string"),
        ("increment", "event.classification", "string"),
        ("increment", "event.amount > 10.0", "bool"),
        ("increment", "event.performedOn", "timestamp"),
        ("increment", 'event.attributes.label + "x"', "string"),
        ("condition", "1", "int"),
        ("condition", "event.amount", "double"),
        ("condition", "event.attributes.minutes + 1", "int"),
    ],
)
def test_expression_validate_raises_when_result_has_wrong_type(kind, source, got):
    expected = {
        "condition": "progressCondition must evaluate to a bool",
        "increment": "progressIncrement must evaluate to a number",
    }[kind]

    with pytest.raises(ExpressionError) as excinfo:
        expression_validate(source=source, kind=kind)

    assert excinfo.value.message == f"{expected}, got {got}"


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("event.classification > 3", "No such overload"),
        ('event.amount + "1" == "2"', "Unsupported operation: float + string."),
        ("event.amount > 10.0 && event.product > 2", "No such overload"),
        ("evnt.amount > 1.0", "Undefined variable or function: 'evnt'"),
        ("event.amout > 3.0", "no such key 'amout'"),
        ('customer.tier == "gold"', "no such key 'tier'"),
        ("event.minutes > 30", "no such key 'minutes'"),
    ],
)
def test_expression_validate_raises_when_condition_fails_on_sample(source, fragment):
    with pytest.raises(ExpressionError) as excinfo:
        expression_validate(source=source, kind="condition")

    assert excinfo.value.message.startswith("progressCondition fails on a sample event: ")
    assert fragment in excinfo.value.message


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("event.amount / 10", "Unsupported operation: float / int."),
        ("event.amount / 0.0 + 1 / 0", "division by zero"),
        ('int("ten")', "Function 'int' error"),
    ],
)
def test_expression_validate_raises_when_increment_fails_on_sample(source, fragment):
    with pytest.raises(ExpressionError) as excinfo:
        expression_validate(source=source, kind="increment")

    assert excinfo.value.message.startswith("progressIncrement fails on a sample event: ")
    assert fragment in excinfo.value.message
    assert "CEL does not coerce" not in excinfo.value.message


@pytest.mark.parametrize(
    ("kind", "label"), [("condition", "progressCondition"), ("increment", "progressIncrement")]
)
def test_expression_validate_raises_naming_field_when_syntax_invalid(kind, label):
    with pytest.raises(ExpressionError) as excinfo:
        expression_validate(source="event.amount >", kind=kind)

    assert excinfo.value.message.startswith(f"{label}: invalid CEL expression: ERROR:")


def test_expression_validate_raises_when_source_empty():
    with pytest.raises(ExpressionError, match="progressCondition: expression is empty"):
        expression_validate(source="  ", kind="condition")


def test_expression_validate_raises_value_error_when_kind_unknown():
    with pytest.raises(ValueError, match="kind must be") as excinfo:
        expression_validate(source="true", kind="reward")

    assert not isinstance(excinfo.value, ExpressionError)


def test_expression_validate_accepts_when_attributes_too_many_to_probe():
    source = " && ".join(f"event.attributes.k{i} > 0" for i in range(12))

    expression_validate(source=source, kind="condition")


# --------------------------------------------------------------------------- activation


def test_event_activation_binds_event_as_event_and_current_event():
    activation = activation_for(customer={"integrationId": "C-1", "attributes": {"tier": "gold"}})

    assert activation["event"] is activation["currentEvent"]
    assert activation["event"]["classification"] == "COFFEE"
    assert activation["customer"] == {"integrationId": "C-1", "attributes": {"tier": "gold"}}


def test_event_activation_converts_decimal_to_float_when_amount_decimal():
    activation = activation_for(amount=Decimal("12.50"), udfFloat1=Decimal("3"))

    assert activation["event"]["amount"] == 12.5
    assert type(activation["event"]["amount"]) is float
    assert type(activation["event"]["udfFloat1"]) is float


def test_event_activation_omits_key_when_value_none():
    activation = activation_for(product=None, attributes={"channel": None, "minutes": 5})

    assert "product" not in activation["event"]
    assert activation["event"]["attributes"] == {"minutes": 5}


def test_event_activation_defaults_attributes_when_missing_or_none():
    event = make_event()
    del event["attributes"]

    assert event_activation(event=event)["event"]["attributes"] == {}
    assert activation_for(attributes=None)["event"]["attributes"] == {}
    assert event_activation(event=event)["customer"] == {"attributes": {}}
    assert event_activation(event=event, customer={"integrationId": "C-1"})["customer"] == {
        "integrationId": "C-1",
        "attributes": {},
    }


def test_event_activation_normalises_to_utc_when_datetime_has_offset():
    performed_on = datetime(2024, 3, 10, 11, 15, tzinfo=timezone(timedelta(hours=2)))

    converted = activation_for(performedOn=performed_on)["event"]["performedOn"]

    assert converted == PERFORMED_ON
    assert converted.tzinfo is UTC


def test_event_activation_assumes_utc_when_datetime_naive():
    converted = activation_for(udfDate1=datetime(2024, 3, 10, 9, 15))["event"]["udfDate1"]

    assert converted == PERFORMED_ON


def test_event_activation_uses_midnight_utc_when_value_is_date():
    converted = activation_for(udfDate2=date(2024, 3, 10))["event"]["udfDate2"]

    assert converted == datetime(2024, 3, 10, tzinfo=UTC)


def test_event_activation_converts_recursively_when_attributes_nested():
    attributes = {
        "basket": [{"sku": "A", "price": Decimal("1.10"), "note": None}, ("x", None)],
        "meta": {"visit": {"at": date(2024, 1, 2), "id": uuid.UUID(int=1)}},
        "channel": Channel.APP,
        "tier": Tier.GOLD,
        "flags": frozenset({"b", "a"}),
        "wait": timedelta(minutes=5),
        "big": 2**70,
        "raw": bytearray(b"ab"),
    }

    converted = activation_for(attributes=attributes)["event"]["attributes"]

    assert converted == {
        "basket": [{"sku": "A", "price": 1.1}, ["x", None]],
        "meta": {
            "visit": {
                "at": datetime(2024, 1, 2, tzinfo=UTC),
                "id": "00000000-0000-0000-0000-000000000001",
            }
        },
        "channel": "app",
        "tier": "gold",
        "flags": ["a", "b"],
        "wait": timedelta(minutes=5),
        "big": float(2**70),
        "raw": b"ab",
    }
    assert type(converted["tier"]) is str


def test_event_activation_leaves_input_untouched_when_converting():
    event = make_event(product=None, attributes={"price": Decimal("1.10")})

    event_activation(event=event)

    assert event["product"] is None
    assert event["attributes"] == {"price": Decimal("1.10")}


# --------------------------------------------------------------------------- condition


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (DEFAULT_CONDITION, True),
        ('event.amount >= 20.0 && event.classification == "COFFEE"', True),
        ('event.amount >= 30.0 && event.classification == "COFFEE"', False),
        ('event.classification == "TEA"', False),
        ('event.attributes.channel == "app"', True),
        ('event.attributes.channel == "web"', False),
        ("has(event.attributes.minutes)", True),
        ("has(event.attributes.coupon)", False),
        ("event.attributes.minutes >= 30", True),
        ("event.attributes.basket.exists(i, i.sku == 'A')", True),
    ],
)
def test_condition_matches_returns_expected_when_expression_evaluates(source, expected):
    activation = activation_for(
        attributes={"channel": "app", "minutes": 45, "basket": [{"sku": "A"}]},
    )

    assert condition_matches(source=source, activation=activation) is expected


@pytest.mark.parametrize(
    "source",
    [
        'event.attributes.coupon == "X"',
        "event.attributes.missing.deeper > 1",
        "event.promoCode == 'SUMMER'",
        "customer.attributes.tier == 'gold'",
    ],
)
def test_condition_matches_returns_false_when_key_missing(source):
    assert condition_matches(source=source, activation=activation_for()) is False


@pytest.mark.parametrize(
    "source",
    [
        "event.classification > 3",
        'event.amount > "20"',
        "event.attributes.minutes > 30",
        "1 / 0 == 1",
        "int('abc') == 1",
        "'a'.matches('(')",
        "9223372036854775807 + 1 > 0",
        "undefined_name",
    ],
)
def test_condition_matches_returns_false_when_runtime_error(source):
    activation = activation_for(attributes={"minutes": "forty"})

    assert condition_matches(source=source, activation=activation) is False


@pytest.mark.parametrize("source", ["1", "'true'", "event.amount", "[true]", "null"])
def test_condition_matches_returns_false_when_result_not_bool(source):
    assert condition_matches(source=source, activation=activation_for()) is False


@pytest.mark.parametrize(
    ("amount", "expected"),
    [(Decimal("10.01"), True), (Decimal("10"), False), (Decimal("3.50"), False)],
)
def test_condition_matches_treats_current_event_like_event_when_capillary_style(amount, expected):
    activation = activation_for(amount=amount)

    assert condition_matches(source="event.amount > 10", activation=activation) is expected
    assert condition_matches(source="currentEvent.amount > 10", activation=activation) is expected


@pytest.mark.parametrize(
    ("customer", "expected"),
    [
        ({"integrationId": "C-1", "attributes": {"tier": "gold", "age": 30}}, True),
        ({"integrationId": "C-1", "attributes": {"tier": "silver", "age": 30}}, False),
        ({"integrationId": "C-1", "attributes": {}}, False),
        (None, False),
    ],
)
def test_condition_matches_uses_customer_attributes_when_referenced(customer, expected):
    source = 'customer.attributes.tier == "gold" && customer.attributes.age >= 18'

    assert condition_matches(source=source, activation=activation_for(customer)) is expected


def test_condition_matches_reads_customer_integration_id_when_referenced():
    activation = activation_for({"integrationId": "C-1"})

    assert condition_matches(source='customer.integrationId == "C-1"', activation=activation)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('event.performedOn > timestamp("2024-01-01T00:00:00Z")', True),
        ('event.performedOn > timestamp("2024-03-10T09:15:00Z")', False),
        ('event.performedOn == timestamp("2024-03-10T10:15:00+01:00")', True),
        ("event.performedOn.getHours() == 9", True),
        ("event.performedOn.getDayOfWeek() == 0", True),
        ('event.performedOn - timestamp("2024-03-10T00:00:00Z") > duration("9h")', True),
    ],
)
def test_condition_matches_compares_timestamps_when_performed_on_set(source, expected):
    performed_on = datetime(2024, 3, 10, 11, 15, tzinfo=timezone(timedelta(hours=2)))
    activation = activation_for(performedOn=performed_on)

    assert condition_matches(source=source, activation=activation) is expected


@pytest.mark.parametrize(("product", "expected"), [("LATTE", True), (None, False), ("", True)])
def test_condition_matches_makes_has_meaningful_when_field_none(product, expected):
    activation = activation_for(product=product)

    assert condition_matches(source="has(event.product)", activation=activation) is expected


def test_condition_matches_raises_when_source_does_not_compile():
    with pytest.raises(ExpressionError):
        condition_matches(source="event.amount >", activation=activation_for())


def test_condition_matches_gives_same_results_when_program_shared_across_threads():
    source = "event.amount > 50.0"

    def check(n):
        activation = activation_for(amount=Decimal(n))
        return condition_matches(source=source, activation=activation) is (n > 50)

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert all(pool.map(check, range(400)))


# --------------------------------------------------------------------------- increment


def test_increment_amount_returns_exact_decimal_when_amount_decimal():
    activation = activation_for(amount=Decimal("12.50"))

    result = increment_amount(source="event.amount", activation=activation)

    assert result == Decimal("12.5")
    assert result.as_tuple().exponent == -6
    assert str(result) == "12.500000"


@pytest.mark.parametrize(
    ("source", "attributes", "expected"),
    [
        (DEFAULT_INCREMENT, {}, Decimal("1")),
        ("event.attributes.minutes", {"minutes": 45}, Decimal("45")),
        ("event.attributes.minutes * 2", {"minutes": 45}, Decimal("90")),
        ("event.amount / 10.0", {}, Decimal("2.5")),
        ("event.amount / 3.0", {}, Decimal("8.333333")),
        ("2.0 / 3.0", {}, Decimal("0.666667")),
        ("5u", {}, Decimal("5")),
        ("event.attributes.visits", {"visits": 2**62}, Decimal(2**62)),
        ("0.1 + 0.2", {}, Decimal("0.3")),
        ("1e-9", {}, Decimal("0")),
    ],
)
def test_increment_amount_returns_number_when_expression_numeric(source, attributes, expected):
    activation = activation_for(attributes=attributes)

    result = increment_amount(source=source, activation=activation)

    assert result == expected
    assert result.as_tuple().exponent == -6


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("event.amount - 100.0", "negative"),
        ("-1", "negative"),
        ("-0.0", "negative zero"),
        ("event.classification", "string"),
        ('"12"', "string"),
        ("event.amount > 1.0", "bool"),
        ("event.attributes.minutes", "missing key"),
        ("event.amount / 10", "type mismatch"),
        ("1 / 0", "division by zero"),
        ("1.0 / 0.0", "infinity"),
        ("0.0 / 0.0", "nan"),
        ("1e300", "too large for 6 dp"),
        ("null", "null"),
        ("[1]", "list"),
    ],
)
def test_increment_amount_returns_zero_when_result_unusable(source, reason):
    result = increment_amount(source=source, activation=activation_for())

    assert result == Decimal(0), reason
    assert not result.is_signed()


def test_increment_amount_raises_when_source_does_not_compile():
    with pytest.raises(ExpressionError):
        increment_amount(source="event.amount /", activation=activation_for())


@given(
    amount=st.decimals(
        min_value=Decimal(0),
        max_value=Decimal("9999999999999.99"),
        places=2,
        allow_nan=False,
        allow_infinity=False,
    )
)
def test_increment_amount_returns_amount_exactly_when_decimal_has_two_places(amount):
    activation = event_activation(event={"amount": amount})

    result = increment_amount(source="event.amount", activation=activation)

    assert result == amount
    assert result.as_tuple().exponent == -6
