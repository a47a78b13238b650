"""Cancelling says what it took back and what it kept, and its messages say the truth."""

from datetime import UTC, datetime, timedelta

import pytest

from events.models import CustomerEvent
from loyalty.models import AwardTransaction
from tests.achievements.factories import AchievementFactory
from tests.events.factories import RewardOfferFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def events_url(program):
    return f"/api/v1/programs/{program.pk}/events"


def purchase(client, url):
    response = client.post(url, {"customer": "ann", "type": "PURCHASE", "amount": 10,
                                 "performedOn": (NOW - timedelta(minutes=1)).isoformat()},
                           format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def paying_achievement(campaign, program, *, rollback: bool):
    achievement = AchievementFactory(campaign=campaign, target=2, period="1D",
                                     allow_rollback_after_completion=rollback)
    RewardOfferFactory(program=program, classifications=[achievement.classification],
                       award_value=50)
    return achievement


def test_cancel_says_completion_and_award_kept_when_rollback_after_completion_not_allowed(
    integration_client, events_url, campaign, program
):
    # given
    achievement = paying_achievement(campaign, program, rollback=False)
    purchase(integration_client, events_url)
    completing = purchase(integration_client, events_url)

    # when
    response = integration_client.post(f"{events_url}/{completing['id']}/cancel",
                                       {"reason": "refund"}, format="json")

    # then
    assert response.status_code == 200, response.json()
    body = response.json()
    kinds = [e["effectType"] for e in body["effects"]]
    # the completion kept: reported by the engine (achievementCompletionKept) or, where the
    # engine says nothing, by the API (achievementProgressKept); then its event and award
    assert kinds[0] in {"achievementProgressKept", "achievementCompletionKept"}
    assert kinds[1:] == ["achievementCustomerEventKept", "awardTransactionKept"]
    assert body["effects"][0]["achievementId"] == achievement.pk
    assert body["effects"][2]["amount"] == 50
    assert "Kept its progress in 1 completed achievement iteration, 1 achievement event, " \
           "1 award" in body["message"]
    assert "does not allow rollback after completion" in body["message"]
    assert AwardTransaction.objects.filter(kind="cancellation").count() == 0


def test_cancel_says_what_it_took_back_when_rollback_allowed(integration_client, events_url,
                                                             campaign, program):
    paying_achievement(campaign, program, rollback=True)
    purchase(integration_client, events_url)
    completing = purchase(integration_client, events_url)

    response = integration_client.post(f"{events_url}/{completing['id']}/cancel", {},
                                       format="json")

    body = response.json()
    assert body["message"] == (
        f"Cancelled event #{completing['number']}: took back its progress in 1 achievement "
        "iteration; cancelled 1 achievement event; cancelled 1 award."
    )
    assert "Kept" not in body["message"]


def test_cancel_twice_says_nothing_changed(integration_client, events_url, campaign, program):
    paying_achievement(campaign, program, rollback=True)
    event = purchase(integration_client, events_url)
    integration_client.post(f"{events_url}/{event['id']}/cancel", {}, format="json")

    again = integration_client.post(f"{events_url}/{event['id']}/cancel", {}, format="json")

    assert again.status_code == 200
    assert again.json()["effects"] == []
    assert "already cancelled" in again.json()["message"]


def test_cancel_of_laurel_achievement_event_says_the_completion_is_kept_when_no_rollback(
    integration_client, events_url, campaign, program
):
    achievement = paying_achievement(campaign, program, rollback=False)
    purchase(integration_client, events_url)
    completing = purchase(integration_client, events_url)
    achievement_event = CustomerEvent.objects.get(type="ACHIEVEMENT")

    response = integration_client.post(f"{events_url}/{achievement_event.pk}/cancel", {},
                                       format="json")

    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["field"] == "id"
    assert f"posted by Laurel for event #{completing['number']}" in error["message"]
    assert f"keeps it too: The achievement {achievement.name} does not allow rollback" \
        in error["message"]
    achievement_event.refresh_from_db()
    assert achievement_event.life_cycle_state == "POSTED"


def test_cancel_of_laurel_achievement_event_says_cancelling_trigger_takes_it_back(
    integration_client, events_url, campaign, program
):
    paying_achievement(campaign, program, rollback=True)
    purchase(integration_client, events_url)
    purchase(integration_client, events_url)
    achievement_event = CustomerEvent.objects.get(type="ACHIEVEMENT")

    response = integration_client.post(f"{events_url}/{achievement_event.pk}/cancel", {},
                                       format="json")

    assert response.status_code == 400
    assert "takes it back, with its awards" in response.json()["message"]


def admin_messages(response):
    return [str(m) for m in response.context["messages"]]


def test_admin_cancel_says_what_it_kept_and_refuses_laurel_event_truthfully(
    admin_client, integration_client, events_url, campaign, program
):
    # given
    paying_achievement(campaign, program, rollback=False)
    purchase(integration_client, events_url)
    completing = purchase(integration_client, events_url)
    achievement_event = CustomerEvent.objects.get(type="ACHIEVEMENT")
    changelist = "/admin/events/customerevent/"

    # when
    refused = admin_client.post(changelist, {"action": "cancel_selected",
                                             "_selected_action": [achievement_event.pk]},
                                follow=True)
    cancelled = admin_client.post(changelist, {"action": "cancel_selected",
                                               "_selected_action": [completing["id"]]},
                                  follow=True)

    # then
    (refusal,) = admin_messages(refused)
    assert "cannot be cancelled on its own" in refusal
    assert "keeps it too" in refusal
    assert any("Kept its progress in 1 completed achievement iteration" in m
               for m in admin_messages(cancelled))
