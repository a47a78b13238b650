"""An activity event through the whole pipeline: progress, achievement event, award."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from achievements.models import AchievementProgress, ProgressContribution
from events.models import CustomerEvent
from loyalty.models import AwardTransaction, Customer, WalletBalance
from tests.achievements.factories import AchievementFactory
from tests.events.factories import RewardOfferFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def events_url(program):
    return f"/api/v1/programs/{program.pk}/events"


def purchase(customer="ann", at=NOW - timedelta(minutes=1), **fields):
    return {"customer": customer, "type": "PURCHASE", "performedOn": at.isoformat(),
            "amount": 10, **fields}


def test_event_counts_towards_matching_achievement_and_creates_customer(
    integration_client, events_url, campaign, program
):
    achievement = AchievementFactory(campaign=campaign, target=3, period="1D",
                                     event_types=["PURCHASE"])
    AchievementFactory(campaign=campaign, event_types=["CUSTOM"])

    response = integration_client.post(events_url, purchase(), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["number"] == CustomerEvent.objects.get(type="PURCHASE").number
    assert body["lifeCycleState"] == "POSTED"
    (effect,) = body["effects"]
    assert effect == {
        "effectType": "increaseAchievementProgress", "achievementId": achievement.pk,
        "achievementName": achievement.name, "progressTrackerId": effect["progressTrackerId"],
        "target": 3, "delta": 1, "value": 1, "isJustCompleted": False,
    }
    assert Customer.objects.filter(program=program, integration_id="ann").exists()


def test_completion_posts_achievement_event_and_pays_reward_offer(
    integration_client, events_url, campaign, program
):
    achievement = AchievementFactory(campaign=campaign, target=20, period="1D",
                                     progress_increment="event.amount")
    RewardOfferFactory(program=program, classifications=[achievement.classification],
                       award_value=50)

    integration_client.post(events_url, purchase(amount=15), format="json")
    response = integration_client.post(events_url, purchase(amount=7), format="json")

    body = response.json()
    types = [e["effectType"] for e in body["effects"]]
    assert types == ["increaseAchievementProgress", "achievementCustomerEvent",
                     "awardTransaction"]
    assert body["effects"][0]["isJustCompleted"] is True
    assert body["effects"][0]["value"] == 22
    achievement_event = CustomerEvent.objects.get(type="ACHIEVEMENT")
    assert achievement_event.classification == achievement.classification
    trigger = CustomerEvent.objects.get(pk=achievement_event.triggered_by_id)
    assert achievement_event.number > trigger.number
    assert WalletBalance.objects.get(customer__integration_id="ann").balance == 50
    detail = integration_client.get(f"{events_url}/{achievement_event.pk}").json()
    assert detail["totalAwardedAmount"] == 50
    assert [a["amount"] for a in detail["awardTransactions"]] == [50]


def test_replay_returns_original_result_without_new_effects(
    integration_client, events_url, campaign
):
    AchievementFactory(campaign=campaign, target=1, period="1D")
    body = purchase(externalSystem="POS", externalSystemReferenceNumber="R-1")

    first = integration_client.post(events_url, body, format="json")
    second = integration_client.post(events_url, body, format="json")

    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["effects"] == first.json()["effects"]
    assert CustomerEvent.objects.filter(type="PURCHASE").count() == 1
    assert ProgressContribution.objects.count() == 1


def test_idempotency_key_with_other_payload_returns_409(integration_client, events_url,
                                                        campaign):
    integration_client.post(events_url, purchase(amount=10), format="json",
                            HTTP_IDEMPOTENCY_KEY="k-1")

    response = integration_client.post(events_url, purchase(amount=11), format="json",
                                       HTTP_IDEMPOTENCY_KEY="k-1")

    assert response.status_code == 409
    assert CustomerEvent.objects.count() == 1


def test_event_more_than_5_minutes_in_future_returns_400(integration_client, events_url):
    response = integration_client.post(
        events_url, purchase(at=NOW + timedelta(minutes=6)), format="json"
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "performedOn"
    assert not CustomerEvent.objects.exists()
    assert not Customer.objects.exists()


def test_cancel_takes_back_progress_completion_and_award(integration_client, events_url,
                                                         campaign, program):
    achievement = AchievementFactory(campaign=campaign, target=2, period="1D",
                                     allow_rollback_after_completion=True)
    RewardOfferFactory(program=program, classifications=[achievement.classification])
    integration_client.post(events_url, purchase(), format="json")
    completing = integration_client.post(events_url, purchase(), format="json").json()

    response = integration_client.post(f"{events_url}/{completing['id']}/cancel",
                                       {"reason": "refund"}, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["lifeCycleState"] == "CANCELLED"
    types = [e["effectType"] for e in body["effects"]]
    assert types == ["rollbackIncreasedAchievementProgress", "achievementCustomerEventCancelled",
                     "awardTransactionCancelled"]
    record = AchievementProgress.objects.get()
    assert (record.progress, record.status, record.completion_date) == (1, "inprogress", None)
    assert WalletBalance.objects.get().balance == 0
    assert AwardTransaction.objects.filter(kind="cancellation", amount=-50).count() == 1
    again = integration_client.post(f"{events_url}/{completing['id']}/cancel", {},
                                    format="json")
    assert again.status_code == 200
    assert again.json()["effects"] == []
    assert AwardTransaction.objects.count() == 2


def test_cancel_refuses_achievement_event_laurel_posted(integration_client, events_url,
                                                        campaign):
    AchievementFactory(campaign=campaign, target=1, period="1D")
    integration_client.post(events_url, purchase(), format="json")
    achievement_event = CustomerEvent.objects.get(type="ACHIEVEMENT")

    response = integration_client.post(f"{events_url}/{achievement_event.pk}/cancel", {},
                                       format="json")

    assert response.status_code == 400
    assert "cannot be cancelled on its own" in response.json()["message"]
    achievement_event.refresh_from_db()
    assert achievement_event.life_cycle_state == "POSTED"


def test_achievement_event_carries_the_value_achieved(integration_client, events_url,
                                                      campaign, program):
    achievement = AchievementFactory(campaign=campaign, target=100, period="1M",
                                     progress_increment="event.amount")
    RewardOfferFactory(program=program, classifications=[achievement.classification],
                       award_type="PERCENTAGE", award_value=10)

    integration_client.post(events_url, purchase(amount=70), format="json")
    integration_client.post(events_url, purchase(amount=45), format="json")

    achievement_event = CustomerEvent.objects.get(type="ACHIEVEMENT")
    assert achievement_event.amount == 115
    assert WalletBalance.objects.get().balance == Decimal("11.5")


def test_event_body_matches_the_documented_serializer(integration_client, events_url, campaign,
                                                      program):
    from djangorestframework_camel_case.util import camelize

    from events.api.serializers import CustomerEventResultSerializer, event_body
    from events.selectors import awards_by_event

    achievement = AchievementFactory(campaign=campaign, target=1, period="1D")
    RewardOfferFactory(program=program, classifications=[achievement.classification])
    integration_client.post(events_url, purchase(udfDate1=NOW.isoformat(), udfFloat1=1.5,
                                                 attributes={"my_key": 1}), format="json")

    for event in CustomerEvent.objects.select_related("customer", "classification", "program"):
        awards = awards_by_event(event_ids=[event.pk])
        documented = CustomerEventResultSerializer(
            event, context={"awards_by_event": awards, "effects": event.effects}).data
        expected = camelize(documented, ignore_fields=("attributes",),
                            no_underscore_before_number=True)
        assert event_body(event, awards=awards.get(event.pk, []),
                          effects=event.effects) == dict(expected)


def test_event_older_than_the_programs_late_event_window_is_a_400_naming_performed_on(
    account_client, integration_client, events_url, program, campaign
):
    response = account_client.patch(f"/api/v1/programs/{program.pk}",
                                       {"lateEventWindow": "P7D"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["lateEventWindow"] == "P7DT00H00M00S"

    refused = integration_client.post(
        events_url, purchase(at=NOW - timedelta(days=7, seconds=1)), format="json")
    accepted = integration_client.post(
        events_url, purchase(at=NOW - timedelta(days=7)), format="json")

    assert refused.status_code == 400
    (error,) = refused.json()["errors"]
    assert error["field"] == "performedOn"
    assert "lateEventWindow (P7DT00H00M00S)" in error["message"]
    assert accepted.status_code == 201
    assert CustomerEvent.objects.count() == 1


def test_program_late_event_window_refuses_what_is_not_a_positive_iso_duration(
    account_client, program
):
    for value in ["7 days", "P0D", "-P1D", 7]:
        response = account_client.patch(f"/api/v1/programs/{program.pk}",
                                           {"lateEventWindow": value}, format="json")
        assert response.status_code == 400, value
        assert response.json()["errors"][0]["field"] == "lateEventWindow"
