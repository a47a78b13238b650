"""Reads for programs, campaigns, customers, currencies and API keys."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import QuerySet, Sum
from django.db.models.functions import TruncDate

from config.db import one_or_none
from loyalty.models import (
    ApiKey,
    AwardTransaction,
    Campaign,
    Classification,
    Currency,
    Customer,
    Notification,
    Program,
    RewardOffer,
    WalletBalance,
)


def api_key_get_active(*, key_hash: str) -> ApiKey | None:
    return one_or_none(ApiKey.objects.select_related("program")
                       .filter(key_hash=key_hash, revoked_at__isnull=True))


_offers_cache: dict[int, tuple[int, dict[int, list[RewardOffer]]]] = {}


def reward_offers_by_classification(*, program: Program) -> dict[int, list[RewardOffer]]:
    """The program's EFFECTIVE reward offers by classification id, in id order, with their
    currency and classifications loaded, from a per-process cache keyed by the program's
    `definitions_version` (bumped whenever an offer, its classifications or a currency
    changes; see loyalty.apps). Read-only: shared between requests of one process."""
    cached = _offers_cache.get(program.pk)
    if cached is not None and cached[0] == program.definitions_version:
        return cached[1]
    offers = (
        RewardOffer.objects.filter(program_id=program.pk, state=RewardOffer.State.EFFECTIVE)
        .select_related("currency").prefetch_related("classifications").order_by("pk")
    )
    index: dict[int, list[RewardOffer]] = {}
    for offer in offers:
        for classification in offer.classifications.all():
            index.setdefault(classification.pk, []).append(offer)
    _offers_cache[program.pk] = (program.definitions_version, index)
    return index


def reward_offers_need_achieved(*, program: Program, classification_id: int) -> bool:
    """Whether an offer that pays `classification_id` asks for every one of its
    classifications to have been achieved (then the payer must say which the customer has)."""
    return any(offer.all_achievements_should_exist for offer in
               reward_offers_by_classification(program=program).get(classification_id, []))


def program_list(*, api_key: ApiKey | None = None) -> QuerySet[Program]:
    """Programs a caller may see: all for staff and account keys, its own for a program key."""
    qs = Program.objects.all()
    if api_key is not None and api_key.program_id is not None:
        qs = qs.filter(pk=api_key.program_id)
    return qs


def campaign_list(*, program: Program) -> QuerySet[Campaign]:
    return Campaign.objects.filter(program=program)


def customer_list(*, program: Program) -> QuerySet[Customer]:
    return Customer.objects.filter(program=program).select_related("program")


def currency_list(*, program: Program) -> QuerySet[Currency]:
    return Currency.objects.filter(program=program)


def classification_list(*, program: Program) -> QuerySet[Classification]:
    return Classification.objects.filter(program=program).select_related("achievement")


def reward_offer_list(*, program: Program) -> QuerySet[RewardOffer]:
    return RewardOffer.objects.filter(program=program).select_related("currency").prefetch_related(
        "classifications"
    )


@dataclass(frozen=True)
class Wallet:
    integration_id: str
    balances: list[WalletBalance]
    transactions: list[AwardTransaction]


def wallet_get(*, customer: Customer, limit: int = 100) -> Wallet:
    """Balances per currency (every currency of the program, zero where nothing happened) and
    the newest ledger rows."""
    stored = {
        b.currency_id: b
        for b in WalletBalance.objects.filter(customer=customer).select_related("currency")
    }
    balances = [
        stored.get(currency.pk) or WalletBalance(customer=customer, currency=currency, balance=0)
        for currency in Currency.objects.filter(program_id=customer.program_id)
    ]
    transactions = list(
        AwardTransaction.objects.filter(customer=customer)
        .select_related("currency", "created_by")
        .order_by("-created_at", "-id")[:limit]
    )
    return Wallet(integration_id=customer.integration_id, balances=balances,
                  transactions=transactions)


def notification_list(*, program: Program) -> QuerySet[Notification]:
    return Notification.objects.filter(program=program).select_related("customer")


# Dashboard figures
# ------------------------------------------------------------------------------
# Rewards paid are the ledger's award rows still posted. Each read is one range of the
# `award_program_day` index, (program, created_at) INCLUDE (currency_id, kind, state,
# amount), scanned index-only: bounded by the window, not by the ledger's history.
def _awards_in(*, program: Program, start: datetime, end: datetime):
    return AwardTransaction.objects.filter(
        program=program, created_at__gte=start, created_at__lt=end,
        kind=AwardTransaction.Kind.AWARD, state=AwardTransaction.State.POSTED,
    ).order_by()


def rewards_paid_by_currency(*, program: Program, start: datetime,
                             end: datetime) -> dict[str, Decimal]:
    """{currency code: amount paid} in [start, end); every currency of the program, 0 where
    nothing was paid."""
    codes = dict(Currency.objects.filter(program=program).values_list("pk", "code"))
    totals = dict.fromkeys(sorted(codes.values()), Decimal(0))
    rows = (_awards_in(program=program, start=start, end=end).values("currency_id")
            .annotate(total=Sum("amount")).values_list("currency_id", "total"))
    for currency_id, total in rows:
        totals[codes[currency_id]] = total
    return totals


def rewards_paid_by_day(*, program: Program, start: datetime, end: datetime,
                        tz: ZoneInfo) -> dict[str, dict[date, Decimal]]:
    """{currency code: {local day: amount paid}} in [start, end)."""
    codes = dict(Currency.objects.filter(program=program).values_list("pk", "code"))
    result: dict[str, dict[date, Decimal]] = {code: {} for code in sorted(codes.values())}
    rows = (_awards_in(program=program, start=start, end=end)
            .annotate(day=TruncDate("created_at", tzinfo=tz))
            .values("currency_id", "day").annotate(total=Sum("amount"))
            .values_list("currency_id", "day", "total"))
    for currency_id, day, total in rows:
        result[codes[currency_id]][day] = total
    return result
