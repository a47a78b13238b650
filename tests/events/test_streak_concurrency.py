"""Streak targets under real concurrency: threads on PostgreSQL, each with its own connection
and its own APIClient, started together behind a barrier.

Every test commits for real (`transaction=True`). The clock is not pinned (threads share it):
cycles are laid out around the real "now" so that the running week is the third, and the two
before it are still in their grace period, so events for all three weeks count whatever order
they arrive in. The customer's first purchase is posted before the race, which fixes where her
(implicit) enrolment starts counting.
"""

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, connections, transaction
from django.db.models import Sum
from django.utils import timezone
from rest_framework.test import APIClient

from achievements.models import (
    CycleContribution,
    CycleProgress,
    Enrolment,
    StreakLevelAchievement,
    TargetGroup,
)
from achievements.services import target_group_create
from events.models import CustomerEvent
from loyalty.models import ApiKey, AwardTransaction, Customer, WalletBalance
from tests.conftest import make_key
from tests.events.factories import RewardOfferFactory
from tests.events.threads import Call, Outcome, api_client, event_numbers, send
from tests.events.threads import failures as _failures
from tests.events.threads import run_concurrently as run_threads

pytestmark = pytest.mark.django_db(transaction=True)

AWARD = Decimal(25)
WEEK = timedelta(days=7)
POSTED = CustomerEvent.LifeCycleState.POSTED


def _post(client: APIClient, url: str, body: dict[str, Any]) -> Outcome:
    return send(client, Call(url, body))


def run_concurrently(*, raw_key: str, calls: list[tuple[str, dict[str, Any]]]) -> list[Outcome]:
    """Thread i posts calls i, i + 32, ...; all threads start behind one barrier."""
    return run_threads(raw_key=raw_key, calls=[Call(url, body) for url, body in calls])


@pytest.fixture
def raw_key(program) -> str:
    return make_key(scope=ApiKey.Scope.INTEGRATION, program=program).raw_key


@pytest.fixture
def events_url(program) -> str:
    return f"/api/v1/programs/{program.pk}/events"


@pytest.fixture
def start():
    """Start of the first weekly cycle: the running cycle is the third."""
    return (timezone.now() - 2 * WEEK - timedelta(days=1)).replace(microsecond=0)


@pytest.fixture
def group(program, start):
    group = target_group_create(
        program=program, name="Weekly spend", tracking_type="STREAKS", frequency_type="WEEKLY",
        frequency=1, recurring_cycles=4, start_date=start, time_zone="UTC",
        grace_period=3 * WEEK,
        targets=[{"name": "Spend 100", "target_entity": "TRANSACTION", "target_type": "SALES",
                  "event_name": "PURCHASE", "default_values": [Decimal(100)] * 4}],
        streaks=[{"name": f"{n} weeks", "target_count_of_sequence": n} for n in (1, 2, 3)],
    )
    for level in group.levels.all():
        RewardOfferFactory(program=program, classifications=[level.classification],
                           award_value=AWARD)
    return group


def purchase(*, at, amount, reference: str, customer: str = "ann") -> dict[str, Any]:
    return {"customer": customer, "type": "PURCHASE", "performedOn": at.isoformat(),
            "amount": amount, "externalSystem": "POS", "externalSystemReferenceNumber": reference}


def _post_serially(*, raw_key: str, calls: list[tuple[str, dict[str, Any]]]) -> list[int]:
    client = api_client(raw_key)
    ids = []
    for url, body in calls:
        outcome = _post(client, url, body)
        assert outcome.status == 201, outcome.body
        ids.append(outcome.body["id"])
    return ids


def _balance(customer: Customer) -> Decimal:
    wallet = WalletBalance.objects.filter(customer=customer).first()
    return wallet.balance if wallet else Decimal(0)


def _ledger_sum(customer: Customer) -> Decimal:
    total = AwardTransaction.objects.filter(customer=customer).aggregate(total=Sum("amount"))
    return total["total"] or Decimal(0)


def assert_levels_held_once_and_paid_once(*, customer: Customer, group: TargetGroup,
                                          counts: list[int]) -> None:
    """Each level in `counts` is held once, by one posted ACHIEVEMENT event of its
    classification that carries one posted award; nothing else is posted; the wallet is the
    ledger's sum."""
    held = StreakLevelAchievement.objects.filter(enrolment__customer=customer,
                                                 revoked_at__isnull=True)
    assert sorted(held.values_list("level__target_count_of_sequence", flat=True)) == counts
    posted = CustomerEvent.objects.filter(customer=customer, type="ACHIEVEMENT",
                                          life_cycle_state=POSTED)
    level_classifications = dict(group.levels.values_list("classification_id",
                                                          "target_count_of_sequence"))
    assert sorted(level_classifications[c] for c in posted.values_list(
        "classification_id", flat=True)) == counts
    awards = AwardTransaction.objects.filter(customer=customer, kind=AwardTransaction.Kind.AWARD,
                                             state=AwardTransaction.State.POSTED)
    assert sorted(awards.values_list("customer_event_id", flat=True)) == sorted(
        posted.values_list("pk", flat=True))
    assert _balance(customer) == AWARD * len(counts)
    assert _ledger_sum(customer) == _balance(customer)
    assert AwardTransaction.objects.filter(
        customer=customer, kind=AwardTransaction.Kind.AWARD, state=AwardTransaction.State.CANCELLED
    ).count() == AwardTransaction.objects.filter(
        customer=customer, kind=AwardTransaction.Kind.CANCELLATION
    ).count()


# Many events for one customer at once
# ------------------------------------------------------------------------------
def test_event_ingest_counts_every_event_and_reaches_each_level_once_when_32_threads_post(
    program, group, raw_key, events_url, start
):
    # given: ann's first purchase enrols her from the first cycle
    _post_serially(raw_key=raw_key, calls=[
        (events_url, purchase(at=start + timedelta(hours=1), amount=1, reference="SEED"))])
    calls, expected = [], [Decimal(1), Decimal(0), Decimal(0)]
    for i in range(64):
        cycle, amount = i % 3, 6 + i % 4
        at = start + cycle * WEEK + timedelta(hours=2, minutes=i)
        calls.append((events_url, purchase(at=at, amount=amount, reference=f"R-{i}")))
        expected[cycle] += amount

    # when
    outcomes = run_concurrently(raw_key=raw_key, calls=calls)

    # then
    assert Counter(o.status for o in outcomes) == {201: 64}, _failures(outcomes, 201)
    customer = Customer.objects.get(integration_id="ann")
    enrolment = Enrolment.objects.get(group=group, customer=customer)
    cycles = CycleProgress.objects.filter(enrolment=enrolment).order_by("period__position")
    assert [c.value for c in cycles] == expected
    assert all(value >= 100 for value in expected)
    assert CycleContribution.objects.filter(cycle__enrolment=enrolment).count() == 65
    assert (enrolment.current_count, enrolment.longest_count) == (3, 3)
    reached = [e["streakLevelName"] for o in outcomes for e in o.body["effects"]
               if e["effectType"] == "streakLevelAchieved"]
    assert sorted(reached) == ["1 weeks", "2 weeks", "3 weeks"]
    assert not StreakLevelAchievement.objects.filter(revoked_at__isnull=False).exists()
    assert_levels_held_once_and_paid_once(customer=customer, group=group, counts=[1, 2, 3])
    assert CustomerEvent.objects.filter(type="ACHIEVEMENT").count() == 3
    assert event_numbers(program) == list(range(1, 1 + 64 + 3 + 1))


def test_event_cancel_racing_new_events_ends_as_serial_replay_when_a_level_dips(
    program, group, raw_key, events_url, start
):
    # given: weeks 1 and 2 met, and the running week by 16 purchases of 10 (levels 1 to 3)
    running = start + 2 * WEEK
    _post_serially(raw_key=raw_key, calls=[
        (events_url, purchase(at=start + timedelta(hours=1), amount=100, reference="W1")),
        (events_url, purchase(at=start + WEEK + timedelta(hours=1), amount=100, reference="W2")),
    ])
    ids = _post_serially(raw_key=raw_key, calls=[
        (events_url, purchase(at=running + timedelta(minutes=i), amount=10, reference=f"OLD-{i}"))
        for i in range(16)])
    cancels = [(f"{events_url}/{pk}/cancel", {"reason": "refund"}) for pk in ids[:10]]
    posts = [(events_url, purchase(at=running + timedelta(hours=1, minutes=i), amount=10,
                                   reference=f"NEW-{i}")) for i in range(10)]

    # when: 10 cancels race 10 new purchases (the week dips below 100, taking level 3 back,
    # when cancels come first)
    outcomes = run_concurrently(raw_key=raw_key,
                                calls=[c for pair in zip(cancels, posts, strict=True)
                                       for c in pair])

    # then
    assert Counter(o.status for o in outcomes) == {200: 10, 201: 10}, _failures(outcomes, 200,
                                                                                201)
    customer = Customer.objects.get(integration_id="ann")
    cycle = CycleProgress.objects.get(enrolment__customer=customer, period__position=2)
    live = CycleContribution.objects.filter(cycle=cycle, reversed_at__isnull=True)
    assert cycle.value == 160 == live.aggregate(total=Sum("delta"))["total"]
    assert set(live.values_list("customer_event_id", flat=True)) == set(
        CustomerEvent.objects.filter(customer=customer, type="PURCHASE", life_cycle_state=POSTED,
                                     performed_on__gte=running).values_list("pk", flat=True))
    assert Enrolment.objects.get(customer=customer).current_count == 3
    assert_levels_held_once_and_paid_once(customer=customer, group=group, counts=[1, 2, 3])
    numbers = event_numbers(program)
    assert numbers == list(range(1, len(numbers) + 1))


# Definitions racing each other
# ------------------------------------------------------------------------------
def _wait_until_a_lock_is_awaited(*, timeout: float = 10.0) -> bool:
    """True once some transaction waits on a lock (pg_locks is live, even inside a
    transaction)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
            if cursor.fetchone()[0]:
                return True
        time.sleep(0.05)
    return False


def test_target_group_create_returns_409_when_a_concurrent_create_took_the_name(program):
    # given: another transaction holds an uncommitted group of the same name
    raw_key = make_key(scope=ApiKey.Scope.MANAGEMENT, program=program).raw_key
    url = f"/api/v1/programs/{program.pk}/target-groups"
    body = {"name": "Weekly spend", "trackingType": "DEFAULT", "frequencyType": "CUSTOM",
            "periods": [{"refCode": "P1", "startDate": "2026-01-05T00:00:00Z",
                         "endDate": "2026-01-12T00:00:00Z"}],
            "targets": [{"name": "Buy", "targetEntity": "TRANSACTION", "targetType": "COUNT",
                         "defaultValues": [{"defaultValue": 1}]}]}
    barrier = threading.Barrier(2)
    outcomes: list[Outcome] = []

    def worker() -> None:
        try:
            client = api_client(raw_key)
            barrier.wait(timeout=30)
            outcomes.append(_post(client, url, body))
        finally:
            connections.close_all()

    # when: the request runs while that transaction is open, which then commits
    with ThreadPoolExecutor(max_workers=1) as pool:
        with transaction.atomic():
            TargetGroup.objects.create(program=program, name="WEEKLY SPEND",
                                       tracking_type="DEFAULT", frequency_type="WEEKLY")
            future = pool.submit(worker)
            barrier.wait(timeout=30)
            blocked = _wait_until_a_lock_is_awaited()
        future.result(timeout=60)

    # then
    assert blocked
    assert [o.status for o in outcomes] == [409], outcomes
    assert TargetGroup.objects.filter(program=program).count() == 1
