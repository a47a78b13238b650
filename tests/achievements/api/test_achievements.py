"""Achievement definitions over the API: Talon.One's fields, validation, 409s and the edit lock."""

import pytest

from achievements.models import Achievement
from tests.achievements.factories import AchievementFactory, AchievementProgressFactory
from tests.loyalty.factories import CampaignFactory

pytestmark = pytest.mark.django_db

TALON_EXAMPLE = {
    "name": "Order50Discount",
    "title": "50% off on 50th purchase.",
    "description": "50% off for every 50th purchase in a year.",
    "target": 50,
    "period": "1Y",
    "periodEndOverride": {"month": 11, "dayOfMonth": 23, "hour": 23, "minute": 59,
                          "second": 59},
    "recurrencePolicy": "on_expiration",
    "activationPolicy": "fixed_schedule",
    "fixedStartDate": "2024-01-15T15:04:05+07:00",
    "endDate": "2026-02-15T15:04:05+07:00",
    "allowRollbackAfterCompletion": False,
}


@pytest.fixture
def campaign(program):
    return CampaignFactory(program=program)


@pytest.fixture
def url(program):
    return f"/api/v1/programs/{program.pk}/achievements"


def test_achievement_create_returns_every_talon_field_when_valid(management_client, url,
                                                                 campaign):
    response = management_client.post(url, {**TALON_EXAMPLE, "campaignId": campaign.pk},
                                      format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["name"] == "Order50Discount"
    assert body["target"] == 50
    assert body["periodEndOverride"] == {"month": 11, "dayOfMonth": 23, "hour": 23,
                                         "minute": 59, "second": 59}
    assert body["fixedStartDate"] == "2024-01-15T08:04:05Z"
    assert body["campaignId"] == campaign.pk
    assert body["hasProgress"] is False
    assert body["status"] in {"inprogress", "expired", "not_started"}
    assert isinstance(body["userId"], int)
    assert {"id", "created", "createdBy", "isCappedByTarget", "timeZone", "eventTypes",
            "progressCondition", "progressIncrement"} <= body.keys()
    stored = Achievement.objects.get(pk=body["id"])
    assert stored.period_end_override == {"month": 11, "day_of_month": 23, "hour": 23,
                                          "minute": 59, "second": 59}


def test_achievement_create_applies_laurel_defaults(management_client, url, campaign):
    response = management_client.post(
        url, {"campaignId": campaign.pk, "name": "Visit", "title": "Visit", "target": 1},
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["recurrencePolicy"] == "no_recurrence"
    assert body["activationPolicy"] == "user_action"
    assert body["eventTypes"] == []
    assert body["progressCondition"] == "true"
    assert body["progressIncrement"] == "1"


@pytest.mark.parametrize(
    ("overrides", "field", "rule"),
    [
        ({"period": "3X"}, "period", "expected a positive number"),
        ({"period": "0D"}, "period", "greater than 0"),
        ({"period": "1h_U"}, "period", "_U"),
        ({"period": "1.5D"}, "period", "whole number"),
        ({"activationPolicy": "fixed_schedule"}, "fixedStartDate", "needs a fixedStartDate"),
        ({"activationPolicy": "fixed_schedule", "fixedStartDate": "2024-02-01T00:00:00Z",
          "endDate": "2024-01-01T00:00:00Z"}, "endDate", "after the fixedStartDate"),
        ({"name": "1stOrder"}, "name", "must start with a letter"),
        ({"name": "A"}, "name", "at least 2 characters"),
        ({"timeZone": "Europe/Atlantis"}, "timeZone", "IANA time zone"),
        ({"target": 0}, "target", "greater than 0"),
        ({"target": -5}, "target", "greater than 0"),
        ({"recurrencePolicy": "sometimes"}, "recurrencePolicy", "not a valid choice"),
        ({"progressCondition": "event.amount >"}, "progressCondition", "Syntax error"),
        ({"progressIncrement": "event.amount +* 2"}, "progressIncrement", "Syntax error"),
        ({"progressIncrement": '"ten"'}, "progressIncrement", "number"),
        ({"progressCondition": "event.amount"}, "progressCondition", "bool"),
        ({"period": "1M_U", "periodEndOverride": {"hour": 0, "minute": 0, "second": 0}},
         "periodEndOverride", "_D/_U"),
        ({"period": "1M", "periodEndOverride": {"hour": 25, "minute": 0, "second": 0}},
         "periodEndOverride", "hour"),
        ({"period": "1M", "periodEndOverride": {"minute": 0, "second": 0}},
         "periodEndOverride.hour", "required"),
        ({"eventTypes": ["purchase"]}, "eventTypes", "upper-case"),
        ({"recurrencePolicy": "on_completion", "isCappedByTarget": True}, "isCappedByTarget",
         "on_completion"),
    ],
)
def test_achievement_create_returns_400_naming_field_and_rule(
    management_client, url, campaign, overrides, field, rule
):
    body = {"campaignId": campaign.pk, "name": "Coffee10", "title": "Ten coffees",
            "target": 10, "period": "1M", **overrides}

    response = management_client.post(url, body, format="json")

    assert response.status_code == 400, response.json()
    errors = response.json()["errors"]
    assert any(e["field"] == field and rule in e["message"] for e in errors), errors
    assert rule in response.json()["message"]
    assert not Achievement.objects.exists()


def test_achievement_create_quotes_cel_compiler_message(management_client, url, campaign):
    response = management_client.post(
        url,
        {"campaignId": campaign.pk, "name": "Big", "title": "Big spender", "target": 1,
         "progressCondition": "event.amount >= "},
        format="json",
    )

    assert response.status_code == 400
    message = response.json()["errors"][0]["message"]
    assert message.startswith("progressCondition")
    assert "<input>:1:" in message


def test_achievement_create_returns_400_when_campaign_in_other_program(
    management_client, url, other_program
):
    foreign = CampaignFactory(program=other_program)

    response = management_client.post(
        url, {"campaignId": foreign.pk, "name": "X1", "title": "X", "target": 1}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "campaignId"
    assert not Achievement.objects.exists()


@pytest.mark.parametrize("duplicate", ["name", "title"])
def test_achievement_create_returns_409_when_name_or_title_taken(
    management_client, url, campaign, duplicate
):
    AchievementFactory(campaign=campaign, name="Coffee10", title="Ten coffees")
    body = {"campaignId": campaign.pk, "name": "Other", "title": "Other", "target": 3,
            duplicate: {"name": "Coffee10", "title": "Ten coffees"}[duplicate]}

    response = management_client.post(url, body, format="json")

    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == duplicate
    assert Achievement.objects.count() == 1


def test_achievement_create_allows_same_name_in_another_campaign(management_client, url,
                                                                 program, campaign):
    AchievementFactory(campaign=CampaignFactory(program=program), name="Coffee10")

    response = management_client.post(
        url, {"campaignId": campaign.pk, "name": "Coffee10", "title": "T", "target": 1},
        format="json",
    )

    assert response.status_code == 201


def test_achievement_list_filters_by_campaign_name_and_title(management_client, url, program):
    first, second = CampaignFactory(program=program), CampaignFactory(program=program)
    a = AchievementFactory(campaign=first, name="Coffee10", title="Ten coffees")
    b = AchievementFactory(campaign=second, name="Tea5", title="Five teas")

    def ids(**params):
        return [r["id"] for r in management_client.get(url, params).json()["results"]]

    assert ids(campaignId=first.pk) == [a.pk]
    assert ids(name="Tea5") == [b.pk]
    assert ids(title="coffee") == [a.pk]
    assert sorted(ids()) == sorted([a.pk, b.pk])


def test_achievement_has_progress_turns_true_when_a_customer_progresses(
    management_client, url, campaign
):
    achievement = AchievementFactory(campaign=campaign)
    assert management_client.get(f"{url}/{achievement.pk}").json()["hasProgress"] is False

    AchievementProgressFactory(achievement=achievement)

    assert management_client.get(f"{url}/{achievement.pk}").json()["hasProgress"] is True


# Edit lock
# ------------------------------------------------------------------------------
def test_achievement_update_changes_anything_but_name_while_draft_and_unused(
    management_client, url, campaign
):
    achievement = AchievementFactory(campaign=campaign, target=10, period="1D")

    response = management_client.patch(
        f"{url}/{achievement.pk}", {"target": 20, "period": "1W_U"}, format="json"
    )

    assert response.status_code == 200, response.json()
    achievement.refresh_from_db()
    assert (achievement.target, achievement.period) == (20, "1W_U")


def test_achievement_update_refuses_name_change_always(management_client, url, campaign):
    achievement = AchievementFactory(campaign=campaign, name="Coffee10")

    response = management_client.patch(f"{url}/{achievement.pk}", {"name": "Coffee20"},
                                       format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "name"
    achievement.refresh_from_db()
    assert achievement.name == "Coffee10"


@pytest.mark.parametrize("lock", ["running", "progress"])
def test_achievement_update_names_locked_fields_when_running_or_in_progress(
    management_client, url, campaign, lock
):
    achievement = AchievementFactory(campaign=campaign, target=10, period="1D")
    if lock == "running":
        campaign.state = "running"
        campaign.save()
    else:
        AchievementProgressFactory(achievement=achievement)

    response = management_client.patch(
        f"{url}/{achievement.pk}", {"target": 20, "period": "1W", "title": "New"}, format="json"
    )

    assert response.status_code == 400
    body = response.json()
    assert body["lockedFields"] == ["target", "period"]
    assert "target, period" in body["message"]
    achievement.refresh_from_db()
    assert (achievement.target, achievement.period, achievement.title) != (20, "1W", "New")
    assert achievement.title != "New"


def test_achievement_update_allows_title_and_description_when_locked(
    management_client, url, program
):
    campaign = CampaignFactory(program=program, running=True)
    achievement = AchievementFactory(campaign=campaign)
    full = management_client.get(f"{url}/{achievement.pk}").json()

    response = management_client.put(
        f"{url}/{achievement.pk}", {**full, "title": "New title", "description": "New words"},
        format="json",
    )

    assert response.status_code == 200, response.json()
    achievement.refresh_from_db()
    assert (achievement.title, achievement.description) == ("New title", "New words")


def test_achievement_update_returns_409_when_title_taken(management_client, url, campaign):
    AchievementFactory(campaign=campaign, title="Taken")
    achievement = AchievementFactory(campaign=campaign)

    response = management_client.patch(f"{url}/{achievement.pk}", {"title": "Taken"},
                                       format="json")

    assert response.status_code == 409


def test_achievement_delete_refused_when_customers_have_progress(management_client, url,
                                                                 campaign):
    used = AchievementFactory(campaign=campaign)
    AchievementProgressFactory(achievement=used)
    unused = AchievementFactory(campaign=campaign)

    assert management_client.delete(f"{url}/{used.pk}").status_code == 400
    assert management_client.delete(f"{url}/{unused.pk}").status_code == 204
    assert list(Achievement.objects.values_list("pk", flat=True)) == [used.pk]
