"""Talon.One's Integration API through the official SDK."""

from datetime import UTC, datetime

import pytest
import talon_one
import time_machine
from talon_one.exceptions import BadRequestException, NotFoundException, UnauthorizedException

from achievements.models import AchievementProgress
from events.models import CustomerEvent
from loyalty.models import ApiKey, Customer
from tests.achievements.factories import AchievementFactory
from tests.conftest import make_key
from tests.loyalty.factories import CampaignFactory

NOW = datetime(2023, 10, 10, 9, 30, 45, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def coffee(running_campaign):
    """One-time, user action, 1D: the first documented example."""
    return AchievementFactory(campaign=running_campaign, name="FreeCoffee3", title="Free coffee",
                              target=3, period="1D")


def event(profile_id="c1", type="coffee_ordered", **fields):
    return talon_one.IntegrationEventV2Request(profile_id=profile_id, type=type, **fields)


def test_track_event_v2_answers_the_achievement_effects(integration, application, coffee,
                                                        running_campaign):
    # when
    answer = integration.track_event_v2(event(attributes={"size": "L"},
                                              store_integration_id="store-1"), silent="no")
    # then
    assert isinstance(answer, talon_one.TrackEventV2Response)
    assert answer.created_coupons == [] and answer.created_referrals == []
    stored = CustomerEvent.objects.get()
    assert answer.event.id == stored.pk
    assert answer.event.created == NOW
    assert answer.event.application_id == application.pk
    assert (answer.event.profile_id, answer.event.type) == ("c1", "coffee_ordered")
    assert answer.event.attributes == {"size": "L"}
    assert answer.event.store_integration_id == "store-1"
    [effect] = answer.effects
    assert effect.effect_type == "increaseAchievementProgress"
    assert effect.campaign_id == running_campaign.pk
    props = talon_one.IncreaseAchievementProgressEffectProps.from_dict(effect.props)
    assert (props.achievement_id, props.achievement_name, props.delta, props.value,
            props.target, props.is_just_completed) == (coffee.pk, "FreeCoffee3", 1, 1, 3, False)
    assert props.progress_tracker_id == AchievementProgress.objects.get().pk
    assert stored.type == "CUSTOM" and stored.attributes == {"size": "L"}


def test_track_event_v2_completes_and_lists_the_customer_achievement(integration, coffee,
                                                                     clock):
    for _ in range(2):
        integration.track_event_v2(event())
    clock.shift(60)
    last = integration.track_event_v2(event())
    props = talon_one.IncreaseAchievementProgressEffectProps.from_dict(last.effects[0].props)
    assert (props.value, props.is_just_completed) == (3, True)
    # when
    page = integration.get_customer_achievements("c1")
    # then
    assert isinstance(page, talon_one.GetCustomerAchievements200Response)
    assert page.total_result_size == 1
    [entry] = page.data
    assert isinstance(entry, talon_one.AchievementStatusEntry)
    assert (entry.id, entry.name, entry.title, entry.target, entry.period) == (
        coffee.pk, "FreeCoffee3", "Free coffee", 3, "1D")
    assert entry.status == "active"
    assert (entry.recurrence_policy, entry.activation_policy) == ("no_recurrence",
                                                                  "user_action")
    progress = entry.current_progress
    assert (progress.status, progress.progress) == ("completed", 3)
    assert progress.start_date == NOW
    assert progress.completion_date == datetime(2023, 10, 10, 9, 31, 45, tzinfo=UTC)
    assert progress.end_date == datetime(2023, 10, 11, 9, 30, 45, tzinfo=UTC)


def test_idempotency_key_counts_a_retry_once(integration, coffee, clock):
    first = integration.track_event_v2(event(), _headers={"Idempotency-Key": "order-1"})
    clock.shift(5)
    again = integration.track_event_v2(event(), _headers={"Idempotency-Key": "order-1"})
    assert again.event.id == first.event.id
    assert again.effects == first.effects
    assert CustomerEvent.objects.count() == 1
    assert AchievementProgress.objects.get().progress == 1


def test_silent_and_dry_runs(integration, coffee):
    assert integration.track_event_v2(event(), silent="yes") is None
    dry = integration.track_event_v2(event(profile_id="new"), dry=True)
    assert talon_one.IncreaseAchievementProgressEffectProps.from_dict(
        dry.effects[0].props).value == 1
    assert CustomerEvent.objects.count() == 1  # the silent one; the dry one left nothing
    assert not Customer.objects.filter(integration_id="new").exists()


def test_track_event_v2_refuses_bad_input_and_writes_nothing(integration, live_server,
                                                             coffee, sdk, management_key):
    client = integration.api_client
    for body in ({"type": "x"}, {"profileId": "c1"}, {"profileId": "c1", "type": ""},
                 {"profileId": "c1", "type": "x", "attributes": []}):
        response = client.rest_client.request(
            "POST", f"{live_server.url}/v2/events",
            headers={"Authorization": client.configuration.get_api_key_with_prefix(
                "api_key_v1"), "Content-Type": "application/json"},
            body=body)
        response.read()
        assert response.status == 400, body
        error = talon_one.ErrorResponseWithStatus.from_json(response.data.decode())
        assert error.status_code == 400 and error.errors[0].source.pointer
    with pytest.raises(BadRequestException):
        integration.track_event_v2(event(), silent="maybe")
    management = sdk("api_key_v1", management_key.raw_key, "ApiKey-v1")[1]
    with pytest.raises(UnauthorizedException):
        management.track_event_v2(event())
    assert not CustomerEvent.objects.exists() and not Customer.objects.exists()


def test_customer_achievements_filters(integration, running_campaign, coffee, application):
    other_campaign = CampaignFactory(program=application, running=True)
    scheduled = AchievementFactory(campaign=other_campaign, name="Later", title="Later",
                                   fixed=True, period="1M",
                                   fixed_start_date=datetime(2024, 1, 1, tzinfo=UTC))
    integration.track_event_v2(event())
    default = integration.get_customer_achievements("c1")
    assert [e.id for e in default.data] == [coffee.pk]
    both = integration.get_customer_achievements("c1",
                                                 achievement_status=["active", "scheduled"])
    assert {e.id: e.status for e in both.data} == {coffee.pk: "active",
                                                   scheduled.pk: "scheduled"}
    later = both.data[[e.id for e in both.data].index(scheduled.pk)]
    assert later.current_progress.status == "not_started"
    assert later.fixed_start_date == datetime(2024, 1, 1, tzinfo=UTC)
    by_campaign = integration.get_customer_achievements(
        "c1", campaign_ids=[str(other_campaign.pk)], achievement_status=["scheduled"])
    assert [e.id for e in by_campaign.data] == [scheduled.pk]
    by_id = integration.get_customer_achievements("c1", achievement_ids=[str(coffee.pk)])
    assert by_id.total_result_size == 1
    in_progress = integration.get_customer_achievements(
        "c1", current_progress_status=["inprogress"], achievement_status=["active",
                                                                          "scheduled"])
    assert [e.id for e in in_progress.data] == [coffee.pk]
    not_started = integration.get_customer_achievements(
        "c1", current_progress_status=["not_started", "completed"],
        achievement_status=["active", "scheduled"])
    assert [e.id for e in not_started.data] == [scheduled.pk]
    paged = integration.get_customer_achievements(
        "c1", achievement_status=["active", "scheduled"], page_size=1, skip=1)
    assert paged.total_result_size == 2 and len(paged.data) == 1
    for bad in ({"achievement_status": ["expired"]},
                {"current_progress_status": ["done"]},
                {"campaign_ids": ["abc"]}):
        with pytest.raises(BadRequestException) as refused:
            integration.get_customer_achievements("c1", **bad)
        error = talon_one.ErrorResponseWithStatus.from_json(refused.value.body)
        assert error.errors[0].source.parameter
    with pytest.raises(NotFoundException):
        integration.get_customer_achievements("nobody")


def test_customer_achievement_history(integration, running_campaign, clock):
    weekly = AchievementFactory(campaign=running_campaign, name="Weekly", title="Weekly",
                                target=2, period="1W",
                                recurrence_policy="on_expiration")
    integration.track_event_v2(event())
    clock.move_to(datetime(2023, 10, 20, 12, 0, tzinfo=UTC))
    integration.track_event_v2(event())
    integration.track_event_v2(event())
    # when
    history = integration.get_customer_achievement_history("c1", weekly.pk)
    # then
    assert isinstance(history, talon_one.GetCustomerAchievementHistory200Response)
    assert history.total_result_size == 2
    latest, first = history.data
    assert isinstance(latest, talon_one.AchievementProgress)
    assert (latest.status, latest.progress) == ("completed", 2)
    assert latest.start_date == datetime(2023, 10, 20, 12, 0, tzinfo=UTC)
    assert latest.end_date == datetime(2023, 10, 27, 12, 0, tzinfo=UTC)
    assert latest.completion_date == datetime(2023, 10, 20, 12, 0, tzinfo=UTC)
    assert (first.status, first.progress) == ("expired", 1)
    assert first.start_date == NOW
    assert first.end_date == datetime(2023, 10, 17, 9, 30, 45, tzinfo=UTC)
    assert first.completion_date is None
    expired = integration.get_customer_achievement_history("c1", weekly.pk,
                                                           progress_status=["expired"])
    assert [h.status for h in expired.data] == ["expired"]
    window = integration.get_customer_achievement_history(
        "c1", weekly.pk, start_date=datetime(2023, 10, 15, tzinfo=UTC),
        end_date=datetime(2023, 10, 21, tzinfo=UTC))
    assert [h.start_date for h in window.data] == [datetime(2023, 10, 20, 12, tzinfo=UTC)]
    paged = integration.get_customer_achievement_history("c1", weekly.pk, page_size=1,
                                                         skip=1)
    assert paged.total_result_size == 2 and [h.status for h in paged.data] == ["expired"]
    with pytest.raises(BadRequestException):
        integration.get_customer_achievement_history("c1", weekly.pk,
                                                     progress_status=["not_started"])
    with pytest.raises(NotFoundException):
        integration.get_customer_achievement_history("nobody", weekly.pk)
    with pytest.raises(NotFoundException):
        integration.get_customer_achievement_history("c1", 999999)


def test_integration_calls_need_the_applications_integration_key(sdk, coffee,
                                                                 management_key,
                                                                 other_program):
    foreign = make_key(scope=ApiKey.Scope.INTEGRATION, program=other_program)
    clients = [sdk("api_key_v1", "nope", "ApiKey-v1")[1],
               sdk("api_key_v1", management_key.raw_key, "ApiKey-v1")[1],
               sdk("api_key_v1", management_key.raw_key, "ManagementKey-v1")[1]]
    for client in clients:
        for call in (lambda c: c.track_event_v2(event()),
                     lambda c: c.get_customer_achievements("c1"),
                     lambda c: c.get_customer_achievement_history("c1", coffee.pk)):
            with pytest.raises(UnauthorizedException):
                call(client)
    # another application's key sees none of this one's customers or achievements
    other = sdk("api_key_v1", foreign.raw_key, "ApiKey-v1")[1]
    with pytest.raises(NotFoundException):
        other.get_customer_achievement_history("c1", coffee.pk)
    assert not CustomerEvent.objects.exists()


def test_customer_inventory_lists_achievement_progress(integration, coffee):
    integration.track_event_v2(event())
    inventory = integration.get_customer_inventory("c1", achievements=True)
    assert isinstance(inventory, talon_one.CustomerInventory)
    [progress] = inventory.achievements
    assert (progress.achievement_id, progress.name, progress.status, progress.progress) == (
        coffee.pk, "FreeCoffee3", "inprogress", 1)
    assert progress.start_date == NOW
    assert progress.end_date == datetime(2023, 10, 11, 9, 30, 45, tzinfo=UTC)
    assert integration.get_customer_inventory("c1").achievements is None
    with pytest.raises(NotFoundException):
        integration.get_customer_inventory("nobody", achievements=True)
