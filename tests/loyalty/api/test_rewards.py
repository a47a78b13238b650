"""Classifications, reward offers and the wallet: definitions over the API and how offers pay."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from events.services import event_cancel, event_ingest
from loyalty.models import AwardTransaction, RewardOffer, WalletBalance
from loyalty.services import wallet_adjust
from tests.achievements.factories import AchievementFactory
from tests.events.factories import ClassificationFactory, RewardOfferFactory
from tests.loyalty.factories import CurrencyFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 5, 20, 12, tzinfo=UTC)


def achievement_event(program, classification, *, at=NOW, amount=None, customer="ann", ref=None):
    data = {"customer": customer, "type": "ACHIEVEMENT", "classification": classification.code,
            "performed_on": at}
    if amount is not None:
        data["amount"] = Decimal(amount)
    if ref:
        data |= {"external_system": "CRM", "external_system_reference_number": ref}
    return event_ingest(program=program, data=data, now=NOW)


def balance(program, code="PTS", customer="ann"):
    row = WalletBalance.objects.filter(customer__integration_id=customer,
                                       currency__code=code).first()
    return row.balance if row else Decimal(0)


# Definitions over the API
# ------------------------------------------------------------------------------
def test_reward_offer_create_over_api_links_classifications_by_code(management_client, program):
    classification = ClassificationFactory(program=program, code="GOLD", event_type="ACHIEVEMENT")
    CurrencyFactory(program=program, code="STARS")

    response = management_client.post(
        f"/api/v1/programs/{program.pk}/reward-offers",
        {"name": "Gold stars", "code": "GOLD_STARS", "classifications": ["GOLD"],
         "awardType": "FIXED", "awardValue": 5, "currency": "STARS",
         "numberOfAwards": "ONLY_ONE"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    offer = RewardOffer.objects.get(code="GOLD_STARS")
    assert list(offer.classifications.all()) == [classification]
    assert offer.currency.code == "STARS"
    assert response.json()["awardValue"] == 5


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"classifications": ["NOPE"]}, "classifications"),
        ({"classifications": []}, "classifications"),
        ({"currency": "XYZ"}, "currency"),
        ({"awardValue": 0}, "awardValue"),
        ({"numberOfAwards": "ONLY_ONE_PER_PERIOD"}, "awardPeriod"),
        ({"validFrom": "2026-02-01T00:00:00Z", "validTo": "2026-01-01T00:00:00Z"}, "validTo"),
    ],
)
def test_reward_offer_create_returns_400_naming_field(management_client, program, overrides,
                                                      field):
    ClassificationFactory(program=program, code="GOLD")
    body = {"name": "Gold", "code": "G", "classifications": ["GOLD"], "awardValue": 5,
            "currency": "PTS", **overrides}

    response = management_client.post(f"/api/v1/programs/{program.pk}/reward-offers", body,
                                      format="json")

    assert response.status_code == 400, response.json()
    assert field in response.json()["message"] or any(
        e["field"] == field for e in response.json()["errors"]
    ), response.json()
    assert not RewardOffer.objects.exists()


def test_reward_offer_create_returns_409_when_code_taken(management_client, program):
    classification = ClassificationFactory(program=program)
    RewardOfferFactory(program=program, code="G", classifications=[classification])

    response = management_client.post(
        f"/api/v1/programs/{program.pk}/reward-offers",
        {"name": "Again", "code": "G", "classifications": [classification.code],
         "awardValue": 1, "currency": "PTS"},
        format="json",
    )

    assert response.status_code == 409


def test_classification_list_shows_achievement_classifications(management_client, program,
                                                               campaign):
    achievement = AchievementFactory(campaign=campaign)

    body = management_client.get(f"/api/v1/programs/{program.pk}/classifications").json()

    (row,) = body["results"]
    assert row["achievementId"] == achievement.pk
    assert row["eventType"] == "ACHIEVEMENT"


def test_wallet_lists_every_currency_and_the_ledger(integration_client, program):
    CurrencyFactory(program=program, code="STARS")
    classification = ClassificationFactory(program=program, event_type="ACHIEVEMENT")
    RewardOfferFactory(program=program, classifications=[classification], award_value=40)
    achievement_event(program, classification)

    body = integration_client.get(
        f"/api/v1/programs/{program.pk}/customers/ann/wallet"
    ).json()

    assert {b["currency"]: b["balance"] for b in body["balances"]} == {"PTS": 40, "STARS": 0}
    assert [(t["kind"], t["amount"]) for t in body["transactions"]] == [("award", 40)]


def test_wallet_returns_404_for_unknown_customer(integration_client, program):
    response = integration_client.get(f"/api/v1/programs/{program.pk}/customers/nobody/wallet")

    assert response.status_code == 404


# How offers pay
# ------------------------------------------------------------------------------
def test_offer_pays_every_event_when_multiple(program):
    classification = ClassificationFactory(program=program)
    RewardOfferFactory(program=program, classifications=[classification], award_value=10)

    achievement_event(program, classification, ref="a")
    achievement_event(program, classification, ref="b")

    assert balance(program) == 20


def test_offer_pays_once_per_customer_when_only_one(program):
    classification = ClassificationFactory(program=program)
    RewardOfferFactory(program=program, classifications=[classification], award_value=10,
                       number_of_awards="ONLY_ONE")

    achievement_event(program, classification, ref="a")
    achievement_event(program, classification, ref="b")
    achievement_event(program, classification, ref="c", customer="bob")

    assert balance(program) == 10
    assert balance(program, customer="bob") == 10


def test_offer_pays_once_per_local_month_when_only_one_per_period(program):
    # program time zone is Europe/Amsterdam: 31 May 22:30 UTC is already June there
    classification = ClassificationFactory(program=program)
    RewardOfferFactory(program=program, classifications=[classification], award_value=10,
                       number_of_awards="ONLY_ONE_PER_PERIOD", award_period="MONTH")
    may = datetime(2026, 5, 10, tzinfo=UTC)

    achievement_event(program, classification, at=may, ref="a")
    achievement_event(program, classification, at=may + timedelta(days=5), ref="b")
    achievement_event(program, classification, at=datetime(2026, 4, 30, 22, 30, tzinfo=UTC),
                      ref="c")  # 1 May 00:30 in Amsterdam: same month as the first

    assert balance(program) == 10
    assert AwardTransaction.objects.get().award_key == "2026-05"


def test_offer_pays_percentage_of_event_amount(program):
    classification = ClassificationFactory(program=program)
    RewardOfferFactory(program=program, classifications=[classification], award_value=12.5,
                       award_type="PERCENTAGE")

    achievement_event(program, classification, amount="80")

    assert balance(program) == 10


def test_offer_waits_for_every_classification_when_all_should_exist(program):
    first = ClassificationFactory(program=program)
    second = ClassificationFactory(program=program)
    RewardOfferFactory(program=program, classifications=[first, second], award_value=10,
                       all_achievements_should_exist=True)

    achievement_event(program, first, ref="a")
    assert balance(program) == 0

    achievement_event(program, second, ref="b")
    assert balance(program) == 10


@pytest.mark.parametrize(
    "offer_fields",
    [
        {"state": "not_effective"},
        {"valid_from": NOW + timedelta(days=1)},
        {"valid_to": NOW - timedelta(days=1)},
    ],
)
def test_offer_pays_nothing_when_not_effective_or_outside_validity(program, offer_fields):
    classification = ClassificationFactory(program=program)
    RewardOfferFactory(program=program, classifications=[classification], award_value=10,
                       **({"valid_from": None} | offer_fields))

    achievement_event(program, classification)

    assert balance(program) == 0


def test_cancelling_achievement_event_reverses_award_with_ledger_row(program):
    classification = ClassificationFactory(program=program)
    RewardOfferFactory(program=program, classifications=[classification], award_value=10,
                       number_of_awards="ONLY_ONE")
    result = achievement_event(program, classification, ref="a")

    event_cancel(event=result.event, now=NOW, reason="posted by mistake")

    assert balance(program) == 0
    award, cancellation = AwardTransaction.objects.order_by("pk")
    assert (award.state, cancellation.kind, cancellation.amount) == ("CANCELLED",
                                                                      "cancellation", -10)
    assert cancellation.reverses == award
    # ONLY_ONE is free again once the award was cancelled
    achievement_event(program, classification, ref="b")
    assert balance(program) == 10


def test_wallet_adjust_records_who_and_why(program, admin_user):
    classification = ClassificationFactory(program=program)
    RewardOfferFactory(program=program, classifications=[classification], award_value=10)
    customer = achievement_event(program, classification).event.customer
    points = program.currencies.get(kind="points")

    row = wallet_adjust(customer=customer, currency=points, amount=Decimal("-3"),
                        reason="goodwill correction", acting_user=admin_user)

    assert (row.kind, row.created_by, row.reason) == ("correction", admin_user,
                                                      "goodwill correction")
    assert balance(program) == 7


@pytest.mark.parametrize(("amount", "reason", "field"),
                         [(Decimal(0), "x", "amount"), (Decimal(1), " ", "reason")])
def test_wallet_adjust_refuses_empty_corrections(program, amount, reason, field):
    from config.exceptions import ApplicationError
    from tests.loyalty.factories import CustomerFactory

    customer = CustomerFactory(program=program)

    with pytest.raises(ApplicationError) as excinfo:
        wallet_adjust(customer=customer, currency=program.currencies.get(kind="points"),
                      amount=amount, reason=reason, acting_user=None)

    assert excinfo.value.field == field
    assert not AwardTransaction.objects.exists()
