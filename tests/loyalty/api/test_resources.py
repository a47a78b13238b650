"""Programs, campaigns, customers and currencies over the API."""

import pytest

from loyalty.models import Campaign, Currency, Customer, Program
from tests.loyalty.factories import CampaignFactory, CurrencyFactory, CustomerFactory

pytestmark = pytest.mark.django_db


# Programs
# ------------------------------------------------------------------------------
def test_program_create_makes_points_currency_when_valid(account_client):
    response = account_client.post(
        "/api/v1/programs",
        {"name": "Coffee", "timeZone": "Europe/Amsterdam", "currencyCode": "BEANS"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["timeZone"] == "Europe/Amsterdam"
    assert body["currencyCode"] == "BEANS"
    program = Program.objects.get(pk=body["id"])
    assert list(program.currencies.values_list("code", "kind")) == [("BEANS", "points")]


def test_program_create_returns_400_naming_time_zone_when_unknown(account_client):
    response = account_client.post(
        "/api/v1/programs", {"name": "Coffee", "timeZone": "Mars/Olympus"}, format="json"
    )

    assert response.status_code == 400
    body = response.json()
    assert body["errors"][0]["field"] == "timeZone"
    assert "IANA time zone" in body["errors"][0]["message"]
    assert not Program.objects.exists()


def test_program_create_returns_409_when_name_taken(account_client, program):
    response = account_client.post("/api/v1/programs", {"name": program.name}, format="json")

    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "name"


def test_program_update_renames_points_currency_when_code_changes(account_client, program):
    response = account_client.patch(
        f"/api/v1/programs/{program.pk}", {"currencyCode": "STAMPS"}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert program.currencies.get(kind=Currency.Kind.POINTS).code == "STAMPS"


# Campaigns
# ------------------------------------------------------------------------------
def test_campaign_create_returns_201_when_valid(management_client, program):
    response = management_client.post(
        f"/api/v1/programs/{program.pk}/campaigns",
        {"name": "Spring", "state": "running", "startTime": "2026-03-01T00:00:00Z"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["programId"] == program.pk
    assert Campaign.objects.get(pk=response.json()["id"]).state == "running"


def test_campaign_create_returns_400_when_end_before_start(management_client, program):
    response = management_client.post(
        f"/api/v1/programs/{program.pk}/campaigns",
        {"name": "Spring", "startTime": "2026-03-01T00:00:00Z",
         "endTime": "2026-02-01T00:00:00Z"},
        format="json",
    )

    assert response.status_code == 400
    assert "end time must be after the start time" in response.json()["message"]
    assert not Campaign.objects.exists()


def test_campaign_create_returns_400_naming_state_when_unknown(management_client, program):
    response = management_client.post(
        f"/api/v1/programs/{program.pk}/campaigns", {"name": "S", "state": "paused"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "state"


def test_campaign_create_returns_409_when_name_taken(management_client, program):
    CampaignFactory(program=program, name="Spring")

    response = management_client.post(
        f"/api/v1/programs/{program.pk}/campaigns", {"name": "Spring"}, format="json"
    )

    assert response.status_code == 409


def test_campaign_update_returns_400_when_running_goes_back_to_draft(management_client, program):
    campaign = CampaignFactory(program=program, running=True)

    response = management_client.patch(
        f"/api/v1/programs/{program.pk}/campaigns/{campaign.pk}", {"state": "draft"},
        format="json",
    )

    assert response.status_code == 400
    campaign.refresh_from_db()
    assert campaign.state == "running"


def test_campaign_delete_returns_400_when_not_draft(management_client, program):
    campaign = CampaignFactory(program=program, running=True)
    url = f"/api/v1/programs/{program.pk}/campaigns/{campaign.pk}"

    assert management_client.delete(url).status_code == 400
    assert Campaign.objects.filter(pk=campaign.pk).exists()


def test_campaign_delete_returns_204_when_draft(management_client, program):
    campaign = CampaignFactory(program=program)

    response = management_client.delete(f"/api/v1/programs/{program.pk}/campaigns/{campaign.pk}")

    assert response.status_code == 204
    assert not Campaign.objects.filter(pk=campaign.pk).exists()


def test_campaign_list_filters_by_state(management_client, program):
    running = CampaignFactory(program=program, running=True)
    CampaignFactory(program=program)

    body = management_client.get(
        f"/api/v1/programs/{program.pk}/campaigns", {"state": "running"}
    ).json()

    assert [c["id"] for c in body["results"]] == [running.pk]
    assert body["count"] == 1


# Customers
# ------------------------------------------------------------------------------
def test_customer_is_found_by_integration_id_when_it_has_special_characters(
    integration_client, program
):
    CustomerFactory(program=program, integration_id="ann@example.com+1")

    response = integration_client.get(
        f"/api/v1/programs/{program.pk}/customers/ann@example.com+1"
    )

    assert response.status_code == 200
    assert response.json()["integrationId"] == "ann@example.com+1"


def test_customer_create_keeps_attribute_keys_as_sent(integration_client, program):
    attributes = {"favourite_drink": "flat white", "loyaltyTier": "gold"}

    response = integration_client.post(
        f"/api/v1/programs/{program.pk}/customers",
        {"integrationId": "c-1", "name": "Ann", "attributes": attributes},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["attributes"] == attributes
    assert Customer.objects.get(integration_id="c-1").attributes == attributes


def test_customer_create_returns_409_when_integration_id_taken(integration_client, program):
    CustomerFactory(program=program, integration_id="c-1")

    response = integration_client.post(
        f"/api/v1/programs/{program.pk}/customers", {"integrationId": "c-1"}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "integrationId"


def test_customer_same_integration_id_allowed_in_another_program(
    integration_client, program, other_program
):
    CustomerFactory(program=other_program, integration_id="c-1")

    response = integration_client.post(
        f"/api/v1/programs/{program.pk}/customers", {"integrationId": "c-1"}, format="json"
    )

    assert response.status_code == 201


@pytest.mark.parametrize(("length", "status"), [(1000, 201), (1001, 400)])
def test_customer_integration_id_is_limited_to_1000_chars(integration_client, program, length,
                                                          status):
    response = integration_client.post(
        f"/api/v1/programs/{program.pk}/customers", {"integrationId": "x" * length},
        format="json",
    )

    assert response.status_code == status
    assert Customer.objects.filter(program=program).exists() == (status == 201)


def test_customer_list_filters_by_integration_id(integration_client, program):
    CustomerFactory(program=program, integration_id="c-1")
    CustomerFactory(program=program, integration_id="c-2")

    body = integration_client.get(
        f"/api/v1/programs/{program.pk}/customers", {"integrationId": "c-2"}
    ).json()

    assert [c["integrationId"] for c in body["results"]] == ["c-2"]


def test_customer_update_cannot_change_integration_id(integration_client, program):
    CustomerFactory(program=program, integration_id="c-1")

    response = integration_client.patch(
        f"/api/v1/programs/{program.pk}/customers/c-1",
        {"integrationId": "c-9", "name": "New name"},
        format="json",
    )

    assert response.status_code == 200
    assert response.json() | {"integrationId": "c-1", "name": "New name"} == response.json()


# Currencies
# ------------------------------------------------------------------------------
def test_currency_create_adds_alternative_currency(management_client, program):
    response = management_client.post(
        f"/api/v1/programs/{program.pk}/currencies", {"code": "STARS", "name": "Stars"},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["kind"] == "alternative"
    codes = management_client.get(f"/api/v1/programs/{program.pk}/currencies").json()
    assert sorted(c["code"] for c in codes) == ["PTS", "STARS"]


def test_currency_create_returns_409_when_code_taken(management_client, program):
    response = management_client.post(
        f"/api/v1/programs/{program.pk}/currencies", {"code": "PTS", "name": "Again"},
        format="json",
    )

    assert response.status_code == 409


def test_currency_create_returns_400_naming_code_when_malformed(management_client, program):
    response = management_client.post(
        f"/api/v1/programs/{program.pk}/currencies", {"code": "st ars", "name": "Stars"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "code"


def test_currency_delete_refuses_points_currency(management_client, program):
    points = program.currencies.get(kind=Currency.Kind.POINTS)
    alternative = CurrencyFactory(program=program)
    base = f"/api/v1/programs/{program.pk}/currencies"

    assert management_client.delete(f"{base}/{points.pk}").status_code == 400
    assert management_client.delete(f"{base}/{alternative.pk}").status_code == 204
    assert list(program.currencies.values_list("code", flat=True)) == ["PTS"]
