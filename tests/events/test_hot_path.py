"""The ingest and read hot paths: per-process caches that must follow every definition change,
and the round trips an event or a read may cost (counted, so a regression shows)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from events.models import CustomerEvent
from events.services import event_ingest
from loyalty.models import AwardTransaction, Program, WalletBalance
from loyalty.services import program_update, reward_offer_update
from tests.achievements.factories import AchievementFactory
from tests.events.factories import ClassificationFactory, RewardOfferFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

NOW = datetime(2026, 6, 3, 12, 0, tzinfo=UTC)


def goal(program, classification, ref, customer="ann"):
    """An ACHIEVEMENT event with a classification: what pays reward offers."""
    return event_ingest(program=program, now=NOW, data={
        "customer": customer, "type": "ACHIEVEMENT", "classification": classification.code,
        "performed_on": NOW - timedelta(minutes=1), "external_system": "CRM",
        "external_system_reference_number": ref})


def paid(result) -> list:
    return [(e["currency"], e["amount"]) for e in result.effects
            if e["effectType"] == "awardTransaction"]


# Cached definitions follow every change
# ------------------------------------------------------------------------------
def test_offer_change_reaches_the_next_event_of_a_warm_process(program):
    classification = ClassificationFactory(program=program)
    offer = RewardOfferFactory(program=program, classifications=[classification],
                               award_value=10)
    assert paid(goal(program, classification, "a")) == [("PTS", 10)]  # cache now warm

    reward_offer_update(offer=offer, data={"award_value": Decimal(25)})
    assert paid(goal(program, classification, "b")) == [("PTS", 25)]

    reward_offer_update(offer=offer, data={"state": "not_effective"})
    assert paid(goal(program, classification, "c")) == []
    assert WalletBalance.objects.get().balance == 35


def test_classification_added_to_offer_pays_from_the_next_event(program):
    first, second = ClassificationFactory(program=program), ClassificationFactory(program=program)
    offer = RewardOfferFactory(program=program, classifications=[first], award_value=10)
    assert paid(goal(program, second, "a")) == []

    reward_offer_update(offer=offer, data={"classifications": [first, second]})

    assert paid(goal(program, second, "b")) == [("PTS", 10)]


def test_new_offer_and_deleted_offer_are_seen_at_once(program):
    classification = ClassificationFactory(program=program)
    assert paid(goal(program, classification, "a")) == []

    offer = RewardOfferFactory(program=program, classifications=[classification],
                               award_value=5)
    assert paid(goal(program, classification, "b")) == [("PTS", 5)]

    AwardTransaction.objects.all().delete()  # the ledger protects offers that paid
    offer.delete()
    assert paid(goal(program, classification, "c")) == []


def test_points_code_change_reaches_award_effects(program):
    classification = ClassificationFactory(program=program)
    RewardOfferFactory(program=program, classifications=[classification], award_value=10)
    assert paid(goal(program, classification, "a")) == [("PTS", 10)]

    program_update(program=Program.objects.get(pk=program.pk), data={"currency_code": "STAR"})

    assert paid(goal(program, classification, "b")) == [("STAR", 10)]


def test_achievement_change_reaches_the_next_event_of_a_warm_process(program, campaign):
    achievement = AchievementFactory(campaign=campaign, target=100, period="1D",
                                     progress_increment="event.amount")

    def purchase(ref):
        result = event_ingest(program=program, now=NOW, data={
            "customer": "ann", "type": "PURCHASE", "amount": Decimal(10),
            "performed_on": NOW - timedelta(minutes=1), "external_system": "POS",
            "external_system_reference_number": ref})
        return [e["delta"] for e in result.effects]

    assert purchase("a") == [10]
    achievement.progress_increment = "2"
    achievement.save()
    assert purchase("b") == [2]


# Round trips
# ------------------------------------------------------------------------------
def _purchase(program, ref, customer="ann"):
    return event_ingest(program=program, now=NOW, data={
        "customer": customer, "type": "PURCHASE", "amount": Decimal(10),
        "performed_on": NOW - timedelta(minutes=1), "external_system": "POS",
        "external_system_reference_number": ref})


def test_repeat_event_costs_no_idempotency_select_and_no_sorted_unique_lookup(program,
                                                                             campaign):
    achievement = AchievementFactory(campaign=campaign, target=3, period="1D")
    RewardOfferFactory(program=program, classifications=[achievement.classification],
                       award_value=10)
    for ref in ("w1", "w2", "w3"):  # bob completes: definitions and offers now cached
        _purchase(program, ref, customer="bob")
    _purchase(program, "a")

    with CaptureQueriesContext(connection) as second:
        _purchase(program, "b")
    with CaptureQueriesContext(connection) as third:  # completes and pays
        result = _purchase(program, "c")

    assert [e["effectType"] for e in result.effects] == [
        "increaseAchievementProgress", "achievementCustomerEvent", "awardTransaction"]
    statements = [q["sql"] for q in second.captured_queries + third.captured_queries]
    # Idempotency rides on the INSERT's ON CONFLICT: no SELECT of events before it.
    assert not [s for s in statements if s.startswith('SELECT') and
                'FROM "events_customerevent"' in s]
    # Unique-key lookups carry no ORDER BY (which lets PostgreSQL walk the primary key).
    assert not [s for s in statements if "ORDER BY" in s and "LIMIT 1" in s]
    # BEGIN, lock customer, insert event, open iterations, save progress, contributions,
    # number, COMMIT; a completion adds its event, the award and the wallet.
    assert len(second.captured_queries) <= 8
    assert len(third.captured_queries) <= len(second.captured_queries) + 4


def test_replayed_event_is_found_after_the_insert_conflicts(program, campaign):
    AchievementFactory(campaign=campaign, target=5, period="1D")
    first = _purchase(program, "r-1")

    again = _purchase(program, "r-1")

    assert again.replayed and again.event.pk == first.event.pk
    assert again.effects == first.effects
    assert CustomerEvent.objects.count() == 1
    assert CustomerEvent.objects.get().number == first.event.number


def test_customer_achievements_read_costs_key_and_one_query(integration_client, program,
                                                            campaign):
    AchievementFactory.create_batch(3, campaign=campaign, target=5, period="1D")
    _purchase(program, "a")
    url = f"/api/v1/programs/{program.pk}/customers/ann/achievements"
    integration_client.get(url)  # definitions cached, key marked used

    with CaptureQueriesContext(connection) as read:
        response = integration_client.get(url)

    assert response.status_code == 200
    assert [a["status"] for a in response.json()["results"]] == ["inprogress"] * 3
    key, iterations = (q["sql"] for q in read.captured_queries)  # nothing else
    assert 'FROM "loyalty_apikey"' in key and '"loyalty_program"' in key  # program comes along
    assert 'FROM "achievements_achievementprogress"' in iterations
    assert '"loyalty_customer"."integration_id" = ' in iterations  # found by its unique key


def test_customer_achievements_of_customer_without_iterations_and_unknown_one(
        integration_client, program, campaign):
    AchievementFactory(campaign=campaign, target=5, period="1D")
    AchievementFactory(campaign=campaign, target=5, period="1D", event_types=["CUSTOM"])
    _purchase(program, "a")  # ann has one iteration
    from loyalty.services import customer_create

    customer_create(program=program, integration_id="new")
    base = f"/api/v1/programs/{program.pk}/customers"

    new = integration_client.get(f"{base}/new/achievements")
    unknown = integration_client.get(f"{base}/nobody/achievements")

    assert new.status_code == 200
    assert [a["status"] for a in new.json()["results"]] == ["not_started"] * 2
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "not_found"


def test_purchase_response_reads_no_ledger_and_achievement_event_shows_its_awards(
        integration_client, program, campaign):
    achievement = AchievementFactory(campaign=campaign, target=1, period="1D")
    RewardOfferFactory(program=program, classifications=[achievement.classification],
                       award_value=10)
    url = f"/api/v1/programs/{program.pk}/events"
    body = {"customer": "ann", "type": "PURCHASE", "amount": 5,
            "performedOn": (NOW - timedelta(minutes=1)).isoformat()}

    with CaptureQueriesContext(connection) as posted:
        response = integration_client.post(url, body, format="json")

    assert response.status_code == 201
    assert response.json()["awardTransactions"] == []
    # The ledger is written (the completion pays) but not read back for the purchase.
    statements = [q["sql"] for q in posted.captured_queries]
    assert any(s.startswith('INSERT INTO "loyalty_awardtransaction"') for s in statements)
    assert not any(s.startswith("SELECT") and 'FROM "loyalty_awardtransaction"' in s
                   for s in statements)
    achievement_event = CustomerEvent.objects.get(type="ACHIEVEMENT")
    detail = integration_client.get(f"{url}/{achievement_event.pk}").json()
    assert [(a["amount"], a["currency"]) for a in detail["awardTransactions"]] == [(10, "PTS")]
    assert detail["totalAwardedAmount"] == 10
