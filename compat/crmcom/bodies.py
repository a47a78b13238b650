"""Laurel's customer events and ledger rows as CRM.COM's achievement customer event object."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from events.models import CustomerEvent
from loyalty.models import AwardTransaction, Currency, Customer, RewardOffer


def local_time(value: datetime | None, tz: ZoneInfo) -> str | None:
    """CRM.COM writes local date-times without an offset: 2024-05-01T10:00:00."""
    return None if value is None else value.astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S")


def _ref(value: str, key: str = "name") -> dict | None:
    return {"id": None, key: value} if value else None


def account_body(customer: Customer, *, full: bool = True) -> dict:
    body = {"id": str(customer.pk), "number": customer.integration_id}
    if full:
        body["name"] = f"{customer.integration_id} {customer.name}".strip()
        body["life_cycle_state"] = "ACTIVE"
    return body


def _offer_body(offer: RewardOffer | None) -> dict | None:
    if offer is None:
        return None
    state = "EFFECTIVE" if offer.state == RewardOffer.State.EFFECTIVE else "NOT_EFFECTIVE"
    return {"id": str(offer.pk), "number": str(offer.pk), "name": offer.name,
            "alternative_code": offer.code, "life_cycle_state": state}


def _is_points(award: AwardTransaction) -> bool:
    return award.currency.kind == Currency.Kind.POINTS


def award_body(award: AwardTransaction, *, offers: dict[int, RewardOffer],
               customer: Customer) -> dict:
    amount = float(award.amount)
    return {
        "id": str(award.pk), "number": str(award.pk), "life_cycle_state": award.state,
        "amount": amount if _is_points(award) else 0.0,
        "alternative_amount": 0.0 if _is_points(award) else amount,
        "currency": award.currency.code,
        "expiration_date": None,
        "reward_offer": _offer_body(offers.get(award.reward_offer_id)),
        "accounts_receivable": account_body(customer, full=False),
    }


def event_body(event: CustomerEvent, *, awards: list[AwardTransaction],
               offers: dict[int, RewardOffer], tz: ZoneInfo) -> dict:
    """The complete object. Awards are the event's award rows (their compensating
    cancellation rows are not transactions of their own in CRM.COM); the totals are what the
    event was awarded, kept as history after a cancel."""
    customer = event.customer
    granted = [a for a in awards if a.kind == AwardTransaction.Kind.AWARD]
    total = sum((a.amount for a in granted if _is_points(a)), start=Decimal(0))
    alternative = sum((a.amount for a in granted if not _is_points(a)), start=Decimal(0))
    classification = event.classification
    body = {
        "id": str(event.pk),
        "number": str(event.number) if event.number is not None else None,
        "type": "ACHIEVEMENT",
        "life_cycle_state": event.life_cycle_state,
        "performed_on": local_time(event.performed_on, tz),
        "description": event.description or None,
        "payment_medium_identifier": event.payment_medium_identifier or None,
        "amount": None if event.amount is None else float(event.amount),
        "external_system": event.external_system or None,
        "external_system_reference_number": event.external_system_reference_number or None,
        "promo_code": event.promo_code or None,
        "total_awarded_amount": float(total),
        "total_awarded_alternative_amount": float(alternative),
    }
    for i in range(1, 9):
        body[f"udf_string_{i}"] = getattr(event, f"udf_string{i}") or None
    for i in range(1, 5):
        body[f"udf_float_{i}"] = getattr(event, f"udf_float{i}")
    for i in range(1, 5):
        body[f"udf_date_{i}"] = local_time(getattr(event, f"udf_date{i}"), tz)
    body |= {
        "classification": None if classification is None else {
            "id": str(classification.pk), "name": classification.name,
            "alternative_code": classification.code},
        "accounts_receivable": account_body(customer),
        "rewards_participant": {"id": str(customer.pk), "number": customer.integration_id,
                                "accounts_receivable": account_body(customer, full=False)},
        "product": _ref(event.product, "code"),
        "payment_medium_type": _ref(event.payment_medium_type),
        "payment_medium_brand": _ref(event.payment_medium_brand),
        "performed_by_business_unit": _ref(event.performed_by_business_unit),
        "performed_by_unit": _ref(event.performed_by_unit),
        "performed_by_tap": _ref(event.performed_by_tap),
        "award_reward_transactions_set": [
            award_body(a, offers=offers, customer=customer) for a in granted],
        "log_information": {
            "created_date": local_time(event.received_at, tz),
            "updated_date": local_time(event.cancelled_at or event.received_at, tz),
        },
    }
    return body


def fields_trim(body: dict, fields_set: str | None) -> dict:
    """`fields_set`: keep only the named top-level keys (and `id`); unknown names are ignored."""
    if not fields_set:
        return body
    wanted = {name.strip() for name in fields_set.split(",") if name.strip()} | {"id"}
    return {key: value for key, value in body.items() if key in wanted}
