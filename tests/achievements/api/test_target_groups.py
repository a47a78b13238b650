"""Target groups over the API: Capillary's definition fields and their validation, the edit
lock, deletion, explicit enrolment, and a customer's streaks read for "now". Events go in
through the events API; clocks are pinned at the cycle and grace edges."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from achievements.models import Enrolment, StreakLevelAchievement, TargetGroup, TargetValue
from events.models import CustomerEvent
from loyalty.models import Classification, Customer, WalletBalance
from tests.events.factories import RewardOfferFactory
from tests.loyalty.factories import CurrencyFactory, CustomerFactory

pytestmark = pytest.mark.django_db

SECOND = timedelta(seconds=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
WEEK = timedelta(days=7)
MONDAY = datetime(2026, 1, 5, tzinfo=UTC)
BEFORE = MONDAY - DAY  # when definitions are written


def week(n: int) -> datetime:
    return MONDAY + n * WEEK


def iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


DROP = object()  # an override that leaves the key out


def weekly_body(**overrides):
    """A four-week spend streak, as Capillary would send it."""
    body = {
        "name": "Weekly spend",
        "description": "Spend 100 every week.",
        "trackingType": "STREAKS",
        "frequencyType": "WEEKLY",
        "frequency": 1,
        "recurringCycles": 4,
        "startDate": iso(MONDAY),
        "timeZone": "UTC",
        "targets": [{
            "name": "Spend 100", "targetEntity": "TRANSACTION", "targetType": "SALES",
            "eventName": "PURCHASE", "defaultValues": [{"defaultValue": 100}] * 4,
        }],
        "streaks": [{"name": "Two weeks", "targetCountOfSequence": 2},
                    {"name": "Four weeks", "targetCountOfSequence": 4}],
        **overrides,
    }
    return {key: value for key, value in body.items() if value is not DROP}


def target(**overrides):
    return {**weekly_body()["targets"][0], **overrides}


def explicit_periods(count: int, *, start=MONDAY, length=WEEK):
    return [{"refCode": f"P{i}", "startDate": iso(start + i * length),
             "endDate": iso(start + (i + 1) * length)} for i in range(count)]


@pytest.fixture
def url(program):
    return f"/api/v1/programs/{program.pk}/target-groups"


@pytest.fixture
def base(program):
    return f"/api/v1/programs/{program.pk}"


def call(client, method, path, body=None, *, now=BEFORE):
    with time_machine.travel(now, tick=False):
        return getattr(client, method)(path, body, format="json")


def create(client, url, body=None, *, now=BEFORE):
    response = call(client, "post", url, body or weekly_body(), now=now)
    assert response.status_code == 201, response.json()
    return response.json()


def error_fields(response) -> list[str]:
    return [e["field"] for e in response.json()["errors"]]


def spend(client, base, *, at, amount=100, customer="ann", type="PURCHASE", now=None):
    response = call(client, "post", f"{base}/events",
                    {"customer": customer, "type": type, "amount": amount,
                     "performedOn": iso(at)}, now=now or at)
    assert response.status_code == 201, response.json()
    return response.json()


def streaks(client, base, *, now, customer="ann", **params):
    with time_machine.travel(now, tick=False):
        response = client.get(f"{base}/customers/{customer}/streaks", params)
    assert response.status_code == 200, response.json()
    return response.json()["results"]


# Create
# ------------------------------------------------------------------------------
def test_target_group_create_returns_periods_targets_and_levels_when_valid(
    management_client, url
):
    # when
    body = create(management_client, url, now=week(1) + DAY)

    # then
    assert body["trackingType"] == "STREAKS"
    assert body["targetEvaluationType"] == "FIXED_CALENDAR_WINDOW"
    assert body["totalPeriods"] == 4
    assert [(p["refCode"], p["startDate"], p["endDate"], p["periodStatus"])
            for p in body["periods"]] == [
        ("Cycle_1", iso(week(0)), iso(week(1)), "ENDED"),
        ("Cycle_2", iso(week(1)), iso(week(2)), "RUNNING"),
        ("Cycle_3", iso(week(2)), iso(week(3)), "UPCOMING"),
        ("Cycle_4", iso(week(3)), iso(week(4)), "UPCOMING"),
    ]
    assert [v["defaultValue"] for v in body["targets"][0]["defaultValues"]] == [100] * 4
    assert [v["periodId"] for v in body["targets"][0]["defaultValues"]] == [
        p["id"] for p in body["periods"]]
    assert [(s["name"], s["targetCountOfSequence"]) for s in body["streaks"]] == [
        ("Two weeks", 2), ("Four weeks", 4)]
    codes = [s["classification"] for s in body["streaks"]]
    assert Classification.objects.filter(code__in=codes, event_type="ACHIEVEMENT").count() == 2


def test_target_group_create_accepts_streak_as_streaks_when_capillary_spelling_is_used(
    management_client, url
):
    # when
    body = create(management_client, url, weekly_body(trackingType="STREAK"))

    # then
    assert body["trackingType"] == "STREAKS"
    assert TargetGroup.objects.get().tracking_type == "STREAKS"


def test_target_group_create_takes_explicit_periods_when_frequency_is_custom(
    management_client, url
):
    # when
    body = create(management_client, url, weekly_body(
        frequencyType="CUSTOM", startDate=DROP, periods=explicit_periods(3, length=3 * DAY),
        targets=[target(defaultValues=[{"defaultValue": v} for v in (50, 75, 100)])],
        streaks=[{"name": "All three", "targetCountOfSequence": 3}],
    ))

    # then
    assert [p["refCode"] for p in body["periods"]] == ["P0", "P1", "P2"]
    assert body["periods"][2]["endDate"] == iso(MONDAY + 9 * DAY)
    assert sorted(TargetValue.objects.values_list("value", flat=True)) == [50, 75, 100]


@pytest.mark.parametrize("name", ["Weekly spend", "WEEKLY SPEND", "weekly Spend"])
def test_target_group_create_returns_409_when_name_exists_ignoring_case(
    management_client, url, name
):
    # given
    create(management_client, url)

    # when
    response = call(management_client, "post", url, weekly_body(name=name))

    # then
    assert response.status_code == 409, response.json()
    assert error_fields(response) == ["name"]
    assert TargetGroup.objects.count() == 1


def test_target_group_create_allows_the_same_name_when_in_another_program(
    management_client, url, other_program
):
    # given
    TargetGroup.objects.create(program=other_program, name="Weekly spend",
                               tracking_type="DEFAULT", frequency_type="WEEKLY")

    # when
    response = call(management_client, "post", url, weekly_body())

    # then
    assert response.status_code == 201, response.json()


@pytest.mark.parametrize(
    ("overrides", "field", "rule"),
    [
        ({"name": "x" * 201}, "name", "200 characters"),
        ({"description": "x" * 256}, "description", "255 characters"),
        ({"trackingType": "STREAKY"}, "trackingType", "not a valid choice"),
        ({"frequencyType": "FORTNIGHTLY"}, "frequencyType", "not a valid choice"),
        ({"recurringCycles": 101}, "recurringCycles", "less than or equal to 100"),
        ({"timeZone": "Mars/Olympus"}, "timeZone", "IANA"),
        ({"targetEvaluationType": "CYCLIC_WINDOW"},
         "targetEvaluationType", "FIXED_CALENDAR_WINDOW"),
        ({"targetEvaluationType": "PERIOD_AGNOSTIC_WINDOW",
          "trackingType": "NON_CONTINUOUS_STREAKS"},
         "targetEvaluationType", "FIXED_CALENDAR_WINDOW"),
        ({"startDate": DROP}, "startDate", "startDate"),
        ({"frequencyType": "CUSTOM"}, "periods", "CUSTOM frequency"),
        ({"targets": [target(defaultValues=[{"defaultValue": 100}] * 3)]},
         "targets.0.defaultValues", "4 expected, 3 given"),
        ({"targets": [target(defaultValues=[{"defaultValue": 100}] * 5)]},
         "targets.0.defaultValues", "4 expected, 5 given"),
        ({"targets": [target(expression="currentEvent.amount >")]},
         "targets.0.expression", "Syntax error"),
        ({"targets": [target(targetType="EVENT_ATTRIBUTE")]},
         "targets.0.attributeName", "attribute"),
        ({"targets": [target(targetEntity="ALTERNATE_CURRENCIES", targetType="ALL",
                             alternateCurrencyIdentifier="NOPE")]},
         "targets.0.alternateCurrencyIdentifier", "'NOPE'"),
        ({"targets": [target(targetEntity="ALTERNATE_CURRENCIES", targetType="ALL",
                             alternateCurrencyIdentifier="PTS")]},
         "targets.0.alternateCurrencyIdentifier", "'PTS'"),
        ({"streaks": [{"name": f"L{n}", "targetCountOfSequence": n} for n in range(1, 12)],
          "recurringCycles": 20, "targets": [target(defaultValues=[{"defaultValue": 1}] * 20)]},
         "streaks", "At most 10 levels"),
        ({"streaks": [{"name": "Three", "targetCountOfSequence": 3},
                      {"name": "Two", "targetCountOfSequence": 2}]},
         "streaks", "strictly ascending"),
        ({"streaks": [{"name": "Two", "targetCountOfSequence": 2},
                      {"name": "Also two", "targetCountOfSequence": 2}]},
         "streaks", "strictly ascending"),
        ({"streaks": [{"name": "Five", "targetCountOfSequence": 5}]},
         "streaks", "more than the 4 periods"),
        ({"streaks": [{"name": "Zero", "targetCountOfSequence": 0}]},
         "streaks.0.targetCountOfSequence", "greater than or equal to 1"),
    ],
    ids=["name-too-long", "description-too-long", "tracking-type", "frequency-type",
         "recurring-cycles-over-100", "time-zone", "streak-cyclic-window", "streak-period-agnostic",
         "no-start-date", "custom-without-periods", "too-few-values", "too-many-values",
         "bad-expression", "attribute-name-missing", "unknown-alt-currency",
         "points-is-not-alt-currency", "eleven-levels", "levels-descending", "levels-repeated",
         "level-above-periods", "level-zero"],
)
def test_target_group_create_returns_400_naming_the_field_when_invalid(
    management_client, url, overrides, field, rule
):
    # when
    response = call(management_client, "post", url, weekly_body(**overrides))

    # then
    assert response.status_code == 400, response.json()
    assert any(e["field"] == field and rule in e["message"]
               for e in response.json()["errors"]), response.json()
    assert not TargetGroup.objects.exists()
    assert not Classification.objects.exists()


def test_target_group_create_accepts_every_limit_when_exactly_at_it(management_client, url):
    # when: a 200-character name, a 255-character description, 100 generated cycles and
    # ten levels, the highest one needing every cycle
    body = create(management_client, url, weekly_body(
        name="n" * 200, description="d" * 255, frequencyType="DAILY", recurringCycles=100,
        targets=[target(defaultValues=[{"defaultValue": 1}] * 100)],
        streaks=[{"name": f"L{n}", "targetCountOfSequence": n}
                 for n in (1, 2, 3, 5, 8, 13, 21, 34, 55, 100)],
    ))

    # then
    assert body["totalPeriods"] == 100
    assert body["periods"][-1]["endDate"] == iso(MONDAY + 100 * DAY)
    assert len(body["streaks"]) == 10
    assert TargetGroup.objects.get().levels.count() == 10


@pytest.mark.parametrize(
    ("periods", "field"),
    [
        ([{"refCode": "A", "startDate": iso(week(0)), "endDate": iso(week(1))},
          {"refCode": "A", "startDate": iso(week(1)), "endDate": iso(week(2))}],
         "periods.1.refCode"),
        ([{"refCode": "A", "startDate": iso(week(0)), "endDate": iso(week(0))},
          {"refCode": "B", "startDate": iso(week(1)), "endDate": iso(week(2))}],
         "periods.0.endDate"),
        ([{"refCode": "A", "startDate": iso(week(0)), "endDate": iso(week(1) + SECOND)},
          {"refCode": "B", "startDate": iso(week(1)), "endDate": iso(week(2))}],
         "periods.1.startDate"),
    ],
    ids=["ref-code-repeated", "empty-period", "overlap-by-a-second"],
)
def test_target_group_create_returns_400_naming_the_period_when_periods_are_invalid(
    management_client, url, periods, field
):
    # when
    response = call(management_client, "post", url, weekly_body(
        frequencyType="CUSTOM", periods=periods,
        targets=[target(defaultValues=[{"defaultValue": 100}] * 2)],
        streaks=[{"name": "Two", "targetCountOfSequence": 2}],
    ))

    # then
    assert response.status_code == 400, response.json()
    assert field in error_fields(response)
    assert not TargetGroup.objects.exists()


@pytest.mark.parametrize(("count", "status"), [(100, 201), (101, 400)])
def test_target_group_create_returns_400_when_more_than_100_explicit_periods(
    management_client, url, count, status
):
    # when
    response = call(management_client, "post", url, weekly_body(
        frequencyType="CUSTOM", periods=explicit_periods(count, length=DAY),
        targets=[target(defaultValues=[{"defaultValue": 1}] * count)],
    ))

    # then
    assert response.status_code == status, response.json()
    if status == 400:
        assert "periods" in error_fields(response)


def test_target_group_create_accepts_a_program_alternative_currency_when_target_counts_it(
    management_client, url, program
):
    # given
    CurrencyFactory(program=program, code="STARS")

    # when
    response = call(management_client, "post", url, weekly_body(targets=[target(
        targetEntity="ALTERNATE_CURRENCIES", targetType="ALL",
        alternateCurrencyIdentifier="STARS")]))

    # then
    assert response.status_code == 201, response.json()
    assert response.json()["targets"][0]["alternateCurrencyIdentifier"] == "STARS"


def test_target_group_create_generates_cycles_in_the_program_time_zone_when_none_given(
    management_client, url
):
    # given: the program runs in Europe/Amsterdam, where 2026-03-29 has 23 hours
    body = weekly_body(frequencyType="DAILY", recurringCycles=4, timeZone=DROP,
                       startDate="2026-03-27T00:00:00+01:00",
                       streaks=[{"name": "Four days", "targetCountOfSequence": 4}])

    # when
    created = create(management_client, url, body)

    # then
    assert [(p["startDate"], p["endDate"]) for p in created["periods"]] == [
        ("2026-03-26T23:00:00Z", "2026-03-27T23:00:00Z"),
        ("2026-03-27T23:00:00Z", "2026-03-28T23:00:00Z"),
        ("2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z"),
        ("2026-03-29T22:00:00Z", "2026-03-30T22:00:00Z"),
    ]


def test_target_group_list_and_retrieve_return_only_this_program_groups_when_asked(
    management_client, url, other_program
):
    # given
    second = create(management_client, url, weekly_body(name="Another"))
    first = create(management_client, url)
    TargetGroup.objects.create(program=other_program, name="Elsewhere",
                               tracking_type="DEFAULT", frequency_type="WEEKLY")

    # when
    listed = call(management_client, "get", url)
    retrieved = call(management_client, "get", f"{url}/{first['id']}")

    # then
    assert listed.status_code == 200, listed.json()
    assert [g["id"] for g in listed.json()["results"]] == [second["id"], first["id"]]
    assert retrieved.status_code == 200, retrieved.json()
    assert retrieved.json() == first


def test_target_group_create_is_refused_when_key_is_integration(integration_client, url):
    # when
    response = call(integration_client, "post", url, weekly_body())

    # then
    assert response.status_code == 403
    assert not TargetGroup.objects.exists()


# Update
# ------------------------------------------------------------------------------
def test_target_group_update_changes_editable_fields_when_patched(management_client, url):
    # given
    group = create(management_client, url)
    target_id = group["targets"][0]["id"]

    # when
    response = call(management_client, "patch", f"{url}/{group['id']}", {
        "name": "Weekly treat", "description": "Now with treats.", "active": False,
        "targets": [{"id": target_id, "expression": "currentEvent.amount > 10",
                     "filters": [{"product": "coffee"}],
                     "defaultValues": [{"defaultValue": v} for v in (10, 20, 30, 40)]}],
    })

    # then
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["name"], body["description"], body["active"]) == (
        "Weekly treat", "Now with treats.", False)
    assert body["targets"][0]["expression"] == "currentEvent.amount > 10"
    assert [v["defaultValue"] for v in body["targets"][0]["defaultValues"]] == [10, 20, 30, 40]
    stored = TargetGroup.objects.get()
    assert (stored.name, stored.active, stored.tracking_type) == ("Weekly treat", False,
                                                                 "STREAKS")


@pytest.mark.parametrize(
    ("patch", "locked"),
    [
        ({"trackingType": "NON_CONTINUOUS_STREAKS"}, ["trackingType"]),
        ({"frequencyType": "DAILY"}, ["frequencyType"]),
        ({"recurringCycles": 3}, ["recurringCycles"]),
        ({"periods": explicit_periods(4)}, ["periods"]),
        ({"streaks": [{"name": "One", "targetCountOfSequence": 1}]}, ["streaks"]),
        ({"name": "Renamed", "timeZone": "Europe/Amsterdam", "startDate": iso(week(1))},
         ["startDate", "timeZone"]),
    ],
)
def test_target_group_update_returns_400_naming_locked_fields_when_structure_changes(
    management_client, url, patch, locked
):
    # given
    group = create(management_client, url)

    # when
    response = call(management_client, "patch", f"{url}/{group['id']}", patch)

    # then
    assert response.status_code == 400, response.json()
    assert response.json()["lockedFields"] == locked
    stored = TargetGroup.objects.get()
    assert (stored.name, stored.tracking_type, stored.frequency_type) == (
        "Weekly spend", "STREAKS", "WEEKLY")
    assert stored.periods.count() == 4


def test_target_group_update_returns_400_naming_grace_period_when_it_is_patched(
    management_client, url
):
    # given
    group = create(management_client, url)

    # when
    response = call(management_client, "patch", f"{url}/{group['id']}", {"gracePeriod": "P7D"})

    # then
    assert response.status_code == 400, response.json()
    assert response.json()["lockedFields"] == ["gracePeriod"]


def test_target_group_update_returns_400_naming_the_field_when_a_target_kpi_changes(
    management_client, url
):
    # given
    group = create(management_client, url)
    target_id = group["targets"][0]["id"]

    # when
    response = call(management_client, "patch", f"{url}/{group['id']}",
                    {"targets": [{"id": target_id, "targetType": "COUNT"}]})

    # then
    assert response.status_code == 400, response.json()
    assert "targetType" in response.json()["message"]
    assert TargetGroup.objects.get().targets.get().target_type == "SALES"


def test_target_group_update_lists_locked_target_fields_when_a_target_kpi_changes(
    management_client, url
):
    # given
    group = create(management_client, url)
    target_id = group["targets"][0]["id"]

    # when
    response = call(management_client, "patch", f"{url}/{group['id']}",
                    {"targets": [{"id": target_id, "targetType": "COUNT", "eventName": "X"}]})

    # then
    assert response.status_code == 400, response.json()
    assert response.json()["lockedFields"] == ["targets.0.eventName", "targets.0.targetType"]


def test_target_group_update_returns_400_when_a_target_is_added(management_client, url):
    # given
    group = create(management_client, url)

    # when
    response = call(management_client, "patch", f"{url}/{group['id']}",
                    {"targets": [{"name": "New target"}]})

    # then
    assert response.status_code == 400, response.json()
    assert error_fields(response) == ["targets.0.id"]
    assert TargetGroup.objects.get().targets.count() == 1


def test_target_group_update_returns_400_naming_default_values_when_count_mismatches(
    management_client, url
):
    # given
    group = create(management_client, url)
    target_id = group["targets"][0]["id"]

    # when
    response = call(management_client, "patch", f"{url}/{group['id']}", {
        "targets": [{"id": target_id, "defaultValues": [{"defaultValue": 5}] * 3}]})

    # then
    assert response.status_code == 400, response.json()
    assert error_fields(response) == ["targets.0.defaultValues"]
    assert set(TargetValue.objects.values_list("value", flat=True)) == {100}


def test_target_group_update_returns_409_when_renamed_to_an_existing_name(
    management_client, url
):
    # given
    create(management_client, url, weekly_body(name="Monthly"))
    group = create(management_client, url)

    # when
    response = call(management_client, "patch", f"{url}/{group['id']}", {"name": "MONTHLY"})

    # then
    assert response.status_code == 409, response.json()
    assert TargetGroup.objects.filter(name="Weekly spend").exists()


def test_target_group_update_keeps_the_name_when_only_its_case_changes(management_client, url):
    # given
    group = create(management_client, url)

    # when
    response = call(management_client, "patch", f"{url}/{group['id']}",
                    {"name": "WEEKLY SPEND"})

    # then
    assert response.status_code == 200, response.json()
    assert TargetGroup.objects.get().name == "WEEKLY SPEND"


# Delete
# ------------------------------------------------------------------------------
def test_target_group_delete_removes_group_and_its_classifications_when_nobody_enrolled(
    management_client, url
):
    # given
    group = create(management_client, url)

    # when
    response = call(management_client, "delete", f"{url}/{group['id']}")

    # then
    assert response.status_code == 204
    assert not TargetGroup.objects.exists()
    assert not Classification.objects.exists()


def test_target_group_delete_returns_400_when_customers_are_enrolled(
    management_client, integration_client, url
):
    # given
    group = create(management_client, url)
    call(integration_client, "post", f"{url}/{group['id']}/enrol", {"customer": "ann"})

    # when
    response = call(management_client, "delete", f"{url}/{group['id']}")

    # then
    assert response.status_code == 400, response.json()
    assert TargetGroup.objects.filter(pk=group["id"]).exists()
    assert Enrolment.objects.count() == 1


# Enrolment over the API
# ------------------------------------------------------------------------------
def test_enrol_creates_the_customer_and_enrols_when_integration_key_calls(
    management_client, integration_client, url
):
    # given
    group = create(management_client, url)

    # when
    response = call(integration_client, "post", f"{url}/{group['id']}/enrol",
                    {"customer": "new-customer"}, now=week(1) + DAY)

    # then
    assert response.status_code == 200, response.json()
    assert response.json() | {"enrolledAt": None} == {
        "targetGroupId": group["id"], "customer": "new-customer", "active": True, "epoch": 1,
        "enrolledAt": None, "unenrolledAt": None, "currentCount": 0, "longestCount": 0}
    enrolment = Enrolment.objects.get()
    assert enrolment.counting_from == week(1)
    assert Customer.objects.filter(integration_id="new-customer").exists()


def test_enrol_returns_409_when_customer_is_already_enrolled(
    management_client, integration_client, url
):
    # given
    group = create(management_client, url)
    call(integration_client, "post", f"{url}/{group['id']}/enrol", {"customer": "ann"})

    # when
    response = call(integration_client, "post", f"{url}/{group['id']}/enrol",
                    {"customer": "ann"})

    # then
    assert response.status_code == 409, response.json()
    assert Enrolment.objects.get().epoch == 1


def test_unenrol_returns_400_when_customer_is_not_enrolled(
    management_client, integration_client, url, program
):
    # given
    group = create(management_client, url)
    CustomerFactory(program=program, integration_id="ann")

    # when
    response = call(integration_client, "post", f"{url}/{group['id']}/unenrol",
                    {"customer": "ann"})

    # then
    assert response.status_code == 400, response.json()


def test_import_target_counts_only_cycles_from_enrolment_when_enrolled_explicitly(
    management_client, integration_client, url, base
):
    # given
    group = create(management_client, url, weekly_body(
        targets=[target(enrolmentMethod="IMPORT")]))
    spend(integration_client, base, at=week(0) + DAY)

    # when
    call(integration_client, "post", f"{url}/{group['id']}/enrol", {"customer": "ann"},
         now=week(1))
    spend(integration_client, base, at=week(1) + DAY)
    spend(integration_client, base, at=week(2) + DAY)

    # then
    [entry] = streaks(integration_client, base, now=week(2) + DAY)
    assert [c["value"] for c in entry["cycles"]] == [0, 100, 100, 0]
    assert [c["counted"] for c in entry["cycles"]] == [False, True, True, True]
    assert entry["currentCount"] == 2
    assert [lv["status"] for lv in entry["levels"]] == ["ACHIEVED", "INPROGRESS"]


def test_enrol_lets_levels_be_reached_and_paid_again_when_reset_streak_status(
    management_client, integration_client, url, base, program
):
    # given: ann reached two weeks (paid 25), then left
    group = create(management_client, url)
    level = TargetGroup.objects.get().levels.get(target_count_of_sequence=2)
    RewardOfferFactory(program=program, classifications=[level.classification],
                       award_value=25)
    spend(integration_client, base, at=week(0) + DAY)
    first = spend(integration_client, base, at=week(1) + DAY)
    call(integration_client, "post", f"{url}/{group['id']}/unenrol", {"customer": "ann"},
         now=week(1) + 2 * DAY)

    # when
    response = call(integration_client, "post", f"{url}/{group['id']}/enrol",
                    {"customer": "ann", "resetStreakStatus": True}, now=week(1) + 3 * DAY)
    spend(integration_client, base, at=week(2) + DAY)
    again = spend(integration_client, base, at=week(3) + DAY)

    # then
    assert response.status_code == 200, response.json()
    assert (response.json()["epoch"], response.json()["currentCount"]) == (2, 0)
    paid = [e for e in first["effects"] + again["effects"]
            if e["effectType"] == "awardTransaction"]
    assert [e["amount"] for e in paid] == [25, 25]
    [entry] = streaks(integration_client, base, now=week(3) + DAY)
    assert entry["currentCount"] == 2
    assert entry["levels"][0] == {"name": "Two weeks", "targetCountOfSequence": 2,
                                  "status": "ACHIEVED", "achievedAt": iso(week(3) + DAY)}
    assert StreakLevelAchievement.objects.count() == 2


# A customer's streaks
# ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("now", "states", "current"),
    [
        (week(2) - SECOND, ["met", "met", "upcoming", "upcoming"], 2),
        (week(2), ["met", "met", "open", "upcoming"], 2),
        (week(3) - SECOND, ["met", "met", "open", "upcoming"], 2),
        (week(3), ["met", "met", "missed", "open"], 0),
        (week(3) + SECOND, ["met", "met", "missed", "open"], 0),
    ],
)
def test_customer_streaks_reads_the_ledger_for_now_when_cycles_end(
    management_client, integration_client, url, base, now, states, current
):
    # given
    group = create(management_client, url)
    spend(integration_client, base, at=week(0) + DAY, amount=60)
    spend(integration_client, base, at=week(0) + 2 * DAY, amount=40)
    spend(integration_client, base, at=week(2) - SECOND, amount=150)

    # when
    [entry] = streaks(integration_client, base, now=now)

    # then
    assert (entry["targetGroupId"], entry["name"], entry["trackingType"], entry["enrolled"]) == (
        group["id"], "Weekly spend", "STREAKS", True)
    assert (entry["currentCount"], entry["longestCount"]) == (current, 2)
    assert [lv["status"] for lv in entry["levels"]] == ["ACHIEVED", "INPROGRESS"]
    assert entry["levels"][0]["achievedAt"] == iso(week(2) - SECOND)
    assert entry["levels"][1]["achievedAt"] is None
    assert [{k: c[k] for k in ("refCode", "startDate", "endDate", "value", "target", "state")}
            for c in entry["cycles"]] == [
        {"refCode": f"Cycle_{i + 1}", "startDate": iso(week(i)), "endDate": iso(week(i + 1)),
         "value": value, "target": 100, "state": state}
        for i, (value, state) in enumerate(zip([100, 150, 0, 0], states, strict=True))
    ]


@pytest.mark.parametrize(
    ("now", "state", "current"),
    [
        (week(1) - SECOND, "open", 0),
        (week(1), "pending_grace", 0),
        (week(1) + 6 * HOUR - SECOND, "pending_grace", 0),
        (week(1) + 6 * HOUR, "missed", 0),
    ],
)
def test_customer_streaks_reads_pending_grace_when_a_missed_cycle_is_within_grace(
    management_client, integration_client, url, base, now, state, current
):
    # given
    create(management_client, url, weekly_body(gracePeriod="PT6H"))
    spend(integration_client, base, at=week(0) + DAY, amount=99)

    # when
    [entry] = streaks(integration_client, base, now=now)

    # then
    assert entry["cycles"][0]["state"] == state
    assert entry["currentCount"] == current


def test_customer_streaks_counts_a_late_event_within_grace_when_read_afterwards(
    management_client, integration_client, url, base
):
    # given
    create(management_client, url, weekly_body(gracePeriod="PT6H"))
    spend(integration_client, base, at=week(0) + DAY, amount=99)
    spend(integration_client, base, at=week(1) + HOUR)

    # when
    spend(integration_client, base, at=week(1) - HOUR, amount=1, now=week(1) + 6 * HOUR - SECOND)

    # then
    [entry] = streaks(integration_client, base, now=week(1) + 6 * HOUR)
    assert [c["state"] for c in entry["cycles"][:2]] == ["met", "met"]
    assert entry["currentCount"] == 2
    assert [lv["status"] for lv in entry["levels"]] == ["ACHIEVED", "INPROGRESS"]


def test_customer_streaks_lists_only_the_asked_group_when_target_group_id_given(
    management_client, integration_client, url, base
):
    # given
    create(management_client, url)
    other = create(management_client, url, weekly_body(
        name="Counting", targets=[target(targetType="COUNT")]))
    spend(integration_client, base, at=week(0) + DAY)

    # when
    entries = streaks(integration_client, base, now=week(0) + DAY, targetGroupId=other["id"])

    # then
    assert [(e["targetGroupId"], e["cycles"][0]["value"]) for e in entries] == [
        (other["id"], 1)]


def test_customer_streaks_returns_404_when_customer_is_unknown(integration_client, base):
    # when
    with time_machine.travel(BEFORE, tick=False):
        response = integration_client.get(f"{base}/customers/nobody/streaks")

    # then
    assert response.status_code == 404



def test_enrol_again_posts_the_achievement_event_when_re_enrolment_reaches_a_level(
    management_client, integration_client, url, base, program
):
    # given: ann spent 60 in each of two weeks against a target of 100, then left
    group = create(management_client, url)
    level = TargetGroup.objects.get().levels.get(target_count_of_sequence=2)
    RewardOfferFactory(program=program, classifications=[level.classification],
                       award_value=25)
    spend(integration_client, base, at=week(0) + DAY, amount=60)
    spend(integration_client, base, at=week(1) + DAY, amount=60)
    call(integration_client, "post", f"{url}/{group['id']}/unenrol", {"customer": "ann"},
         now=week(1) + 2 * DAY)
    call(management_client, "patch", f"{url}/{group['id']}", {"targets": [{
        "id": group["targets"][0]["id"], "defaultValues": [{"defaultValue": 50}] * 4}]},
        now=week(1) + 2 * DAY)

    # when
    response = call(integration_client, "post", f"{url}/{group['id']}/enrol",
                    {"customer": "ann"}, now=week(1) + 3 * DAY)

    # then
    assert response.status_code == 200, response.json()
    [entry] = streaks(integration_client, base, now=week(1) + 3 * DAY)
    achieved = entry["levels"][0]["status"] == "ACHIEVED"
    posted = CustomerEvent.objects.filter(classification_id=level.classification_id,
                                          life_cycle_state="POSTED").count()
    wallet = WalletBalance.objects.filter(customer__integration_id="ann").first()
    assert posted == int(achieved)
    assert (wallet.balance if wallet else 0) == 25 * int(achieved)
