"""Reading progress over the API: a customer's achievements, an achievement's history for a
customer, and every customer's progress in one achievement (JSON and CSV). Events go in
through `event_ingest`; clocks are pinned at the window edges."""

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from achievements.models import Achievement
from events.services import event_ingest
from loyalty.models import Campaign
from tests.achievements.factories import AchievementFactory
from tests.loyalty.factories import CampaignFactory, CustomerFactory, ProgramFactory

pytestmark = pytest.mark.django_db

SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)
T0 = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)
FIXED_START = datetime(2024, 1, 1, tzinfo=UTC)  # the factory's `fixed` trait

Policy = Achievement.RecurrencePolicy
Activation = Achievement.ActivationPolicy

ALL_KEYS = {
    "status", "progress", "startDate", "completionDate", "endDate", "achievementId", "name",
    "title", "description", "campaignId", "target", "achievementRecurrencePolicy",
    "achievementActivationPolicy", "achievementFixedStartDate", "achievementEndDate",
}
OPTIONAL_KEYS = {"startDate", "completionDate", "endDate", "achievementFixedStartDate",
                 "achievementEndDate"}
CSV_HEADER = ["profileIntegrationID", "title", "target", "progress", "status", "startDate",
              "endDate", "completionDate"]


@pytest.fixture
def program(db):
    return ProgramFactory(name="Laurel UTC", time_zone="UTC")


@pytest.fixture
def base(program):
    return f"/api/v1/programs/{program.pk}"


def ingest(program, *, at, amount="1", customer="ann", now=None, **fields):
    data = {"customer": customer, "type": "PURCHASE", "performed_on": at,
            "amount": Decimal(amount), **fields}
    with time_machine.travel(now or at, tick=False):
        return event_ingest(program=program, data=data, now=now or at)


def get(client, url, *, now, **params):
    with time_machine.travel(now, tick=False):
        return client.get(url, params)


def iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def by_achievement(response):
    assert response.status_code == 200, response.json()
    return {entry["achievementId"]: entry for entry in response.json()["results"]}


def history(client, base, achievement, *, now, customer="ann"):
    response = get(client, f"{base}/customers/{customer}/achievements/{achievement.pk}/history",
                   now=now)
    assert response.status_code == 200, response.json()
    return response.json()["results"]


# GET /customers/{integrationId}/achievements
# ------------------------------------------------------------------------------------------


def test_customer_achievements_returns_exactly_talon_keys_when_every_field_set(
    management_client, base, program, campaign
):
    # given: a completed iteration of a fixed schedule with an endDate
    end = FIXED_START + 30 * DAY
    achievement = AchievementFactory(
        campaign=campaign, fixed=True, period="1W", end_date=end, target=2,
        recurrence_policy=Policy.ON_EXPIRATION, title="Two visits", description="Come twice",
    )
    ingest(program, at=FIXED_START + timedelta(hours=1), now=FIXED_START + DAY)
    ingest(program, at=FIXED_START + timedelta(hours=2), now=FIXED_START + DAY)

    # when
    response = get(management_client, f"{base}/customers/ann/achievements",
                   now=FIXED_START + DAY)

    # then
    entry = by_achievement(response)[achievement.pk]
    assert set(entry) == ALL_KEYS
    assert entry == {
        "status": "completed", "progress": 2,
        "startDate": iso(FIXED_START + timedelta(hours=1)),
        "completionDate": iso(FIXED_START + timedelta(hours=2)),
        "endDate": iso(FIXED_START + 7 * DAY),
        "achievementId": achievement.pk, "name": achievement.name, "title": "Two visits",
        "description": "Come twice", "campaignId": campaign.pk, "target": 2,
        "achievementRecurrencePolicy": "on_expiration",
        "achievementActivationPolicy": "fixed_schedule",
        "achievementFixedStartDate": iso(FIXED_START), "achievementEndDate": iso(end),
    }


def test_customer_achievements_omits_null_optional_keys_when_not_started(
    management_client, base, program, campaign
):
    # given: a user_action achievement (no fixed start, no end) the customer never touched
    achievement = AchievementFactory(campaign=campaign, event_types=["VISIT"])
    ingest(program, at=T0)

    # when
    response = get(management_client, f"{base}/customers/ann/achievements", now=T0)

    # then
    entry = by_achievement(response)[achievement.pk]
    assert set(entry) == ALL_KEYS - OPTIONAL_KEYS
    assert (entry["status"], entry["progress"]) == ("not_started", 0)


def test_customer_achievements_lists_one_entry_per_achievement_when_campaign_running(
    management_client, base, program, campaign, other_program
):
    # given
    first = AchievementFactory(campaign=campaign)
    second = AchievementFactory(campaign=CampaignFactory(program=program, running=True))
    for state in (Campaign.State.DRAFT, Campaign.State.DISABLED):
        AchievementFactory(campaign=CampaignFactory(program=program, state=state))
    AchievementFactory(campaign=CampaignFactory(program=other_program, running=True))
    ingest(program, at=T0)
    ingest(program, at=T0 + SECOND)

    # when
    response = get(management_client, f"{base}/customers/ann/achievements", now=T0 + SECOND)

    # then
    entries = by_achievement(response)
    assert response.json()["count"] == 2
    assert sorted(entries) == sorted([first.pk, second.pk])
    assert [entries[a.pk]["progress"] for a in (first, second)] == [2, 2]


@pytest.mark.parametrize(
    ("policy", "at_end"),
    [(Policy.NO_RECURRENCE, "expired"), (Policy.ON_EXPIRATION, "not_started")],
)
def test_customer_achievements_computes_status_for_now_when_stored_row_not_updated(
    management_client, base, program, campaign, policy, at_end
):
    # given: one event, no job ever runs (the stored row says inprogress)
    achievement = AchievementFactory(campaign=campaign, target=5, period="1D",
                                     recurrence_policy=policy)
    ingest(program, at=T0)
    url = f"{base}/customers/ann/achievements"

    # when
    before = by_achievement(get(management_client, url, now=T0 + DAY - SECOND))
    at = by_achievement(get(management_client, url, now=T0 + DAY))
    after = by_achievement(get(management_client, url, now=T0 + DAY + SECOND))

    # then
    assert (before[achievement.pk]["status"], before[achievement.pk]["progress"]) == (
        "inprogress", 1)
    assert before[achievement.pk]["endDate"] == iso(T0 + DAY)
    assert at[achievement.pk]["status"] == at_end
    assert after[achievement.pk]["status"] == at_end
    if at_end == "not_started":
        assert at[achievement.pk]["progress"] == 0
        assert "startDate" not in at[achievement.pk]
        assert "endDate" not in at[achievement.pk]
    else:
        assert at[achievement.pk]["progress"] == 1
        assert at[achievement.pk]["endDate"] == iso(T0 + DAY)
    assert achievement.progress_records.get().status == "inprogress"


def test_customer_achievements_filters_by_campaign_ids_when_given(
    management_client, base, program, campaign
):
    # given
    other = CampaignFactory(program=program, running=True)
    third = CampaignFactory(program=program, running=True)
    a = AchievementFactory(campaign=campaign)
    b = AchievementFactory(campaign=other)
    AchievementFactory(campaign=third)
    ingest(program, at=T0)
    url = f"{base}/customers/ann/achievements"

    # when
    one = get(management_client, url, now=T0, campaignIds=str(campaign.pk))
    two = get(management_client, url, now=T0, campaignIds=f"{campaign.pk},{other.pk}")

    # then
    assert sorted(by_achievement(one)) == [a.pk]
    assert sorted(by_achievement(two)) == sorted([a.pk, b.pk])


def test_customer_achievements_filters_by_status_when_given(
    management_client, base, program, campaign
):
    # given
    done = AchievementFactory(campaign=campaign, target=1)
    going = AchievementFactory(campaign=campaign, target=5)
    untouched = AchievementFactory(campaign=campaign, event_types=["VISIT"])
    ingest(program, at=T0)
    url = f"{base}/customers/ann/achievements"

    # when
    both = get(management_client, url, now=T0, status="inprogress,completed")
    fresh = get(management_client, url, now=T0, status="not_started")

    # then
    assert sorted(by_achievement(both)) == sorted([done.pk, going.pk])
    assert list(by_achievement(fresh)) == [untouched.pk]


def test_customer_achievements_returns_400_naming_status_when_status_unknown(
    management_client, base, program, campaign
):
    # given
    AchievementFactory(campaign=campaign)
    ingest(program, at=T0)

    # when
    response = get(management_client, f"{base}/customers/ann/achievements", now=T0,
                   status="inprogress,done")

    # then
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "status"
    assert "done" in response.json()["errors"][0]["message"]


def test_customer_achievements_returns_404_when_customer_unknown(
    management_client, base, program, campaign, other_program
):
    # given
    AchievementFactory(campaign=campaign)
    CustomerFactory(program=other_program, integration_id="bob")

    # when
    unknown = get(management_client, f"{base}/customers/nobody/achievements", now=T0)
    elsewhere = get(management_client, f"{base}/customers/bob/achievements", now=T0)

    # then
    assert unknown.status_code == 404
    assert elsewhere.status_code == 404


# GET /customers/{integrationId}/achievements/{achievementId}/history
# ------------------------------------------------------------------------------------------


def test_customer_achievement_history_lists_every_iteration_newest_first(
    management_client, base, program, campaign
):
    # given: completed, expired and current iterations of a recurring achievement
    achievement = AchievementFactory(campaign=campaign, target=2, period="1D",
                                     recurrence_policy=Policy.ON_EXPIRATION)
    ingest(program, at=T0)
    ingest(program, at=T0 + SECOND)
    ingest(program, at=T0 + DAY)
    ingest(program, at=T0 + 2 * DAY)
    trackers = list(achievement.progress_records.order_by("sequence").values_list("pk",
                                                                                 flat=True))

    # when
    rows = history(management_client, base, achievement, now=T0 + 2 * DAY + SECOND)

    # then
    assert all(set(row) == {"progressTrackerId", "status", "progress", "startDate",
                            "completionDate", "endDate"} for row in rows)
    assert [(r["progressTrackerId"], r["status"], r["progress"]) for r in rows] == [
        (trackers[2], "inprogress", 1), (trackers[1], "expired", 1),
        (trackers[0], "completed", 2),
    ]
    assert rows[2]["completionDate"] == iso(T0 + SECOND)
    assert rows[1]["completionDate"] is None
    assert [(r["startDate"], r["endDate"]) for r in rows] == [
        (iso(T0 + 2 * DAY), iso(T0 + 3 * DAY)), (iso(T0 + DAY), iso(T0 + 2 * DAY)),
        (iso(T0), iso(T0 + DAY)),
    ]


def test_customer_achievement_history_returns_404_when_achievement_unknown(
    management_client, base, program, campaign
):
    # given
    ingest(program, at=T0)

    # when
    response = get(management_client, f"{base}/customers/ann/achievements/999999/history",
                   now=T0)

    # then
    assert response.status_code == 404


# The documented iteration ends (user_action and fixed schedule, time zone UTC)
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("definition", "action", "start", "end"),
    [
        pytest.param(
            {"period": "1D"},
            datetime(2023, 10, 10, 9, 30, 45, tzinfo=UTC),
            datetime(2023, 10, 10, 9, 30, 45, tzinfo=UTC),
            datetime(2023, 10, 11, 9, 30, 45, tzinfo=UTC),
            id="1D-user-action",
        ),
        pytest.param(
            {"period": "1M", "activation_policy": Activation.FIXED_SCHEDULE,
             "fixed_start_date": datetime(2023, 10, 10, tzinfo=UTC)},
            datetime(2023, 10, 18, 10, 20, tzinfo=UTC),
            datetime(2023, 10, 18, 10, 20, tzinfo=UTC),
            datetime(2023, 11, 10, tzinfo=UTC),
            id="1M-fixed-schedule",
        ),
        pytest.param(
            {"period": "3M_U", "recurrence_policy": Policy.ON_EXPIRATION},
            datetime(2023, 10, 10, 9, 30, 45, tzinfo=UTC),
            datetime(2023, 10, 10, 9, 30, 45, tzinfo=UTC),
            datetime(2024, 1, 31, 23, 59, 59, tzinfo=UTC),
            id="3M_U-on-expiration",
        ),
        pytest.param(
            {"period": "2Y", "activation_policy": Activation.FIXED_SCHEDULE,
             "fixed_start_date": datetime(2023, 1, 1, tzinfo=UTC),
             "recurrence_policy": Policy.ON_EXPIRATION},
            datetime(2023, 8, 12, 14, 15, 2, tzinfo=UTC),
            datetime(2023, 8, 12, 14, 15, 2, tzinfo=UTC),
            datetime(2025, 1, 1, tzinfo=UTC),
            id="2Y-fixed-schedule",
        ),
    ],
)
def test_customer_achievement_history_ends_iteration_as_documented_when_action_ingested(
    management_client, base, program, campaign, definition, action, start, end
):
    # given
    achievement = AchievementFactory(campaign=campaign, target=10, time_zone="UTC",
                                     **definition)

    # when
    ingest(program, at=action)

    # then
    (row,) = history(management_client, base, achievement, now=end - SECOND)
    assert (row["startDate"], row["endDate"]) == (iso(start), iso(end))
    assert (row["status"], row["progress"]) == ("inprogress", 1)
    (expired,) = history(management_client, base, achievement, now=end)
    assert expired["status"] == "expired"


# GET /achievements/{id}/progress (JSON and CSV)
# ------------------------------------------------------------------------------------------


@pytest.fixture
def three_customers(program, campaign):
    """ann completed, bob in progress, cat's iteration ended at T0 + 1D without completion."""
    achievement = AchievementFactory(campaign=campaign, target=3, period="2D",
                                     title="Three coffees")
    for at in (T0 + DAY, T0 + DAY + SECOND, T0 + DAY + 2 * SECOND):
        ingest(program, at=at, customer="ann")
    ingest(program, at=T0 + DAY, customer="bob")
    ingest(program, at=T0 - DAY, customer="cat")
    return achievement


def test_achievement_progress_returns_every_customers_current_iteration_paged(
    management_client, base, three_customers
):
    # given
    url = f"{base}/achievements/{three_customers.pk}/progress"

    # when
    response = get(management_client, url, now=T0 + DAY + 3 * SECOND)
    page = get(management_client, url, now=T0 + DAY + 3 * SECOND, limit=2)

    # then
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["count"] == 3
    assert [(r["profileIntegrationId"], r["status"], r["progress"])
            for r in body["results"]] == [
        ("ann", "completed", 3), ("bob", "inprogress", 1), ("cat", "expired", 1),
    ]
    assert (page.json()["count"], len(page.json()["results"])) == (3, 2)


@pytest.mark.parametrize(("status", "customers"), [("completed", ["ann"]),
                                                   ("inprogress", ["bob"]),
                                                   ("expired", ["cat"])])
def test_achievement_progress_filters_by_status_for_now_when_status_given(
    management_client, base, three_customers, status, customers
):
    # when
    response = get(management_client, f"{base}/achievements/{three_customers.pk}/progress",
                   now=T0 + DAY + 3 * SECOND, status=status)

    # then
    assert response.status_code == 200, response.json()
    assert [r["profileIntegrationId"] for r in response.json()["results"]] == customers


@pytest.mark.parametrize(("now", "status"), [(T0 + 3 * DAY - SECOND, "inprogress"),
                                             (T0 + 3 * DAY, "expired")])
def test_achievement_progress_reads_status_at_window_end_when_no_job_ran(
    management_client, base, three_customers, now, status
):
    # when: bob's iteration is [T0 + 1D, T0 + 3D)
    response = get(management_client, f"{base}/achievements/{three_customers.pk}/progress",
                   now=now)

    # then
    rows = {r["profileIntegrationId"]: r for r in response.json()["results"]}
    assert rows["bob"]["status"] == status
    assert rows["bob"]["endDate"] == iso(T0 + 3 * DAY)


def test_achievement_progress_returns_400_when_status_unknown(management_client, base,
                                                             three_customers):
    # when
    response = get(management_client, f"{base}/achievements/{three_customers.pk}/progress",
                   now=T0, status="not_started")

    # then
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "status"


def get_csv(client, url, *, now, **params):
    """The CSV export, streamed while the clock is still pinned (rows are read lazily)."""
    with time_machine.travel(now, tick=False):
        response = client.get(url, {**params, "format": "csv"})
        assert response.status_code == 200
        content = b"".join(response.streaming_content).decode()
    return response, list(csv.reader(io.StringIO(content)))


def test_achievement_progress_exports_csv_row_per_customer_when_format_csv(
    management_client, base, three_customers
):
    # when
    response, (header, *rows) = get_csv(
        management_client, f"{base}/achievements/{three_customers.pk}/progress",
        now=T0 + DAY + 3 * SECOND,
    )

    # then
    assert response["Content-Type"].startswith("text/csv")
    assert header == CSV_HEADER
    assert [row[:5] for row in rows] == [
        ["ann", "Three coffees", "3", "3", "completed"],
        ["bob", "Three coffees", "3", "1", "inprogress"],
        ["cat", "Three coffees", "3", "1", "expired"],
    ]
    ann = rows[0]
    assert datetime.fromisoformat(ann[5]) == T0 + DAY
    assert datetime.fromisoformat(ann[6]) == T0 + 3 * DAY
    assert datetime.fromisoformat(ann[7]) == T0 + DAY + 2 * SECOND
    assert rows[1][7] == ""


def test_achievement_progress_exports_only_matching_rows_when_csv_filtered_by_status(
    management_client, base, three_customers
):
    # when
    _, (header, *rows) = get_csv(
        management_client, f"{base}/achievements/{three_customers.pk}/progress",
        now=T0 + DAY + 3 * SECOND, status="expired",
    )

    # then
    assert header == CSV_HEADER
    assert [row[0] for row in rows] == ["cat"]


def test_achievement_progress_exports_plain_numbers_when_target_and_progress_round(
    management_client, base, program, campaign
):
    # given
    achievement = AchievementFactory(campaign=campaign, target=10, period="1W",
                                     progress_increment="event.amount")
    ingest(program, at=T0, amount="20")

    # when
    _, (_, row) = get_csv(management_client,
                          f"{base}/achievements/{achievement.pk}/progress", now=T0 + SECOND)

    # then
    assert row[2:5] == ["10", "20", "completed"]


def test_achievement_progress_returns_current_window_when_late_event_opened_older_one(
    management_client, base, program, campaign
):
    # given: ann progresses in today's window 2, then a late event opens window 1
    achievement = AchievementFactory(campaign=campaign, fixed=True, target=5, period="1D",
                                     recurrence_policy=Policy.ON_EXPIRATION)
    now = FIXED_START + 2 * DAY + timedelta(hours=10)
    ingest(program, at=now, now=now)
    ingest(program, at=FIXED_START + DAY + timedelta(hours=3), now=now)

    # when
    response = get(management_client, f"{base}/achievements/{achievement.pk}/progress",
                   now=now)

    # then
    (row,) = response.json()["results"]
    assert (row["status"], row["endDate"]) == ("inprogress", iso(FIXED_START + 3 * DAY))
