"""`load_demo`: past activity through the real pipeline, once, with a progress bar and a
summary on stderr."""

from io import StringIO

import pytest
from django.core.management import call_command

from achievements.models import AchievementProgress
from events.models import CustomerEvent
from loyalty.models import AwardTransaction

pytestmark = pytest.mark.django_db


def test_load_demo_posts_activity_once_and_shows_progress_when_days_given():
    # given
    err = StringIO()
    # when
    call_command("load_demo", "--customers", "40", "--activity-days", "10",
                 "--active-customers", "4", "--quiet-keys", stdout=StringIO(), stderr=err)
    posted = CustomerEvent.objects.exclude(type="ACHIEVEMENT").count()
    call_command("load_demo", "--customers", "40", "--activity-days", "10",
                 "--active-customers", "4", "--quiet-keys", stdout=StringIO(),
                 stderr=StringIO())
    # then
    assert posted > 0
    assert CustomerEvent.objects.exclude(type="ACHIEVEMENT").count() == posted
    assert set(CustomerEvent.objects.values_list("customer__integration_id", flat=True)) <= {
        f"demo-customer-{i:03d}" for i in range(1, 5)}
    assert AchievementProgress.objects.filter(achievement__name="FirstOrder").count() == 4
    assert AwardTransaction.objects.exists()
    output = err.getvalue()
    assert "Customers" in output and "customers/s" in output
    assert "Demo activity" in output and "events/s" in output
    assert f"Summary: 40 customers, {posted} events posted" in output
