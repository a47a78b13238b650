"""Schemathesis over the whole OpenAPI schema against a live server, with every key scope:
no server error, no response outside the schema, no undocumented status code. Then the
database invariants hold.

Bounded: a fixed seed (derandomized Hypothesis) and FUZZ_EXAMPLES examples per operation and
scope, without shrinking; about a minute in all.
"""

import contextlib
import os
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import schemathesis
from django.db.models import Q, Sum
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from achievements.models import AchievementProgress, ProgressContribution
from events.models import CustomerEvent
from loyalty.models import ApiKey, AwardTransaction, Currency, WalletBalance
from tests.achievements.factories import AchievementFactory
from tests.conftest import client_for, make_key
from tests.events.factories import RewardOfferFactory
from tests.loyalty.factories import CampaignFactory, ProgramFactory

pytestmark = pytest.mark.django_db(transaction=True)

# Bodies sent as text (NDJSON imports) are serialized as text/plain is.
schemathesis.serializer.alias("application/x-ndjson", "text/plain")

FUZZ_EXAMPLES = int(os.environ.get("LAUREL_FUZZ_EXAMPLES", "4"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
# Deletes last, so that the other operations meet the seeded rows first.
METHOD_ORDER = {"GET": 0, "POST": 1, "PUT": 2, "PATCH": 3, "DELETE": 4}


def seed_program():
    """A running program with an achievement that pays, and a customer who completed it."""
    program = ProgramFactory(name="Fuzz", time_zone="UTC")
    campaign = CampaignFactory(program=program, running=True)
    achievement = AchievementFactory(campaign=campaign, target=2, period="1D",
                                     allow_rollback_after_completion=True)
    RewardOfferFactory(program=program, classifications=[achievement.classification],
                       award_value=10)
    Currency.objects.create(program=program, code="STARS", name="Stars")
    integration = make_key(scope=ApiKey.Scope.INTEGRATION, program=program)
    client = client_for(integration)
    now = datetime.now(UTC)
    for minutes in (30, 20, 10):
        response = client.post(f"/api/v1/programs/{program.pk}/events", {
            "customer": "ann", "type": "PURCHASE", "amount": 5,
            "performedOn": (now - timedelta(minutes=minutes)).isoformat(),
        }, format="json")
        assert response.status_code == 201, response.json()
    ids = {
        "programs": program.pk,
        "campaigns": campaign.pk,
        "achievements": achievement.pk,
        "currencies": program.currencies.get(code="STARS").pk,
        "classifications": achievement.classification_id,
        "reward-offers": program.reward_offers.get().pk,
        "events": CustomerEvent.objects.filter(program=program).order_by("pk").first().pk,
    }
    keys = {
        "account": make_key(scope=ApiKey.Scope.ACCOUNT),
        "management": make_key(scope=ApiKey.Scope.MANAGEMENT, program=program),
        "integration": integration,
    }
    return program, keys, ids


def fuzz_operation(operation, *, base_url: str, program_id: int, raw_key: str,
                   mode: GenerationMode, ids: dict | None = None) -> list[str]:
    failures: list[str] = []
    started = time.monotonic()
    path_parameters = {"programId": program_id} if "{programId}" in operation.path else {}
    if ids is not None:  # the seeded rows, so that reads and writes meet real resources
        tokens = operation.path.split("/")
        if "{id}" in tokens:
            resource = tokens[tokens.index("{id}") - 1]
            if resource in ids:
                path_parameters["id"] = ids[resource]
        if "{integrationId}" in tokens:
            path_parameters["integrationId"] = "ann"
        if "{achievementId}" in tokens:
            path_parameters["achievementId"] = ids["achievements"]
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters,
                                     headers={"Authorization": f"Bearer {raw_key}"})

    @given(case=strategy)
    @settings(max_examples=FUZZ_EXAMPLES, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    def run(case):
        try:
            case.call_and_validate(base_url=base_url, checks=CHECKS, timeout=30)
        except (Exception, BaseExceptionGroup) as exc:  # collect every failure, report all
            failures.append(f"{operation.method.upper()} {operation.path} ({mode.value}): "
                            f"{str(exc).strip()[:1500]}")

    with contextlib.suppress(Unsatisfiable):  # nothing to negate (no inputs)
        run()
    if os.environ.get("LAUREL_FUZZ_TIMINGS"):
        print(f"{time.monotonic() - started:6.2f}s {mode.value} {operation.method} "
              f"{operation.path}")
    return failures


def assert_invariants():
    # progress equals its contributions
    for record in AchievementProgress.objects.all():
        live = ProgressContribution.objects.filter(progress_record=record,
                                                   reversed_at__isnull=True)
        total = live.aggregate(total=Sum("delta"))["total"] or Decimal(0)
        assert record.progress == total, (record.pk, record.progress, total)
    # one posted ACHIEVEMENT event per completion
    for record in AchievementProgress.objects.filter(status="completed"):
        posted = CustomerEvent.objects.filter(
            type=CustomerEvent.Type.ACHIEVEMENT, life_cycle_state="POSTED",
            external_system=CustomerEvent.LAUREL_SYSTEM,
            external_system_reference_number__startswith=(
                f"achievement:{record.achievement_id}:iteration:{record.pk}:"),
        )
        assert posted.count() == 1, (record.pk, list(posted.values_list("pk", flat=True)))
    # every award has its event
    for award in AwardTransaction.objects.filter(kind=AwardTransaction.Kind.AWARD):
        assert CustomerEvent.objects.filter(pk=award.customer_event_id,
                                            type=CustomerEvent.Type.ACHIEVEMENT).exists()
    # each wallet equals its ledger
    for balance in WalletBalance.objects.all():
        ledger = AwardTransaction.objects.filter(
            Q(customer_id=balance.customer_id) & Q(currency_id=balance.currency_id)
        ).aggregate(total=Sum("amount"))["total"] or Decimal(0)
        assert balance.balance == ledger, (balance.pk, balance.balance, ledger)


def test_api_answers_within_its_schema_for_every_key_scope(live_server):
    # given
    program, keys, ids = seed_program()
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/schema/?format=json")
    # The native API (the vendor adapters follow their vendors' contracts).
    operations = sorted((op for op in (result.ok() for result in schema.get_all_operations())
                         if op.path.startswith("/api/")),
                        key=lambda op: (METHOD_ORDER.get(op.method.upper(), 9), op.path))
    assert len(operations) > 50

    # when
    failures = [
        failure
        for mode, known in ((GenerationMode.POSITIVE, ids), (GenerationMode.POSITIVE, None),
                            (GenerationMode.NEGATIVE, None))
        for key in keys.values()
        for operation in operations
        for failure in fuzz_operation(operation, base_url=live_server.url,
                                      program_id=program.pk, raw_key=key.raw_key, mode=mode,
                                      ids=known)
    ]

    # then
    assert not failures, f"{len(failures)} failures:\n\n" + "\n\n".join(failures[:40])
    assert_invariants()
