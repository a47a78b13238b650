"""Bad input is a 4xx that names the field or header and the rule, and writes nothing."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from events.models import CustomerEvent
from loyalty.models import Customer, RewardOffer
from tests.achievements.factories import AchievementFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def events_url(program):
    return f"/api/v1/programs/{program.pk}/events"


def purchase(**fields):
    return {"customer": "ann", "type": "PURCHASE",
            "performedOn": (NOW - timedelta(minutes=1)).isoformat(), "amount": 10, **fields}


def post_raw(client, url, text, **headers):
    return client.post(url, data=text, content_type="application/json", **headers)


def assert_refused(response, status, field):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["status"] == status
    assert [e["field"] for e in body["errors"]] == [field], body
    return body


def assert_nothing_written():
    assert not CustomerEvent.objects.exists()
    assert not Customer.objects.exists()


@pytest.mark.parametrize(("payload", "field"), [
    ({"attributes": {"note": "a\x00b"}}, "attributes.note"),
    ({"attributes": {"k\x00": 1}}, "attributes.k\x00"),
    ({"attributes": {"list": ["ok", "\x07"]}}, "attributes.list.1"),
    ({"description": "x\x1by"}, "description"),
    ({"customer": "an\x00n"}, "customer"),
])
def test_event_create_returns_400_naming_field_when_control_character(
    integration_client, events_url, payload, field
):
    response = integration_client.post(events_url, purchase(**payload), format="json")

    body = assert_refused(response, 400, field)
    assert "control character" in body["errors"][0]["message"]
    assert_nothing_written()


def test_event_create_returns_400_when_identifier_has_line_feed(integration_client, events_url):
    response = integration_client.post(events_url, purchase(customer="an\nn"), format="json")

    body = assert_refused(response, 400, "customer")
    assert "control character" in body["errors"][0]["message"]
    assert_nothing_written()


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_event_create_returns_400_when_attribute_number_not_finite(
    integration_client, events_url, number
):
    text = json.dumps(purchase()).replace('"amount": 10', f'"amount": 10, '
                                          f'"attributes": {{"minutes": {{"x": {number}}}}}')

    response = post_raw(integration_client, events_url, text)

    body = assert_refused(response, 400, "attributes.minutes.x")
    assert "finite" in body["message"]
    assert_nothing_written()


@pytest.mark.parametrize("depth", [21, 1000, 100_000])
def test_event_create_returns_400_when_nested_too_deep(integration_client, events_url, depth):
    nested = "[" * depth + "]" * depth
    text = json.dumps(purchase()).replace('"amount": 10', f'"amount": 10, '
                                          f'"attributes": {{"deep": {nested}}}')

    response = post_raw(integration_client, events_url, text)

    assert response.status_code == 400, response.content
    assert "nested deeper than 20 levels" in response.json()["message"]
    assert_nothing_written()


def test_event_create_returns_400_naming_header_when_idempotency_key_too_long(
    integration_client, events_url
):
    response = integration_client.post(events_url, purchase(), format="json",
                                       HTTP_IDEMPOTENCY_KEY="k" * 201)

    body = assert_refused(response, 400, "Idempotency-Key")
    assert "at most 200 characters" in body["message"]
    assert_nothing_written()


def test_event_create_accepts_idempotency_key_of_200_characters(integration_client, events_url):
    response = integration_client.post(events_url, purchase(), format="json",
                                       HTTP_IDEMPOTENCY_KEY="k" * 200)

    assert response.status_code == 201, response.json()


@pytest.mark.parametrize(("value", "rule"), [
    ("2026-03-10T11:00:00", "UTC offset"),
    ("2026-03-10T11:00:00+18:30", "between -14:00 and +14:00"),
    ("0001-01-01T00:00:00+01:00", "years 1 and 9999"),
    ("0001-01-01T00:00:00Z", "on or after 1970-01-01"),
    ("1969-12-31T23:59:59Z", "on or after 1970-01-01"),
])
def test_event_create_returns_400_when_performed_on_without_valid_offset(
    integration_client, events_url, value, rule
):
    response = integration_client.post(events_url, purchase(performedOn=value), format="json")

    body = assert_refused(response, 400, "performedOn")
    assert rule in body["message"]
    assert_nothing_written()


@pytest.mark.parametrize("value", ["2026-03-10T11:00:00+18:30", "2026-03-10T11:00:00"])
def test_event_list_returns_400_naming_filter_when_offset_out_of_range(
    integration_client, events_url, value
):
    response = integration_client.get(events_url, {"performedOnFrom": value})

    assert_refused(response, 400, "performedOnFrom")


def test_customer_read_returns_400_when_path_has_nul(integration_client, program):
    response = integration_client.get(f"/api/v1/programs/{program.pk}/customers/a%00b/wallet")

    assert_refused(response, 400, "path")


def test_customer_list_returns_400_naming_parameter_when_query_has_nul(
    integration_client, program
):
    response = integration_client.get(f"/api/v1/programs/{program.pk}/customers?name=a%00")

    assert_refused(response, 400, "name")


@pytest.mark.parametrize("field", ["classifications", "currency"])
def test_reward_offer_create_returns_400_when_code_has_nul(management_client, program, field):
    body = {"name": "Ten", "code": "TEN", "classifications": ["GOLD"], "currency": "PTS",
            "awardValue": 10}
    body[field] = ["GO\x00LD"] if field == "classifications" else "P\x00TS"

    response = management_client.post(f"/api/v1/programs/{program.pk}/reward-offers", body,
                                      format="json")

    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["field"].startswith(field)
    assert not RewardOffer.objects.exists()


def test_achievement_create_returns_400_when_fixed_start_is_naive(management_client, campaign):
    response = management_client.post(
        f"/api/v1/programs/{campaign.program_id}/achievements",
        {"campaignId": campaign.pk, "name": "Naive", "title": "Naive", "target": 1,
         "period": "1D", "activationPolicy": "fixed_schedule",
         "fixedStartDate": "2026-03-01T00:00:00"},
        format="json",
    )

    assert_refused(response, 400, "fixedStartDate")
    assert not campaign.achievements.exists()


def test_event_create_returns_413_in_json_when_body_too_large(
    integration_client, events_url, settings
):
    settings.LAUREL_MAX_BODY_BYTES = 1000

    response = integration_client.post(events_url, purchase(description="x" * 2000),
                                       format="json")

    body = assert_refused(response, 413, "Content-Length")
    assert "at most 1000 bytes" in body["message"]
    assert_nothing_written()


def test_event_create_returns_415_in_json_when_not_json(integration_client, events_url):
    response = integration_client.post(events_url, data="customer=ann",
                                       content_type="text/plain")

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_unknown_api_path_returns_404_in_json(integration_client):
    response = integration_client.get("/api/v1/nothing-here")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert "GET /api/v1/" in response.json()["message"]


def test_method_not_allowed_returns_405_in_json(integration_client, events_url):
    response = integration_client.delete(events_url)

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_server_error_returns_500_in_json(integration_client, program, monkeypatch):
    from loyalty import selectors

    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(selectors, "customer_list", broken)
    integration_client.raise_request_exception = False

    response = integration_client.get(f"/api/v1/programs/{program.pk}/customers")

    assert response.status_code == 500
    assert response.json()["code"] == "error"
    assert "boom" not in response.json()["message"]


def test_api_index_lists_resources(anonymous_client):
    response = anonymous_client.get("/api/v1/")

    assert response.status_code == 200
    body = response.json()
    assert body["schema"] == "/api/schema/"
    assert body["resources"]["events"] == "/api/v1/programs/{programId}/events"


def test_event_with_achievement_still_counts_after_guards(integration_client, events_url,
                                                          campaign):
    AchievementFactory(campaign=campaign, target=3, period="1D", event_types=["PURCHASE"])

    response = integration_client.post(events_url, purchase(attributes={"note": "tab\tok"}),
                                       format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["effects"][0]["effectType"] == "increaseAchievementProgress"


@pytest.mark.parametrize(("resource", "body", "field"), [
    ("reward-offers", {"name": "Ten", "code": "T\nEN", "awardValue": 10, "currency": "PTS",
                       "classifications": []}, "code"),
    ("classifications", {"code": "GO\tLD", "name": "Gold", "eventType": "PURCHASE"}, "code"),
    ("customers", {"integrationId": "a\rb"}, "integrationId"),
])
def test_definition_create_returns_400_when_code_has_control_character(
    management_client, program, resource, body, field
):
    response = management_client.post(f"/api/v1/programs/{program.pk}/{resource}", body,
                                      format="json")

    assert response.status_code == 400, response.json()
    assert response.json()["errors"][0]["field"] == field
    assert "control character" in response.json()["message"]


@pytest.mark.parametrize("minutes", ["1e20", "100000000000000000000"])
def test_event_create_never_500_when_attribute_increment_overflows_progress(
    integration_client, events_url, campaign, minutes
):
    """Where the engine isolates a failing goal, the event is stored and the goal skipped
    (achievementSkipped); otherwise the database's overflow is a 400 that writes nothing."""
    achievement = AchievementFactory(campaign=campaign, target=10, period="1D",
                                     progress_increment="event.attributes.minutes")
    text = json.dumps(purchase()).replace('"amount": 10', f'"amount": 10, '
                                          f'"attributes": {{"minutes": {minutes}}}')

    response = post_raw(integration_client, events_url, text)

    if response.status_code == 201:
        skipped = [e for e in response.json()["effects"]
                   if e["effectType"] == "achievementSkipped"]
        assert [e["achievementId"] for e in skipped] == [achievement.pk]
    else:
        assert response.status_code == 400, response.content
        assert response.json()["code"] == "out_of_range"
        assert "at most 14 digits" in response.json()["message"]
        assert_nothing_written()


def test_rotating_the_webhook_secret_shows_the_new_one_once(account_client, program):
    url = f"/api/v1/programs/{program.pk}"
    first = account_client.patch(url, {"webhookUrl": "https://hooks.example.com/laurel"},
                                 format="json").json()["webhookSecret"]

    rotated = account_client.patch(url, {"rotateWebhookSecret": True}, format="json")
    read = account_client.get(url).json()

    assert rotated.status_code == 200
    assert rotated.json()["webhookSecret"] not in ("", first)
    assert "webhookSecret" not in read and "rotateWebhookSecret" not in read
    program.refresh_from_db()
    assert program.webhook_secret == rotated.json()["webhookSecret"]


def test_rotating_a_webhook_secret_without_a_webhook_is_a_400(account_client, program):
    response = account_client.patch(f"/api/v1/programs/{program.pk}",
                                    {"rotateWebhookSecret": True}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "rotateWebhookSecret"
