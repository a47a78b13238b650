"""Writes for achievement definitions and customer progress."""

from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from achievements.models import Achievement
from achievements.selectors import (
    achievement_has_progress,
    achievement_is_locked,
)
from config.exceptions import ApplicationError, ConflictError, api_name
from loyalty.models import Campaign
from loyalty.services import classification_create

EDITABLE_FIELDS = (
    "title",
    "description",
    "target",
    "period",
    "period_end_override",
    "recurrence_policy",
    "activation_policy",
    "fixed_start_date",
    "end_date",
    "allow_rollback_after_completion",
    "is_capped_by_target",
    "time_zone",
    "event_types",
    "progress_condition",
    "progress_increment",
)


def _ensure_unique(*, campaign: Campaign, name: str | None, title: str | None,
                   exclude_pk: int | None = None) -> None:
    others = Achievement.objects.filter(campaign=campaign).exclude(pk=exclude_pk)
    if name is not None and others.filter(name=name).exists():
        raise ConflictError(
            f"An achievement named '{name}' already exists in this campaign.", field="name"
        )
    if title is not None and others.filter(title=title).exists():
        raise ConflictError(
            f"An achievement titled '{title}' already exists in this campaign.", field="title"
        )


def _save(achievement: Achievement, **save_kwargs: Any) -> None:
    """Validate and save; a concurrent duplicate that slipped past the check is still a 409."""
    achievement.full_clean(validate_constraints=False, validate_unique=False)
    try:
        with transaction.atomic():
            achievement.save(**save_kwargs)
    except IntegrityError as exc:
        raise ConflictError(
            "An achievement with this name or title already exists in this campaign.",
            field="name",
        ) from exc


@transaction.atomic
def achievement_create(*, campaign: Campaign, name: str, title: str, target: Any,
                       created_by: AbstractBaseUser | None = None,
                       **fields: Any) -> Achievement:
    """Create an achievement. `fields` are any of EDITABLE_FIELDS."""
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown achievement fields: {sorted(unknown)}")
    _ensure_unique(campaign=campaign, name=name, title=title)
    achievement = Achievement(
        campaign=campaign, name=name, title=title, target=target, created_by=created_by, **fields
    )
    _save(achievement)
    achievement_classification_attach(achievement=achievement)
    return achievement


def achievement_classification_attach(*, achievement: Achievement) -> Achievement:
    """Give an achievement the classification its ACHIEVEMENT events carry."""
    campaign = achievement.campaign
    achievement.classification = classification_create(
        program=campaign.program,
        code=f"ACHIEVEMENT:{campaign.pk}:{achievement.name}",
        name=f"Achievement: {achievement.title}"[:200],
        event_type="ACHIEVEMENT",
        description=f"Posted when a customer completes the achievement {achievement.name}.",
    )
    achievement.save(update_fields=["classification"])
    return achievement


@transaction.atomic
def achievement_update(*, achievement: Achievement, data: dict[str, Any]) -> Achievement:
    """Change an achievement.

    `name` never changes. Once the campaign is running or any customer has progress, only
    `title` and `description` may change; anything else is refused naming the locked fields.
    """
    if "name" in data and data["name"] != achievement.name:
        raise ApplicationError("The name of an achievement cannot be changed.", field="name")
    if "campaign" in data and data["campaign"] != achievement.campaign:
        raise ApplicationError(
            "An achievement cannot move to another campaign.", field="campaign_id"
        )
    changed = [f for f in EDITABLE_FIELDS if f in data and getattr(achievement, f) != data[f]]
    if not changed:
        return achievement
    locked = [f for f in changed if f not in Achievement.ALWAYS_EDITABLE]
    if locked and achievement_is_locked(achievement=achievement):
        reason = (
            "the campaign is running"
            if achievement.campaign.state == Campaign.State.RUNNING
            else "customers have progress in it"
        )
        names = [api_name(f) for f in locked]
        raise ApplicationError(
            f"Only title and description can change because {reason}; locked: "
            + ", ".join(names),
            field=locked[0],
            extra={"lockedFields": names},
        )
    _ensure_unique(campaign=achievement.campaign, name=None, title=data.get("title"),
                   exclude_pk=achievement.pk)
    for name in changed:
        setattr(achievement, name, data[name])
    achievement.failing_since, achievement.last_failure = None, ""  # try it again
    _save(achievement, update_fields=[*changed, "failing_since", "last_failure", "updated_at"])
    if "title" in changed and achievement.classification_id:
        achievement.classification.name = f"Achievement: {achievement.title}"[:200]
        achievement.classification.save(update_fields=["name", "updated_at"])
    return achievement


@transaction.atomic
def achievement_delete(*, achievement: Achievement) -> None:
    """Delete a definition nobody has progressed in, outside a running campaign."""
    if achievement.campaign.state == Campaign.State.RUNNING:
        raise ApplicationError(
            "An achievement of a running campaign cannot be deleted; disable the campaign first.",
            field="campaign_id",
        )
    if achievement_has_progress(achievement=achievement):
        raise ApplicationError(
            "Customers have progress in this achievement; it cannot be deleted.", field="id"
        )
    classification = achievement.classification
    achievement.delete()
    if classification is not None and not classification.reward_offers.exists():
        classification.delete()


def achievement_failure_record(*, achievement_id: int, message: str, now: datetime) -> None:
    """Flag a definition that failed while counting an event (the admin shows it); a plain
    UPDATE, so the program's cached definitions stay as they are."""
    Achievement.objects.filter(pk=achievement_id, failing_since__isnull=True).update(
        failing_since=now)
    Achievement.objects.filter(pk=achievement_id).update(last_failure=message[:2000])
