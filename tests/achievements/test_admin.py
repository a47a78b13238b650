"""The admin for achievement definitions and customer progress."""

from decimal import Decimal

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from achievements.models import Achievement, AchievementProgress
from achievements.services import EDITABLE_FIELDS
from tests.achievements.factories import AchievementFactory, AchievementProgressFactory
from tests.loyalty.factories import CampaignFactory

pytestmark = pytest.mark.django_db

LOCKABLE = tuple(f for f in EDITABLE_FIELDS if f not in Achievement.ALWAYS_EDITABLE)


def url(model_name: str, view: str, *args: int) -> str:
    return reverse(f"admin:achievements_{model_name}_{view}", args=args)


def result_pks(response) -> set[int]:
    return {obj.pk for obj in response.context["cl"].result_list}


def admin_request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def achievement_admin():
    return admin.site._registry[Achievement]


def unlocked_form(achievement: Achievement, **overrides) -> dict:
    """Every field the change form of an unlocked achievement posts, as it stands."""
    data = {
        "title": achievement.title,
        "description": achievement.description,
        "target": str(achievement.target),
        "progress_condition": achievement.progress_condition,
        "progress_increment": achievement.progress_increment,
        "activation_policy": achievement.activation_policy,
        "recurrence_policy": achievement.recurrence_policy,
        "period": achievement.period,
        **{f"period_end_override_{i}": "" for i in range(6)},
        "fixed_start_date_0": "",
        "fixed_start_date_1": "",
        "end_date_0": "",
        "end_date_1": "",
        "time_zone": achievement.time_zone,
    }
    data.update(overrides)
    return data


def locked_form(achievement: Achievement, **overrides: str) -> dict[str, str]:
    data = {"title": achievement.title, "description": achievement.description}
    data.update(overrides)
    return data


# Changelists, search, add and change pages
# ------------------------------------------------------------------------------
def test_achievement_changelist_lists_rows_with_progress_flag_when_they_exist(admin_client):
    idle = AchievementFactory(title="Ten coffees")
    busy = AchievementProgressFactory().achievement

    response = admin_client.get(url("achievement", "changelist"))

    assert response.status_code == 200
    rows = {obj.pk: obj for obj in response.context["cl"].result_list}
    assert (rows[idle.pk].has_progress, rows[busy.pk].has_progress) == (False, True)


@pytest.mark.parametrize("query", ["TenCoffees", "Ten coffees"])
def test_achievement_changelist_search_finds_by_name_or_title_when_query_given(admin_client,
                                                                               query):
    wanted = AchievementFactory(name="TenCoffees", title="Ten coffees")
    AchievementFactory(name="FirstOrder", title="First order")

    response = admin_client.get(url("achievement", "changelist"), {"q": query})

    assert response.status_code == 200
    assert result_pks(response) == {wanted.pk}


def test_progress_changelist_lists_rows_when_they_exist(admin_client):
    progress = AchievementProgressFactory(progress=4, achievement__target=10)

    response = admin_client.get(url("achievementprogress", "changelist"))

    assert response.status_code == 200
    assert progress.pk in result_pks(response)
    assert "width:40%" in response.content.decode()


def test_progress_changelist_writes_plain_numbers_when_target_is_round(admin_client):
    AchievementProgressFactory(progress=40, achievement__target=100)

    response = admin_client.get(url("achievementprogress", "changelist"))

    assert 'title="40 / 100"' in response.content.decode()


def test_progress_changelist_search_finds_by_integration_id_when_query_given(admin_client):
    wanted = AchievementProgressFactory(customer__integration_id="cust-alpha")
    AchievementProgressFactory(customer__integration_id="cust-beta")

    response = admin_client.get(url("achievementprogress", "changelist"), {"q": "cust-alpha"})

    assert response.status_code == 200
    assert result_pks(response) == {wanted.pk}


def test_achievement_add_page_renders_when_opened(admin_client):
    response = admin_client.get(url("achievement", "add"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Fill in the schedule to see when a customer starting now would finish." in page


def test_achievement_change_page_renders_when_achievement_exists(admin_client):
    achievement = AchievementFactory()

    response = admin_client.get(url("achievement", "change", achievement.pk))

    assert response.status_code == 200
    assert response.context["original"] == achievement


def test_progress_change_page_is_read_only_when_opened(admin_client):
    progress = AchievementProgressFactory()

    response = admin_client.get(url("achievementprogress", "change", progress.pk))

    assert response.status_code == 200
    assert response.context["original"] == progress
    assert response.context["has_change_permission"] is False


def test_progress_add_page_is_forbidden_when_opened(admin_client):
    response = admin_client.get(url("achievementprogress", "add"))

    assert response.status_code == 403


def test_progress_admin_keeps_progress_when_post_tries_to_change_it(admin_client):
    progress = AchievementProgressFactory(progress=3)

    response = admin_client.post(url("achievementprogress", "change", progress.pk),
                                 {"progress": "99", "status": "completed"})

    assert response.status_code == 403
    progress.refresh_from_db()
    assert (progress.progress, progress.status) == (3, AchievementProgress.Status.INPROGRESS)


# Adding
# ------------------------------------------------------------------------------
def test_achievement_admin_stores_creator_when_achievement_added(admin_client, admin_user):
    campaign = CampaignFactory()
    data = unlocked_form(
        Achievement(title="Ten coffees", target=Decimal(10), period="30D",
                    activation_policy="user_action", recurrence_policy="on_expiration",
                    progress_condition='event.product == "COFFEE"', progress_increment="1"),
        campaign=str(campaign.pk), name="TenCoffees", event_types=["PURCHASE"],
    )

    response = admin_client.post(url("achievement", "add"), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    achievement = Achievement.objects.get(campaign=campaign, name="TenCoffees")
    assert achievement.created_by == admin_user
    assert achievement.target == 10
    assert achievement.period == "30D"
    assert achievement.event_types == ["PURCHASE"]
    assert achievement.recurrence_policy == Achievement.RecurrencePolicy.ON_EXPIRATION


def test_achievement_admin_rejects_bad_period_when_achievement_added(admin_client):
    campaign = CampaignFactory()
    data = unlocked_form(Achievement(title="Nope", target=Decimal(1), period="fortnight"),
                         campaign=str(campaign.pk), name="Nope",
                         activation_policy="user_action", recurrence_policy="no_recurrence",
                         progress_condition="true", progress_increment="1")

    response = admin_client.post(url("achievement", "add"), data)

    assert response.status_code == 200
    assert "period" in response.context["adminform"].form.errors
    assert not Achievement.objects.filter(name="Nope").exists()


# Changing
# ------------------------------------------------------------------------------
def test_achievement_admin_changes_target_when_campaign_draft_and_no_progress(admin_client):
    achievement = AchievementFactory(target=10)

    response = admin_client.post(url("achievement", "change", achievement.pk),
                                 unlocked_form(achievement, target="25"))

    assert response.status_code == 302, response.context["adminform"].form.errors
    achievement.refresh_from_db()
    assert achievement.target == 25


def test_achievement_admin_offers_schedule_fields_when_unlocked(admin_user):
    achievement = AchievementFactory()

    readonly = achievement_admin().get_readonly_fields(admin_request(admin_user), achievement)

    assert {"campaign", "name"} <= set(readonly)
    assert not set(LOCKABLE) & set(readonly)
    assert not set(Achievement.ALWAYS_EDITABLE) & set(readonly)


@pytest.mark.parametrize("lock", ["running_campaign", "progress"])
def test_achievement_admin_locks_definition_when_campaign_running_or_progress(admin_user, lock):
    if lock == "running_campaign":
        achievement = AchievementFactory(campaign__running=True)
    else:
        achievement = AchievementProgressFactory().achievement

    readonly = achievement_admin().get_readonly_fields(admin_request(admin_user), achievement)

    assert {"campaign", "name", "target", "period"} <= set(readonly)
    assert set(LOCKABLE) <= set(readonly)
    assert not set(Achievement.ALWAYS_EDITABLE) & set(readonly)


def test_achievement_admin_leaves_name_and_campaign_editable_when_adding(admin_user):
    readonly = achievement_admin().get_readonly_fields(admin_request(admin_user), None)

    assert "name" not in readonly
    assert "campaign" not in readonly


@pytest.mark.parametrize("lock", ["running_campaign", "progress"])
def test_achievement_admin_ignores_target_but_saves_title_when_locked(admin_client, lock):
    if lock == "running_campaign":
        achievement = AchievementFactory(campaign__running=True, target=10)
    else:
        achievement = AchievementProgressFactory(achievement__target=10).achievement

    response = admin_client.post(
        url("achievement", "change", achievement.pk),
        locked_form(achievement, title="A better title", target="1", period="7D"),
    )

    assert response.status_code == 302
    achievement.refresh_from_db()
    assert achievement.title == "A better title"
    assert (achievement.target, achievement.period) == (10, "1D")


def test_achievement_admin_keeps_name_and_campaign_when_post_tries_to_change_them(admin_client):
    achievement = AchievementFactory(name="Original")
    campaign = achievement.campaign
    other_campaign = CampaignFactory(program=campaign.program)

    response = admin_client.post(
        url("achievement", "change", achievement.pk),
        unlocked_form(achievement, name="Renamed", campaign=str(other_campaign.pk),
                      description="Changed"),
    )

    assert response.status_code == 302
    achievement.refresh_from_db()
    assert (achievement.name, achievement.campaign, achievement.description) == (
        "Original", campaign, "Changed",
    )


def test_achievement_admin_shows_error_when_title_taken_in_campaign(admin_client):
    taken = AchievementFactory(title="Ten coffees")
    achievement = AchievementFactory(campaign=taken.campaign, title="Five teas")

    response = admin_client.post(url("achievement", "change", achievement.pk),
                                 unlocked_form(achievement, title="Ten coffees"), follow=True)

    assert "already exists" in response.content.decode()
    achievement.refresh_from_db()
    assert achievement.title == "Five teas"


def test_achievement_change_page_previews_schedule_when_user_action_with_period(admin_client):
    achievement = AchievementFactory(period="1D", activation_policy="user_action")

    response = admin_client.get(url("achievement", "change", achievement.pk))

    assert "would finish by" in response.content.decode()


def test_achievement_change_page_previews_no_limit_when_period_empty(admin_client):
    achievement = AchievementFactory(period="")

    response = admin_client.get(url("achievement", "change", achievement.pk))

    content = response.content.decode()
    assert "has no time limit" in content
    assert "would finish by" not in content


# Deleting
# ------------------------------------------------------------------------------
@pytest.mark.parametrize("lock", ["running_campaign", "progress"])
def test_achievement_admin_forbids_delete_when_locked(admin_client, admin_user, lock):
    if lock == "running_campaign":
        achievement = AchievementFactory(campaign__running=True)
    else:
        achievement = AchievementProgressFactory().achievement

    allowed = achievement_admin().has_delete_permission(admin_request(admin_user), achievement)
    response = admin_client.post(url("achievement", "delete", achievement.pk), {"post": "yes"})

    assert allowed is False
    assert response.status_code == 403
    assert Achievement.objects.filter(pk=achievement.pk).exists()


def test_achievement_admin_keeps_locked_achievement_when_bulk_deleted(admin_client):
    locked = AchievementFactory(campaign__running=True)

    admin_client.post(url("achievement", "changelist"),
                      {"action": "delete_selected", "_selected_action": [locked.pk],
                       "post": "yes"})

    assert Achievement.objects.filter(pk=locked.pk).exists()


def test_achievement_admin_deletes_achievement_when_unlocked(admin_client, admin_user):
    achievement = AchievementFactory()

    allowed = achievement_admin().has_delete_permission(admin_request(admin_user), achievement)
    response = admin_client.post(url("achievement", "delete", achievement.pk), {"post": "yes"})

    assert allowed is True
    assert response.status_code == 302
    assert not Achievement.objects.filter(pk=achievement.pk).exists()


def test_progress_changelist_filters_by_program_when_filter_given(admin_client):
    wanted = AchievementProgressFactory()
    unwanted = AchievementProgressFactory()
    program_id = wanted.achievement.campaign.program_id

    response = admin_client.get(url("achievementprogress", "changelist"),
                                {"achievement__campaign__program__id__exact": program_id})

    assert response.status_code == 200
    assert unwanted.achievement.campaign.program_id != program_id
    assert result_pks(response) == {wanted.pk}
