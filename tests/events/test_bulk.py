"""POST /events/bulk: up to 1000 events, each stored or refused on its own."""

from datetime import UTC, datetime, timedelta

import pytest

from achievements.models import AchievementProgress, ProgressContribution
from events.models import CustomerEvent
from loyalty.models import ApiKey, Customer, WalletBalance
from tests.achievements.factories import AchievementFactory
from tests.conftest import client_for, make_key
from tests.events.factories import ClassificationFactory, RewardOfferFactory
from tests.loyalty.factories import CustomerFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def bulk_url(program):
    return f"/api/v1/programs/{program.pk}/events/bulk"


def purchase(reference: str, *, customer="ann", at=NOW - timedelta(minutes=1), **fields):
    return {"customer": customer, "type": "PURCHASE", "performedOn": at.isoformat(),
            "amount": 10, "externalSystem": "POS", "externalSystemReferenceNumber": reference,
            **fields}


def without(body: dict, key: str) -> dict:
    return {k: v for k, v in body.items() if k != key}


def _stored_references() -> set[str]:
    return set(CustomerEvent.objects.filter(type="PURCHASE")
               .values_list("external_system_reference_number", flat=True))


def _fields(result: dict) -> list[str]:
    return [error["field"] for error in result["errors"]]


def test_event_bulk_stores_valid_items_and_refuses_each_invalid_one_when_items_are_mixed(
    integration_client, bulk_url, campaign, program
):
    # given
    achievement = AchievementFactory(campaign=campaign, target=2, period="1D")
    RewardOfferFactory(program=program, classifications=[achievement.classification],
                       award_value=50)
    ClassificationFactory(program=program, code="COFFEE")
    customer = CustomerFactory(program=program, integration_id="ann")
    items = [
        purchase("B-0"),
        without(purchase("B-1"), "performedOn"),
        purchase("B-2", amount=-5),
        purchase("B-3", classification="NO-SUCH-CODE"),
        purchase("B-4", at=NOW + timedelta(minutes=6)),
        purchase("B-5", classification="COFFEE"),
    ]

    # when
    response = integration_client.post(bulk_url, {"events": items}, format="json")

    # then
    assert response.status_code == 200, response.json()
    results = response.json()["results"]
    assert [(r["index"], r["status"]) for r in results] == [
        (0, 201), (1, 400), (2, 400), (3, 400), (4, 400), (5, 201)
    ]
    assert [_fields(r) for r in results[1:5]] == [
        ["performedOn"], ["amount"], ["classification"], ["performedOn"]
    ]
    assert all("event" not in r for r in results[1:5])
    assert all("errors" not in r for r in (results[0], results[5]))
    first, last = results[0]["event"], results[5]["event"]
    assert first["externalSystemReferenceNumber"] == "B-0"
    assert [e["effectType"] for e in first["effects"]] == ["increaseAchievementProgress"]
    assert last["classification"] == "COFFEE"
    assert first["number"] < last["number"]
    assert [e["effectType"] for e in last["effects"]] == [
        "increaseAchievementProgress", "achievementCustomerEvent", "awardTransaction"
    ]
    assert last["effects"][0]["isJustCompleted"] is True
    assert _stored_references() == {"B-0", "B-5"}
    assert CustomerEvent.objects.filter(type="ACHIEVEMENT").get().number > last["number"]
    record = AchievementProgress.objects.get(customer=customer)
    assert (record.progress, record.status) == (2, AchievementProgress.Status.COMPLETED)
    assert ProgressContribution.objects.count() == 2
    assert WalletBalance.objects.get(customer=customer).balance == 50


@pytest.mark.parametrize(
    ("item", "field"),
    [
        pytest.param(without(purchase("F-1", customer="ghost"), "performedOn"), "performedOn",
                     id="missing-performed-on"),
        pytest.param(purchase("F-2", customer="ghost", amount=-1), "amount",
                     id="negative-amount"),
        pytest.param(purchase("F-3", customer="ghost", at=NOW + timedelta(minutes=6)),
                     "performedOn", id="future-performed-on"),
        pytest.param(
            purchase("F-4", customer="ghost", classification="NO-SUCH-CODE"), "classification",
            id="unknown-classification",
        ),
    ],
)
def test_event_bulk_writes_nothing_for_item_when_item_is_refused(
    integration_client, bulk_url, campaign, program, item, field
):
    # given
    AchievementFactory(campaign=campaign, target=1, period="1D")

    # when
    response = integration_client.post(bulk_url, {"events": [item]}, format="json")

    # then
    assert response.status_code == 200, response.json()
    (result,) = response.json()["results"]
    assert (result["status"], _fields(result)) == (400, [field])
    assert not CustomerEvent.objects.exists()
    assert not AchievementProgress.objects.exists()
    assert not Customer.objects.filter(integration_id="ghost").exists()


def test_event_bulk_returns_original_event_with_200_when_item_is_replayed_in_later_bulk(
    integration_client, bulk_url, campaign
):
    # given
    AchievementFactory(campaign=campaign, target=5, period="1D")
    original = integration_client.post(bulk_url, {"events": [purchase("R-1")]},
                                       format="json").json()["results"][0]

    # when
    response = integration_client.post(
        bulk_url, {"events": [purchase("R-1"), purchase("R-2")]}, format="json"
    )

    # then
    assert response.status_code == 200, response.json()
    replayed, fresh = response.json()["results"]
    assert (original["status"], replayed["status"], fresh["status"]) == (201, 200, 201)
    assert replayed["event"]["id"] == original["event"]["id"]
    assert replayed["event"]["number"] == original["event"]["number"]
    assert replayed["event"]["effects"] == original["event"]["effects"]
    assert fresh["event"]["number"] > original["event"]["number"]
    assert CustomerEvent.objects.count() == 2
    assert AchievementProgress.objects.get().progress == 2


def test_event_bulk_answers_second_copy_with_200_when_item_repeats_within_one_bulk(
    integration_client, bulk_url, campaign
):
    # given
    AchievementFactory(campaign=campaign, target=5, period="1D")

    # when
    response = integration_client.post(
        bulk_url, {"events": [purchase("R-1"), purchase("R-1")]}, format="json"
    )

    # then
    first, second = response.json()["results"]
    assert (first["status"], second["status"]) == (201, 200)
    assert second["event"]["id"] == first["event"]["id"]
    assert AchievementProgress.objects.get().progress == 1


def test_event_bulk_refuses_item_with_409_when_reference_was_used_for_other_payload(
    integration_client, bulk_url, campaign
):
    # given
    integration_client.post(bulk_url, {"events": [purchase("R-1", amount=10)]}, format="json")

    # when
    response = integration_client.post(
        bulk_url, {"events": [purchase("R-1", amount=11), purchase("R-2")]}, format="json"
    )

    # then
    conflict, fresh = response.json()["results"]
    assert (conflict["status"], _fields(conflict)) == (409, ["externalSystemReferenceNumber"])
    assert fresh["status"] == 201
    assert CustomerEvent.objects.get(external_system_reference_number="R-1").amount == 10
    assert _stored_references() == {"R-1", "R-2"}


def test_event_bulk_returns_400_naming_events_when_more_than_1000_items(
    integration_client, bulk_url, campaign
):
    # given
    items = [purchase(f"R-{i}") for i in range(1001)]

    # when
    response = integration_client.post(bulk_url, {"events": items}, format="json")

    # then
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["events"]
    assert not CustomerEvent.objects.exists()
    assert not Customer.objects.exists()


@pytest.mark.parametrize("body", [{"events": []}, {}, {"events": "none"}],
                         ids=["empty-list", "missing", "not-a-list"])
def test_event_bulk_returns_400_naming_events_when_events_is_empty_or_missing(
    integration_client, bulk_url, body
):
    # when
    response = integration_client.post(bulk_url, body, format="json")

    # then
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["events"]


def test_event_bulk_returns_403_when_key_is_a_management_key(
    management_client, bulk_url, campaign
):
    # given
    AchievementFactory(campaign=campaign, target=1, period="1D")

    # when
    response = management_client.post(bulk_url, {"events": [purchase("R-1")]}, format="json")

    # then
    assert response.status_code == 403
    assert not CustomerEvent.objects.exists()
    assert not Customer.objects.exists()


def test_event_bulk_returns_404_when_key_belongs_to_another_program(
    other_program, bulk_url, campaign
):
    # given
    client = client_for(make_key(scope=ApiKey.Scope.INTEGRATION, program=other_program))

    # when
    response = client.post(bulk_url, {"events": [purchase("R-1")]}, format="json")

    # then
    assert response.status_code == 404
    assert not CustomerEvent.objects.exists()
    assert not Customer.objects.exists()


def test_event_bulk_stores_events_when_key_is_an_account_key(account_client, bulk_url, campaign):
    # when
    response = account_client.post(bulk_url, {"events": [purchase("R-1")]}, format="json")

    # then
    assert [r["status"] for r in response.json()["results"]] == [201]
    assert _stored_references() == {"R-1"}
