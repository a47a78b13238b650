"""Writes for programs, campaigns, customers, currencies and API keys."""

import hashlib
import hmac
import json
import secrets
import time
import traceback
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from config.db import insert_or_skip, one_or_none
from config.exceptions import ApplicationError, ConflictError
from config.services import model_update
from loyalty.models import (
    ApiKey,
    AwardTransaction,
    Campaign,
    Classification,
    Currency,
    Customer,
    JobRun,
    Notification,
    Program,
    RewardOffer,
    WalletBalance,
)
from loyalty.selectors import reward_offers_by_classification

API_KEY_PREFIX = "laurel_"


# Programs
# ------------------------------------------------------------------------------
@transaction.atomic
def program_create(*, name: str, time_zone: str = "UTC", currency_code: str = "PTS",
                   currency_name: str = "Points", webhook_url: str = "",
                   late_event_window: timedelta | None = None) -> Program:
    """Create a program and its points currency (and a webhook secret with a webhook)."""
    if Program.objects.filter(name=name).exists():
        raise ConflictError(f"A program named '{name}' already exists.", field="name")
    program = Program(name=name, time_zone=time_zone, currency_code=currency_code,
                      webhook_url=webhook_url, late_event_window=late_event_window,
                      webhook_secret=secrets.token_hex(32) if webhook_url else "")
    program.full_clean()
    program.save()
    Currency.objects.create(
        program=program, code=currency_code, name=currency_name, kind=Currency.Kind.POINTS
    )
    return program


@transaction.atomic
def program_update(*, program: Program, data: dict[str, Any]) -> Program:
    """Change a program; a new points currency code renames the points currency.
    `rotate_webhook_secret` (true) gives the webhook a new signing secret."""
    data = dict(data)
    rotate = data.pop("rotate_webhook_secret", False)
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
        instance=program, data=data,
        fields=["name", "time_zone", "currency_code", "late_event_window", "webhook_url"],
    )
    if program.webhook_url and (rotate or not program.webhook_secret):
        program.webhook_secret = secrets.token_hex(32)
        program.save(update_fields=["webhook_secret"])
    elif rotate:
        raise ApplicationError("There is no webhook to rotate a secret for: set webhookUrl "
                               "first.", field="rotate_webhook_secret")
    if "currency_code" in changed:
        program.currencies.filter(kind=Currency.Kind.POINTS).update(code=program.currency_code)
        program_definitions_changed(program_id=program.pk)  # offers carry their currency
    return program


def program_definitions_changed(*, program_id: int) -> None:
    """Make every process reload the program's cached definitions (achievements, target
    groups, reward offers): they are keyed by `definitions_version`."""
    Program.objects.filter(pk=program_id).update(
        definitions_version=F("definitions_version") + 1
    )


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
    campaign.full_clean(validate_constraints=False)
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
    customer = one_or_none(Customer.objects.filter(program=program,
                                                   integration_id=integration_id))
    if customer is not None:
        return customer, False
    Customer.objects.bulk_create(
        [Customer(program=program, integration_id=integration_id)], ignore_conflicts=True
    )
    customer = Customer.objects.get(program=program, integration_id=integration_id)
    return customer, True


def customer_get_or_create_locked(*, program: Program, integration_id: str) -> Customer:
    """The customer with this integration id, created on first sight and locked (see
    customer_lock); one query when the customer exists. Call inside a transaction."""
    # of=("self",): lock the customer only, not the program row joined for its settings.
    locked = Customer.objects.select_for_update(no_key=True, of=("self",)).select_related(
        "program")
    customer = one_or_none(locked.filter(program=program, integration_id=integration_id))
    if customer is None:
        customer, _ = customer_get_or_create(program=program, integration_id=integration_id)
        customer = locked.get(pk=customer.pk)
    return customer


def customer_lock(*, customer_id: int) -> Customer:
    """Lock a customer's row for the rest of the transaction.

    Every write that touches a customer's progress, streaks or wallet takes this lock first,
    so one customer's updates are serialised while different customers run in parallel.
    `no_key` lets other transactions keep inserting rows that reference the customer.
    """
    return (
        Customer.objects.select_for_update(no_key=True, of=("self",))
        .select_related("program")
        .get(pk=customer_id)
    )


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
    """Delete an alternative currency nothing uses; what still uses it is a 409 naming it."""
    if currency.kind == Currency.Kind.POINTS:
        raise ApplicationError("The program's points currency cannot be deleted.", field="code")
    offers = list(RewardOffer.objects.filter(currency=currency).order_by("pk")
                  .values_list("code", flat=True)[:20])
    if offers:
        raise ConflictError(
            f"The currency {currency.code} is used by reward offers {', '.join(offers)}; "
            "change or delete them first.",
            field="code", extra={"usedBy": {"rewardOffers": offers}},
        )
    if (AwardTransaction.objects.filter(currency=currency).exists()
            or WalletBalance.objects.filter(currency=currency).exists()):
        raise ConflictError(
            f"The currency {currency.code} has ledger rows and wallet balances; a currency "
            "that customers hold cannot be deleted.",
            field="code", extra={"usedBy": {"awardTransactions": True}},
        )
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


# Classifications
# ------------------------------------------------------------------------------
@transaction.atomic
def classification_create(*, program: Program, code: str, name: str, event_type: str,
                          description: str = "") -> Classification:
    if Classification.objects.filter(program=program, code=code).exists():
        raise ConflictError(f"A classification with code '{code}' already exists.", field="code")
    classification = Classification(program=program, code=code, name=name,
                                    event_type=event_type, description=description)
    classification.full_clean()
    classification.save()
    return classification


@transaction.atomic
def classification_update(*, classification: Classification,
                          data: dict[str, Any]) -> Classification:
    owned = hasattr(classification, "achievement") or hasattr(classification, "streak_level")
    if owned and data.get("code", classification.code) != classification.code:
        raise ApplicationError(
            "This classification belongs to a goal; its code cannot change.", field="code"
        )
    if "code" in data and Classification.objects.filter(
        program=classification.program, code=data["code"]
    ).exclude(pk=classification.pk).exists():
        raise ConflictError(f"A classification with code '{data['code']}' already exists.",
                            field="code")
    classification, _ = model_update(instance=classification, data=data,
                                     fields=["code", "name", "description"])
    return classification


# Reward offers
# ------------------------------------------------------------------------------
REWARD_OFFER_FIELDS = (
    "name", "code", "description", "state", "valid_from", "valid_to",
    "all_achievements_should_exist", "number_of_awards", "award_period", "award_type",
    "award_value", "currency",
)


def _reward_offer_check(*, program: Program, data: dict[str, Any],
                        exclude_pk: int | None = None) -> None:
    if "code" in data and RewardOffer.objects.filter(program=program, code=data["code"]).exclude(
        pk=exclude_pk
    ).exists():
        raise ConflictError(f"A reward offer with code '{data['code']}' already exists.",
                            field="code")
    currency = data.get("currency")
    if currency is not None and currency.program_id != program.pk:
        raise ApplicationError("The currency belongs to another program.", field="currency")
    for classification in data.get("classifications") or ():
        if classification.program_id != program.pk:
            raise ApplicationError(
                f"Classification {classification.code} belongs to another program.",
                field="classifications",
            )


@transaction.atomic
def reward_offer_create(*, program: Program, classifications: Iterable[Classification],
                        **fields: Any) -> RewardOffer:
    classifications = list(classifications)
    if not classifications:
        raise ApplicationError("A reward offer needs at least one classification.",
                               field="classifications")
    _reward_offer_check(program=program, data={**fields, "classifications": classifications})
    offer = RewardOffer(program=program, **fields)
    offer.full_clean(validate_constraints=False)  # clean() names the fields; the DB backs it
    offer.save()
    offer.classifications.set(classifications)
    return offer


@transaction.atomic
def reward_offer_update(*, offer: RewardOffer, data: dict[str, Any]) -> RewardOffer:
    _reward_offer_check(program=offer.program, data=data, exclude_pk=offer.pk)
    offer, _ = model_update(instance=offer, data=data, fields=list(REWARD_OFFER_FIELDS))
    if "classifications" in data:
        if not data["classifications"]:
            raise ApplicationError("A reward offer needs at least one classification.",
                                   field="classifications")
        offer.classifications.set(data["classifications"])
    return offer


def period_key(*, period: str, at: datetime, tz: ZoneInfo) -> str:
    """The calendar period containing `at` in `tz`: 2026-11-22, 2026-W47, 2026-11 or 2026."""
    local = at.astimezone(tz)
    if period == RewardOffer.AwardPeriod.DAY:
        return f"{local:%Y-%m-%d}"
    if period == RewardOffer.AwardPeriod.WEEK:
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    if period == RewardOffer.AwardPeriod.MONTH:
        return f"{local:%Y-%m}"
    return f"{local:%Y}"


AMOUNT_QUANTUM = Decimal("0.000001")


def offer_award(*, offer: RewardOffer, event_amount: Decimal | None, performed_on: datetime,
                customer_event_id: int, tz: ZoneInfo) -> tuple[Decimal, str] | None:
    """What `offer` pays for one achievement event, and the key that makes it unique (per
    event, once per customer, or once per calendar period); None when it pays nothing. Pure:
    the grant and the simulation both decide with it."""
    if offer.award_type == RewardOffer.AwardType.FIXED:
        amount = offer.award_value
    else:
        amount = offer.award_value * (event_amount or 0) / 100
    amount = Decimal(amount).quantize(AMOUNT_QUANTUM, rounding=ROUND_HALF_UP)
    if amount <= 0:
        return None
    if offer.number_of_awards == RewardOffer.NumberOfAwards.ONLY_ONE:
        return amount, "once"
    if offer.number_of_awards == RewardOffer.NumberOfAwards.ONLY_ONE_PER_PERIOD:
        return amount, period_key(period=offer.award_period, at=performed_on, tz=tz)
    return amount, f"event:{customer_event_id}"


def _wallet_credit(*, customer: Customer, currency_id: int, amount: Decimal) -> None:
    """Add a signed amount to a balance. Callers hold the customer lock."""
    table = WalletBalance._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (customer_id, currency_id, balance, updated_at) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (customer_id, currency_id) "
            f"DO UPDATE SET balance = {table}.balance + EXCLUDED.balance, "
            "updated_at = EXCLUDED.updated_at",
            [customer.pk, currency_id, amount, timezone.now()],
        )


def rewards_grant(
    *,
    customer: Customer,
    classification: Classification,
    customer_event_id: int,
    event_amount: Decimal | None,
    performed_on: datetime,
    achieved_classification_ids: set[int] | None = None,
) -> list[AwardTransaction]:
    """Award every effective offer that an achievement customer event matches.

    Called with the customer locked. Each award is unique per (offer, event) and, for
    ONLY_ONE / ONLY_ONE_PER_PERIOD, per (offer, customer, period) in the database, so a retry
    or a race cannot double it. `achieved_classification_ids` (the classifications of the
    customer's posted ACHIEVEMENT events) matters only to offers that need every one of their
    classifications; the caller reads it when `reward_offers_need_achieved` says so.
    """
    offers = [
        offer for offer in reward_offers_by_classification(program=customer.program)
        .get(classification.pk, [])
        if (offer.valid_from is None or offer.valid_from <= performed_on)
        and (offer.valid_to is None or performed_on < offer.valid_to)
    ]
    awards = []
    achieved = (achieved_classification_ids or set()) | {classification.pk}
    for offer in offers:
        if offer.all_achievements_should_exist and not (
                {c.pk for c in offer.classifications.all()} <= achieved):
            continue
        decided = offer_award(offer=offer, event_amount=event_amount, performed_on=performed_on,
                              customer_event_id=customer_event_id,
                              tz=ZoneInfo(customer.program.time_zone))
        if decided is None:
            continue
        amount, award_key = decided
        award = AwardTransaction(
            program_id=customer.program_id, customer=customer, currency=offer.currency,
            amount=amount, reward_offer=offer, customer_event_id=customer_event_id,
            award_key=award_key,
        )
        if not insert_or_skip(award):
            continue  # awarded by a concurrent or earlier attempt: exactly once
        _wallet_credit(customer=customer, currency_id=offer.currency_id, amount=amount)
        awards.append(award)
    return awards


def awards_cancel_for_event(*, customer: Customer, customer_event_id: int,
                            reason: str = "") -> list[AwardTransaction]:
    """Cancel the posted awards of an event with compensating ledger rows (customer locked)."""
    cancellations = []
    posted = AwardTransaction.objects.select_for_update(of=("self",)).select_related(
        "currency").filter(
        customer=customer, customer_event_id=customer_event_id,
        kind=AwardTransaction.Kind.AWARD, state=AwardTransaction.State.POSTED,
    ).order_by("pk")
    for award in posted:
        award.state = AwardTransaction.State.CANCELLED
        award.save(update_fields=["state"])
        cancellations.append(AwardTransaction.objects.create(
            program_id=award.program_id, customer=customer, currency=award.currency,
            kind=AwardTransaction.Kind.CANCELLATION, amount=-award.amount,
            reward_offer_id=award.reward_offer_id, customer_event_id=customer_event_id,
            reverses=award, reason=reason or "The event that earned the award was cancelled.",
        ))
        _wallet_credit(customer=customer, currency_id=award.currency_id, amount=-award.amount)
    return cancellations


@transaction.atomic
def wallet_adjust(*, customer: Customer, currency: Currency, amount: Decimal, reason: str,
                  acting_user: AbstractBaseUser | None) -> AwardTransaction:
    """A manual correction: a ledger row that records who made it and why."""
    if currency.program_id != customer.program_id:
        raise ApplicationError("The currency belongs to another program.", field="currency")
    if not amount:
        raise ApplicationError("A correction needs a non-zero amount.", field="amount")
    reason = reason.strip()
    if not reason:
        raise ApplicationError("Say why: a correction needs a reason.", field="reason")
    customer = customer_lock(customer_id=customer.pk)
    row = AwardTransaction.objects.create(
        program_id=customer.program_id, customer=customer, currency=currency,
        kind=AwardTransaction.Kind.CORRECTION, amount=amount, reason=reason,
        created_by=acting_user,
    )
    _wallet_credit(customer=customer, currency_id=currency.pk, amount=amount)
    return row


# Notifications and job runs
# ------------------------------------------------------------------------------
@dataclass
class JobStats:
    """What a job run has done so far; job services add to it batch by batch, so a run that
    crashes is recorded with what it had committed. `on_batch` (a progress bar, say) hears
    of every batch as it is counted."""

    rows: int = 0
    batches: int = 0
    run: JobRun | None = None
    on_batch: Callable[["JobStats"], None] | None = None

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if name == "batches" and value and getattr(self, "on_batch", None) is not None:
            self.on_batch(self)


@contextmanager
def job_run_record(*, job: str, now: datetime, started_by: str = JobRun.StartedBy.OTHER,
                   started_from: str = "",
                   on_batch: Callable[[JobStats], None] | None = None) -> Iterator[JobStats]:
    """Record a run of a scheduled job (job, now, who started it and from where, rows,
    batches, duration, outcome; a failure with its whole traceback).

    The record is written before the work starts and finished after it, each in its own
    transaction, so a crashed run stays visible as `running` with what it had done.
    """
    started = time.monotonic()
    run = JobRun.objects.create(job=job, now=now, started_at=timezone.now(),
                                started_by=started_by, started_from=started_from[:500])
    stats = JobStats(run=run, on_batch=on_batch)
    try:
        yield stats
    except Exception as exc:
        run.outcome, run.error = JobRun.Outcome.FAILED, f"{type(exc).__name__}: {exc}"
        run.traceback = traceback.format_exc()
        raise
    else:
        run.outcome = JobRun.Outcome.SUCCEEDED
    finally:
        run.rows, run.batches = stats.rows, stats.batches
        run.finished_at = timezone.now()
        run.duration_ms = int((time.monotonic() - started) * 1000)
        run.save(update_fields=["rows", "batches", "finished_at", "duration_ms", "outcome",
                                "error", "traceback"])


def notifications_record(*, notifications: list[Notification]) -> int:
    """Store notifications once each (unique by program and key, so a job that runs twice
    records them once); those of programs with a webhook wait for delivery. Returns how many
    were new."""
    if not notifications:
        return 0
    known = set(
        Notification.objects.filter(program_id__in={n.program_id for n in notifications},
                                    key__in=[n.key for n in notifications])
        .values_list("program_id", "key")
    )
    notifications = [n for n in notifications if (n.program_id, n.key) not in known]
    if not notifications:
        return 0
    hooked = set(
        Program.objects.filter(pk__in={n.program_id for n in notifications})
        .exclude(webhook_url="").values_list("pk", flat=True)
    )
    for notification in notifications:
        if notification.program_id in hooked:
            notification.delivery = Notification.Delivery.PENDING
            notification.next_attempt_at = notification.occurred_at
    Notification.objects.bulk_create(notifications, ignore_conflicts=True, batch_size=1000)
    return len(notifications)


WEBHOOK_MAX_ATTEMPTS = 8
WEBHOOK_TIMEOUT_SECONDS = 5


def webhook_signature(*, secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def notification_body(notification: Notification) -> bytes:
    return json.dumps({
        "id": notification.pk, "type": notification.kind, "programId": notification.program_id,
        "customer": notification.customer.integration_id if notification.customer else None,
        "occurredAt": notification.occurred_at.isoformat(), "data": notification.payload,
    }, separators=(",", ":"), default=str).encode()


def _webhook_post(*, url: str, body: bytes, signature: str) -> None:
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "User-Agent": "Laurel-Webhook/1",
        "X-Laurel-Signature": signature,
    })
    with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:
        if not 200 <= response.status < 300:
            raise urllib.error.HTTPError(url, response.status, "not 2xx", response.headers, None)


@transaction.atomic
def notifications_retry(*, notification_ids: Iterable[int], now: datetime) -> int:
    """Send failed (or waiting) notifications again at the next delivery run."""
    return Notification.objects.filter(pk__in=list(notification_ids)).exclude(
        delivery=Notification.Delivery.DELIVERED
    ).exclude(program__webhook_url="").update(
        delivery=Notification.Delivery.PENDING, next_attempt_at=now, attempts=0
    )


WEBHOOK_LEASE = timedelta(minutes=5)


def notifications_deliver_due(*, now: datetime, batch_size: int = 100,
                              stats: JobStats | None = None) -> JobStats:
    """POST due notifications to their program's webhook, signed; retry failures with
    exponential backoff (1, 2, 4, ... minutes) and give up after WEBHOOK_MAX_ATTEMPTS.

    A batch is claimed with SKIP LOCKED and leased (its next attempt moved a few minutes on)
    in a short transaction; the POSTs happen outside any transaction, and each outcome is
    written on its own. Workers share the work, a slow endpoint holds no lock, a crashed
    delivery is retried when its lease ends, and one failure only reschedules its own row.
    """
    stats = stats if stats is not None else JobStats()
    while True:
        with transaction.atomic():
            batch = list(
                Notification.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("program", "customer")
                .filter(delivery=Notification.Delivery.PENDING, next_attempt_at__lte=now)
                .order_by("next_attempt_at", "pk")[:batch_size]
            )
            Notification.objects.filter(pk__in=[n.pk for n in batch]).update(
                next_attempt_at=now + WEBHOOK_LEASE)
        for notification in batch:
            program = notification.program
            body = notification_body(notification)
            notification.attempts += 1
            try:
                _webhook_post(url=program.webhook_url, body=body,
                              signature=webhook_signature(secret=program.webhook_secret,
                                                          body=body))
            except Exception as exc:  # any failure of one endpoint is that row's only
                notification.last_error = f"{type(exc).__name__}: {exc}"[:1000]
                if notification.attempts >= WEBHOOK_MAX_ATTEMPTS:
                    notification.delivery = Notification.Delivery.FAILED
                else:
                    backoff = timedelta(minutes=2 ** (notification.attempts - 1))
                    notification.next_attempt_at = now + backoff
            else:
                notification.delivery = Notification.Delivery.DELIVERED
                notification.delivered_at = now
                notification.last_error = ""
            Notification.objects.filter(pk=notification.pk).update(
                attempts=notification.attempts, delivery=notification.delivery,
                next_attempt_at=notification.next_attempt_at,
                delivered_at=notification.delivered_at, last_error=notification.last_error,
            )
        stats.rows += len(batch)
        stats.batches += 1
        if len(batch) < batch_size:
            return stats
