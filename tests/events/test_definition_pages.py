"""An achievement's and a target group's admin pages show their numbers."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from achievements.models import Achievement, TargetGroup
from tests.demo import demo_program, demo_purchase

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def demo(db):
    """The demo program; two customers buy coffee: FirstOrder completes for both and pays
    100 PTS each."""
    with time_machine.travel(NOW - timedelta(days=2), tick=False):
        program = demo_program(customers=3)
    for n, customer in enumerate(("demo-customer-001", "demo-customer-002")):
        demo_purchase(program, customer=customer, at=NOW - timedelta(hours=5 - n))
    return program


def figures(html: str) -> dict[str, str]:
    return dict(re.findall(r'laurel-figure-label">([^<]+)</div>\s*'
                           r'<div class="laurel-figure-value">([^<]+)</div>', html))


@time_machine.travel(NOW, tick=False)
def test_achievement_page_shows_its_numbers_and_a_completions_chart(admin_client, demo):
    # given
    achievement = Achievement.objects.get(name="FirstOrder")
    # when
    html = admin_client.get(reverse("admin:achievements_achievement_change",
                                    args=[achievement.pk])).content.decode()
    # then
    shown = figures(html)
    assert shown["Participants"] == "2"
    assert shown["Completed"] == "2"
    assert shown["In progress"] == "0"
    assert shown["Completion rate"] == "100%"
    assert shown["Median time to complete"] == "0 s"
    assert shown["Rewards paid"] == "200 PTS"
    assert 'data-chart="completions"' in html
    assert 'id="laurel-definition-data"' in html
    assert "1.000000" not in html  # the locked target reads 1
    assert "Purchase" in html and "[&quot;PURCHASE&quot;]" not in html


@time_machine.travel(NOW, tick=False)
def test_target_group_page_shows_enrolled_lengths_levels_and_cycles(admin_client, demo):
    # given
    group = TargetGroup.objects.get(name="Weekly coffee streak")
    # when
    html = admin_client.get(reverse("admin:achievements_targetgroup_change",
                                    args=[group.pk])).content.decode()
    # then
    shown = figures(html)
    assert shown["Enrolled"] == "2"
    assert shown["In a running streak"] == "2"  # 25 spent this week: the cycle is met
    assert 'data-chart="lengths"' in html and 'data-chart="cycles"' in html
    assert "Levels reached" in html and "Two weeks" in html
    assert "Cycle_1" in html
