"""Event time through the API: the same events sent to two customers, one in performedOn
order and one shuffled (one by one, over parallel connections, as one bulk), give identical
iterations, ACHIEVEMENT events and wallets, for every activation and recurrence policy.

Every test commits for real (`transaction=True`): the parallel sends use real threads.
"""

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from achievements.models import AchievementProgress, ProgressContribution
from events.models import CustomerEvent
from events.services import progress_recompute
from loyalty.models import ApiKey, Customer, WalletBalance
from tests.achievements.factories import AchievementFactory
from tests.conftest import client_for, make_key
from tests.events.factories import RewardOfferFactory
from tests.events.threads import Call, run_concurrently

pytestmark = pytest.mark.django_db(transaction=True)

AWARD = Decimal(10)
POLICIES = [
    ("user_action", "no_recurrence"), ("user_action", "on_expiration"),
    ("user_action", "on_completion"), ("fixed_schedule", "no_recurrence"),
    ("fixed_schedule", "on_expiration"), ("fixed_schedule", "on_completion"),
]
# Minutes after the base instant: a few days of activity with gaps and bursts, so windows
# open, close and (in the shuffled order) move.
OFFSETS = [0, 5, 65, 300, 1400, 1445, 1500, 2900, 2901, 2960, 4300, 4350]


@pytest.fixture
def raw_key(program):
    return make_key(scope=ApiKey.Scope.INTEGRATION, program=program).raw_key


@pytest.fixture
def base():
    return (timezone.now() - timedelta(days=5)).replace(minute=0, second=0, microsecond=0)


def _achievement(campaign, program, base, activation, recurrence):
    fields = {}
    if activation == "fixed_schedule":
        fields["fixed_start_date"] = base - timedelta(hours=6)
    achievement = AchievementFactory(campaign=campaign, target=3, period="1D",
                                     activation_policy=activation,
                                     recurrence_policy=recurrence,
                                     progress_increment="event.amount",
                                     allow_rollback_after_completion=True, **fields)
    RewardOfferFactory(program=program, award_value=AWARD,
                       classifications=[achievement.classification])
    return achievement


def _bodies(customer, base):
    rng = random.Random(7)
    return [{"customer": customer, "type": "PURCHASE",
             "performedOn": (base + timedelta(minutes=m)).isoformat(),
             "amount": rng.choice([1, 1, 2]), "externalSystem": "POS",
             "externalSystemReferenceNumber": f"{customer}-{n}"}
            for n, m in enumerate(OFFSETS)]


def _shuffled(bodies):
    shuffled = list(bodies)
    random.Random(11).shuffle(shuffled)
    assert shuffled != bodies
    return shuffled


def _outcome(program, achievement, customer):
    customer = Customer.objects.get(program=program, integration_id=customer)
    rows = [(r.sequence, r.window_start, r.start_date, r.end_date, r.progress, r.status,
             r.completion_date)
            for r in AchievementProgress.objects.filter(achievement=achievement,
                                                        customer=customer)
            .order_by("sequence")]
    goal_events = sorted(
        (e.performed_on, e.amount) for e in CustomerEvent.objects.filter(
            customer=customer, type="ACHIEVEMENT", life_cycle_state="POSTED"))
    wallet = WalletBalance.objects.filter(customer=customer).first()
    return rows, goal_events, wallet.balance if wallet else Decimal(0)


def _send_serially(client, url, bodies):
    for body in bodies:
        response = client.post(url, body, format="json")
        assert response.status_code == 201, response.json()


@pytest.mark.parametrize(("activation", "recurrence"), POLICIES)
@pytest.mark.parametrize("mode", ["one-by-one", "parallel", "bulk"])
def test_shuffled_events_give_the_same_results_as_sorted_ones(
        program, campaign, raw_key, base, activation, recurrence, mode):
    achievement = _achievement(campaign, program, base, activation, recurrence)
    client = client_for(make_key(scope=ApiKey.Scope.INTEGRATION, program=program))
    url = f"/api/v1/programs/{program.pk}/events"
    _send_serially(client, url, _bodies("sorted", base))

    shuffled = _shuffled(_bodies("shuffled", base))
    if mode == "one-by-one":
        _send_serially(client, url, shuffled)
    elif mode == "parallel":
        outcomes = run_concurrently(raw_key=raw_key, threads=6,
                                    calls=[Call(url, body) for body in shuffled])
        assert [o.status for o in outcomes] == [201] * len(shuffled)
    else:
        response = client.post(f"{url}/bulk", {"events": shuffled}, format="json")
        assert response.status_code == 200
        assert [r["status"] for r in response.json()["results"]] == [201] * len(shuffled)

    expected = _outcome(program, achievement, "sorted")
    assert expected[0], "the scenario must produce iterations"
    assert _outcome(program, achievement, "shuffled") == expected
    for customer in Customer.objects.filter(program=program):  # recompute finds nothing
        assert progress_recompute(customer=customer, achievements=[achievement],
                                  now=timezone.now(), dry_run=True).differences == []


@pytest.mark.parametrize("attempt", range(3))
def test_a_burst_of_192_events_for_one_customer_over_32_connections_counts_192(
        program, campaign, raw_key, base, attempt):
    achievement = AchievementFactory(campaign=campaign, target=1000, period="1D",
                                     event_types=["PURCHASE"])
    url = f"/api/v1/programs/{program.pk}/events"
    customer = f"burst-{attempt}"
    bodies = [{"customer": customer, "type": "PURCHASE",
               "performedOn": (base + timedelta(seconds=7 * n)).isoformat(), "amount": 1,
               "externalSystem": "POS", "externalSystemReferenceNumber": f"{customer}-{n}"}
              for n in range(192)]
    random.Random(attempt).shuffle(bodies)

    outcomes = run_concurrently(raw_key=raw_key, calls=[Call(url, body) for body in bodies])

    assert [o.status for o in outcomes] == [201] * 192
    (record,) = AchievementProgress.objects.filter(achievement=achievement,
                                                   customer__integration_id=customer)
    assert record.progress == 192
    assert record.start_date == base
    assert ProgressContribution.objects.filter(progress_record=record).count() == 192
