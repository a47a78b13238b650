"""Capillary's /v3/targetGroups and /v3/users/{userId}/targetGroups over plain HTTP."""

import base64
import copy
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from achievements.models import Enrolment, TargetGroup
from events.services import event_ingest
from loyalty.models import ApiKey, Customer
from tests.conftest import make_key
from tests.loyalty.factories import CurrencyFactory, ProgramFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

NOW = datetime(2024, 10, 8, 12, 0, tzinfo=UTC)
BASE = "/v3/targetGroups"

STREAK = {
    "active": True, "description": "Opp2", "name": "Opp4", "preferredTillId": 75050875,
    "trackingType": "STREAKS", "targetEvaluationType": "FIXED_CALENDAR_WINDOW",
    "totalPeriods": 4, "frequencyType": "DAILY", "frequency": 0, "recurringCycles": 0,
    "timeZoneName": "UTC",
    "periods": [
        {"active": True, "description": "", "endDate": f"2024-10-{d:02d}T23:59:59.999Z",
         "periodStatus": "RUNNING" if d == 8 else "NOT_STARTED", "refCode": f"Cycle_{d - 7}",
         "startDate": f"2024-10-{d:02d}T00:00:00.000Z"}
        for d in (8, 9, 10, 11)
    ],
    "targets": [{
        "active": True, "targetMilestoneTriggers": [], "description": "Opp3",
        "expression": "true",
        "expressionJson": '{"arity":"literal","value":"true","type":"boolean:primitive"}',
        "filters": [], "name": "Opp4", "targetEntity": "TRANSACTION",
        "eventName": "TransactionAdd", "targetType": "COUNT", "enrolmentMethod": "IMPORT",
        "defaultValues": [{"defaultValue": 1}, {"defaultValue": "1.00"}, {"defaultValue": 1},
                          {"defaultValue": 2}],
    }],
    "streaks": [{"name": "Opp4_1", "targetCountOfSequence": 2},
                {"name": "Opp4_2", "targetCountOfSequence": 4}],
}


def body(**overrides):
    data = copy.deepcopy(STREAK)
    data.update(overrides)
    return data


def basic_client(raw_key: str, user: str = "till_store1") -> APIClient:
    client = APIClient()
    token = base64.b64encode(f"{user}:{raw_key}".encode()).decode()
    client.credentials(HTTP_AUTHORIZATION=f"Basic {token}")
    return client


@pytest.fixture
def key(program):
    return make_key(scope=ApiKey.Scope.MANAGEMENT, program=program)


@pytest.fixture
def cap(key):
    return basic_client(key.raw_key)


@pytest.fixture
def group(cap):
    response = cap.post(BASE, body(), format="json")
    assert response.status_code == 201, response.json()
    return response.json()["data"]


def error_codes(response) -> list[int]:
    payload = response.json()
    assert payload["data"] is None and payload["warnings"] is None
    return [e["code"] for e in payload["errors"]]


# create -------------------------------------------------------------------------------------
def test_create_streak_answers_the_full_group(cap, program):
    # when
    response = cap.post(BASE, body(), format="json")
    # then
    assert response.status_code == 201
    payload = response.json()
    assert payload["errors"] is None and payload["warnings"] is None
    data = payload["data"]
    stored = TargetGroup.objects.get()
    assert data["id"] == stored.pk
    assert (data["name"], data["description"], data["active"], data["preferredTillId"]) == (
        "Opp4", "Opp2", True, 75050875)
    assert (data["trackingType"], data["targetEvaluationType"], data["frequencyType"]) == (
        "STREAKS", "FIXED_CALENDAR_WINDOW", "DAILY")
    assert data["totalPeriods"] == 4
    assert data["targetCycleStartDate"] == "2024-10-08T00:00:00.000Z"
    assert data["targetCycleEndDate"] == "2024-10-11T23:59:59.999Z"
    periods = data["periods"]
    assert [(p["refCode"], p["startDate"], p["endDate"], p["periodStatus"]) for p in periods] == [
        ("Cycle_1", "2024-10-08", "2024-10-08", "RUNNING"),
        ("Cycle_2", "2024-10-09", "2024-10-09", "NOT_STARTED"),
        ("Cycle_3", "2024-10-10", "2024-10-10", "NOT_STARTED"),
        ("Cycle_4", "2024-10-11", "2024-10-11", "NOT_STARTED"),
    ]
    assert all(isinstance(p["id"], int) and p["targetGroupId"] == stored.pk for p in periods)
    [target] = data["targets"]
    assert (target["name"], target["targetEntity"], target["targetType"],
            target["eventName"], target["enrolmentMethod"], target["expression"]) == (
        "Opp4", "TRANSACTION", "COUNT", "TransactionAdd", "IMPORT", "true")
    assert [(v["periodId"], v["defaultValue"]) for v in target["defaultValues"]] == [
        (p["id"], value) for p, value in zip(periods, [1, 1, 1, 2], strict=True)]
    assert [(s["name"], s["targetCountOfSequence"]) for s in data["streaks"]] == [
        ("Opp4_1", 2), ("Opp4_2", 4)]
    assert all(s["targetGroupId"] == stored.pk and s["id"] for s in data["streaks"])


def test_create_alternate_currency_milestone(cap, program):
    CurrencyFactory(program=program, code="0nzyDx", name="Coins")
    data = body(name="alternatecurrency_target", trackingType="DEFAULT", streaks=[])
    data["targets"][0].update({
        "targetEntity": "ALTERNATE_CURRENCIES", "targetType": "ALL", "eventName": None,
        "extendedFieldInfo": {"alternateCurrencyIdentifier": "0nzyDx", "programId": program.pk},
    })
    response = cap.post(BASE, data, format="json")
    assert response.status_code == 201, response.json()
    target = response.json()["data"]["targets"][0]
    assert target["extendedFieldInfo"] == {"alternateCurrencyIdentifier": "0nzyDx",
                                           "programId": program.pk}


def _ac(extended):
    data = body(trackingType="DEFAULT", streaks=[])
    data["targets"][0].update({"targetEntity": "ALTERNATE_CURRENCIES", "targetType": "ALL"})
    if extended is not None:
        data["targets"][0]["extendedFieldInfo"] = extended
    return data


@pytest.mark.parametrize(("data", "code"), [
    (body(name="x" * 201), 300004),
    (body(description="x" * 256), 300004),
    (body(recurringCycles=101), 300004),
    (body(trackingType="NOPE"), 300004),
    (body(targetEvaluationType="CYCLIC_WINDOW"), 300004),
    (body(streaks=[{"name": f"L{i}", "targetCountOfSequence": i} for i in range(1, 12)]),
     300004),
    (body(streaks=[{"name": "A", "targetCountOfSequence": 2},
                   {"name": "B", "targetCountOfSequence": 1}]), 300004),
    (body(streaks=[{"name": "A", "targetCountOfSequence": 5}]), 300004),
    (body(streaks=[]), 300004),
    (body(periods=[]), 300004),
    (body(leaderboardEnabled=True), 310133),
    (_ac(None), 310094),
    (_ac({"alternateCurrencyIdentifier": "", "programId": 1}), 310147),
    (_ac({"alternateCurrencyIdentifier": "NOPE"}), 310147),
    (_ac({"alternateCurrencyIdentifier": "0nzyDx", "programId": 999999}), 310146),
])
def test_create_refuses_bad_groups_and_writes_nothing(cap, program, data, code):
    CurrencyFactory(program=program, code="0nzyDx", name="Coins")
    response = cap.post(BASE, data, format="json")
    assert response.status_code == 400
    assert code in error_codes(response)
    assert not TargetGroup.objects.exists()


def test_create_refuses_a_long_target_name_and_bad_default_values(cap):
    long_name = body()
    long_name["targets"][0]["name"] = "t" * 201
    assert error_codes(cap.post(BASE, long_name, format="json")) == [310008]
    few_values = body()
    few_values["targets"][0]["defaultValues"] = [{"defaultValue": 1}]
    assert error_codes(cap.post(BASE, few_values, format="json")) == [300004]
    bad_value = body()
    bad_value["targets"][0]["defaultValues"][0] = {"defaultValue": "lots"}
    assert error_codes(cap.post(BASE, bad_value, format="json")) == [300004]
    assert not TargetGroup.objects.exists()


def test_duplicate_name_is_310069_case_insensitive(cap, group):
    response = cap.post(BASE, body(name="OPP4"), format="json")
    assert response.status_code == 400
    assert error_codes(response) == [310069]
    assert TargetGroup.objects.count() == 1


# read ---------------------------------------------------------------------------------------
def test_list_and_get(cap, group, key):
    listed = cap.get(BASE).json()["data"]
    assert [g["id"] for g in listed] == [group["id"]]
    got = cap.get(f"{BASE}/{group['id']}").json()
    assert got == {"data": group, "errors": None, "warnings": None}
    without_periods = cap.get(f"{BASE}/{group['id']}", {"includePeriods": "false"}).json()
    assert "periods" not in without_periods["data"]
    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {key.raw_key}")
    assert bearer.get(f"{BASE}/{group['id']}").json()["data"]["id"] == group["id"]


def test_unknown_or_foreign_group_is_310017(cap, group):
    other = ProgramFactory(name="Other org")
    foreign = basic_client(make_key(scope=ApiKey.Scope.MANAGEMENT, program=other).raw_key)
    for client, path in ((cap, f"{BASE}/999999"), (foreign, f"{BASE}/{group['id']}")):
        response = client.get(path)
        assert response.status_code == 404
        assert error_codes(response) == [310017]
    response = foreign.put(f"{BASE}/editTargetGroup/{group['id']}", {"name": "Mine"},
                           format="json")
    assert error_codes(response) == [310017]
    assert TargetGroup.objects.get().name == "Opp4"


def test_periods_and_targets_of_a_group(cap, group):
    periods = cap.get(f"{BASE}/{group['id']}/targetPeriods").json()
    assert periods == {"data": group["periods"], "errors": None, "warnings": None}
    targets = cap.get(f"{BASE}/{group['id']}/targets").json()
    assert targets["data"] == group["targets"]
    assert error_codes(cap.get(f"{BASE}/999999/targets")) == [310017]


@pytest.mark.parametrize(("kind", "value", "free"), [
    ("targetGroupName", "opp4", False), ("targetGroupName", "Opp5", True),
    ("streakName", "OPP4", False), ("targetName", "Opp4", False),
    ("streakLevelName", "opp4_2", False), ("streakLevelName", "Opp4_3", True),
    ("periodName", "cycle_1", False), ("periodName", "Cycle_9", True),
])
def test_is_valid_name(cap, group, kind, value, free):
    response = cap.post(f"{BASE}/isValidName", {"type": kind, "value": value}, format="json")
    assert response.json() == {"data": free, "errors": None, "warnings": None}


def test_is_valid_name_refuses_an_unknown_type(cap):
    response = cap.post(f"{BASE}/isValidName", {"type": "colour", "value": "x"}, format="json")
    assert response.status_code == 400 and error_codes(response) == [310145]


# edit ---------------------------------------------------------------------------------------
def test_edit_target_group_takes_name_and_expressions_only(cap, group):
    sent = copy.deepcopy(group)
    sent["name"] = "Opp5"
    sent["frequencyType"] = "MONTHLY"  # ignored, as Capillary does
    sent["targets"][0]["expression"] = "currentEvent.amount > 10"
    response = cap.put(f"{BASE}/editTargetGroup/{group['id']}", sent, format="json")
    assert response.status_code == 200, response.json()
    data = response.json()["data"]
    assert data["name"] == "Opp5" and data["frequencyType"] == "DAILY"
    assert data["targets"][0]["expression"] == "currentEvent.amount > 10"
    bad = cap.put(f"{BASE}/editTargetGroup/{group['id']}",
                  {"targets": [{"expression": "this is not CEL ((("}]}, format="json")
    assert bad.status_code == 400 and error_codes(bad) == [300004]
    cap.post(BASE, body(name="Taken"), format="json")
    clash = cap.put(f"{BASE}/editTargetGroup/{group['id']}", {"name": "taken"}, format="json")
    assert error_codes(clash) == [310069]
    assert TargetGroup.objects.get(pk=group["id"]).name == "Opp5"


def test_edit_target_changes_values_and_filters(cap, group):
    target_id = group["targets"][0]["id"]
    response = cap.put(f"{BASE}/{group['id']}/targets/{target_id}", {
        "defaultValues": [{"defaultValue": 3}] * 4,
        "filters": [{"entityType": "STORE", "entityIds": [50679757]}]}, format="json")
    assert response.status_code == 200, response.json()
    target = response.json()["data"]["targets"][0]
    assert [v["defaultValue"] for v in target["defaultValues"]] == [3, 3, 3, 3]
    assert target["filters"] == [{"entityType": "STORE", "entityIds": [50679757]}]
    short = cap.put(f"{BASE}/{group['id']}/targets/{target_id}",
                    {"defaultValues": [{"defaultValue": 3}]}, format="json")
    assert error_codes(short) == [300004]
    missing = cap.put(f"{BASE}/{group['id']}/targets/999999", {"filters": []}, format="json")
    assert missing.status_code == 404 and error_codes(missing) == [310018]


def test_delete_a_group_nobody_is_enrolled_in(cap, group):
    assert cap.delete(f"{BASE}/{group['id']}").json() == {"data": True, "errors": None,
                                                           "warnings": None}
    assert not TargetGroup.objects.exists()


# enrol --------------------------------------------------------------------------------------
def enrol_path(group, action="enroll"):
    return f"{BASE}/{group['id']}/targets/{group['targets'][0]['id']}/{action}"


def test_enrol_and_unenrol(cap, group):
    response = cap.post(enrol_path(group), [{"customerId": 564332013, "periodName": "Cycle_1",
                                             "initialBalance": None,
                                             "resetStreakStatus": False}], format="json")
    assert response.status_code == 200
    assert response.json() == {"data": 564332013, "errors": None, "warnings": None}
    enrolment = Enrolment.objects.get()
    assert enrolment.customer.integration_id == "564332013" and enrolment.active
    epoch = enrolment.epoch
    again = cap.post(enrol_path(group), [{"customerId": 564332013}], format="json")
    assert error_codes(again) == [310119]
    reset = cap.post(enrol_path(group), [{"customerId": 564332013, "resetStreakStatus": True}],
                     format="json")
    assert reset.json()["data"] == 564332013
    assert Enrolment.objects.get().epoch == epoch + 1
    out = cap.post(enrol_path(group, "unEnroll"), [{"customerId": 564332013}], format="json")
    assert out.json()["data"] == 564332013 and not Enrolment.objects.get().active
    twice = cap.post(enrol_path(group, "unEnroll"), [{"customerId": 564332013}],
                     format="json")
    assert twice.status_code == 400 and error_codes(twice) == [310126]


@pytest.mark.parametrize(("records", "code", "status"), [
    ([], 300004, 400),
    ([{"customerId": 1}, {"customerId": 2}], 300004, 400),
    ({"customerId": 1}, 300004, 400),
    ([{"customerId": -5}], 310011, 400),
    ([{"customerId": True}], 310011, 400),
    ([{}], 300004, 400),
    ([{"customerId": 1, "periodName": "Cycle_9"}], 310019, 404),
])
def test_enrol_refuses_bad_records_and_writes_nothing(cap, group, records, code, status):
    response = cap.post(enrol_path(group), records, format="json")
    assert response.status_code == status
    assert error_codes(response) == [code]
    assert not Enrolment.objects.exists() and not Customer.objects.exists()


def test_enrol_needs_a_known_group_and_target(cap, group):
    wrong_target = cap.post(f"{BASE}/{group['id']}/targets/999999/enroll",
                            [{"customerId": 1}], format="json")
    assert error_codes(wrong_target) == [310018]
    wrong_group = cap.post(f"{BASE}/999999/targets/{group['targets'][0]['id']}/enroll",
                           [{"customerId": 1}], format="json")
    assert error_codes(wrong_group) == [310017]
    cap.put(f"{BASE}/editTargetGroup/{group['id']}", {"name": "Opp4"}, format="json")
    TargetGroup.objects.update(active=False)
    inactive = cap.post(enrol_path(group), [{"customerId": 1}], format="json")
    assert error_codes(inactive) == [310017]
    unknown = cap.post(enrol_path(group, "unEnroll"), [{"customerId": 77}], format="json")
    assert error_codes(unknown) == [310126]
    assert not Enrolment.objects.exists() and not Customer.objects.exists()


# customer progress --------------------------------------------------------------------------
def purchase(program, customer="564332013", at=None):
    at = at or timezone.now()
    return event_ingest(program=program, now=at, data={
        "customer": customer, "type": "PURCHASE", "amount": 10, "performed_on": at})


def test_user_target_groups_shows_cycles_and_levels(cap, group, program, time_machine):
    cap.post(enrol_path(group), [{"customerId": 564332013}], format="json")
    purchase(program)
    time_machine.move_to(NOW + timedelta(days=1), tick=False)
    purchase(program)
    # when
    current = cap.get("/v3/users/564332013/targetGroups").json()
    everything = cap.get("/v3/users/564332013/targetGroups", {"includeInactive": "true"}).json()
    # then
    assert current["errors"] is None
    data = current["data"]
    assert data["userId"] == 564332013 and data["customer"] == {"id": 564332013}
    [entry] = data["targetGroups"]
    assert (entry["id"], entry["name"], entry["trackingType"],
            entry["targetEvaluationType"], entry["preferredTillId"]) == (
        group["id"], "Opp4", "STREAKS", "FIXED_CALENDAR_WINDOW", 75050875)
    [row] = entry["targets"]
    assert (row["periodRefCode"], row["periodStartDate"], row["periodEndDate"],
            row["targetValue"], row["targetAchievedValue"], row["currentPeriod"]) == (
        "Cycle_2", "2024-10-09", "2024-10-09", 1, 1, True)
    assert row["periodStartDateWithTimeStamp"] == "2024-10-09T00:00:00.000Z"
    assert row["periodEndDateWithTimeStamp"] == "2024-10-09T23:59:59.999Z"
    assert row["targetRuleId"] == group["targets"][0]["id"]
    assert row["eventName"] == "TransactionAdd"
    assert row["enrolledOn"] == "2024-10-08T12:00:00.000+0000"
    assert row["targetAchievedDateTime"] == "2024-10-09T12:00:00.000+0000"
    assert [(s["streakName"], s["status"], s["currentCount"],
             s["totalTargetCountOfSequence"]) for s in entry["streaks"]] == [
        ("Opp4_1", "ACHIEVED", 2, 2), ("Opp4_2", "INPROGRESS", 2, 4)]
    assert entry["streaks"][0]["streakAchievedDateTime"] == "2024-10-09T12:00:00.000+0000"
    assert entry["streaks"][0]["streakId"] == group["streaks"][0]["id"]
    all_rows = everything["data"]["targetGroups"][0]["targets"]
    assert [(r["periodRefCode"], r["targetAchievedValue"]) for r in all_rows] == [
        ("Cycle_1", 1), ("Cycle_2", 1), ("Cycle_3", 0), ("Cycle_4", 0)]
    other_rule = cap.get("/v3/users/564332013/targetGroups", {"targetRuleId": 999999}).json()
    assert other_rule["data"]["targetGroups"] == []


def test_user_target_groups_of_an_unknown_user(cap):
    response = cap.get("/v3/users/404404/targetGroups")
    assert response.status_code == 404 and error_codes(response) == [310011]


# auth ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("header", [None, "Basic bm9wZTpub3Bl", "Bearer nope", "Basic !!!",
                                    "Basic dXNlcm9ubHk=", "Token abc"])
def test_every_method_needs_the_management_key(group, header):
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)
    gid, tid = group["id"], group["targets"][0]["id"]
    responses = [
        client.post(BASE, body(name="Other"), format="json"), client.get(BASE),
        client.get(f"{BASE}/{gid}"), client.delete(f"{BASE}/{gid}"),
        client.put(f"{BASE}/editTargetGroup/{gid}", {"name": "X"}, format="json"),
        client.put(f"{BASE}/{gid}/targets/{tid}", {"filters": []}, format="json"),
        client.post(f"{BASE}/{gid}/targets/{tid}/enroll", [{"customerId": 1}], format="json"),
        client.post(f"{BASE}/{gid}/targets/{tid}/unEnroll", [{"customerId": 1}],
                    format="json"),
        client.get("/v3/users/1/targetGroups"),
    ]
    for response in responses:
        assert response.status_code == 401, response.request["PATH_INFO"]
        assert error_codes(response) == [401]
    assert TargetGroup.objects.get().name == "Opp4" and not Enrolment.objects.exists()


def test_an_integration_key_is_refused(program, group):
    client = basic_client(make_key(scope=ApiKey.Scope.INTEGRATION, program=program).raw_key)
    response = client.post(BASE, body(name="Other"), format="json")
    assert response.status_code == 401 and error_codes(response) == [401]
    assert TargetGroup.objects.count() == 1


def test_dates_without_an_offset_are_the_groups_local_time(cap, program):
    data = body(recurringCycles=-1)
    del data["timeZoneName"]
    for period in data["periods"]:
        period["startDate"] = period["startDate"].removesuffix("Z")
        period["endDate"] = period["endDate"].removesuffix("Z")
    response = cap.post(BASE, data, format="json")
    assert response.status_code == 201, response.json()
    group = response.json()["data"]
    assert group["timeZoneName"] == "Europe/Amsterdam"  # the program's
    first = group["periods"][0]
    assert (first["startDate"], first["endDate"]) == ("2024-10-08", "2024-10-08")
    assert first["startDateWithTimeStamp"] == "2024-10-07T22:00:00.000Z"
    assert TargetGroup.objects.get().periods.order_by("position")[0].start_date == datetime(
        2024, 10, 7, 22, 0, tzinfo=UTC)
