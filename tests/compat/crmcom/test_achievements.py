"""CRM.COM's customer_events/achievements/* over plain HTTP."""

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from events.models import CustomerEvent
from events.services import event_ingest
from loyalty.models import ApiKey, AwardTransaction, Customer, WalletBalance
from tests.achievements.factories import AchievementFactory
from tests.conftest import make_key
from tests.events.factories import ClassificationFactory, RewardOfferFactory
from tests.loyalty.factories import CurrencyFactory, CustomerFactory

pytestmark = pytest.mark.django_db

BASE = "/crmapi/rest/v2/customer_events/achievements"


def crm_client(api_key) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key.raw_key}")
    return client


@pytest.fixture
def crm(program):
    return crm_client(make_key(scope=ApiKey.Scope.INTEGRATION, program=program))


@pytest.fixture
def streak_class(program):
    return ClassificationFactory(program=program, code="7DS", name="7 Day Streak",
                                 event_type="ACHIEVEMENT")


@pytest.fixture
def offers(program, streak_class):
    stars = CurrencyFactory(program=program, code="STAR", name="Stars")
    return [
        RewardOfferFactory(program=program, classifications=[streak_class], award_value=50,
                           name="Streak bonus", code="SB"),
        RewardOfferFactory(program=program, classifications=[streak_class], award_value=5,
                           currency=stars, name="Streak stars", code="SS"),
    ]


def body(**overrides):
    return {
        "token": "4AD9C84FA60F9FE407140E20F707726A",
        "accounts_receivable_identifier": {"number": "ACR0000000164"},
        "classification_identifier": {"alternative_code": "7DS"},
        "performed_by_business_unit_identifier": {"name": "HQ"},
        "performed_on": "2024-05-01T10:00:00",
        "description": "Completed 7-day streak",
        "external_system": "STREAKS_ENGINE",
        "external_system_reference_number": "streak-42-level-1",
        "udf_string_1": "STREAK",
        "udf_float_1": 7,
        **overrides,
    }


def post(client, method, data):
    response = client.post(f"{BASE}/{method}", data, format="json")
    assert response.status_code == 200
    return response.json()


def nothing_written():
    return (CustomerEvent.objects.count(), AwardTransaction.objects.count(),
            Customer.objects.count()) == (0, 0, 0)


# create -------------------------------------------------------------------------------------
def test_create_posts_an_achievement_event_paid_by_its_offers(crm, program, offers):
    # when
    answer = post(crm, "create", body())
    # then
    assert answer["status"] == {"code": "OK", "message": "", "description": ""}
    data = answer["data"]
    event = CustomerEvent.objects.get()
    assert data["id"] == str(event.pk) and data["number"] == str(event.number)
    assert data["type"] == "ACHIEVEMENT" and data["life_cycle_state"] == "POSTED"
    assert data["performed_on"] == "2024-05-01T10:00:00"  # program local time (Amsterdam)
    assert event.performed_on.isoformat() == "2024-05-01T08:00:00+00:00"
    assert data["classification"]["alternative_code"] == "7DS"
    assert data["classification"]["name"] == "7 Day Streak"
    assert data["accounts_receivable"]["number"] == "ACR0000000164"
    assert data["performed_by_business_unit"]["name"] == "HQ"
    assert data["udf_string_1"] == "STREAK" and data["udf_float_1"] == 7
    assert data["external_system_reference_number"] == "streak-42-level-1"
    assert data["total_awarded_amount"] == 50.0
    assert data["total_awarded_alternative_amount"] == 5.0
    awards = data["award_reward_transactions_set"]
    assert sorted((a["reward_offer"]["alternative_code"], a["amount"], a["alternative_amount"],
                   a["life_cycle_state"]) for a in awards) == [
        ("SB", 50.0, 0.0, "POSTED"), ("SS", 0.0, 5.0, "POSTED")]
    customer = Customer.objects.get(integration_id="ACR0000000164")
    assert {b.currency.code: b.balance for b in WalletBalance.objects.filter(
        customer=customer)} == {"PTS": 50, "STAR": 5}


def test_create_replay_with_the_same_external_reference_pays_once(crm, offers):
    # given
    first = post(crm, "create", body())
    # when
    again = post(crm, "create", body())
    # then
    assert again["status"]["code"] == "OK"
    assert again["data"]["id"] == first["data"]["id"]
    assert CustomerEvent.objects.count() == 1
    assert AwardTransaction.objects.count() == 2
    assert again["data"]["total_awarded_amount"] == 50.0


def test_create_idempotency_key_header_replays(crm, offers):
    data = body(external_system=None, external_system_reference_number=None)
    first = crm.post(f"{BASE}/create", data, format="json", HTTP_IDEMPOTENCY_KEY="k-1").json()
    again = crm.post(f"{BASE}/create", data, format="json", HTTP_IDEMPOTENCY_KEY="k-1").json()
    assert again["data"]["id"] == first["data"]["id"]
    assert AwardTransaction.objects.count() == 2


def test_create_same_reference_with_other_data_is_refused(crm, offers):
    post(crm, "create", body())
    answer = post(crm, "create", body(description="Something else"))
    assert answer["status"]["code"] == "DUPLICATE_EXTERNAL_REFERENCE"
    assert answer["data"] is None
    assert CustomerEvent.objects.count() == 1


def test_create_fields_set_trims_the_answer(crm, offers):
    answer = post(crm, "create", body(fields_set="number,life_cycle_state,total_awarded_amount"))
    assert set(answer["data"]) == {"id", "number", "life_cycle_state", "total_awarded_amount"}


def test_create_resolves_customer_by_id_and_name_and_classification_by_id(crm, program,
                                                                         streak_class):
    customer = CustomerFactory(program=program, integration_id="c-1", name="Polina Kestora")
    by_id = post(crm, "create", body(accounts_receivable_identifier={"id": str(customer.pk)},
                                     classification_identifier={"id": streak_class.pk},
                                     external_system_reference_number="r-1"))
    by_name = post(crm, "create", body(
        accounts_receivable_identifier={"name": "Polina Kestora"},
        classification_identifier={"name": "7 Day Streak"},
        external_system_reference_number="r-2"))
    by_participant = post(crm, "create", body(
        rewards_participant_identifier={"number": "c-1"}, accounts_receivable_identifier=None,
        external_system_reference_number="r-3"))
    assert by_id["status"]["code"] == by_name["status"]["code"] == "OK"
    assert by_participant["status"]["code"] == "OK"
    assert by_id["data"]["accounts_receivable"]["number"] == "c-1"
    assert by_id["data"]["accounts_receivable"]["name"] == "c-1 Polina Kestora"
    assert by_name["data"]["accounts_receivable"]["id"] == str(customer.pk)
    assert CustomerEvent.objects.filter(customer=customer).count() == 3


@pytest.mark.parametrize(("overrides", "code", "description"), [
    ({"classification_identifier": None}, "MISSING_PARAMETER", "classification_identifier"),
    ({"performed_on": None}, "MISSING_PARAMETER", "performed_on"),
    ({"accounts_receivable_identifier": None}, "MISSING_PARAMETER",
     "accounts_receivable_identifier"),
    ({"accounts_receivable_identifier": {"number": "A", "name": "B"}}, "INVALID_IDENTIFIER",
     "accounts_receivable_identifier"),
    ({"accounts_receivable_identifier": {}}, "INVALID_IDENTIFIER",
     "accounts_receivable_identifier"),
    ({"accounts_receivable_identifier": {"code": "A"}}, "INVALID_IDENTIFIER",
     "accounts_receivable_identifier"),
    ({"accounts_receivable_identifier": {"id": "999999"}}, "NOT_FOUND",
     "accounts_receivable_identifier"),
    ({"classification_identifier": {"alternative_code": "NOPE"}}, "NOT_FOUND",
     "classification_identifier"),
    ({"classification_identifier": {"alternative_code": "BUY"}}, "INVALID_CLASSIFICATION",
     "classification_identifier"),
    ({"performed_on": "yesterday"}, "INVALID_VALUE", "performed_on"),
    ({"amount": -1}, "INVALID_VALUE", "amount"),
    ({"performed_on": "2999-01-01T00:00:00"}, "INVALID_VALUE", "performed_on"),
])
def test_create_refuses_bad_input_and_writes_nothing(crm, program, offers, overrides, code,
                                                     description):
    # given
    ClassificationFactory(program=program, code="BUY", event_type="PURCHASE")
    data = {k: v for k, v in body(**overrides).items() if v is not None}
    # when
    answer = post(crm, "create", data)
    # then
    assert answer["status"]["code"] == code
    assert answer["status"]["description"] == description
    assert answer["status"]["message"]
    assert answer["data"] is None
    assert nothing_written()


# auth ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("header", [None, "Bearer nope", "Basic Zm9vOmJhcg==", "Bearer "])
def test_every_method_needs_a_valid_key(offers, header):
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)
    for method in ("create", "cancel", "list"):
        answer = client.post(f"{BASE}/{method}", body(), format="json").json()
        assert answer["status"]["code"] == "INVALID_TOKEN", method
    answer = client.get(f"{BASE}/show", {"customer_event_identifier": "number=1"}).json()
    assert answer["status"]["code"] == "INVALID_TOKEN"
    assert nothing_written()


@pytest.mark.parametrize("scope", [ApiKey.Scope.MANAGEMENT, ApiKey.Scope.ACCOUNT])
def test_other_key_scopes_are_refused(program, offers, scope):
    client = crm_client(make_key(scope=scope, program=program if scope != "account" else None))
    answer = client.post(f"{BASE}/create", body(), format="json").json()
    assert answer["status"]["code"] == "INVALID_TOKEN"
    assert nothing_written()


def test_another_programs_event_is_not_found(crm, offers, other_program):
    other = crm_client(make_key(scope=ApiKey.Scope.INTEGRATION, program=other_program))
    ClassificationFactory(program=other_program, code="7DS", event_type="ACHIEVEMENT")
    number = post(other, "create", body())["data"]["number"]
    answer = crm.get(f"{BASE}/show", {"customer_event_identifier": f"number={number}"}).json()
    assert answer["status"]["code"] == "NOT_FOUND"
    cancel = post(crm, "cancel", {"customer_event_identifier": {"number": number}})
    assert cancel["status"]["code"] == "NOT_FOUND"
    assert CustomerEvent.objects.get().life_cycle_state == "POSTED"


# show ---------------------------------------------------------------------------------------
def test_show_by_number_or_id_with_fields_set(crm, offers):
    created = post(crm, "create", body())["data"]
    by_number = crm.get(f"{BASE}/show", {
        "token": "x", "customer_event_identifier": f"number={created['number']}",
        "fields_set": "id,life_cycle_state,total_awarded_alternative_amount"}).json()
    assert by_number == {"status": {"code": "OK", "message": "", "description": ""},
                         "data": {"id": created["id"], "life_cycle_state": "POSTED",
                                  "total_awarded_alternative_amount": 5.0}}
    by_id = crm.get(f"{BASE}/show", {"customer_event_identifier": f"id={created['id']}"}).json()
    assert by_id["data"] == created


@pytest.mark.parametrize(("identifier", "code"), [
    ("number=999", "NOT_FOUND"), ("306", "INVALID_IDENTIFIER"), ("code=1", "INVALID_IDENTIFIER"),
    (None, "MISSING_PARAMETER"),
])
def test_show_errors(crm, identifier, code):
    params = {"customer_event_identifier": identifier} if identifier else {}
    assert crm.get(f"{BASE}/show", params).json()["status"]["code"] == code


def test_show_refuses_a_non_achievement_event(crm, program):
    event = event_ingest(program=program, now=timezone.now(), data={
        "customer": "c", "type": "PURCHASE", "performed_on": timezone.now()}).event
    answer = crm.get(f"{BASE}/show", {"customer_event_identifier": f"id={event.pk}"}).json()
    assert answer["status"]["code"] == "NOT_FOUND"


# cancel -------------------------------------------------------------------------------------
def test_cancel_takes_the_awards_back(crm, offers):
    # given
    created = post(crm, "create", body())["data"]
    # when
    answer = post(crm, "cancel", {"token": "x", "customer_event_identifier": {
        "number": created["number"]}})
    # then
    assert answer["status"]["code"] == "OK"
    data = answer["data"]
    assert data["life_cycle_state"] == "CANCELLED"
    assert {a["life_cycle_state"] for a in data["award_reward_transactions_set"]} == {
        "CANCELLED"}
    assert data["total_awarded_amount"] == 50.0  # the history stays
    customer = Customer.objects.get(integration_id="ACR0000000164")
    assert {b.balance for b in WalletBalance.objects.filter(customer=customer)} == {0}
    # a second cancel is refused and changes nothing
    rows = AwardTransaction.objects.count()
    again = post(crm, "cancel", {"customer_event_identifier": {"id": created["id"]}})
    assert again["status"]["code"] == "INVALID_LIFE_CYCLE_STATE"
    assert AwardTransaction.objects.count() == rows


def test_cancel_needs_an_identifier(crm):
    assert post(crm, "cancel", {})["status"]["code"] == "MISSING_PARAMETER"
    answer = post(crm, "cancel", {"customer_event_identifier": {"id": "1", "number": "1"}})
    assert answer["status"]["code"] == "INVALID_IDENTIFIER"


# list ---------------------------------------------------------------------------------------
def test_list_by_customer_or_classification_with_paging(crm, program, offers, streak_class):
    for i in range(3):
        post(crm, "create", body(external_system_reference_number=f"r-{i}"))
    post(crm, "create", body(accounts_receivable_identifier={"number": "other"},
                             external_system_reference_number="r-x"))
    mine = post(crm, "list", {"accounts_receivable_identifier": {"number": "ACR0000000164"}})
    assert mine["status"]["code"] == "OK"
    assert [e["external_system_reference_number"] for e in mine["data"]] == [
        "r-0", "r-1", "r-2"]
    page = post(crm, "list", {"classification_identifier": {"alternative_code": "7DS"},
                              "number_of_results": 2, "offset": 1, "fields_set": "number"})
    assert [set(e) for e in page["data"]] == [{"id", "number"}] * 2
    by_get = crm.get(f"{BASE}/list", {
        "accounts_receivable_identifier": "number=other"}).json()
    assert [e["external_system_reference_number"] for e in by_get["data"]] == ["r-x"]
    later = post(crm, "list", {"classification_identifier": {"id": str(streak_class.pk)},
                               "submitted_after_date": "2999-01-01"})
    assert later["data"] == []


@pytest.mark.parametrize(("data", "code"), [
    ({}, "MISSING_PARAMETER"),
    ({"accounts_receivable_identifier": {"number": "a"},
      "classification_identifier": {"alternative_code": "7DS"}}, "INVALID_VALUE"),
    ({"accounts_receivable_identifier": {"number": "nobody"}}, "NOT_FOUND"),
    ({"classification_identifier": {"alternative_code": "7DS"}, "number_of_results": 1001},
     "INVALID_VALUE"),
])
def test_list_errors(crm, streak_class, data, code):
    assert post(crm, "list", data)["status"]["code"] == code


def test_laurels_own_achievement_events_are_shown_but_not_cancelled_here(crm, program, campaign):
    # given: an achievement completed by a purchase posts an ACHIEVEMENT event
    achievement = AchievementFactory(campaign=campaign, target=1, period="1D")
    RewardOfferFactory(program=program, classifications=[achievement.classification],
                       award_value=10)
    now = timezone.now()
    event_ingest(program=program, now=now, data={
        "customer": "c-9", "type": "PURCHASE", "performed_on": now})
    posted = CustomerEvent.objects.get(type="ACHIEVEMENT")
    # when
    shown = crm.get(f"{BASE}/show", {"customer_event_identifier": f"id={posted.pk}"}).json()
    listed = post(crm, "list", {"classification_identifier": {"id": str(
        achievement.classification.pk)}})
    cancel = post(crm, "cancel", {"customer_event_identifier": {"id": str(posted.pk)}})
    # then
    assert shown["data"]["external_system"] == "LAUREL"
    assert shown["data"]["total_awarded_amount"] == 10.0
    assert [e["id"] for e in listed["data"]] == [str(posted.pk)]
    assert cancel["status"]["code"] == "INVALID_LIFE_CYCLE_STATE"
    assert CustomerEvent.objects.get(pk=posted.pk).life_cycle_state == "POSTED"


# bulk ---------------------------------------------------------------------------------------
BULK = "/crmapi/rest/v2/customer_events/bulk/achievements/create"


def test_bulk_create_processes_each_item_on_its_own(crm, offers):
    # given
    items = [
        {**body(external_system_reference_number="b-1"), "request_unique_identifier": "r1"},
        {**body(classification_identifier={"alternative_code": "NOPE"},
                external_system_reference_number="b-2"), "request_unique_identifier": "r2"},
        {**body(external_system_reference_number="b-3",
                accounts_receivable_identifier={"number": "other"}),
         "request_unique_identifier": "r3"},
        {**body(external_system_reference_number="b-4"), "request_unique_identifier": "r1"},
        body(external_system_reference_number="b-5"),
        {**body(performed_on="nope", external_system_reference_number="b-6"),
         "request_unique_identifier": "r6"},
    ]
    # when
    answer = crm.post(BULK, {"token": "x", "achievement_customer_events_set": items},
                      format="json").json()
    # then
    assert answer["status"]["code"] == "OK"
    processed = answer["data"]["processed_customer_events_set"]
    assert [p["request_unique_identifier"] for p in processed] == ["r1", "r3"]
    events = {str(e.pk): e for e in CustomerEvent.objects.all()}
    assert set(events) == {p["id"] for p in processed}
    assert {events[p["id"]].number for p in processed} == {int(p["number"]) for p in processed}
    assert [(u["request_unique_identifier"], u["error_code"])
            for u in answer["data"]["unprocessed_customer_events_set"]] == [
        ("r2", "NOT_FOUND"), ("r1", "INVALID_VALUE"), (None, "MISSING_PARAMETER"),
        ("r6", "INVALID_VALUE")]
    assert AwardTransaction.objects.count() == 4  # two offers pay each of the two events
    # a replay of the batch pays nothing more
    again = crm.post(BULK, {"achievement_customer_events_set": items}, format="json").json()
    assert [p["id"] for p in again["data"]["processed_customer_events_set"]] == [
        p["id"] for p in processed]
    assert AwardTransaction.objects.count() == 4


def test_bulk_create_limits_and_auth(crm, offers):
    too_many = [{**body(external_system_reference_number=f"x{i}"),
                 "request_unique_identifier": str(i)} for i in range(1001)]
    answer = crm.post(BULK, {"achievement_customer_events_set": too_many}, format="json").json()
    assert answer["status"]["code"] == "LIMIT_EXCEEDED"
    empty = crm.post(BULK, {"achievement_customer_events_set": []}, format="json").json()
    assert empty["status"]["code"] == "INVALID_VALUE"
    anonymous = APIClient().post(BULK, {"achievement_customer_events_set": [body()]},
                                 format="json").json()
    assert anonymous["status"]["code"] == "INVALID_TOKEN"
    assert nothing_written()


# preview ------------------------------------------------------------------------------------
def test_preview_shows_the_awards_and_stores_nothing(crm, program, offers):
    # given: a customer who already earned once
    post(crm, "create", body(external_system_reference_number="earlier"))
    counts = (CustomerEvent.objects.count(), AwardTransaction.objects.count(),
              list(WalletBalance.objects.values_list("balance", flat=True)))
    customer = Customer.objects.get()
    # when
    answer = post(crm, "preview", body(external_system_reference_number="next"))
    # then
    assert answer["status"]["code"] == "OK"
    assert answer["data"] == {
        "total_award_amount": 50.0, "total_award_alternative_amount": 5.0,
        "rewards_participant_id": str(customer.pk),
        "rewards_participant_name": "ACR0000000164",
        "wallet_balance": 50.0, "wallet_alternative_balance": 5.0, "voucher_types_set": []}
    assert (CustomerEvent.objects.count(), AwardTransaction.objects.count(),
            list(WalletBalance.objects.values_list("balance", flat=True))) == counts


def test_preview_for_a_new_customer_and_its_errors(crm, offers):
    answer = post(crm, "preview", body(accounts_receivable_identifier={"number": "new"}))
    assert answer["data"]["rewards_participant_id"] is None
    assert answer["data"]["total_award_amount"] == 50.0
    refused = post(crm, "preview", body(classification_identifier={"alternative_code": "NO"}))
    assert refused["status"]["code"] == "NOT_FOUND"
    assert nothing_written()
