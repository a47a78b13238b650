"""The admin for streak targets: target groups (added and changed through the services),
enrolments and their actions, and the streaks on the customer page."""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from achievements.models import (
    Enrolment,
    StreakLevel,
    StreakLevelAchievement,
    Target,
    TargetGroup,
    TargetPeriod,
    TargetValue,
)
from achievements.services import target_group_create
from achievements.services.streaks import GROUP_EDITABLE
from events.services import enrolment_enrol, event_ingest
from loyalty.models import Classification, Customer
from tests.loyalty.factories import CustomerFactory

pytestmark = pytest.mark.django_db

MONDAY = datetime(2026, 1, 5, tzinfo=UTC)
LEVELS = [{"name": "One week", "target_count_of_sequence": 1},
          {"name": "Two weeks", "target_count_of_sequence": 2},
          {"name": "Four weeks", "target_count_of_sequence": 4}]


def url(name: str, *args) -> str:
    return reverse(f"admin:achievements_{name}", args=args)


def result_pks(response) -> set[int]:
    return {obj.pk for obj in response.context["cl"].result_list}


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def weekly_group(program, *, name: str = "Weekly 100", start: datetime = MONDAY,
                 **fields) -> TargetGroup:
    return target_group_create(
        program=program, name=name, tracking_type="STREAKS", frequency_type="WEEKLY",
        frequency=1, recurring_cycles=4, start_date=start, time_zone="UTC",
        targets=[{"name": "Spend 100", "target_entity": "TRANSACTION", "target_type": "SALES",
                  "event_name": "PURCHASE", "default_values": [Decimal(100)] * 4}],
        streaks=LEVELS, **fields,
    )


def spend(program, amount: int, at: datetime, customer: str = "ann", now: datetime | None = None):
    return event_ingest(program=program, now=now or at + timedelta(minutes=1), data={
        "customer": customer, "type": "PURCHASE", "amount": Decimal(amount), "performed_on": at,
    })


def this_monday() -> datetime:
    now = timezone.now().astimezone(UTC)
    return (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0,
                                                         microsecond=0)


def form_data(response) -> dict[str, object]:
    """What the browser would post back from a change page, unchanged."""
    data: dict[str, object] = {}

    def put(form, name):
        value = form[name].value()
        if isinstance(value, bool):
            if value:
                data[form.add_prefix(name)] = "on"
        elif value is not None:
            data[form.add_prefix(name)] = str(value)

    form = response.context["adminform"].form
    for name in form.fields:
        put(form, name)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for key, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{key}"] = value
        for inline_form in formset.forms:
            for name in inline_form.fields:
                put(inline_form, name)
    return data


def add_form(program, **overrides) -> dict[str, object]:
    data = {
        "program": program.pk, "name": "Weekly spend", "description": "Spend 100 a week",
        "active": "on", "tracking_type": "STREAKS",
        "target_evaluation_type": "FIXED_CALENDAR_WINDOW", "frequency_type": "WEEKLY",
        "frequency": "1", "recurring_cycles": "4", "start_date_0": "2026-01-05",
        "start_date_1": "00:00:00", "time_zone": "Europe/Amsterdam",
        "grace_period": "0", "reminder_window": "0",
        "target_name": "Spend 100", "target_description": "", "target_entity": "TRANSACTION",
        "target_type": "SALES", "target_event_name": "PURCHASE", "target_expression": "true",
        "target_value": "100", "target_attribute_name": "", "target_enrolment_method":
        "TRANSACTION", "target_alternate_currency_identifier": "",
        "level_1_name": "One week", "level_1_count": "1",
        "level_2_name": "Two weeks", "level_2_count": "2",
        "level_3_name": "Four weeks", "level_3_count": "4",
    }
    data.update(overrides)
    return data


# Target groups: changelist and search
# ------------------------------------------------------------------------------
def test_target_group_changelist_lists_groups_with_counts(admin_client, program):
    group = weekly_group(program)
    idle = weekly_group(program, name="Quiet weeks", active=False)
    spend(program, 120, MONDAY + timedelta(days=1))

    response = admin_client.get(url("targetgroup_changelist"))

    assert response.status_code == 200
    rows = {obj.pk: obj for obj in response.context["cl"].result_list}
    assert set(rows) == {group.pk, idle.pk}
    assert (rows[group.pk].enrolled_count, rows[idle.pk].enrolled_count) == (1, 0)
    content = response.content.decode()
    levels_cell = content.split('class="field-levels_display"')[1].split("</td>")[0]
    assert re.findall(r"<span[^>]*>([^<]*)</span>", levels_cell) == [
        "One week (1)", "Two weeks (2)", "Four weeks (4)"]
    assert "Continuous streak" in content


def test_target_group_changelist_searches_by_name(admin_client, program):
    weekly = weekly_group(program)
    weekly_group(program, name="Monthly visits")

    response = admin_client.get(url("targetgroup_changelist"), {"q": "weekly"})

    assert result_pks(response) == {weekly.pk}


# Target groups: add through target_group_create
# ------------------------------------------------------------------------------
def test_target_group_add_form_has_group_target_and_level_fields(admin_client):
    response = admin_client.get(url("targetgroup_add"))

    assert response.status_code == 200
    fields = response.context["adminform"].form.fields
    assert {"start_date", "target_name", "target_value", "level_1_name",
            "level_10_count"} <= set(fields)
    assert "CUSTOM" not in dict(fields["frequency_type"].choices)


def test_target_group_add_creates_a_weekly_streak_through_the_service(admin_client, program):
    classifications = Classification.objects.count()

    response = admin_client.post(url("targetgroup_add"), add_form(program))

    assert response.status_code == 302, response.context["adminform"].form.errors
    group = TargetGroup.objects.get()
    assert response.url == url("targetgroup_change", group.pk)
    assert (group.tracking_type, group.frequency_type, group.total_periods) == (
        "STREAKS", "WEEKLY", 4)
    # The start is read in the group's time zone, and the cycles follow week by week.
    amsterdam = ZoneInfo("Europe/Amsterdam")
    first = datetime(2026, 1, 5, tzinfo=amsterdam)
    assert [(p.ref_code, p.start_date, p.end_date) for p in group.periods.all()] == [
        (f"Cycle_{i + 1}", first + timedelta(weeks=i), first + timedelta(weeks=i + 1))
        for i in range(4)
    ]
    target = group.targets.get()
    assert (target.name, target.target_type, target.event_name) == ("Spend 100", "SALES",
                                                                    "PURCHASE")
    assert list(TargetValue.objects.filter(target=target).values_list("value", flat=True)) == [
        Decimal(100)] * 4
    levels = list(group.levels.order_by("target_count_of_sequence"))
    assert [(lvl.name, lvl.target_count_of_sequence) for lvl in levels] == [
        ("One week", 1), ("Two weeks", 2), ("Four weeks", 4)]
    assert [lvl.classification.code for lvl in levels] == [
        f"STREAK:{group.pk}:{n}" for n in (1, 2, 4)]
    assert target.classification.code == f"MILESTONE:{group.pk}:{target.pk}"
    assert Classification.objects.count() == classifications + 4


def test_target_group_add_shows_the_service_refusal_and_writes_nothing(admin_client, program):
    classifications = Classification.objects.count()
    data = add_form(program, level_2_count="1")  # 1, 1, 4: not ascending

    response = admin_client.post(url("targetgroup_add"), data)

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert "Levels go in strictly ascending targetCountOfSequence." in form.non_field_errors()
    assert "Levels go in strictly ascending targetCountOfSequence." in response.content.decode()
    assert not TargetGroup.objects.exists()
    assert not TargetPeriod.objects.exists()
    assert Classification.objects.count() == classifications


def test_target_group_add_puts_service_errors_on_their_fields(admin_client, program):
    data = add_form(program, level_3_count="9", target_expression="event.amount >")

    response = admin_client.post(url("targetgroup_add"), data)

    errors = response.context["adminform"].form.errors
    assert "target_expression" in errors
    assert any("more than the 4 periods" in e for e in errors["__all__"])
    assert not TargetGroup.objects.exists()


def test_target_group_add_refuses_a_taken_name_on_the_name_field(admin_client, program):
    weekly_group(program, name="Weekly spend")

    response = admin_client.post(url("targetgroup_add"), add_form(program, name="WEEKLY SPEND"))

    assert response.context["adminform"].form.errors["name"] == [
        "A target group named 'WEEKLY SPEND' already exists."]
    assert TargetGroup.objects.count() == 1


def test_target_group_add_asks_for_both_halves_of_a_level(admin_client, program):
    response = admin_client.post(url("targetgroup_add"), add_form(program, level_3_count=""))

    assert "level_3_count" in response.context["adminform"].form.errors
    assert not TargetGroup.objects.exists()


# Target groups: change through target_group_update
# ------------------------------------------------------------------------------
def test_target_group_change_form_shows_structure_read_only(admin_client, program):
    group = weekly_group(program)

    response = admin_client.get(url("targetgroup_change", group.pk))

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert set(form.fields) == set(GROUP_EDITABLE)
    assert {"tracking_type", "frequency_type", "recurring_cycles", "time_zone"}.isdisjoint(
        form.fields)
    formsets = {f.formset.model: f for f in response.context["inline_admin_formsets"]}
    assert set(formsets[TargetPeriod].formset.forms[0].fields) == {
        "id", "group", f"value_{group.targets.get().pk}"}
    assert set(formsets[Target].formset.forms[0].fields) == {"id", "group", "name",
                                                             "description", "expression"}
    assert not formsets[StreakLevel].has_change_permission
    content = response.content.decode()
    assert content.count('class="laurel-period laurel-period-ended"') == 4
    assert "STREAK:" in content


def test_target_group_change_saves_a_name_and_ignores_structural_fields(admin_client, program):
    group = weekly_group(program)
    page = admin_client.get(url("targetgroup_change", group.pk))
    data = form_data(page)
    data.update({"name": "Weekly hundred", "tracking_type": "NON_CONTINUOUS_STREAKS",
                 "frequency_type": "DAILY", "frequency": "3", "recurring_cycles": "9",
                 "time_zone": "Asia/Tokyo"})

    response = admin_client.post(url("targetgroup_change", group.pk), data)

    assert response.status_code == 302
    group.refresh_from_db()
    assert group.name == "Weekly hundred"
    assert (group.tracking_type, group.frequency_type, group.frequency,
            group.recurring_cycles, group.time_zone) == ("STREAKS", "WEEKLY", 1, 4, "UTC")
    assert group.periods.count() == 4 and group.levels.count() == 3


def test_target_group_change_edits_target_and_one_period_value(admin_client, program):
    group = weekly_group(program)
    target = group.targets.get()
    page = admin_client.get(url("targetgroup_change", group.pk))
    data = form_data(page)
    data["targets-0-expression"] = "currentEvent.amount >= 20.0"
    data[f"periods-1-value_{target.pk}"] = "150"

    response = admin_client.post(url("targetgroup_change", group.pk), data)

    assert response.status_code == 302
    target.refresh_from_db()
    assert target.expression == "currentEvent.amount >= 20.0"
    values = TargetValue.objects.filter(target=target).order_by("period__position")
    assert [v.value for v in values] == [Decimal(100), Decimal(150), Decimal(100), Decimal(100)]


def test_target_group_parts_follow_the_group_permissions(client, django_user_model, program):
    # given: a campaign manager with the target group permissions only
    manager = django_user_model.objects.create_user("manager", password="x", is_staff=True)
    manager.user_permissions.set(Permission.objects.filter(
        content_type__app_label="achievements",
        codename__in=["view_targetgroup", "change_targetgroup"]))
    client.force_login(manager)
    group = weekly_group(program)
    target = group.targets.get()
    data = form_data(client.get(url("targetgroup_change", group.pk)))
    data[f"periods-3-value_{target.pk}"] = "80"

    # when
    response = client.post(url("targetgroup_change", group.pk), data)

    # then
    assert response.status_code == 302
    values = TargetValue.objects.filter(target=target).order_by("period__position")
    assert [v.value for v in values][3] == Decimal(80)


def test_target_group_change_refuses_a_bad_expression_and_a_zero_value(admin_client, program):
    group = weekly_group(program)
    target = group.targets.get()
    data = form_data(admin_client.get(url("targetgroup_change", group.pk)))
    data["targets-0-expression"] = "event.amount >"
    data[f"periods-0-value_{target.pk}"] = "0"

    response = admin_client.post(url("targetgroup_change", group.pk), data)

    assert response.status_code == 200
    formsets = {f.formset.model: f.formset for f in response.context["inline_admin_formsets"]}
    assert "expression" in formsets[Target].forms[0].errors
    assert formsets[TargetPeriod].forms[0].errors[f"value_{target.pk}"] == [
        "Must be greater than 0."]
    target.refresh_from_db()
    assert target.expression == "true"


def test_target_group_change_refuses_a_taken_name(admin_client, program):
    group = weekly_group(program)
    weekly_group(program, name="Other")
    data = form_data(admin_client.get(url("targetgroup_change", group.pk)))
    data["name"] = "other"

    response = admin_client.post(url("targetgroup_change", group.pk), data)

    assert response.context["adminform"].form.errors["name"] == [
        "A target group named 'other' already exists."]
    group.refresh_from_db()
    assert group.name == "Weekly 100"


def test_target_group_delete_only_when_nobody_is_enrolled(admin_client, program):
    busy = weekly_group(program)
    idle = weekly_group(program, name="Idle", active=False)
    spend(program, 120, MONDAY + timedelta(days=1))
    level_codes = list(idle.levels.values_list("classification__code", flat=True))

    assert admin_client.get(url("targetgroup_delete", busy.pk)).status_code == 403
    response = admin_client.post(url("targetgroup_delete", idle.pk), {"post": "yes"})

    assert response.status_code == 302
    assert list(TargetGroup.objects.all()) == [busy]
    assert not Classification.objects.filter(code__in=level_codes).exists()


def test_target_group_changelist_offers_no_bulk_delete(admin_client, program):
    weekly_group(program)

    response = admin_client.get(url("targetgroup_changelist"))

    assert response.context["action_form"] is None  # no actions, so no "delete selected"


# Enrolments
# ------------------------------------------------------------------------------
@pytest.fixture
def enrolled(program):
    """Ann met the first two weeks of a weekly streak (level "Two weeks" reached)."""
    group = weekly_group(program)
    spend(program, 120, MONDAY + timedelta(days=1))
    spend(program, 130, MONDAY + timedelta(days=8))
    return Enrolment.objects.get(group=group)


def test_enrolment_changelist_lists_and_searches_by_integration_id(admin_client, program,
                                                                   enrolled):
    other = enrolment_enrol(group=enrolled.group, integration_id="bob", now=timezone.now())

    everyone = admin_client.get(url("enrolment_changelist"))
    ann = admin_client.get(url("enrolment_changelist"), {"q": "ann"})

    assert everyone.status_code == 200
    assert result_pks(everyone) == {enrolled.pk, other.pk}
    assert result_pks(ann) == {enrolled.pk}
    assert admin_client.get(url("enrolment_change", enrolled.pk)).status_code == 200


def test_enrolment_reset_action_re_enrols_with_reset_streak_status(admin_client, enrolled):
    assert (enrolled.current_count, enrolled.epoch) == (2, 1)
    before = timezone.now()

    response = admin_client.post(url("enrolment_changelist"), {
        "action": "reset_streak", "_selected_action": [enrolled.pk]}, follow=True)

    enrolled.refresh_from_db()
    assert (enrolled.epoch, enrolled.current_count, enrolled.active) == (2, 0, True)
    assert enrolled.counting_from >= before
    assert any("Reset 1 streak" in m for m in messages_of(response))


def test_enrolment_unenrol_action_stops_tracking_and_skips_inactive(admin_client, enrolled):
    admin_client.post(url("enrolment_changelist"), {
        "action": "unenrol", "_selected_action": [enrolled.pk]})

    enrolled.refresh_from_db()
    assert not enrolled.active and enrolled.unenrolled_at is not None
    assert StreakLevelAchievement.objects.filter(revoked_at__isnull=True).count() == 2

    response = admin_client.post(url("enrolment_changelist"), {
        "action": "unenrol", "_selected_action": [enrolled.pk]}, follow=True)

    assert any("already inactive" in m for m in messages_of(response))


def test_enrolment_reset_action_reports_an_inactive_group(admin_client, enrolled):
    TargetGroup.objects.filter(pk=enrolled.group_id).update(active=False)

    response = admin_client.post(url("enrolment_changelist"), {
        "action": "reset_streak", "_selected_action": [enrolled.pk]}, follow=True)

    assert any("This target group is not active." in m for m in messages_of(response))
    enrolled.refresh_from_db()
    assert enrolled.epoch == 1


# The customer page
# ------------------------------------------------------------------------------
def cells(content: str) -> list[str]:
    return re.findall(r'<li class="laurel-cycle ([^"]*)" data-state="', content)


def test_customer_page_shows_streak_cells_levels_and_legend(admin_client, program):
    # given: four weekly cycles, the current one third; week 1 met, week 2 missed,
    # week 3 half-way, week 4 upcoming
    start = this_monday() - timedelta(weeks=2)
    weekly_group(program, start=start)
    spend(program, 120, start + timedelta(days=1, hours=10))
    spend(program, 50, timezone.now() - timedelta(minutes=5), now=timezone.now())
    customer = Customer.objects.get(integration_id="ann")

    # when
    response = admin_client.get(reverse("admin:loyalty_customer_change", args=[customer.pk]))

    # then
    assert response.status_code == 200
    content = response.content.decode()
    assert 'id="customer-streaks"' in content
    assert [c.split()[0] for c in cells(content)] == [
        "laurel-cycle-met", "laurel-cycle-missed", "laurel-cycle-open", "laurel-cycle-upcoming"]
    assert "laurel-cycle-now" in cells(content)[2]
    assert "120/100" in content and "50/100" in content
    assert content.count('class="laurel-level laurel-level-achieved"') == 1  # "One week"
    assert content.count('class="laurel-level laurel-level-inprogress"') == 2
    assert 'class="laurel-legend"' in content
    streak = response.context["customer_streaks"][0]
    assert (streak["current_count"], streak["longest_count"]) == (0, 1)


def test_customer_page_greys_out_cycles_before_a_reset(admin_client, program):
    start = this_monday() - timedelta(weeks=2)
    group = weekly_group(program, start=start)
    spend(program, 120, start + timedelta(days=1))
    customer = Customer.objects.get(integration_id="ann")
    enrolment_enrol(group=group, integration_id="ann", now=timezone.now(),
                    reset_streak_status=True)

    content = admin_client.get(
        reverse("admin:loyalty_customer_change", args=[customer.pk])).content.decode()

    uncounted = ["laurel-cycle-uncounted" in c for c in cells(content)]
    assert uncounted == [True, True, True, False]
    assert "not counted: before the customer&#x27;s (re-)enrolment" in content


def test_customer_page_without_enrolments_says_so(admin_client, program):
    customer = CustomerFactory(program=program)

    response = admin_client.get(reverse("admin:loyalty_customer_change", args=[customer.pk]))

    assert "Not enrolled in any target group." in response.content.decode()
