"""Talon.One's Management API through the official SDK."""

from datetime import UTC, datetime

import pytest
import talon_one
import time_machine
from talon_one.exceptions import (
    BadRequestException,
    ConflictException,
    NotFoundException,
    UnauthorizedException,
)

from achievements.models import Achievement
from loyalty.models import ApiKey
from tests.conftest import make_key
from tests.loyalty.factories import CampaignFactory, ProgramFactory

NOW = datetime(2023, 10, 18, 10, 20, tzinfo=UTC)


def create_body(**overrides):
    fields = dict(
        name="Order50Discount", title="50% off on 50th purchase.",
        description="50% off for every 50th purchase in a year.", target=50, period="1Y",
        period_end_override=talon_one.TimePoint(month=11, day_of_month=23, hour=23,
                                                minute=59, second=59),
        recurrence_policy="on_expiration", activation_policy="fixed_schedule",
        fixed_start_date=datetime(2023, 1, 15, 15, 4, 5, tzinfo=UTC),
        end_date=datetime(2026, 2, 15, 15, 4, 5, tzinfo=UTC),
        allow_rollback_after_completion=True,
    )
    fields.update(overrides)
    return talon_one.CreateAchievement(**fields)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def test_create_achievement_answers_201_with_every_field(management, application,
                                                         draft_campaign, management_key):
    # when
    created = management.create_achievement(application.pk, draft_campaign.pk, create_body())
    # then
    assert isinstance(created, talon_one.Achievement)
    stored = Achievement.objects.get()
    assert created.id == stored.pk
    assert created.created == NOW
    assert (created.name, created.title, created.target, created.period) == (
        "Order50Discount", "50% off on 50th purchase.", 50, "1Y")
    assert created.description == "50% off for every 50th purchase in a year."
    assert created.period_end_override == talon_one.TimePoint(
        month=11, day_of_month=23, hour=23, minute=59, second=59)
    assert created.recurrence_policy == "on_expiration"
    assert created.activation_policy == "fixed_schedule"
    assert created.fixed_start_date == datetime(2023, 1, 15, 15, 4, 5, tzinfo=UTC)
    assert created.end_date == datetime(2026, 2, 15, 15, 4, 5, tzinfo=UTC)
    assert created.allow_rollback_after_completion is True
    assert created.campaign_id == draft_campaign.pk
    assert created.user_id == 0  # the key was issued by no user
    assert created.has_progress is False
    assert created.status == "inprogress"
    assert stored.campaign_id == draft_campaign.pk and stored.event_types == []


def test_create_achievement_defaults_and_scheduled_status(management, application,
                                                          draft_campaign):
    created = management.create_achievement(application.pk, draft_campaign.pk,
                                            talon_one.CreateAchievement(
                                                name="Visits", title="Visit 3 times",
                                                description="", target=3, period="1D"))
    assert created.recurrence_policy == "no_recurrence"
    assert created.activation_policy == "user_action"
    assert created.allow_rollback_after_completion is False
    future = management.create_achievement(application.pk, draft_campaign.pk, create_body(
        name="Later", title="Later", fixed_start_date=datetime(2024, 1, 1, tzinfo=UTC)))
    assert future.status == "not_started"


def test_duplicate_name_or_title_is_409_and_writes_nothing(management, application,
                                                          draft_campaign):
    management.create_achievement(application.pk, draft_campaign.pk, create_body())
    with pytest.raises(ConflictException) as name_clash:
        management.create_achievement(application.pk, draft_campaign.pk,
                                      create_body(title="Other title"))
    with pytest.raises(ConflictException):
        management.create_achievement(application.pk, draft_campaign.pk,
                                      create_body(name="OtherName"))
    assert Achievement.objects.count() == 1
    error = talon_one.ErrorResponseWithStatus.from_json(name_clash.value.body)
    assert error.status_code == 409
    assert error.errors[0].source.pointer == "/name"


@pytest.mark.parametrize(("overrides", "pointer"), [
    ({"period": "1X"}, "/period"),
    ({"period": "0D"}, "/period"),
    ({"period": "2W_D"}, "/period"),
    ({"activation_policy": "user_action"}, "/fixedStartDate"),
])
def test_bad_definition_is_400_and_writes_nothing(management, application, draft_campaign,
                                                  overrides, pointer):
    with pytest.raises(BadRequestException) as refused:
        management.create_achievement(application.pk, draft_campaign.pk,
                                      create_body(**overrides))
    error = talon_one.ErrorResponseWithStatus.from_json(refused.value.body)
    assert error.status_code == 400
    assert error.message
    assert pointer in {e.source.pointer for e in error.errors}
    assert Achievement.objects.count() == 0


def test_list_achievements_pages_and_filters_by_title(management, application,
                                                      draft_campaign):
    for i in range(3):
        management.create_achievement(application.pk, draft_campaign.pk, create_body(
            name=f"Goal{i}", title=f"Goal number {i}"))
    other = CampaignFactory(program=application)
    management.create_achievement(application.pk, other.pk, create_body(name="Elsewhere"))
    # when
    first = management.list_achievements(application.pk, draft_campaign.pk, page_size=2)
    rest = management.list_achievements(application.pk, draft_campaign.pk, page_size=2,
                                        skip=2)
    titled = management.list_achievements(application.pk, draft_campaign.pk,
                                          title="number 1")
    # then
    assert isinstance(first, talon_one.ListAchievements200Response)
    assert [a.name for a in first.data] == ["Goal0", "Goal1"] and first.has_more is True
    assert [a.name for a in rest.data] == ["Goal2"] and rest.has_more is False
    assert [a.name for a in titled.data] == ["Goal1"]


def test_get_update_and_delete_an_achievement(management, application, draft_campaign):
    created = management.create_achievement(application.pk, draft_campaign.pk, create_body())
    # get
    got = management.get_achievement(application.pk, draft_campaign.pk, created.id)
    assert got == created
    # update: absent fields stay
    updated = management.update_achievement(
        application.pk, draft_campaign.pk, created.id,
        talon_one.UpdateAchievement(title="New title", target=60, period="2Y"))
    assert (updated.title, updated.target, updated.period) == ("New title", 60, "2Y")
    assert updated.description == created.description
    assert updated.period_end_override == created.period_end_override
    # a bad update changes nothing
    with pytest.raises(BadRequestException):
        management.update_achievement(application.pk, draft_campaign.pk, created.id,
                                      talon_one.UpdateAchievement(period="nonsense"))
    with pytest.raises(BadRequestException):
        management.update_achievement(application.pk, draft_campaign.pk, created.id,
                                      talon_one.UpdateAchievement(name="Renamed"))
    assert Achievement.objects.get().period == "2Y"
    # delete
    assert management.delete_achievement(application.pk, draft_campaign.pk, created.id) is None
    assert not Achievement.objects.exists()
    with pytest.raises(NotFoundException):
        management.get_achievement(application.pk, draft_campaign.pk, created.id)


def test_edit_lock_once_customers_have_progress(management, integration, application,
                                                running_campaign):
    created = management.create_achievement(application.pk, running_campaign.pk, create_body(
        activation_policy="user_action", fixed_start_date=None, period_end_override=None,
        end_date=None))
    integration.track_event_v2(talon_one.IntegrationEventV2Request(profile_id="c1",
                                                                   type="purchase"))
    assert management.get_achievement(application.pk, running_campaign.pk,
                                      created.id).has_progress is True
    with pytest.raises(BadRequestException) as locked:
        management.update_achievement(application.pk, running_campaign.pk, created.id,
                                      talon_one.UpdateAchievement(target=10))
    assert "target" in talon_one.ErrorResponseWithStatus.from_json(locked.value.body).message
    updated = management.update_achievement(
        application.pk, running_campaign.pk, created.id,
        talon_one.UpdateAchievement(title="Renamed title", description="Still 50"))
    assert (updated.title, updated.description, updated.target) == (
        "Renamed title", "Still 50", 50)
    with pytest.raises(BadRequestException):
        management.delete_achievement(application.pk, running_campaign.pk, created.id)
    assert Achievement.objects.filter(pk=created.id).exists()


def test_export_achievements_is_csv_the_sdk_reads(management, integration, application,
                                                  running_campaign):
    created = management.create_achievement(application.pk, running_campaign.pk, talon_one.
                                            CreateAchievement(name="Coffee", title="Coffee",
                                                              description="", target=2,
                                                              period="1D"))
    integration.track_event_v2(talon_one.IntegrationEventV2Request(profile_id="user1",
                                                                   type="coffee"))
    with time_machine.travel(datetime(2023, 10, 18, 11, 0, tzinfo=UTC), tick=False):
        integration.track_event_v2(talon_one.IntegrationEventV2Request(profile_id="user2",
                                                                       type="coffee"))
        integration.track_event_v2(talon_one.IntegrationEventV2Request(profile_id="user2",
                                                                       type="coffee"))
        csv_text = management.export_achievements(application.pk, running_campaign.pk,
                                                  created.id)
    assert csv_text.splitlines() == [
        "profileIntegrationID,title,target,progress,status,startDate,endDate,completionDate",
        "user1,Coffee,2,1,inprogress,2023-10-18T10:20:00+00:00,2023-10-19T10:20:00+00:00,",
        "user2,Coffee,2,2,completed,2023-10-18T11:00:00+00:00,2023-10-19T11:00:00+00:00,"
        "2023-10-18T11:00:00+00:00",
    ]


def test_customer_profile_achievement_progress(management, integration, application,
                                               running_campaign):
    one_time = management.create_achievement(application.pk, running_campaign.pk, talon_one.
                                             CreateAchievement(
                                                 name="FixedMonth", title="Fixed month",
                                                 description="d", target=3, period="1M",
                                                 activation_policy="fixed_schedule",
                                                 fixed_start_date=datetime(2023, 10, 10,
                                                                           tzinfo=UTC)))
    recurring = management.create_achievement(application.pk, running_campaign.pk, talon_one.
                                              CreateAchievement(
                                                  name="Quarter", title="Quarter",
                                                  description="", target=5, period="3M_U",
                                                  recurrence_policy="on_expiration"))
    with time_machine.travel(datetime(2023, 10, 10, 9, 30, 45, tzinfo=UTC), tick=False):
        integration.track_event_v2(talon_one.IntegrationEventV2Request(profile_id="c1",
                                                                       type="visit"))
    integration.track_event_v2(talon_one.IntegrationEventV2Request(profile_id="c1",
                                                                   type="visit"))
    # when
    progress = management.get_customer_profile_achievement_progress(application.pk, "c1")
    only = management.get_customer_profile_achievement_progress(
        application.pk, "c1", achievement_id=recurring.id)
    paged = management.get_customer_profile_achievement_progress(application.pk, "c1",
                                                                 page_size=1)
    # then
    assert isinstance(progress, talon_one.GetCustomerProfileAchievementProgress200Response)
    assert progress.has_more is False and paged.has_more is True
    by_name = {p.name: p for p in progress.data}
    fixed = by_name["FixedMonth"]
    assert (fixed.achievement_id, fixed.status, fixed.progress, fixed.target) == (
        one_time.id, "inprogress", 2, 3)
    assert fixed.start_date == datetime(2023, 10, 10, 9, 30, 45, tzinfo=UTC)
    assert fixed.end_date == datetime(2023, 11, 10, tzinfo=UTC)
    assert fixed.achievement_activation_policy == "fixed_schedule"
    assert fixed.achievement_recurrence_policy == "no_recurrence"
    assert fixed.achievement_fixed_start_date == datetime(2023, 10, 10, tzinfo=UTC)
    assert fixed.campaign_id == running_campaign.pk
    quarter = by_name["Quarter"]
    assert quarter.end_date == datetime(2024, 1, 31, 23, 59, 59, tzinfo=UTC)
    assert [p.name for p in only.data] == ["Quarter"]
    with pytest.raises(NotFoundException):
        management.get_customer_profile_achievement_progress(application.pk, "nobody")
    with pytest.raises(BadRequestException):
        management.get_customer_profile_achievement_progress(application.pk, "c1", skip=-1)


# auth and scoping ----------------------------------------------------------------------------
def test_management_calls_need_the_applications_management_key(sdk, live_server, application,
                                                               draft_campaign,
                                                               integration_key):
    calls = [
        lambda m: m.create_achievement(application.pk, draft_campaign.pk, create_body()),
        lambda m: m.list_achievements(application.pk, draft_campaign.pk),
        lambda m: m.get_achievement(application.pk, draft_campaign.pk, 1),
        lambda m: m.update_achievement(application.pk, draft_campaign.pk, 1,
                                       talon_one.UpdateAchievement(title="x")),
        lambda m: m.delete_achievement(application.pk, draft_campaign.pk, 1),
        lambda m: m.export_achievements(application.pk, draft_campaign.pk, 1),
        lambda m: m.get_customer_profile_achievement_progress(application.pk, "c1"),
    ]
    clients = [
        sdk("management_key", "not-a-key", "ManagementKey-v1")[0],
        sdk("management_key", integration_key.raw_key, "ManagementKey-v1")[0],
        sdk("api_key_v1", integration_key.raw_key, "ApiKey-v1")[0],
    ]
    for client in clients:
        for call in calls:
            with pytest.raises(UnauthorizedException) as refused:
                call(client)
            error = talon_one.ErrorResponseWithStatus.from_json(refused.value.body)
            assert error.status_code == 401
    no_key = talon_one.ManagementApi(talon_one.ApiClient(talon_one.Configuration(
        host=live_server.url)))
    with pytest.raises(UnauthorizedException):
        no_key.list_achievements(application.pk, draft_campaign.pk)
    assert not Achievement.objects.exists()


def test_a_management_key_sent_as_api_key_v1_still_works(sdk, application, draft_campaign,
                                                         management_key):
    # SDK 26.2 sends management calls with the last configured scheme's prefix.
    management = sdk("api_key_v1", management_key.raw_key, "ApiKey-v1")[0]
    assert management.list_achievements(application.pk, draft_campaign.pk).data == []
    bearer = sdk("manager_auth", management_key.raw_key, "Bearer")[0]
    assert bearer.list_achievements(application.pk, draft_campaign.pk).data == []


def test_another_applications_objects_are_404_and_untouched(management, sdk, application,
                                                            draft_campaign):
    other = ProgramFactory(name="Other App")
    foreign_campaign = CampaignFactory(program=other)
    other_key = make_key(scope=ApiKey.Scope.MANAGEMENT, program=other)
    other_management = sdk("management_key", other_key.raw_key, "ManagementKey-v1")[0]
    foreign = other_management.create_achievement(other.pk, foreign_campaign.pk, create_body())
    mine = management.create_achievement(application.pk, draft_campaign.pk, create_body())
    sibling = CampaignFactory(program=application)
    for call in (
        lambda: management.list_achievements(other.pk, foreign_campaign.pk),
        lambda: management.create_achievement(other.pk, foreign_campaign.pk, create_body()),
        lambda: management.create_achievement(application.pk, foreign_campaign.pk,
                                              create_body(name="Xx")),
        lambda: management.get_achievement(application.pk, foreign_campaign.pk, foreign.id),
        lambda: management.get_achievement(application.pk, sibling.pk, mine.id),
        lambda: management.update_achievement(application.pk, sibling.pk, mine.id,
                                              talon_one.UpdateAchievement(title="Stolen")),
        lambda: management.update_achievement(other.pk, foreign_campaign.pk, foreign.id,
                                              talon_one.UpdateAchievement(title="Stolen")),
        lambda: management.delete_achievement(other.pk, foreign_campaign.pk, foreign.id),
        lambda: management.export_achievements(other.pk, foreign_campaign.pk, foreign.id),
        lambda: management.get_customer_profile_achievement_progress(other.pk, "c1"),
    ):
        with pytest.raises(NotFoundException):
            call()
    assert sorted(Achievement.objects.values_list("title", flat=True)) == [
        "50% off on 50th purchase.", "50% off on 50th purchase."]
