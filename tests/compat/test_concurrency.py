"""The adapters under real concurrency: threads on PostgreSQL, each with its own connection
(the harness of tests/events/threads.py), committing for real."""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from achievements.models import AchievementProgress, Enrolment
from events.models import CustomerEvent
from loyalty.models import ApiKey, AwardTransaction, WalletBalance
from tests.achievements.factories import AchievementFactory
from tests.conftest import make_key
from tests.events.factories import ClassificationFactory, RewardOfferFactory
from tests.events.threads import Call, run_concurrently

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 8
CRM = "/crmapi/rest/v2/customer_events/achievements/create"


@pytest.fixture
def paid_classification(program):
    classification = ClassificationFactory(program=program, code="7DS",
                                           event_type="ACHIEVEMENT")
    RewardOfferFactory(program=program, classifications=[classification], award_value=50)
    return classification


def crm_body(reference: str, customer: str = "ACR1") -> dict:
    return {"accounts_receivable_identifier": {"number": customer},
            "classification_identifier": {"alternative_code": "7DS"},
            "performed_on": (timezone.now() - timedelta(minutes=1)).strftime(
                "%Y-%m-%dT%H:%M:%S+00:00"),
            "external_system": "STREAKS", "external_system_reference_number": reference}


def test_crmcom_parallel_replays_of_one_event_pay_once(program, paid_classification):
    key = make_key(scope=ApiKey.Scope.INTEGRATION, program=program).raw_key
    body = crm_body("streak-42-level-1")
    outcomes = run_concurrently(raw_key=key, calls=[Call(CRM, body)] * 16, threads=THREADS)
    assert {o.body["status"]["code"] for o in outcomes} == {"OK"}
    assert len({o.body["data"]["id"] for o in outcomes}) == 1
    assert CustomerEvent.objects.count() == 1
    assert AwardTransaction.objects.count() == 1
    assert WalletBalance.objects.get().balance == 50


def test_crmcom_parallel_events_of_one_customer_all_pay(program, paid_classification):
    key = make_key(scope=ApiKey.Scope.INTEGRATION, program=program).raw_key
    calls = [Call(CRM, crm_body(f"ref-{i}")) for i in range(16)]
    outcomes = run_concurrently(raw_key=key, calls=calls, threads=THREADS)
    assert {o.body["status"]["code"] for o in outcomes} == {"OK"}
    assert CustomerEvent.objects.count() == 16
    assert WalletBalance.objects.get().balance == 16 * 50
    numbers = sorted(int(o.body["data"]["number"]) for o in outcomes)
    assert len(set(numbers)) == 16


def test_talon_one_parallel_events_count_exactly(program, campaign):
    achievement = AchievementFactory(campaign=campaign, target=100, period="1Y")
    key = make_key(scope=ApiKey.Scope.INTEGRATION, program=program).raw_key
    calls = [Call("/v2/events", {"profileId": "c1", "type": "visit"})] * 16
    # Talon.One events happen when they arrive: processed in lock order, not in arrival
    # order, yet the event-time fold counts every one of them in the one iteration.
    outcomes = run_concurrently(raw_key=key, calls=calls, threads=THREADS)
    assert {o.status for o in outcomes} == {200}
    values = Counter(o.body["effects"][0]["props"]["value"] for o in outcomes)
    assert sorted(values) == list(range(1, 17)) and set(values.values()) == {1}
    assert AchievementProgress.objects.get(achievement=achievement).progress == 16


def test_capillary_parallel_enrolments_enrol_once(program):
    from achievements.services import target_group_create
    now = timezone.now()
    group = target_group_create(
        program=program, name="Daily", tracking_type="STREAKS", frequency_type="CUSTOM",
        targets=[{"name": "Daily", "target_entity": "TRANSACTION", "target_type": "COUNT",
                  "enrolment_method": "IMPORT", "default_values": [1, 1]}],
        periods=[{"ref_code": f"C{i}", "start_date": now + timedelta(days=i - 1),
                  "end_date": now + timedelta(days=i)} for i in range(2)],
        streaks=[{"name": "Two", "target_count_of_sequence": 2}])
    target = group.targets.get()
    key = make_key(scope=ApiKey.Scope.MANAGEMENT, program=program).raw_key
    url = f"/v3/targetGroups/{group.pk}/targets/{target.pk}/enroll"
    outcomes = run_concurrently(raw_key=key, calls=[Call(url, [{"customerId": 7}])] * 8,
                                threads=THREADS)
    statuses = Counter(o.status for o in outcomes)
    assert statuses[200] == 1 and statuses[400] == 7
    assert {o.body["errors"][0]["code"] for o in outcomes if o.status == 400} == {310119}
    assert Enrolment.objects.count() == 1
