"""Reads for programs, campaigns, customers, currencies and API keys."""

from django.db.models import QuerySet

from loyalty.models import ApiKey, Campaign, Currency, Customer, Program


def api_key_get_active(*, key_hash: str) -> ApiKey | None:
    return (
        ApiKey.objects.select_related("program", "created_by")
        .filter(key_hash=key_hash, revoked_at__isnull=True)
        .first()
    )


def program_list(*, api_key: ApiKey | None = None) -> QuerySet[Program]:
    """Programs a caller may see: all for staff and account keys, its own for a program key."""
    qs = Program.objects.all()
    if api_key is not None and api_key.program_id is not None:
        qs = qs.filter(pk=api_key.program_id)
    return qs


def campaign_list(*, program: Program) -> QuerySet[Campaign]:
    return Campaign.objects.filter(program=program)


def customer_list(*, program: Program) -> QuerySet[Customer]:
    return Customer.objects.filter(program=program)


def currency_list(*, program: Program) -> QuerySet[Currency]:
    return Currency.objects.filter(program=program)
