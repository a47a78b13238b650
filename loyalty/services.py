"""Writes for programs, campaigns, customers, currencies and API keys."""

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from config.exceptions import ApplicationError, ConflictError
from config.services import model_update
from loyalty.models import ApiKey, Campaign, Currency, Customer, Program

API_KEY_PREFIX = "laurel_"


# Programs
# ------------------------------------------------------------------------------
@transaction.atomic
def program_create(*, name: str, time_zone: str = "UTC", currency_code: str = "PTS",
                   currency_name: str = "Points") -> Program:
    """Create a program and its points currency."""
    if Program.objects.filter(name=name).exists():
        raise ConflictError(f"A program named '{name}' already exists.", field="name")
    program = Program(name=name, time_zone=time_zone, currency_code=currency_code)
    program.full_clean()
    program.save()
    Currency.objects.create(
        program=program, code=currency_code, name=currency_name, kind=Currency.Kind.POINTS
    )
    return program


@transaction.atomic
def program_update(*, program: Program, data: dict[str, Any]) -> Program:
    """Change a program; a new points currency code renames the points currency."""
    if "name" in data and Program.objects.filter(name=data["name"]).exclude(pk=program.pk).exists():
        raise ConflictError(f"A program named '{data['name']}' already exists.", field="name")
    code = data.get("currency_code")
    if code and code != program.currency_code:
        clash = program.currencies.filter(code=code).exclude(kind=Currency.Kind.POINTS)
        if clash.exists():
            raise ConflictError(
                f"The program already has an alternative currency '{code}'.", field="currency_code"
            )
    program, changed = model_update(
        instance=program, data=data, fields=["name", "time_zone", "currency_code"]
    )
    if "currency_code" in changed:
        program.currencies.filter(kind=Currency.Kind.POINTS).update(code=program.currency_code)
    return program


# Campaigns
# ------------------------------------------------------------------------------
def _campaign_name_free(*, program: Program, name: str, exclude_pk: int | None = None) -> None:
    if Campaign.objects.filter(program=program, name=name).exclude(pk=exclude_pk).exists():
        raise ConflictError(f"A campaign named '{name}' already exists.", field="name")


@transaction.atomic
def campaign_create(*, program: Program, name: str, description: str = "",
                    state: str = Campaign.State.DRAFT, start_time: datetime | None = None,
                    end_time: datetime | None = None) -> Campaign:
    _campaign_name_free(program=program, name=name)
    campaign = Campaign(program=program, name=name, description=description, state=state,
                        start_time=start_time, end_time=end_time)
    campaign.full_clean()
    campaign.save()
    return campaign


@transaction.atomic
def campaign_update(*, campaign: Campaign, data: dict[str, Any]) -> Campaign:
    """Change a campaign. Once it has left draft it never goes back to draft."""
    if (
        data.get("state") == Campaign.State.DRAFT
        and campaign.state != Campaign.State.DRAFT
    ):
        raise ApplicationError(
            f"A {campaign.state} campaign cannot go back to draft; disable or archive it.",
            field="state",
        )
    if "name" in data:
        _campaign_name_free(program=campaign.program, name=data["name"], exclude_pk=campaign.pk)
    campaign, _ = model_update(
        instance=campaign,
        data=data,
        fields=["name", "description", "state", "start_time", "end_time"],
    )
    return campaign


def campaign_delete(*, campaign: Campaign) -> None:
    """Only a draft campaign (which never ran, so no customer has progress) can be deleted."""
    if campaign.state != Campaign.State.DRAFT:
        raise ApplicationError(
            f"Only draft campaigns can be deleted; this one is {campaign.state}. "
            "Archive it instead.",
            field="state",
        )
    campaign.delete()


# Customers
# ------------------------------------------------------------------------------
@transaction.atomic
def customer_create(*, program: Program, integration_id: str, name: str = "",
                    attributes: dict[str, Any] | None = None) -> Customer:
    customer = Customer(program=program, integration_id=integration_id, name=name,
                        attributes=attributes or {})
    customer.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            customer.save()
    except IntegrityError as exc:
        raise ConflictError(
            f"A customer with integration id '{integration_id}' already exists.",
            field="integration_id",
        ) from exc
    return customer


@transaction.atomic
def customer_get_or_create(*, program: Program, integration_id: str) -> tuple[Customer, bool]:
    """The customer with this integration id, created on first sight (as Talon.One does).

    Safe under concurrency: two first events for one new customer make one row.
    """
    customer = Customer.objects.filter(program=program, integration_id=integration_id).first()
    if customer is not None:
        return customer, False
    Customer.objects.bulk_create(
        [Customer(program=program, integration_id=integration_id)], ignore_conflicts=True
    )
    customer = Customer.objects.get(program=program, integration_id=integration_id)
    return customer, True


@transaction.atomic
def customer_update(*, customer: Customer, data: dict[str, Any]) -> Customer:
    customer, _ = model_update(instance=customer, data=data, fields=["name", "attributes"])
    return customer


# Currencies
# ------------------------------------------------------------------------------
def _currency_code_free(*, program: Program, code: str, exclude_pk: int | None = None) -> None:
    if Currency.objects.filter(program=program, code=code).exclude(pk=exclude_pk).exists():
        raise ConflictError(f"A currency with code '{code}' already exists.", field="code")


@transaction.atomic
def currency_create(*, program: Program, code: str, name: str) -> Currency:
    """Add an alternative currency (the points currency comes with the program)."""
    _currency_code_free(program=program, code=code)
    currency = Currency(program=program, code=code, name=name, kind=Currency.Kind.ALTERNATIVE)
    currency.full_clean()
    currency.save()
    return currency


@transaction.atomic
def currency_update(*, currency: Currency, data: dict[str, Any]) -> Currency:
    if "code" in data:
        _currency_code_free(program=currency.program, code=data["code"], exclude_pk=currency.pk)
    currency, changed = model_update(instance=currency, data=data, fields=["code", "name"])
    if "code" in changed and currency.kind == Currency.Kind.POINTS:
        Program.objects.filter(pk=currency.program_id).update(currency_code=currency.code)
    return currency


def currency_delete(*, currency: Currency) -> None:
    if currency.kind == Currency.Kind.POINTS:
        raise ApplicationError("The program's points currency cannot be deleted.", field="code")
    currency.delete()


# API keys
# ------------------------------------------------------------------------------
def api_key_hash(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


@transaction.atomic
def api_key_create(*, name: str, scope: str, program: Program | None = None,
                   created_by: AbstractBaseUser | None = None) -> tuple[ApiKey, str]:
    """Issue a key. Returns the row and the raw key, which is never stored nor shown again."""
    raw_key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    api_key = ApiKey(
        name=name,
        scope=scope,
        program=program,
        prefix=raw_key[: len(API_KEY_PREFIX) + 6],
        key_hash=api_key_hash(raw_key),
        created_by=created_by,
    )
    api_key.full_clean()
    api_key.save()
    return api_key, raw_key


def api_key_revoke(*, api_key: ApiKey, now: datetime) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = now
        api_key.save(update_fields=["revoked_at"])
    return api_key


LAST_USED_RESOLUTION = timedelta(minutes=5)


def api_key_mark_used(*, api_key: ApiKey, now: datetime) -> None:
    """Record use at most every few minutes, so the hot path does not write per request."""
    if api_key.last_used_at is None or now - api_key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
