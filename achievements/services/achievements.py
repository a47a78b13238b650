"""Writes for achievement definitions and customer progress."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cached_property
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from achievements import periods, rules
from achievements.models import Achievement, AchievementProgress, ProgressContribution
from achievements.selectors import (
    achievement_has_progress,
    achievement_is_locked,
    achievement_time_zone,
    achievements_counting,
)
from config.db import bulk_update_rows
from config.exceptions import ApplicationError, ConflictError, api_name
from loyalty.models import Campaign, Customer
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
    _save(achievement, update_fields=[*changed, "updated_at"])
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


# Progress
# ------------------------------------------------------------------------------
@dataclass(frozen=True)
class EventFacts:
    """What the progress engine needs to know about a customer event."""

    id: int
    type: str
    performed_on: datetime
    activation: dict[str, Any]  # the CEL activation, from rules.event_activation
    amount: Decimal | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    awarded: dict[str, Decimal] = field(default_factory=dict)  # currency code -> amount


@dataclass(frozen=True)
class ProgressEffect:
    """One change to one iteration (Talon.One's increase/rollback achievement effects)."""

    effect_type: str
    achievement: Achievement
    progress_record: AchievementProgress
    delta: Decimal
    value: Decimal
    is_just_completed: bool = False

    def as_dict(self) -> dict[str, Any]:
        body = {
            "effectType": self.effect_type,
            "achievementId": self.achievement.pk,
            "achievementName": self.achievement.name,
            "progressTrackerId": self.progress_record.pk,
            "target": self.achievement.target,
        }
        if self.effect_type == INCREASE:
            body |= {"delta": self.delta, "value": self.value,
                     "isJustCompleted": self.is_just_completed}
        else:
            body |= {"decreaseProgressBy": self.delta, "currentProgress": self.value}
        return body


INCREASE = "increaseAchievementProgress"
ROLLBACK = "rollbackIncreasedAchievementProgress"
Status = AchievementProgress.Status


class _Iterations:
    """A customer's open iterations of the achievements one event matches, loaded (and
    locked) in one query; new and changed iterations and contributions are written in bulk
    at the end. The expiry job claims rows with SKIP LOCKED, so an event and the job never
    write the same iteration at once."""

    def __init__(self, *, customer: Customer, achievements: list[Achievement], at: datetime):
        self.customer = customer
        self.rows: dict[int, list[AchievementProgress]] = defaultdict(list)
        by_id = {a.pk: a for a in achievements}
        self.achievement_ids = list(by_id)
        open_rows = (
            AchievementProgress.objects.select_for_update()
            .filter(customer=customer, achievement_id__in=self.achievement_ids)
            .filter(Q(end_date__isnull=True) | Q(end_date__gt=at))
        )
        for row in open_rows:
            row.achievement = by_id[row.achievement_id]  # the cached definition: no lazy load
            self.rows[row.achievement_id].append(row)
        self.new: list[AchievementProgress] = []
        self.changed: dict[int, AchievementProgress] = {}
        self.contributions: list[ProgressContribution] = []

    @cached_property
    def _top_sequence(self) -> dict[int, int]:
        """Each achievement's highest iteration number, read when first needed: one query,
        which also tells which one-time achievements the customer has started."""
        return dict(
            AchievementProgress.objects.filter(customer=self.customer,
                                               achievement_id__in=self.achievement_ids)
            .values("achievement_id").annotate(top=Max("sequence"))
            .values_list("achievement_id", "top")
        )

    def started(self, achievement_id: int) -> bool:
        """Whether the customer has any iteration of the achievement (one-time ones only
        ever have one)."""
        return achievement_id in self._top_sequence

    def _next_sequence(self, achievement_id: int) -> int:
        sequence = self._top_sequence.get(achievement_id, 0) + 1
        self._top_sequence[achievement_id] = sequence
        return sequence

    def create(self, *, achievement: Achievement, at: datetime,
               window: periods.Window) -> AchievementProgress:
        row = AchievementProgress(
            achievement=achievement, customer=self.customer,
            sequence=self._next_sequence(achievement.pk), window_start=window.start,
            start_date=at, end_date=window.end, window_index=window.index,
        )
        self.rows[achievement.pk].append(row)
        self.new.append(row)
        return row

    def save(self) -> None:
        AchievementProgress.objects.bulk_create(self.new)
        new_ids = {id(row) for row in self.new}
        changed = [row for row in self.changed.values() if id(row) not in new_ids]
        if changed:
            for row in changed:
                row.updated_at = timezone.now()
            bulk_update_rows(
                model=AchievementProgress, objs=changed,
                fields=["progress", "status", "completion_date", "start_date", "updated_at"],
            )
        for contribution in self.contributions:
            contribution.progress_record_id = contribution.progress_record.pk
        ProgressContribution.objects.bulk_create(self.contributions)


def _iteration_for(*, achievement: Achievement, iterations: _Iterations, at: datetime,
                   window: periods.Window) -> AchievementProgress | None:
    """The iteration an event at `at` counts in: the one whose window holds `at`, or a new one
    where the recurrence policy allows, or None when the event counts for nothing."""
    rows = iterations.rows[achievement.pk]
    policy = achievement.recurrence_policy
    fixed = achievement.activation_policy == Achievement.ActivationPolicy.FIXED_SCHEDULE
    if fixed:
        candidates = [r for r in rows if r.window_index == window.index]
        current = max(candidates, key=lambda r: r.sequence, default=None)
    else:
        candidates = [r for r in rows if r.window_start <= at]
        current = max(candidates, key=lambda r: (r.window_start, r.sequence), default=None)
    if current is not None:
        completed = current.status == Status.COMPLETED
        if not (completed and policy == Achievement.RecurrencePolicy.ON_COMPLETION):
            return current
        if fixed:  # the next iteration runs in what is left of the same window
            window = periods.Window(start=at, end=window.end, index=window.index)
    elif policy == Achievement.RecurrencePolicy.NO_RECURRENCE and (
        iterations.started(achievement.pk)
    ):
        return None  # one-time: its only iteration is over
    if not fixed:
        # A late event in a gap between iterations must not overlap the next one.
        next_start = min((r.window_start for r in rows if r.window_start > at), default=None)
        if next_start is not None and (window.end is None or window.end > next_start):
            window = periods.Window(start=window.start, end=next_start, index=window.index)
    return iterations.create(achievement=achievement, at=at, window=window)


def _count(*, achievement: Achievement, iterations: _Iterations, event: EventFacts,
           amount: Decimal, window: periods.Window) -> list[ProgressEffect]:
    effects = []
    on_completion = achievement.recurrence_policy == Achievement.RecurrencePolicy.ON_COMPLETION
    remaining = amount
    record = _iteration_for(achievement=achievement, iterations=iterations,
                            at=event.performed_on, window=window)
    while record is not None and remaining > 0:
        delta = remaining
        if achievement.is_capped_by_target or on_completion:
            delta = min(remaining, max(achievement.target - record.progress, Decimal(0)))
        if delta <= 0:
            break
        record.progress += delta
        just_completed = (
            record.status != Status.COMPLETED and record.progress >= achievement.target
        )
        if just_completed:
            record.status = Status.COMPLETED
            record.completion_date = event.performed_on
        if event.performed_on < record.start_date:
            record.start_date = event.performed_on  # a late event moved the first progress
        iterations.changed[id(record)] = record
        iterations.contributions.append(ProgressContribution(
            progress_record=record, customer_event_id=event.id, delta=delta,
            completed_iteration=just_completed,
        ))
        effects.append(ProgressEffect(INCREASE, achievement, record, delta, record.progress,
                                      just_completed))
        remaining -= delta
        record = None
        if on_completion and just_completed and remaining > 0:
            # The excess opens the next iteration at once (new progressTrackerId).
            record = _iteration_for(achievement=achievement, iterations=iterations,
                                    at=event.performed_on, window=window)
    return effects


def achievement_progress_record_event(*, customer: Customer,
                                      event: EventFacts) -> list[ProgressEffect]:
    """Count a customer event in every active achievement it matches.

    The caller holds the customer's lock (see `loyalty.services.customer_lock`), so the reads
    and writes below are serialised per customer. Each contribution is recorded (unique per
    event and iteration) so a cancellation can take exactly it back. The customer's open
    iterations are read in one query and written back in bulk.
    """
    matched: list[tuple[Achievement, Decimal, periods.Window]] = []
    for achievement in achievements_counting(program=customer.program,
                                             event_type=event.type, at=event.performed_on):
        if not rules.condition_matches(source=achievement.progress_condition,
                                       activation=event.activation):
            continue
        amount = rules.increment_amount(source=achievement.progress_increment,
                                        activation=event.activation)
        if amount <= 0:
            continue
        window = periods.iteration_window(
            activation_policy=achievement.activation_policy,
            recurring=achievement.recurrence_policy != Achievement.RecurrencePolicy.NO_RECURRENCE,
            spec=achievement.period_spec,
            tz=achievement_time_zone(achievement=achievement),
            at=event.performed_on,
            fixed_start=achievement.fixed_start_date,
            end_date=achievement.end_date,
            end_override=achievement.end_override,
        )
        if window is not None:
            matched.append((achievement, amount, window))
    if not matched:
        return []
    iterations = _Iterations(customer=customer, achievements=[a for a, _, _ in matched],
                             at=event.performed_on)
    effects: list[ProgressEffect] = []
    for achievement, amount, window in matched:
        effects.extend(_count(achievement=achievement, iterations=iterations, event=event,
                              amount=amount, window=window))
    iterations.save()
    return effects


@dataclass(frozen=True)
class Rollback:
    effects: list[ProgressEffect]
    uncompleted: list[AchievementProgress]  # completions taken back: their events go too


def achievement_progress_rollback_event(*, customer: Customer, customer_event_id: int,
                                        now: datetime) -> Rollback:
    """Subtract what a cancelled event added (customer locked).

    A completed iteration is only touched when its achievement allows rollback after
    completion; then it goes back to in progress if it falls below the target.
    """
    effects, uncompleted = [], []
    contributions = (
        ProgressContribution.objects.select_related("progress_record__achievement")
        .filter(customer_event_id=customer_event_id, reversed_at__isnull=True,
                progress_record__customer=customer)
        .order_by("-pk")
    )
    for contribution in contributions:
        record = contribution.progress_record
        achievement = record.achievement
        if record.status == Status.COMPLETED and not achievement.allow_rollback_after_completion:
            continue
        decrease = min(contribution.delta, record.progress)
        record.progress -= decrease
        if record.status == Status.COMPLETED and record.progress < achievement.target:
            record.status = Status.INPROGRESS
            record.completion_date = None
            uncompleted.append(record)
        record.save(update_fields=["progress", "status", "completion_date", "updated_at"])
        contribution.reversed_at = now
        contribution.save(update_fields=["reversed_at"])
        effects.append(ProgressEffect(ROLLBACK, achievement, record, decrease, record.progress))
    return Rollback(effects=effects, uncompleted=uncompleted)
