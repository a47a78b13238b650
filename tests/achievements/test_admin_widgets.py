"""The achievement form's widgets: known event types, the TimePoint as its fields, time
zones as a choice, the live schedule preview and the explained lock."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from achievements.forms import AchievementForm, TimePointField
from achievements.models import Achievement
from tests.achievements.factories import AchievementFactory, AchievementProgressFactory
from tests.achievements.test_admin import unlocked_form
from tests.loyalty.factories import CampaignFactory

pytestmark = pytest.mark.django_db

ADD = reverse("admin:achievements_achievement_add")
PREVIEW = reverse("admin:achievements_achievement_preview")


def _add_form(campaign, **overrides) -> dict:
    return unlocked_form(
        Achievement(title="Monthly spend", target=Decimal(100), period="1M",
                    activation_policy="user_action", recurrence_policy="on_expiration",
                    progress_condition="true", progress_increment="event.amount"),
        campaign=str(campaign.pk), name="MonthlySpend", **overrides,
    )


def test_time_point_field_compresses_parts_when_hour_minute_second_given():
    # given
    field = TimePointField()
    # when
    value = field.clean(["", "1", "", "0", "0", "0"])
    # then
    assert value == {"day_of_month": 1, "hour": 0, "minute": 0, "second": 0}
    assert field.clean(["", "", "", "", "", ""]) is None


def test_time_point_field_names_missing_parts_when_hour_left_out():
    with pytest.raises(Exception, match="hour"):
        TimePointField().clean(["", "1", "", "", "0", "0"])


def test_achievement_form_offers_known_event_types_and_zones_when_rendered():
    # given / when
    form = AchievementForm()
    # then
    assert [value for value, _ in form.fields["event_types"].choices][:2] == [
        "PURCHASE", "RETURN"]
    zones = [value for value, _ in form.fields["time_zone"].choices]
    assert zones[:2] == ["", "UTC"] and "Europe/Amsterdam" in zones


def test_achievement_admin_stores_widgets_when_add_form_filled(admin_client):
    # given
    campaign = CampaignFactory()
    data = _add_form(campaign, event_types=["PURCHASE", "VISIT"], time_zone="Europe/Berlin",
                     period_end_override_1="1", period_end_override_3="0",
                     period_end_override_4="0", period_end_override_5="0")
    # when
    response = admin_client.post(ADD, data)
    # then
    assert response.status_code == 302, response.context["adminform"].form.errors
    achievement = Achievement.objects.get(name="MonthlySpend")
    assert achievement.event_types == ["PURCHASE", "VISIT"]
    assert achievement.period_end_override == {"day_of_month": 1, "hour": 0, "minute": 0,
                                               "second": 0}
    assert achievement.time_zone == "Europe/Berlin"


def test_achievement_admin_refuses_unknown_event_type_when_posted(admin_client):
    # given
    campaign = CampaignFactory()
    # when
    response = admin_client.post(ADD, _add_form(campaign, event_types=["PURCHSE"]))
    # then
    assert response.status_code == 200
    assert "event_types" in response.context["adminform"].form.errors
    assert not Achievement.objects.exists()


def test_achievement_api_returns_400_naming_event_types_when_type_unknown(
    management_client, campaign
):
    # given
    url = f"/api/v1/programs/{campaign.program_id}/achievements"
    body = {"campaignId": campaign.pk, "name": "Typo", "title": "Typo", "target": 1,
            "eventTypes": ["PURCHASE", "PURCHSE"]}
    # when
    response = management_client.post(url, body, format="json")
    # then
    assert response.status_code == 400, response.json()
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == ["eventTypes"]
    assert "'PURCHSE' is not an event type Laurel knows" in errors[0]["message"]
    assert not Achievement.objects.exists()


def test_achievement_model_refuses_unknown_event_type_when_cleaned():
    achievement = AchievementFactory.build(event_types=["PURCHSE"])
    with pytest.raises(Exception, match="PURCHSE"):
        achievement.clean()


@time_machine.travel(datetime(2026, 3, 10, 9, 30, tzinfo=UTC), tick=False)
def test_achievement_preview_answers_the_end_when_form_typed_before_saving(admin_client):
    # given: a program in Amsterdam, a 1M_U period typed, nothing saved
    campaign = CampaignFactory(program__time_zone="Europe/Amsterdam")
    query = {"campaign": campaign.pk, "activation_policy": "user_action",
             "recurrence_policy": "no_recurrence", "period": "1M_U", "time_zone": ""}
    # when
    response = admin_client.get(PREVIEW, query)
    # then
    assert response.status_code == 200
    html = response.json()["html"]
    assert "2026-03-10 10:30:00 CET" in html
    assert "Thursday 2026-04-30 23:59:59 CEST" in html  # 1M, rounded up to the month end
    assert not Achievement.objects.exists()


def test_achievement_preview_explains_when_period_typed_wrong(admin_client):
    campaign = CampaignFactory()
    response = admin_client.get(PREVIEW, {"campaign": campaign.pk, "period": "1h_U"})
    assert "Cannot preview" in response.json()["html"]
    assert "_U" in response.json()["html"]


def test_achievement_preview_keeps_locked_fields_when_object_given(admin_client):
    # given: a running campaign's achievement; the locked period is not posted
    achievement = AchievementFactory(campaign=CampaignFactory(running=True), period="1D")
    # when
    response = admin_client.get(PREVIEW, {"object_id": achievement.pk})
    # then
    assert "would finish by" in response.json()["html"]


def test_achievement_change_page_says_why_locked_and_what_to_do_when_campaign_runs(
    admin_client
):
    # given
    achievement = AchievementFactory(campaign=CampaignFactory(running=True, name="Spring"))
    AchievementProgressFactory(achievement=achievement)
    # when
    page = admin_client.get(reverse("admin:achievements_achievement_change",
                                    args=[achievement.pk])).content.decode()
    # then
    assert "Locked because its campaign “Spring” is running and 1 customer has progress" in page
    assert "add a new achievement (a new version)" in page
    assert "disable it" in page


@pytest.mark.parametrize(
    "page", ["admin:loyalty_program_add", "admin:achievements_targetgroup_add"])
def test_time_zone_is_a_choice_when_program_or_target_group_form_opened(admin_client, page):
    response = admin_client.get(reverse(page))
    html = response.content.decode()
    assert '<select name="time_zone"' in html
    assert '<option value="Europe/Amsterdam">Europe/Amsterdam</option>' in html


def test_achievement_dates_are_typed_and_shown_in_the_program_zone(admin_client):
    # given: a draft campaign of a program in Amsterdam (UTC+1 in winter)
    campaign = CampaignFactory(program__time_zone="Europe/Amsterdam")
    data = _add_form(campaign, activation_policy="fixed_schedule",
                     fixed_start_date_0="2026-01-01", fixed_start_date_1="00:00:00")
    # when
    response = admin_client.post(ADD, data)
    # then: midnight in Amsterdam is 23:00 UTC the day before
    assert response.status_code == 302, response.context["adminform"].form.errors
    achievement = Achievement.objects.get(name="MonthlySpend")
    assert achievement.fixed_start_date == datetime(2025, 12, 31, 23, 0, tzinfo=UTC)
    page = admin_client.get(reverse("admin:achievements_achievement_change",
                                    args=[achievement.pk])).content.decode()
    assert 'value="2026-01-01"' in page and 'value="00:00:00"' in page
    assert "In Europe/Amsterdam" in page


def test_achievement_of_a_running_campaign_stops_counting_when_disabled_on_its_own(
    admin_client
):
    # given: a running campaign with two achievements
    from events.services import event_ingest

    campaign = CampaignFactory(running=True)
    kept = AchievementFactory(campaign=campaign, target=5, period="")
    stopped = AchievementFactory(campaign=campaign, target=5, period="")
    changelist = reverse("admin:achievements_achievement_changelist")
    # when
    response = admin_client.post(changelist, {"action": "disable_selected",
                                              "_selected_action": [stopped.pk]})
    now = datetime.now(tz=UTC)
    event_ingest(program=campaign.program, now=now,
                 data={"customer": "c-1", "type": "PURCHASE", "performed_on": now})
    # then
    assert response.status_code == 302
    stopped.refresh_from_db()
    campaign.refresh_from_db()
    assert stopped.enabled is False
    assert campaign.state == "running"
    assert kept.progress_records.count() == 1
    assert stopped.progress_records.count() == 0
    # and enabled again
    admin_client.post(changelist, {"action": "enable_selected",
                                   "_selected_action": [stopped.pk]})
    stopped.refresh_from_db()
    assert stopped.enabled is True
