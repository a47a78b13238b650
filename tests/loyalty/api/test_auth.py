"""Who may call what: 401 without a valid key, 403 for the wrong scope, 404 across programs."""

import pytest
from django.utils import timezone

from loyalty.models import ApiKey
from loyalty.services import api_key_revoke
from tests.achievements.factories import AchievementFactory
from tests.conftest import client_for, make_key
from tests.loyalty.factories import CampaignFactory

pytestmark = pytest.mark.django_db


def achievement_body(campaign_id: int, **overrides):
    return {"campaignId": campaign_id, "name": "Coffee10", "title": "Ten coffees",
            "description": "", "target": 10, "period": "1M", **overrides}


def test_api_returns_401_when_no_key(anonymous_client, program):
    response = anonymous_client.get(f"/api/v1/programs/{program.pk}/achievements")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer nope", "Bearer ", "Bearer laurel_unknown"])
def test_api_returns_401_when_key_unknown(anonymous_client, program, header):
    anonymous_client.credentials(HTTP_AUTHORIZATION=header)

    response = anonymous_client.get(f"/api/v1/programs/{program.pk}/campaigns")

    assert response.status_code == 401


def test_api_returns_401_when_key_revoked(program):
    api_key = make_key(scope=ApiKey.Scope.MANAGEMENT, program=program)
    client = client_for(api_key)
    assert client.get(f"/api/v1/programs/{program.pk}/campaigns").status_code == 200

    api_key_revoke(api_key=api_key, now=timezone.now())

    assert client.get(f"/api/v1/programs/{program.pk}/campaigns").status_code == 401


def test_integration_key_gets_403_when_writing_definitions(integration_client, program):
    campaign = CampaignFactory(program=program)
    url = f"/api/v1/programs/{program.pk}/achievements"

    response = integration_client.post(url, achievement_body(campaign.pk), format="json")

    assert response.status_code == 403
    assert "integration key cannot change" in response.json()["message"]
    assert not campaign.achievements.exists()


def test_integration_key_may_read_definitions_and_write_customers(integration_client, program):
    base = f"/api/v1/programs/{program.pk}"

    assert integration_client.get(f"{base}/achievements").status_code == 200
    created = integration_client.post(f"{base}/customers", {"integrationId": "c-1"}, format="json")
    assert created.status_code == 201
    assert integration_client.post(
        f"{base}/campaigns", {"name": "Nope"}, format="json"
    ).status_code == 403


def test_management_key_writes_definitions(management_client, program):
    campaign = CampaignFactory(program=program)

    response = management_client.post(
        f"/api/v1/programs/{program.pk}/achievements", achievement_body(campaign.pk), format="json"
    )

    assert response.status_code == 201, response.json()


@pytest.mark.parametrize("client_fixture", ["management_client", "integration_client"])
@pytest.mark.parametrize("method", ["get", "post", "patch", "delete"])
def test_program_key_gets_404_for_another_program(request, client_fixture, method, other_program):
    client = request.getfixturevalue(client_fixture)
    achievement = AchievementFactory(campaign__program=other_program)
    urls = {
        "get": f"/api/v1/programs/{other_program.pk}/achievements/{achievement.pk}",
        "post": f"/api/v1/programs/{other_program.pk}/achievements",
        "patch": f"/api/v1/programs/{other_program.pk}/achievements/{achievement.pk}",
        "delete": f"/api/v1/programs/{other_program.pk}/achievements/{achievement.pk}",
    }

    response = getattr(client, method)(urls[method], {"title": "x"}, format="json")

    assert response.status_code == 404
    achievement.refresh_from_db()
    assert achievement.title != "x"


def test_program_key_sees_only_its_program(management_client, program, other_program):
    listing = management_client.get("/api/v1/programs").json()

    assert [p["id"] for p in listing["results"]] == [program.pk]
    assert management_client.get(f"/api/v1/programs/{other_program.pk}").status_code == 404


def test_program_key_gets_403_when_creating_programs(management_client):
    response = management_client.post(
        "/api/v1/programs", {"name": "Mine", "timeZone": "UTC"}, format="json"
    )

    assert response.status_code == 403


def test_account_key_reaches_every_program(account_client, program, other_program):
    listing = account_client.get("/api/v1/programs").json()

    assert {p["id"] for p in listing["results"]} == {program.pk, other_program.pk}
    campaign = CampaignFactory(program=other_program)
    response = account_client.post(
        f"/api/v1/programs/{other_program.pk}/achievements",
        achievement_body(campaign.pk),
        format="json",
    )
    assert response.status_code == 201


def test_staff_session_reaches_everything(staff_client, program):
    assert staff_client.get(f"/api/v1/programs/{program.pk}/campaigns").status_code == 200


def test_api_returns_403_when_session_user_not_staff(django_user_model, program):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user=django_user_model.objects.create_user("plain", password="x"))

    assert client.get(f"/api/v1/programs/{program.pk}/campaigns").status_code == 403


def test_api_key_records_last_use(program):
    api_key = make_key(scope=ApiKey.Scope.INTEGRATION, program=program)

    client_for(api_key).get(f"/api/v1/programs/{program.pk}/campaigns")

    api_key.refresh_from_db()
    assert api_key.last_used_at is not None
