"""Ingestion under real concurrency: threads on PostgreSQL, each with its own connection.

Every test commits for real (`transaction=True`). Requests start together behind a barrier
and go through the API, so the customer lock, the event-number counter and the unique
constraints are what keep the results exact. The clock is not pinned: events carry a
`performedOn` one minute in the past, the same for every event of a test, so arrival
order cannot move iteration windows.
"""

from collections import Counter
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db.models import Sum
from django.utils import timezone

from achievements.models import Achievement, AchievementProgress, ProgressContribution
from events.models import CustomerEvent
from loyalty.models import ApiKey, AwardTransaction, Customer, WalletBalance
from tests.achievements.factories import AchievementFactory
from tests.conftest import make_key
from tests.events.factories import RewardOfferFactory
from tests.events.threads import Call, api_client, event_numbers, run_concurrently, send
from tests.events.threads import failures as _failures
from tests.loyalty.factories import CustomerFactory

pytestmark = pytest.mark.django_db(transaction=True)

AWARD = Decimal(50)
PURCHASE = CustomerEvent.Type.PURCHASE
POSTED = CustomerEvent.LifeCycleState.POSTED


@pytest.fixture
def raw_key(program) -> str:
    return make_key(scope=ApiKey.Scope.INTEGRATION, program=program).raw_key


@pytest.fixture
def events_url(program) -> str:
    return f"/api/v1/programs/{program.pk}/events"


@pytest.fixture
def performed_on():
    return timezone.now() - timedelta(minutes=1)


def purchase(*, customer: str, at, reference: str = "", **fields) -> dict[str, Any]:
    body = {"customer": customer, "type": "PURCHASE", "performedOn": at.isoformat(),
            "amount": 10, **fields}
    if reference:
        body |= {"externalSystem": "POS", "externalSystemReferenceNumber": reference}
    return body


def _balance(customer: Customer) -> Decimal:
    wallet = WalletBalance.objects.filter(customer=customer).first()
    return wallet.balance if wallet else Decimal(0)


def _ledger_sum(customer: Customer) -> Decimal:
    total = AwardTransaction.objects.filter(customer=customer).aggregate(total=Sum("amount"))
    return total["total"] or Decimal(0)


# Many events for one customer at once
# ------------------------------------------------------------------------------
@pytest.mark.parametrize(("capped", "expected_progress"), [(False, 200), (True, 150)],
                         ids=["uncapped", "capped"])
def test_event_ingest_counts_every_event_and_completes_once_when_32_threads_post_for_one_customer(
    program, campaign, raw_key, events_url, performed_on, capped, expected_progress
):
    # given
    achievement = AchievementFactory(campaign=campaign, target=150, period="1D",
                                     event_types=["PURCHASE"], is_capped_by_target=capped)
    RewardOfferFactory(program=program, classifications=[achievement.classification],
                       award_value=AWARD)
    customer = CustomerFactory(program=program, integration_id="ann")
    calls = [Call(events_url, purchase(customer="ann", at=performed_on, reference=f"R-{i}"))
             for i in range(200)]

    # when
    outcomes = run_concurrently(raw_key=raw_key, calls=calls)

    # then
    assert Counter(o.status for o in outcomes) == {201: 200}, _failures(outcomes, 201)
    record = AchievementProgress.objects.get(achievement=achievement, customer=customer)
    assert record.progress == expected_progress
    assert record.status == AchievementProgress.Status.COMPLETED
    assert ProgressContribution.objects.filter(progress_record=record).count() == (
        expected_progress
    )
    completions = [e for o in outcomes for e in o.body["effects"] if e.get("isJustCompleted")]
    assert [e["value"] for e in completions] == [150]
    achievement_event = CustomerEvent.objects.get(type=CustomerEvent.Type.ACHIEVEMENT)
    assert achievement_event.classification_id == achievement.classification_id
    award = AwardTransaction.objects.get(kind=AwardTransaction.Kind.AWARD)
    assert (award.customer_event_id, award.amount) == (achievement_event.pk, AWARD)
    assert _balance(customer) == AWARD
    assert event_numbers(program) == list(range(1, 202))
    assert len({o.body["number"] for o in outcomes}) == 200


def test_event_ingest_completes_every_iteration_once_when_threads_post_on_completion_events(
    program, campaign, raw_key, events_url, performed_on
):
    # given
    achievement = AchievementFactory(
        campaign=campaign, target=10, period="1D", event_types=["PURCHASE"],
        recurrence_policy=Achievement.RecurrencePolicy.ON_COMPLETION,
    )
    RewardOfferFactory(program=program, classifications=[achievement.classification],
                       award_value=AWARD)
    customer = CustomerFactory(program=program, integration_id="ann")
    calls = [Call(events_url, purchase(customer="ann", at=performed_on, reference=f"R-{i}"))
             for i in range(200)]

    # when
    outcomes = run_concurrently(raw_key=raw_key, calls=calls)

    # then
    assert Counter(o.status for o in outcomes) == {201: 200}, _failures(outcomes, 201)
    iterations = AchievementProgress.objects.filter(achievement=achievement, customer=customer)
    assert sorted(iterations.values_list("sequence", flat=True)) == list(range(1, 21))
    assert {(r.progress, r.status) for r in iterations} == {
        (Decimal(10), AchievementProgress.Status.COMPLETED)
    }
    achievement_events = CustomerEvent.objects.filter(type=CustomerEvent.Type.ACHIEVEMENT)
    assert achievement_events.count() == 20
    assert len(set(achievement_events.values_list("external_system_reference_number",
                                                  flat=True))) == 20
    awards = AwardTransaction.objects.filter(kind=AwardTransaction.Kind.AWARD)
    assert awards.count() == 20
    assert set(awards.values_list("customer_event_id", flat=True)) == set(
        achievement_events.values_list("pk", flat=True)
    )
    assert _balance(customer) == 20 * AWARD
    assert event_numbers(program) == list(range(1, 221))


def test_event_ingest_numbers_events_without_gaps_when_threads_post_for_many_customers(
    program, campaign, raw_key, events_url, performed_on
):
    # given
    achievement = AchievementFactory(campaign=campaign, target=2, period="1D")
    calls = [Call(events_url, purchase(customer=f"c-{i % 32}", at=performed_on))
             for i in range(64)]

    # when
    outcomes = run_concurrently(raw_key=raw_key, calls=calls)

    # then
    assert Counter(o.status for o in outcomes) == {201: 64}, _failures(outcomes, 201)
    assert Customer.objects.filter(program=program).count() == 32
    progress = AchievementProgress.objects.filter(achievement=achievement)
    assert sorted(progress.values_list("progress", flat=True)) == [Decimal(2)] * 32
    assert event_numbers(program) == list(range(1, 97))  # 64 purchases, 32 completions


# Replays racing each other
# ------------------------------------------------------------------------------
@pytest.mark.parametrize("customer_exists", [True, False], ids=["known-customer", "new-customer"])
@pytest.mark.parametrize("replay_by", ["external-reference", "idempotency-key"])
def test_event_ingest_stores_one_event_when_16_threads_replay_the_same_request(
    program, campaign, raw_key, events_url, performed_on, replay_by, customer_exists
):
    # given
    achievement = AchievementFactory(campaign=campaign, target=5, period="1D")
    if customer_exists:
        CustomerFactory(program=program, integration_id="ann")
    if replay_by == "external-reference":
        call = Call(events_url, purchase(customer="ann", at=performed_on, reference="R-1"))
    else:
        call = Call(events_url, purchase(customer="ann", at=performed_on),
                    headers={"HTTP_IDEMPOTENCY_KEY": "key-1"})

    # when
    outcomes = run_concurrently(raw_key=raw_key, calls=[call] * 16)

    # then
    assert sorted(o.status for o in outcomes) == [200] * 15 + [201], _failures(outcomes, 200, 201)
    assert len({o.body["id"] for o in outcomes}) == 1
    assert all(o.body["effects"] == outcomes[0].body["effects"] for o in outcomes)
    assert Customer.objects.filter(program=program, integration_id="ann").count() == 1
    event = CustomerEvent.objects.get(type=PURCHASE)
    assert event.pk == outcomes[0].body["id"]
    assert event.number is not None
    record = AchievementProgress.objects.get(achievement=achievement)
    assert record.progress == 1
    assert ProgressContribution.objects.count() == 1


# Cancels racing new events
# ------------------------------------------------------------------------------
def _post_serially(*, raw_key: str, events_url: str, performed_on, count: int,
                   prefix: str) -> list[int]:
    client = api_client(raw_key)
    ids = []
    for i in range(count):
        response = client.post(
            events_url, purchase(customer="ann", at=performed_on, reference=f"{prefix}-{i}"),
            format="json",
        )
        assert response.status_code == 201, response.content[:300]
        ids.append(response.json()["id"])
    return ids


def _cancel_and_post_calls(*, events_url: str, performed_on, cancel_ids: list[int],
                           new_events: int) -> tuple[list[Call], list[Call]]:
    cancels = [Call(f"{events_url}/{pk}/cancel", {"reason": "refund"}) for pk in cancel_ids]
    posts = [Call(events_url, purchase(customer="ann", at=performed_on, reference=f"NEW-{i}"))
             for i in range(new_events)]
    return cancels, posts


def _interleave(first: list[Call], second: list[Call]) -> list[Call]:
    calls = [c for pair in zip(first, second, strict=False) for c in pair]
    return calls + first[len(second):] + second[len(first):]


def assert_matches_serial_replay(*, customer: Customer, achievement: Achievement) -> None:
    """The state a serial replay of the POSTED purchases gives, for an uncapped one-time
    achievement with allowRollbackAfterCompletion and increment 1: progress is their count;
    the goal is completed (one posted ACHIEVEMENT event, one posted award) iff it reaches
    the target; the ledger sums to the wallet."""
    posted = CustomerEvent.objects.filter(customer=customer, type=PURCHASE,
                                          life_cycle_state=POSTED)
    completed = posted.count() >= achievement.target
    record = AchievementProgress.objects.get(achievement=achievement, customer=customer)
    assert record.progress == posted.count()
    assert record.status == (AchievementProgress.Status.COMPLETED if completed
                             else AchievementProgress.Status.INPROGRESS)
    live = ProgressContribution.objects.filter(progress_record=record, reversed_at__isnull=True)
    assert set(live.values_list("customer_event_id", flat=True)) == set(
        posted.values_list("pk", flat=True)
    )
    achievement_events = CustomerEvent.objects.filter(
        customer=customer, type=CustomerEvent.Type.ACHIEVEMENT, life_cycle_state=POSTED
    )
    assert achievement_events.count() == int(completed)
    awards = AwardTransaction.objects.filter(customer=customer, kind=AwardTransaction.Kind.AWARD,
                                             state=AwardTransaction.State.POSTED)
    assert awards.count() == int(completed)
    assert _balance(customer) == AWARD * int(completed)
    assert _ledger_sum(customer) == _balance(customer)
    assert AwardTransaction.objects.filter(
        customer=customer, kind=AwardTransaction.Kind.AWARD, state=AwardTransaction.State.CANCELLED
    ).count() == AwardTransaction.objects.filter(
        customer=customer, kind=AwardTransaction.Kind.CANCELLATION
    ).count()


@pytest.mark.parametrize(
    ("target", "completed"),
    [
        (5, True),  # completed by the 5th event, which is cancelled: never falls below
        (36, False),  # reachable only when all 12 new events come before any cancel
    ],
    ids=["completion-kept", "never-completed"],
)
def test_event_cancel_racing_new_events_ends_as_serial_replay_when_same_customer(
    program, campaign, raw_key, events_url, performed_on, target, completed
):
    # given
    achievement = AchievementFactory(campaign=campaign, target=target, period="",
                                     event_types=["PURCHASE"],
                                     allow_rollback_after_completion=True)
    RewardOfferFactory(program=program, classifications=[achievement.classification],
                       award_value=AWARD)
    ids = _post_serially(raw_key=raw_key, events_url=events_url, performed_on=performed_on,
                         count=24, prefix="OLD")
    cancels, posts = _cancel_and_post_calls(events_url=events_url, performed_on=performed_on,
                                            cancel_ids=ids[::2], new_events=12)

    # when
    outcomes = run_concurrently(raw_key=raw_key, calls=_interleave(cancels, posts))

    # then
    assert Counter(o.status for o in outcomes) == {200: 12, 201: 12}, _failures(outcomes, 200,
                                                                                201)
    customer = Customer.objects.get(integration_id="ann")
    assert CustomerEvent.objects.filter(customer=customer, type=PURCHASE,
                                        life_cycle_state=POSTED).count() == 24
    assert set(CustomerEvent.objects.filter(life_cycle_state="CANCELLED")
               .values_list("pk", flat=True)) == set(ids[::2])
    assert_matches_serial_replay(customer=customer, achievement=achievement)
    record = AchievementProgress.objects.get(achievement=achievement)
    assert (record.status == AchievementProgress.Status.COMPLETED) is completed
    numbers = event_numbers(program)
    assert numbers == list(range(1, len(numbers) + 1))
    assert len(numbers) >= 36 + int(completed)


def test_event_ingest_completes_again_when_completion_was_taken_back_by_cancel(
    program, campaign, raw_key, events_url, performed_on
):
    # given
    achievement = AchievementFactory(campaign=campaign, target=3, period="",
                                     allow_rollback_after_completion=True)
    RewardOfferFactory(program=program, classifications=[achievement.classification],
                       award_value=AWARD)
    ids = _post_serially(raw_key=raw_key, events_url=events_url, performed_on=performed_on,
                         count=3, prefix="OLD")
    client = api_client(raw_key)
    assert client.post(f"{events_url}/{ids[0]}/cancel", {}, format="json").status_code == 200

    # when
    outcome = send(client, Call(events_url, purchase(customer="ann", at=performed_on,
                                                       reference="NEW-0")))

    # then
    assert outcome.status == 201, outcome.body
    assert [e["effectType"] for e in outcome.body["effects"]] == [
        "increaseAchievementProgress", "achievementCustomerEvent", "awardTransaction"
    ]
    assert_matches_serial_replay(customer=Customer.objects.get(integration_id="ann"),
                                 achievement=achievement)


def test_event_cancel_racing_new_events_ends_as_serial_replay_when_completion_is_re_earned(
    program, campaign, raw_key, events_url, performed_on
):
    # given: 24 events complete the goal, one cancel takes the completion back
    achievement = AchievementFactory(campaign=campaign, target=24, period="",
                                     event_types=["PURCHASE"],
                                     allow_rollback_after_completion=True)
    RewardOfferFactory(program=program, classifications=[achievement.classification],
                       award_value=AWARD)
    ids = _post_serially(raw_key=raw_key, events_url=events_url, performed_on=performed_on,
                         count=24, prefix="OLD")
    client = api_client(raw_key)
    assert client.post(f"{events_url}/{ids[0]}/cancel", {}, format="json").status_code == 200
    cancels, posts = _cancel_and_post_calls(events_url=events_url, performed_on=performed_on,
                                            cancel_ids=ids[2::2], new_events=12)

    # when: 11 more cancels race 12 new events, so the goal must be completed again
    outcomes = run_concurrently(raw_key=raw_key, calls=_interleave(cancels, posts))

    # then
    assert Counter(o.status for o in outcomes) == {200: 11, 201: 12}, _failures(outcomes, 200,
                                                                                201)
    assert_matches_serial_replay(customer=Customer.objects.get(integration_id="ann"),
                                 achievement=achievement)
    assert AchievementProgress.objects.get(achievement=achievement).progress == 24


def test_event_cancel_takes_back_once_when_16_threads_cancel_the_same_event(
    program, campaign, raw_key, events_url, performed_on
):
    # given
    achievement = AchievementFactory(campaign=campaign, target=2, period="",
                                     allow_rollback_after_completion=True)
    RewardOfferFactory(program=program, classifications=[achievement.classification],
                       award_value=AWARD)
    ids = _post_serially(raw_key=raw_key, events_url=events_url, performed_on=performed_on,
                         count=2, prefix="OLD")
    cancel = Call(f"{events_url}/{ids[1]}/cancel", {"reason": "refund"})

    # when
    outcomes = run_concurrently(raw_key=raw_key, calls=[cancel] * 16)

    # then
    assert Counter(o.status for o in outcomes) == {200: 16}, _failures(outcomes, 200)
    assert sum(1 for o in outcomes if o.body["effects"]) == 1
    assert AwardTransaction.objects.filter(kind=AwardTransaction.Kind.CANCELLATION).count() == 1
    customer = Customer.objects.get(integration_id="ann")
    assert_matches_serial_replay(customer=customer, achievement=achievement)
    assert AchievementProgress.objects.get(achievement=achievement).progress == 1
