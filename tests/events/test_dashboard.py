"""The dashboard (the admin index): windows, trends, figures and the program picker."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from events.dashboard import Figure, dashboard_build, last_days, trend
from events.models import CustomerEvent
from tests.loyalty.factories import CustomerFactory, ProgramFactory

AMS = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def test_last_days_are_local_days_ending_today():
    window = last_days(now=NOW, tz=AMS, days=7)
    assert (window.first, window.last) == (date(2026, 3, 4), date(2026, 3, 10))
    assert window.start == datetime(2026, 3, 3, 23, 0, tzinfo=UTC)
    assert window.end == datetime(2026, 3, 10, 23, 0, tzinfo=UTC)
    assert (window.before().first, window.before().last) == (date(2026, 2, 25),
                                                             date(2026, 3, 3))


@pytest.mark.parametrize(("current", "previous", "expected", "text"), [
    (15, 10, 0.5, "▲ 50% vs before"), (5, 10, -0.5, "▼ 50% vs before"),
    (3, 0, None, "nothing to compare with before"), (10, 10, 0.0, "= 0% vs before"),
])
def test_trend_compares_with_the_previous_window(current, previous, expected, text):
    assert trend(current, previous) == expected
    assert Figure(label="x", value="1", help="", trend=expected,
                  trend_label="vs before").trend_text == text


def _events(program, *days_ago: int):
    for n, days in enumerate(days_ago):
        at = NOW - timedelta(days=days, hours=1)
        CustomerEvent.objects.create(program=program, customer=CustomerFactory(program=program),
                                     type="PURCHASE", performed_on=at, received_at=at, number=n)


@pytest.mark.django_db
def test_dashboard_build_gives_figures_with_trends():
    # given: 3 customers active this week, 2 the week before; 1 more within 30 days
    program = ProgramFactory(time_zone="Europe/Amsterdam")
    _events(program, 0, 1, 2, 8, 9, 20)
    # when
    board = dashboard_build(program=program, now=NOW)
    # then
    figures = {f.key: f for f in board.figures}
    assert figures["active-7"].value == "3"
    assert figures["active-7"].trend == 0.5
    assert figures["active-30"].value == "6"
    assert figures["events-per-day"].value == "0.4"  # 3 events / 7 days
    assert figures["rewards-PTS"].value == "0 PTS"
    assert figures["running-streaks"].value == "0"
    assert sum(board.charts["activity"]["series"][0]["data"]) == 6
    assert len(board.charts["activity"]["labels"]) == 30


@pytest.mark.django_db
@time_machine.travel(NOW, tick=False)
def test_admin_index_is_the_dashboard_of_the_picked_program(admin_client):
    # given
    ProgramFactory(name="A first program")
    picked = ProgramFactory(name="Coffee", time_zone="Europe/Amsterdam")
    _events(picked, 0, 1)
    # when
    response = admin_client.get(reverse("admin:index"), {"program": picked.pk})
    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert response.context["program"] == picked
    assert "Dashboard: Coffee" in html
    assert 'data-figure="active-7"' in html
    assert 'id="laurel-dashboard-data"' in html
    assert "laurel/vendor/chartjs/chart.umd.min.js" in html
    assert "Everything in the admin" in html  # the model list stays


@pytest.mark.django_db
def test_admin_index_shows_the_first_program_when_none_picked(admin_client):
    ProgramFactory(name="B")
    first = ProgramFactory(name="A")
    response = admin_client.get(reverse("admin:index"))
    assert response.context["program"] == first
