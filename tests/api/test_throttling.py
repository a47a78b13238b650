"""Repeated bad API keys are 429 with Retry-After per address; the admin login locks out;
per-key rates are set in settings."""

import pytest
from rest_framework.test import APIClient

from loyalty.models import ApiKey
from tests.conftest import client_for, make_key

pytestmark = pytest.mark.django_db


def bad_key_client(address="10.0.0.1"):
    client = APIClient(REMOTE_ADDR=address)
    client.credentials(HTTP_AUTHORIZATION="Bearer laurel_not_a_key")
    return client


def test_api_returns_429_with_retry_after_when_bad_keys_repeat(program, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {"failed_auth": "5/min"}}
    url = f"/api/v1/programs/{program.pk}/campaigns"
    client = bad_key_client()

    statuses = [client.get(url).status_code for _ in range(5)]
    blocked = client.get(url)

    assert statuses == [401] * 5
    assert blocked.status_code == 429
    assert blocked.json()["code"] == "throttled"
    assert int(blocked["Retry-After"]) > 0


def test_api_blocks_valid_key_from_blocked_address_but_not_other_addresses(program,
                                                                           settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {"failed_auth": "3/min"}}
    url = f"/api/v1/programs/{program.pk}/campaigns"
    for _ in range(3):
        bad_key_client("10.0.0.1").get(url)
    key = make_key(scope=ApiKey.Scope.MANAGEMENT, program=program)
    same_address = client_for(key)
    same_address.defaults["REMOTE_ADDR"] = "10.0.0.1"
    other_address = client_for(key)
    other_address.defaults["REMOTE_ADDR"] = "10.0.0.2"

    assert same_address.get(url).status_code == 429
    assert other_address.get(url).status_code == 200


def test_api_throttle_ignores_spoofed_forwarded_for(program, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {"failed_auth": "3/min"}}
    url = f"/api/v1/programs/{program.pk}/campaigns"

    statuses = [bad_key_client().get(url, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}").status_code
                for n in range(4)]

    assert statuses == [401, 401, 401, 429]


def test_api_returns_429_when_key_exceeds_its_configured_rate(program, settings):
    settings.LAUREL_API_KEY_RATES = {"integration": "2/min"}
    client = client_for(make_key(scope=ApiKey.Scope.INTEGRATION, program=program))
    url = f"/api/v1/programs/{program.pk}/campaigns"

    statuses = [client.get(url).status_code for _ in range(3)]

    assert statuses == [200, 200, 429]


def test_api_has_no_key_rate_when_none_configured(management_client, program):
    url = f"/api/v1/programs/{program.pk}/campaigns"

    assert {management_client.get(url).status_code for _ in range(30)} == {200}


def test_admin_login_locks_out_after_five_failures(client, admin_user):
    # given
    for _ in range(5):
        client.post("/admin/login/", {"username": admin_user.username, "password": "wrong"})

    # when
    response = client.post("/admin/login/?next=/admin/",
                           {"username": admin_user.username, "password": "password"})

    # then
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_admin_login_works_with_right_password_before_lockout(client, admin_user):
    client.post("/admin/login/", {"username": admin_user.username, "password": "wrong"})

    response = client.post("/admin/login/?next=/admin/",
                           {"username": admin_user.username, "password": "password"})

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(admin_user.pk)


def test_api_answers_when_throttle_cache_is_down(management_client, program, monkeypatch):
    from django.core.cache import cache

    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "get", down)
    monkeypatch.setattr(cache, "set", down)

    response = management_client.get(f"/api/v1/programs/{program.pk}/campaigns")
    refused = bad_key_client().get(f"/api/v1/programs/{program.pk}/campaigns")

    assert response.status_code == 200
    assert refused.status_code == 401
