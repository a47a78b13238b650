"""Definitions are checked for what they will do; an achievement switches off on its own;
secrets and exports are safe; deletes of things in use are a 409 naming what uses them."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from achievements.models import Achievement
from events.models import CustomerEvent
from loyalty.models import Currency, Program
from tests.achievements.factories import AchievementFactory
from tests.events.factories import RewardOfferFactory
from tests.loyalty.factories import CurrencyFactory, CustomerFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def url(program):
    return f"/api/v1/programs/{program.pk}/achievements"


def definition(campaign, **fields):
    return {"campaignId": campaign.pk, "name": "Coffee", "title": "Coffee", "target": 3,
            "period": "1D", **fields}


# Periods, increments and targets
# ------------------------------------------------------------------------------
@pytest.mark.parametrize("period", ["9000Y", "101Y", "1201M", "36526D", "1000000000000s"])
def test_achievement_create_returns_400_saying_bound_when_period_too_long(
    management_client, url, campaign, period
):
    response = management_client.post(url, definition(campaign, period=period), format="json")

    assert response.status_code == 400, response.json()
    error = response.json()["errors"][0]
    assert error["field"] == "period"
    assert "at most 100 years" in error["message"]
    assert not Achievement.objects.exists()


@pytest.mark.parametrize("period", ["100Y", "1200M", "36525D", "3155760000s"])
def test_achievement_create_accepts_period_of_100_years(management_client, url, campaign,
                                                        period):
    response = management_client.post(url, definition(campaign, period=period), format="json")

    assert response.status_code == 201, response.json()


def test_achievement_create_returns_400_when_first_fixed_window_ends_after_9999(
    management_client, url, campaign
):
    response = management_client.post(url, definition(
        campaign, period="100Y", activationPolicy="fixed_schedule",
        fixedStartDate="9950-01-01T00:00:00Z",
    ), format="json")

    assert response.status_code == 400, response.json()
    assert response.json()["errors"][0]["field"] == "fixedStartDate"
    assert not Achievement.objects.exists()


@pytest.mark.parametrize("increment", ["1e15", "100000000000000", "99999999999999.0 * 2.0"])
def test_achievement_create_returns_400_when_constant_increment_overflows_column(
    management_client, url, campaign, increment
):
    response = management_client.post(url, definition(campaign, progressIncrement=increment),
                                      format="json")

    assert response.status_code == 400, response.json()
    error = response.json()["errors"][0]
    assert error["field"] == "progressIncrement"
    assert "at most 99999999999999.999999" in error["message"]
    assert not Achievement.objects.exists()


@pytest.mark.parametrize("target", [1e15, 100000000000000])
def test_achievement_create_returns_400_when_target_too_large(management_client, url,
                                                               campaign, target):
    response = management_client.post(url, definition(campaign, target=target), format="json")

    assert response.status_code == 400, response.json()
    assert response.json()["errors"][0]["field"] == "target"
    assert not Achievement.objects.exists()


def test_achievement_model_clean_refuses_too_large_target(campaign):
    from decimal import Decimal

    from django.core.exceptions import ValidationError

    achievement = Achievement(campaign=campaign, name="Big", title="Big",
                              target=Decimal("100000000000000"))

    with pytest.raises(ValidationError) as caught:
        achievement.full_clean()

    assert "target" in caught.value.message_dict


# Enabled
# ------------------------------------------------------------------------------
def test_achievement_disabled_in_running_campaign_stops_counting_and_enables_again(
    management_client, integration_client, url, campaign, program
):
    achievement = AchievementFactory(campaign=campaign, target=5, period="1D")
    events = f"/api/v1/programs/{program.pk}/events"
    purchase = {"customer": "ann", "type": "PURCHASE", "amount": 1,
                "performedOn": (NOW - timedelta(minutes=1)).isoformat()}

    off = management_client.patch(f"{url}/{achievement.pk}", {"enabled": False}, format="json")
    counted_while_off = integration_client.post(events, purchase, format="json")
    on = management_client.patch(f"{url}/{achievement.pk}", {"enabled": True}, format="json")
    counted_while_on = integration_client.post(events, purchase, format="json")

    assert off.status_code == 200, off.json()
    assert off.json()["enabled"] is False
    assert counted_while_off.json()["effects"] == []
    assert on.json()["enabled"] is True
    assert [e["achievementId"] for e in counted_while_on.json()["effects"]] == [achievement.pk]


def test_achievement_create_disabled_when_enabled_false(management_client, url, campaign):
    response = management_client.post(url, definition(campaign, enabled=False), format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["enabled"] is False
    assert Achievement.objects.get().enabled is False


def test_achievement_admin_disable_action_switches_off(admin_client, campaign):
    achievement = AchievementFactory(campaign=campaign)

    response = admin_client.post("/admin/achievements/achievement/", {
        "action": "disable_selected", "_selected_action": [achievement.pk],
    })

    assert response.status_code == 302
    achievement.refresh_from_db()
    assert achievement.enabled is False


# Webhook secret
# ------------------------------------------------------------------------------
def test_program_webhook_secret_shown_once_when_set_and_never_in_reads(account_client,
                                                                        management_client):
    created = account_client.post("/api/v1/programs", {
        "name": "Hooked", "webhookUrl": "https://example.com/hook"}, format="json")
    program = Program.objects.get(pk=created.json()["id"])
    read = account_client.get(f"/api/v1/programs/{program.pk}")
    listed = account_client.get("/api/v1/programs")

    assert created.status_code == 201, created.json()
    assert created.json()["webhookSecret"] == program.webhook_secret
    assert "webhookSecret" not in read.json()
    assert all("webhookSecret" not in p for p in listed.json()["results"])


def test_program_webhook_secret_shown_when_update_sets_it(account_client, program):
    response = account_client.patch(f"/api/v1/programs/{program.pk}",
                                    {"webhookUrl": "https://example.com/hook"}, format="json")
    again = account_client.patch(f"/api/v1/programs/{program.pk}", {"name": "Renamed"},
                                 format="json")

    program.refresh_from_db()
    assert response.json()["webhookSecret"] == program.webhook_secret != ""
    assert "webhookSecret" not in again.json()


def test_program_read_hides_webhook_secret_from_program_keys(management_client, program):
    program.webhook_url = "https://example.com/hook"
    program.webhook_secret = "s3cret"
    program.save()

    response = management_client.get(f"/api/v1/programs/{program.pk}")

    assert response.status_code == 200
    assert "s3cret" not in response.content.decode()


# CSV export
# ------------------------------------------------------------------------------
@pytest.mark.parametrize("integration_id", ["=HYPERLINK(\"http://x\")", "+1", "-1", "@SUM(A1)",
                                            "\tx", "\rx"])
def test_achievement_progress_csv_neutralises_formula_cells(management_client, program,
                                                            campaign, integration_id):
    achievement = AchievementFactory(campaign=campaign, target=5, period="1D")
    CustomerFactory(program=program, integration_id=integration_id)
    from achievements.models import AchievementProgress

    AchievementProgress.objects.create(
        achievement=achievement, customer=program.customers.get(integration_id=integration_id),
        progress=1, window_start=NOW - timedelta(hours=1), start_date=NOW - timedelta(hours=1),
        end_date=NOW + timedelta(hours=1),
    )

    response = management_client.get(
        f"/api/v1/programs/{program.pk}/achievements/{achievement.pk}/progress",
        {"format": "csv"},
    )
    content = b"".join(response.streaming_content).decode()
    (_, row) = list(csv.reader(io.StringIO(content)))

    assert row[0] == "'" + integration_id


# Deletes of things in use
# ------------------------------------------------------------------------------
def test_currency_delete_returns_409_naming_offers_when_offers_use_it(management_client,
                                                                      program):
    stars = CurrencyFactory(program=program, code="STARS", kind=Currency.Kind.ALTERNATIVE)
    RewardOfferFactory(program=program, code="TEN", currency=stars)

    response = management_client.delete(f"/api/v1/programs/{program.pk}/currencies/{stars.pk}")

    assert response.status_code == 409, response.json()
    body = response.json()
    assert body["errors"][0]["field"] == "code"
    assert "TEN" in body["message"]
    assert body["usedBy"] == {"rewardOffers": ["TEN"]}
    assert Currency.objects.filter(pk=stars.pk).exists()


def test_currency_delete_returns_204_when_unused(management_client, program):
    stars = CurrencyFactory(program=program, code="STARS", kind=Currency.Kind.ALTERNATIVE)

    response = management_client.delete(f"/api/v1/programs/{program.pk}/currencies/{stars.pk}")

    assert response.status_code == 204
    assert not CustomerEvent.objects.exists()
