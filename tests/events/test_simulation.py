"""POST /achievements/simulate: the same fold over stored events, writing nothing."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from achievements.models import AchievementProgress
from events.models import CustomerEvent
from events.services import event_ingest
from loyalty.models import AwardTransaction
from tests.achievements.factories import AchievementFactory
from tests.events.factories import RewardOfferFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
BASE = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
# ann: 3 events on day 1 (completes a target of 2 once), bob: one a day for 3 days,
# cy: 1 event.
EVENTS = {"ann": [0, 1, 2], "bob": [0, 24, 48], "cy": [5]}


@pytest.fixture
def url(program):
    return f"/api/v1/programs/{program.pk}/achievements/simulate"


@pytest.fixture
def achievement(program, campaign):
    achievement = AchievementFactory(campaign=campaign, target=2, period="1D",
                                     recurrence_policy="on_expiration")
    RewardOfferFactory(program=program, award_value=10,
                       classifications=[achievement.classification])
    for customer, hours in EVENTS.items():
        for n, hour in enumerate(hours):
            with time_machine.travel(NOW, tick=False):
                event_ingest(program=program, now=NOW, data={
                    "customer": customer, "type": "PURCHASE",
                    "performed_on": BASE + hour * HOUR, "amount": Decimal(10),
                    "external_system": "POS",
                    "external_system_reference_number": f"{customer}-{n}"})
    return achievement


def _counts():
    return (AchievementProgress.objects.count(), CustomerEvent.objects.count(),
            AwardTransaction.objects.count())


def test_simulate_an_existing_achievement_gives_what_ingestion_stored(
        management_client, url, achievement):
    before = _counts()

    response = management_client.post(url, {
        "achievementId": achievement.pk, "from": (BASE - HOUR).isoformat(),
        "to": NOW.isoformat()}, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    stored = AchievementProgress.objects.filter(achievement=achievement)
    assert body["completions"] == stored.filter(status="completed").count() == 1
    assert body["customers"] == 3
    assert body["events"] == 7
    assert (body["started"], body["completed"], body["inProgress"], body["expired"]) == (
        3, 1, 0, 2)
    assert body["rewards"] == {"PTS": 10}
    assert _counts() == before  # nothing written
    ann = next(s for s in body["sample"] if s["integrationId"] == "ann")
    assert [(i["sequence"], i["progress"], i["status"]) for i in ann["iterations"]] == [
        (1, 3, "completed")]
    assert ann["iterations"][0]["completionDate"] == (BASE + HOUR).isoformat().replace(
        "+00:00", "Z")


def test_simulate_a_changed_target_counts_what_the_change_would_do(
        management_client, url, achievement):
    response = management_client.post(url, {
        "achievementId": achievement.pk, "target": 1, "from": (BASE - HOUR).isoformat(),
        "to": NOW.isoformat()}, format="json")

    body = response.json()
    # target 1: every iteration completes: ann 1 (day 1), bob 3 (one a day), cy 1
    assert (body["completions"], body["completed"]) == (5, 3)
    assert body["rewards"] == {"PTS": 50}
    achievement.refresh_from_db()
    assert achievement.target == 2  # the stored definition is unchanged


def test_simulate_a_new_definition_pays_nothing_and_honours_the_range(
        management_client, url, achievement, campaign):
    response = management_client.post(url, {
        "campaignId": campaign.pk, "target": 3, "period": "1W",
        "from": (BASE + 12 * HOUR).isoformat(), "to": NOW.isoformat()}, format="json")

    body = response.json()
    assert response.status_code == 200, body
    # From BASE+12h only bob's two later events count (ann's and cy's are earlier).
    assert (body["customers"], body["events"], body["started"], body["completions"]) == (
        1, 2, 1, 0)
    assert body["rewards"] == {}


@pytest.mark.parametrize(("change", "field"), [
    ({"period": "3Q"}, "period"),
    ({"to": (BASE - 2 * HOUR).isoformat()}, "to"),
    ({"achievementId": 999999}, "achievementId"),
    ({"achievementId": None, "campaignId": None}, "campaignId"),
    ({"progressIncrement": "event.amount +"}, "progressIncrement"),
])
def test_simulate_refuses_a_bad_request_naming_the_field(
        management_client, url, achievement, change, field):
    body = {"achievementId": achievement.pk, "from": (BASE - HOUR).isoformat(),
            "to": NOW.isoformat(), **change}
    body = {k: v for k, v in body.items() if v is not None}

    response = management_client.post(url, body, format="json")

    assert response.status_code == 400, response.json()
    assert field in [e["field"] for e in response.json()["errors"]]


def test_simulate_needs_a_management_key(integration_client, url, achievement):
    response = integration_client.post(url, {
        "achievementId": achievement.pk, "from": BASE.isoformat(), "to": NOW.isoformat()},
        format="json")

    assert response.status_code == 403


def test_simulate_evaluates_full_expressions_over_the_event_and_its_customer(
        management_client, url, achievement, program):
    from loyalty.models import Customer

    Customer.objects.filter(program=program, integration_id="bob").update(
        attributes={"tier": "gold"})

    response = management_client.post(url, {
        "achievementId": achievement.pk, "target": 1,
        "progressCondition": 'event.amount >= 10.0 && customer.attributes.tier == "gold"',
        "from": (BASE - HOUR).isoformat(), "to": NOW.isoformat()}, format="json")

    body = response.json()
    assert response.status_code == 200, body
    # Only bob (gold) counts: one completion a day for his three days.
    assert (body["started"], body["completions"]) == (1, 3)
    assert [s["integrationId"] for s in body["sample"]] == ["bob"]
