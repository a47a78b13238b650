"""Rows written only by the pipeline cannot be added, changed or deleted in the admin: one by
one, in bulk, or through an inline. The audited correction and the cancel stay the ways."""

from datetime import UTC, datetime

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from achievements.models import (
    AchievementProgress,
    CycleProgress,
    Enrolment,
    ProgressContribution,
    StreakLevel,
    StreakLevelAchievement,
)
from events.models import CustomerEvent
from loyalty.models import AwardTransaction
from tests.demo import demo_program, demo_purchase

pytestmark = pytest.mark.django_db


@pytest.fixture
def activity(db):
    """A demo customer's first purchase: a completed FirstOrder iteration, its ACHIEVEMENT
    event, a 100 PTS award, a met weekly streak cycle and (set here) a level reached."""
    program = demo_program(customers=2)
    demo_purchase(program, customer="demo-customer-001", at=timezone.now())
    cycle = CycleProgress.objects.get()
    level = StreakLevel.objects.filter(group=cycle.enrolment.group).first()
    StreakLevelAchievement.objects.create(enrolment=cycle.enrolment, level=level, epoch=1,
                                          achieved_at=timezone.now(), cycle=cycle)
    return program


PROTECTED = [
    (AchievementProgress, {}),
    (CycleProgress, {}),
    (StreakLevelAchievement, {}),
    (CustomerEvent, {"type": CustomerEvent.Type.ACHIEVEMENT}),
    (AwardTransaction, {}),
]


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.mark.parametrize(("model", "filters"), PROTECTED, ids=lambda m: getattr(m, "__name__", ""))
def test_admin_delete_is_refused_when_the_row_is_written_by_the_pipeline(
    admin_client, activity, model, filters
):
    # given
    row = model.objects.filter(**filters).first()
    count = model.objects.count()
    # when
    page = admin_client.get(_url(model, "delete", row.pk))
    posted = admin_client.post(_url(model, "delete", row.pk), {"post": "yes"})
    # then
    assert page.status_code == 403
    assert posted.status_code == 403
    assert model.objects.count() == count


@pytest.mark.parametrize(("model", "filters"), PROTECTED, ids=lambda m: getattr(m, "__name__", ""))
def test_admin_bulk_delete_is_not_offered_and_deletes_nothing_when_posted(
    admin_client, activity, model, filters
):
    # given
    pks = [str(pk) for pk in model.objects.values_list("pk", flat=True)]
    count = len(pks)
    # when
    listing = admin_client.get(_url(model, "changelist"))
    posted = admin_client.post(_url(model, "changelist"), {
        "action": "delete_selected", "_selected_action": pks, "post": "yes"})
    # then
    assert listing.status_code == 200
    assert "delete_selected" not in listing.context["cl"].model_admin.get_actions(
        listing.wsgi_request)
    assert posted.status_code in (200, 302)
    assert model.objects.count() == count


@pytest.mark.parametrize(("model", "filters"), PROTECTED, ids=lambda m: getattr(m, "__name__", ""))
def test_admin_add_and_change_are_refused_when_the_row_is_written_by_the_pipeline(
    admin_client, activity, model, filters
):
    # given
    row = model.objects.filter(**filters).first()
    model_admin = admin.site.get_model_admin(model)
    # when
    add = admin_client.post(_url(model, "add"), {})
    change = admin_client.post(_url(model, "change", row.pk), {})
    view = admin_client.get(_url(model, "change", row.pk))
    # then
    assert add.status_code == 403
    assert change.status_code == 403  # a view-only page takes no POST
    assert view.status_code == 200
    request = view.wsgi_request
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, row)
    assert not model_admin.has_delete_permission(request, row)


def test_admin_progress_inlines_are_read_only_when_an_iteration_is_shown(admin_client, activity):
    # given
    record = AchievementProgress.objects.get(achievement__name="FirstOrder")
    # when
    page = admin_client.get(_url(AchievementProgress, "change", record.pk))
    # then
    formsets = page.context["inline_admin_formsets"]
    assert formsets, "the contributions are shown"
    for inline in formsets:
        assert not inline.has_add_permission
        assert not inline.has_change_permission
        assert not inline.has_delete_permission
    assert ProgressContribution.objects.filter(progress_record=record).count() == 1


def test_admin_deleting_a_completed_iteration_cannot_make_it_complete_twice(
    admin_client, activity
):
    # given: FirstOrder is one-time and completed for demo-customer-001
    record = AchievementProgress.objects.get(achievement__name="FirstOrder")
    assert record.status == "completed"
    # when
    admin_client.post(_url(AchievementProgress, "delete", record.pk), {"post": "yes"})
    demo_purchase(activity, customer="demo-customer-001",
                  at=datetime.now(tz=UTC), reference="second")
    # then
    assert AchievementProgress.objects.filter(achievement=record.achievement).count() == 1
    assert CustomerEvent.objects.filter(type="ACHIEVEMENT",
                                        classification=record.achievement.classification
                                        ).count() == 1
    assert Enrolment.objects.count() == 1
