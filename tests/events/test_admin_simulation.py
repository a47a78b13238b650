"""The admin's simulation: the achievement form as typed, streamed progress and result."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from achievements.models import AchievementProgress
from events.services import event_ingest
from tests.achievements.factories import AchievementFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def achievement(program, campaign):
    achievement = AchievementFactory(campaign=campaign, target=3, period="1W")
    for n in range(4):
        with time_machine.travel(NOW, tick=False):
            event_ingest(program=program, now=NOW, data={
                "customer": f"c{n % 2}", "type": "PURCHASE", "amount": Decimal(5),
                "performed_on": NOW - timedelta(days=3, hours=n)})
    return achievement


def _lines(response):
    return [json.loads(line) for line in b"".join(response.streaming_content).splitlines()]


def test_admin_simulation_streams_progress_then_the_result_of_the_form_as_typed(
        admin_client, achievement):
    before = AchievementProgress.objects.count()

    response = admin_client.post(reverse("admin:laurel_simulate"), {
        "object_id": achievement.pk, "target": "1",
        "simulate_from": (NOW - timedelta(days=30)).isoformat(),
        "simulate_to": NOW.isoformat()})

    assert response.status_code == 200
    lines = _lines(response)
    assert lines[0] == {"progress": 0, "total": 2}
    assert lines[-2] == {"progress": 2, "total": 2}
    result = lines[-1]["result"]
    # target 1 instead of 3: each of the two customers completes in their first week
    assert (result["started"], result["completed"], result["completions"]) == (2, 2, 2)
    assert AchievementProgress.objects.count() == before  # nothing written


def test_admin_simulation_names_what_is_wrong_with_the_form(admin_client, achievement):
    response = admin_client.post(reverse("admin:laurel_simulate"), {
        "object_id": achievement.pk, "period": "3Q"})

    (line,) = _lines(response)
    assert line["error"].startswith("Cannot simulate: Period")


def test_admin_simulation_needs_a_staff_login(client, achievement):
    response = client.post(reverse("admin:laurel_simulate"), {"object_id": achievement.pk})
    assert response.status_code == 302  # to the login page
