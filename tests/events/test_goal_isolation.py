"""One bad definition never stops ingestion: a goal that fails while counting an event is
skipped with an effect that says so, the event counts everywhere else, and the managers are
told (a notification, the definition flagged)."""

from datetime import UTC, datetime, timedelta

import pytest

from achievements.models import Achievement, AchievementProgress
from events.models import CustomerEvent
from loyalty.models import Notification
from tests.achievements.factories import AchievementFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def _post(client, program, reference, amount=10):
    return client.post(f"/api/v1/programs/{program.pk}/events", {
        "customer": "ann", "type": "PURCHASE", "amount": amount,
        "performedOn": (NOW - timedelta(minutes=1)).isoformat(),
        "externalSystem": "POS", "externalSystemReferenceNumber": reference}, format="json")


@pytest.mark.parametrize("broken", [
    {"period": "9000Y"},  # windows past the supported dates
    {"progress_increment": "event.amount * 100000000000000.0"},  # outgrows the columns
], ids=["period-out-of-range", "increment-overflow"])
def test_a_failing_goal_is_skipped_and_the_event_counts_everywhere_else(
        integration_client, program, campaign, broken):
    good = AchievementFactory(campaign=campaign, target=5, period="1D")
    bad = AchievementFactory(campaign=campaign, target=5, **broken)  # saved without checks

    first = _post(integration_client, program, "R-1")
    second = _post(integration_client, program, "R-2")

    assert (first.status_code, second.status_code) == (201, 201), first.json()
    skipped = [e for e in first.json()["effects"] if e["effectType"] == "achievementSkipped"]
    assert [e["achievementId"] for e in skipped] == [bad.pk]
    assert "the event counts everywhere else" in skipped[0]["message"]
    assert AchievementProgress.objects.get(achievement=good).progress == 2
    assert not AchievementProgress.objects.filter(achievement=bad).exists()
    assert CustomerEvent.objects.filter(type="PURCHASE").count() == 2
    (notification,) = Notification.objects.filter(kind="goalFailed")  # once a day per goal
    assert notification.payload["achievementId"] == bad.pk
    flagged = Achievement.objects.get(pk=bad.pk)
    assert flagged.failing_since == NOW and flagged.last_failure
    assert Achievement.objects.get(pk=good.pk).failing_since is None


@pytest.mark.django_db(transaction=True)
def test_a_failing_goal_is_isolated_on_a_live_server(live_server, program, campaign):
    """The same through a real server thread and real HTTP, committed for real."""
    import json
    import urllib.request

    from tests.conftest import make_key

    key = make_key(scope="integration", program=program).raw_key
    good = AchievementFactory(campaign=campaign, target=5, period="1D")
    bad = AchievementFactory(campaign=campaign, target=5, period="9000Y")
    request = urllib.request.Request(
        f"{live_server.url}/api/v1/programs/{program.pk}/events", method="POST",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        data=json.dumps({"customer": "ann", "type": "PURCHASE", "amount": 10,
                         "performedOn": (NOW - timedelta(minutes=1)).isoformat()}).encode())

    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.loads(response.read())

    assert response.status == 201
    assert [e["achievementId"] for e in body["effects"]
            if e["effectType"] == "achievementSkipped"] == [bad.pk]
    assert AchievementProgress.objects.get(achievement=good).progress == 1
    assert Notification.objects.filter(kind="goalFailed").count() == 1
