"""A customer's achievement progress: load what the fold needs, fold, diff, store.

The fold itself is pure (`achievements.progress`). For one event, `progress_plan` decides per
matched achievement whether the event is later than everything the achievement holds for the
customer (the common case: the fold continues the latest iteration with this one event) or
is late (the fold runs again from the first iteration the event can touch, over the
customer's events from there on, which the caller loads: `ProgressPlan.history_from`).
`progress_apply` then folds and writes the difference. A cancellation is a plan of its own
(`progress_plan_cancel`): the fold without the event.

The caller holds the customer's lock (`loyalty.services.customer_lock`), so the reads and
writes here are serialised per customer.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone

from achievements import progress, rules
from achievements.models import Achievement, AchievementProgress, ProgressContribution
from achievements.selectors import (
    achievement_time_zone,
    achievements_counting,
    program_definitions,
)
from config.db import bulk_update_rows
from loyalty.models import Customer

logger = logging.getLogger(__name__)
Status = AchievementProgress.Status
INCREASE = "increaseAchievementProgress"
ROLLBACK = "rollbackIncreasedAchievementProgress"
REFOLDED = "achievementProgressRefolded"
KEPT = "achievementCompletionKept"
TRUNCATED = "achievementCompletionsTruncated"
SKIPPED = "achievementSkipped"
# What DecimalField(20, 6) holds: a goal whose numbers outgrow it is skipped, not written.
_COLUMN_LIMIT = Decimal(10) ** 14


@dataclass(frozen=True)
class EventFacts:
    """What the goals need to know about a customer event."""

    id: int
    type: str
    performed_on: datetime
    activation: dict[str, Any]  # the CEL activation, from rules.event_activation
    amount: Decimal | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    awarded: dict[str, Decimal] = field(default_factory=dict)  # currency code -> amount


# Effects (typed here, camelCase JSON only in as_dict, at the edge)
# ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProgressEffect:
    """One change to one iteration by the event processed (Talon.One's increase / rollback
    achievement effects)."""

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


@dataclass(frozen=True)
class IterationChange:
    """How one iteration differs after a re-fold: added, moved (window or start), changed
    (progress or status) or removed."""

    change: str
    progress_tracker_id: int
    sequence: int
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    def as_dict(self) -> dict[str, Any]:
        return {"change": self.change, "progressTrackerId": self.progress_tracker_id,
                "sequence": self.sequence, "before": self.before, "after": self.after}


@dataclass(frozen=True)
class RefoldEffect:
    """A late event or a cancellation re-folded an achievement for the customer: what it
    changed besides the event's own contributions."""

    achievement: Achievement
    refolded_from: datetime
    changes: list[IterationChange]

    def as_dict(self) -> dict[str, Any]:
        return {"effectType": REFOLDED, "achievementId": self.achievement.pk,
                "achievementName": self.achievement.name,
                "refoldedFrom": self.refolded_from.isoformat(),
                "iterations": [c.as_dict() for c in self.changes]}


@dataclass(frozen=True)
class KeptEffect:
    """A completion that stays although the fold would take it back: the achievement does not
    allow rollback after completion."""

    achievement: Achievement
    progress_record: AchievementProgress
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"effectType": KEPT, "achievementId": self.achievement.pk,
                "achievementName": self.achievement.name,
                "progressTrackerId": self.progress_record.pk,
                "completionDate": self.progress_record.completion_date.isoformat(),
                "reason": self.reason}


@dataclass(frozen=True)
class TruncatedEffect:
    """One event completed as many iterations as one event may; the rest was not counted."""

    achievement: Achievement
    limit: int

    def as_dict(self) -> dict[str, Any]:
        return {"effectType": TRUNCATED, "achievementId": self.achievement.pk,
                "achievementName": self.achievement.name, "limit": self.limit,
                "message": f"One event completes at most {self.limit} iterations of an "
                           "achievement; what it added beyond them was not counted."}


@dataclass(frozen=True)
class SkippedEffect:
    """A goal that failed while counting the event: skipped, the event counted everywhere
    else (one bad definition never stops ingestion); the managers are told."""

    achievement: Achievement
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"effectType": SKIPPED, "achievementId": self.achievement.pk,
                "achievementName": self.achievement.name,
                "message": "This achievement could not count the event and was skipped; "
                           f"the event counts everywhere else. {self.reason}"}


@dataclass(frozen=True)
class Completion:
    """An iteration that became completed (post its ACHIEVEMENT event and pay) or stopped
    being completed (cancel them)."""

    achievement: Achievement
    record: AchievementProgress


@dataclass
class ProgressOutcome:
    effects: list = field(default_factory=list)  # the processed event's own
    refolds: list[RefoldEffect] = field(default_factory=list)  # what else moved
    completed: list[Completion] = field(default_factory=list)
    uncompleted: list[Completion] = field(default_factory=list)
    moved: list[Completion] = field(default_factory=list)  # stays, at another date or value
    skipped: list[SkippedEffect] = field(default_factory=list)  # goals that failed
    pending: list = field(default_factory=list)  # _RefoldPending: refolds before ids exist

    def merge(self, other: ProgressOutcome) -> None:
        self.effects.extend(other.effects)
        self.refolds.extend(other.refolds)
        self.pending.extend(other.pending)
        self.completed.extend(other.completed)
        self.uncompleted.extend(other.uncompleted)
        self.moved.extend(other.moved)


# What counts
# ------------------------------------------------------------------------------
_definitions: dict[int, tuple[Achievement, progress.Definition]] = {}


def progress_definition(achievement: Achievement) -> progress.Definition:
    """The fold's view of a definition (saved or not)."""
    return progress.Definition(
        id=achievement.pk or 0, target=achievement.target,
        activation_policy=achievement.activation_policy,
        recurrence_policy=achievement.recurrence_policy, period=achievement.period_spec,
        tz=achievement_time_zone(achievement=achievement),
        fixed_start=achievement.fixed_start_date, end_date=achievement.end_date,
        end_override=achievement.end_override, capped=achievement.is_capped_by_target,
        allow_rollback=achievement.allow_rollback_after_completion,
    )


def fold_definition(achievement: Achievement) -> progress.Definition:
    """progress_definition, built once per cached definition object."""
    cached = _definitions.get(achievement.pk)
    if cached is not None and cached[0] is achievement:
        return cached[1]
    definition = progress_definition(achievement)
    _definitions[achievement.pk] = (achievement, definition)
    return definition


def counted_amount(*, achievement: Achievement, event: EventFacts) -> Decimal:
    """What `event` adds to `achievement` (0: it does not count): the campaign's dates, the
    progress condition, the increment."""
    campaign = achievement.campaign
    at = event.performed_on
    if (campaign.start_time is not None and at < campaign.start_time) or (
            campaign.end_time is not None and at >= campaign.end_time):
        return Decimal(0)
    if event.type == "ACHIEVEMENT":
        if "ACHIEVEMENT" not in (achievement.event_types or []):
            return Decimal(0)
    elif achievement.event_types and event.type not in achievement.event_types:
        return Decimal(0)
    if not rules.condition_matches(source=achievement.progress_condition,
                                   activation=event.activation):
        return Decimal(0)
    amount = rules.increment_amount(source=achievement.progress_increment,
                                    activation=event.activation)
    return amount if amount > 0 else Decimal(0)


def _iteration(row: AchievementProgress, *, pinned: bool = False,
               counted: dict[int, Decimal] | None = None) -> progress.Iteration:
    return progress.Iteration(
        window_start=row.window_start, start_date=row.start_date, end_date=row.end_date,
        window_index=row.window_index, progress=row.progress,
        completion_date=row.completion_date if row.status == Status.COMPLETED else None,
        completion_value=row.completion_value if row.status == Status.COMPLETED else None,
        last_counted_on=row.last_counted_on, key=row.pk, pinned=pinned, counted=counted or {},
    )


def _pinned(achievement: Achievement, row: AchievementProgress) -> bool:
    return row.status == Status.COMPLETED and not achievement.allow_rollback_after_completion


def _later_than(event: EventFacts, row: AchievementProgress | None) -> bool:
    """Whether the event comes after everything the row's achievement holds for the customer
    (a new event has the highest id, so an equal performedOn is later)."""
    return row is None or row.last_counted_on is None or event.performed_on >= \
        row.last_counted_on


# Plans
# ------------------------------------------------------------------------------
@dataclass
class GoalPlan:
    achievement: Achievement
    latest: AchievementProgress | None = None  # the incremental case
    refold_from: datetime | None = None  # the late case: re-fold from here
    rows: list[AchievementProgress] = field(default_factory=list)  # all, in time order
    counted: dict[int, dict[int, Decimal]] = field(default_factory=dict)  # pinned row -> deltas
    amount: Decimal = Decimal(0)  # what the processed event adds

    @property
    def refold(self) -> bool:
        return self.refold_from is not None

    def split(self) -> tuple[list[AchievementProgress], list[AchievementProgress]]:
        """The rows the re-fold leaves alone and the rows it re-folds
        (see progress.resume_point)."""
        kept, _ = progress.resume_point(self.rows, self.refold_from)
        return self.rows[:kept], self.rows[kept:]

    @property
    def history_from(self) -> datetime:
        return progress.resume_point(self.rows, self.refold_from)[1]


@dataclass
class ProgressPlan:
    customer: Customer
    event: EventFacts
    goals: list[GoalPlan]
    cancelled: bool = False
    old_deltas: dict[int, Decimal] = field(default_factory=dict)  # cancel: row id -> delta
    skipped: list[SkippedEffect] = field(default_factory=list)

    @property
    def history_from(self) -> datetime | None:
        """From when the caller must load the customer's events (None: no re-fold)."""
        starts = [goal.history_from for goal in self.goals if goal.refold]
        return min(starts) if starts else None


_LATEST_SQL = (
    f"SELECT p.* FROM {AchievementProgress._meta.db_table} p WHERE p.id IN ("
    f"SELECT DISTINCT ON (achievement_id) id FROM {AchievementProgress._meta.db_table} "
    "WHERE customer_id = %s AND achievement_id = ANY(%s) "
    "ORDER BY achievement_id, window_start DESC, sequence DESC) FOR UPDATE"
)


def _latest_rows(*, customer: Customer,
                 achievement_ids: list[int]) -> dict[int, AchievementProgress]:
    """Each achievement's latest iteration of the customer, locked, in one statement (SQL
    written out: it runs for every event, and the ORM would compile the subquery each time;
    the DISTINCT ON walks the customer's achievement_progress_current index)."""
    rows = AchievementProgress.objects.raw(_LATEST_SQL, [customer.pk, achievement_ids])
    return {row.achievement_id: row for row in rows}


def _load_refold_rows(*, customer: Customer, goals: list[GoalPlan]) -> None:
    """Every iteration of the re-folded achievements (locked), and what their pinned
    iterations counted: two statements whatever the number of goals."""
    by_id = {goal.achievement.pk: goal for goal in goals}
    if not by_id:
        return
    rows = (AchievementProgress.objects.select_for_update()
            .filter(customer=customer, achievement_id__in=list(by_id))
            .order_by("achievement_id", "window_start", "sequence"))
    pinned_ids = []
    for row in rows:
        goal = by_id[row.achievement_id]
        row.achievement = goal.achievement
        goal.rows.append(row)
        if _pinned(goal.achievement, row):
            pinned_ids.append(row.pk)
    counted: dict[int, dict[int, Decimal]] = defaultdict(dict)
    for record_id, event_id, delta in ProgressContribution.objects.filter(
            progress_record_id__in=pinned_ids).values_list("progress_record_id",
                                                           "customer_event_id", "delta"):
        counted[record_id][event_id] = delta
    for goal in goals:
        goal.counted = {row.pk: counted[row.pk] for row in goal.rows
                        if _pinned(goal.achievement, row)}


def progress_plan(*, customer: Customer, event: EventFacts) -> ProgressPlan:
    """What counting `event` takes: the achievements it counts for, each continued
    incrementally or re-folded (one statement for the latest iterations, two more when the
    event is late for some)."""
    goals, skipped = [], []
    for achievement in achievements_counting(program=customer.program,
                                             event_type=event.type, at=event.performed_on):
        try:
            amount = counted_amount(achievement=achievement, event=event)
        except Exception as exc:  # one bad definition never stops ingestion
            skipped.append(_skipped(achievement, exc))
            continue
        if amount > 0:
            goals.append(GoalPlan(achievement=achievement, amount=amount))
    if goals:
        latest = _latest_rows(customer=customer,
                              achievement_ids=[g.achievement.pk for g in goals])
        for goal in goals:
            row = latest.get(goal.achievement.pk)
            if row is not None:
                row.achievement = goal.achievement  # the cached definition: no lazy load
            if _later_than(event, row):
                goal.latest = row
            else:
                goal.refold_from = event.performed_on
        _load_refold_rows(customer=customer, goals=[g for g in goals if g.refold])
    return ProgressPlan(customer=customer, event=event, goals=goals, skipped=skipped)


def progress_plan_cancel(*, customer: Customer, event: EventFacts) -> ProgressPlan:
    """Cancelling `event`: re-fold, without it, every achievement it counted in."""
    old_deltas: dict[int, Decimal] = {}
    achievement_ids = set()
    for record_id, achievement_id, delta in ProgressContribution.objects.filter(
            customer_event_id=event.id, progress_record__customer=customer).values_list(
            "progress_record_id", "progress_record__achievement_id", "delta"):
        old_deltas[record_id] = old_deltas.get(record_id, Decimal(0)) + delta
        achievement_ids.add(achievement_id)
    definitions = {a.pk: a for a in program_definitions(program=customer.program).achievements}
    missing = achievement_ids - set(definitions)
    if missing:  # a campaign no longer running: its definitions are not cached
        definitions |= {a.pk: a for a in Achievement.objects.filter(pk__in=missing)
                        .select_related("campaign__program", "classification")}
    goals = [GoalPlan(achievement=definitions[pk], refold_from=event.performed_on)
             for pk in sorted(achievement_ids)]
    _load_refold_rows(customer=customer, goals=goals)
    return ProgressPlan(customer=customer, event=event, goals=goals, cancelled=True,
                        old_deltas=old_deltas)


# Apply: fold and store the difference
# ------------------------------------------------------------------------------
_SNAPSHOT_FIELDS = ("window_start", "start_date", "end_date", "progress", "status",
                    "completion_date")


def _snapshot(row: AchievementProgress) -> dict[str, Any]:
    def value(name: str) -> Any:
        v = getattr(row, name)
        return v.isoformat() if isinstance(v, datetime) else v
    return {"sequence": row.sequence, **{name: value(name) for name in _SNAPSHOT_FIELDS}}


class _Writes:
    """The rows to write for a whole plan: each table once."""

    def __init__(self) -> None:
        self.new: list[AchievementProgress] = []
        self.changed: list[AchievementProgress] = []
        self.deleted: list[int] = []
        self.cleared: list[int] = []  # rows whose contributions are rebuilt
        self.contributions: list[tuple[AchievementProgress, progress.Contribution]] = []
        self.changed_fields: set[str] = set()

    def merge(self, other: _Writes) -> None:
        self.new.extend(other.new)
        self.changed.extend(other.changed)
        self.deleted.extend(other.deleted)
        self.cleared.extend(other.cleared)
        self.contributions.extend(other.contributions)
        self.changed_fields |= other.changed_fields

    def save(self) -> None:
        if self.cleared:
            ProgressContribution.objects.filter(progress_record_id__in=self.cleared).delete()
        if self.deleted:
            AchievementProgress.objects.filter(pk__in=self.deleted).delete()
        now = timezone.now()
        for row in self.changed:
            row.updated_at = now
        # Only the columns some row changed (an in-order event: progress and
        # last_counted_on, a completion its status and date too).
        bulk_update_rows(model=AchievementProgress, objs=self.changed,
                         fields=[*sorted(self.changed_fields), "updated_at"])
        AchievementProgress.objects.bulk_create(self.new)
        ProgressContribution.objects.bulk_create([
            ProgressContribution(progress_record_id=row.pk, customer_event_id=c.event_id,
                                 delta=c.delta, completed_iteration=c.completed)
            for row, c in self.contributions
        ])


def _write_row(row: AchievementProgress, iteration: progress.Iteration, *, sequence: int,
               achievement: Achievement) -> set[str]:
    """Bring `row` in line with `iteration`; the names of the fields that changed."""
    if iteration.completed:
        status = Status.COMPLETED
    elif row.pk is not None and row.status == Status.EXPIRED and \
            row.end_date == iteration.end_date:
        status = Status.EXPIRED  # the expiry job saw this window end already
    else:
        status = Status.INPROGRESS
    values = {
        "sequence": sequence, "progress": iteration.progress, "status": status,
        "window_start": iteration.window_start, "start_date": iteration.start_date,
        "end_date": iteration.end_date, "window_index": iteration.window_index,
        "completion_date": iteration.completion_date,
        "completion_value": iteration.completion_value,
        "last_counted_on": iteration.last_counted_on,
    }
    changed = {name for name, value in values.items() if getattr(row, name) != value}
    for name in changed:
        setattr(row, name, values[name])
    row.achievement = achievement
    return changed


def _apply_goal(*, plan: ProgressPlan, goal: GoalPlan, history: list[EventFacts],
                writes: _Writes, outcome: ProgressOutcome, limit: int) -> None:
    achievement = goal.achievement
    definition = fold_definition(achievement)
    customer = plan.customer
    if goal.refold:
        kept, affected = goal.split()
        prior_row = kept[-1] if kept else None
        start = goal.history_from
        events = [
            progress.Counted(f.performed_on, f.id, counted_amount(achievement=achievement,
                                                                  event=f))
            for f in history if f.performed_on >= start and f.id != plan.event.id
        ]
        if not plan.cancelled:
            events.append(progress.Counted(plan.event.performed_on, plan.event.id,
                                           goal.amount))
        pins = [_iteration(row, pinned=True, counted=goal.counted.get(row.pk, {}))
                for row in affected if _pinned(achievement, row)]
        result = progress.fold(definition, events,
                               prior=_iteration(prior_row) if prior_row else None,
                               started=bool(kept), pins=pins, max_completions=limit)
        stored = ([prior_row] if prior_row else []) + affected
        first_sequence = len(kept) - (1 if prior_row else 0)
    else:
        prior_row = goal.latest
        result = progress.fold(
            definition, [progress.Counted(plan.event.performed_on, plan.event.id,
                                          goal.amount)],
            prior=_iteration(prior_row) if prior_row else None,
            started=prior_row is not None, max_completions=limit)
        stored = [prior_row] if prior_row else []
        first_sequence = (prior_row.sequence - 1) if prior_row else 0
        affected = []

    by_key = {row.pk: row for row in stored}
    before = {row.pk: _snapshot(row) for row in stored} if goal.refold else {}
    was_completed = {row.pk for row in stored if row.status == Status.COMPLETED}
    completion_values = {row.pk: row.completion_value for row in stored}
    completion_dates = {row.pk: row.completion_date for row in stored}
    reusable = [row for row in affected if not _pinned(achievement, row)]
    writes.cleared.extend(row.pk for row in reusable)
    final: list[tuple[AchievementProgress, progress.Iteration]] = []
    for position, iteration in enumerate(result.iterations, start=1):
        if iteration.key is not None:
            row = by_key[iteration.key]
        elif reusable:
            row = reusable.pop(0)
            iteration.added = list(iteration.added)
        else:
            row = AchievementProgress(achievement=achievement, customer=customer)
        is_new = row.pk is None
        changed = _write_row(row, iteration, sequence=first_sequence + position,
                             achievement=achievement)
        if is_new:
            writes.new.append(row)
        elif changed:
            writes.changed.append(row)
            writes.changed_fields |= changed
        final.append((row, iteration))
    writes.deleted.extend(row.pk for row in reusable)

    # The processed event's own contributions, as Talon.One's effects.
    for row, iteration in final:
        for contribution in iteration.added:
            writes.contributions.append((row, contribution))
            if contribution.event_id == plan.event.id:
                outcome.effects.append(ProgressEffect(INCREASE, achievement, row,
                                                      contribution.delta, row.progress,
                                                      contribution.completed))
    if plan.cancelled:
        final_ids = {row.pk for row, _ in final}
        for row in stored:
            delta = plan.old_deltas.get(row.pk)
            if delta is None:
                continue
            if _pinned(achievement, row) and row.pk in final_ids:
                outcome.effects.append(KeptEffect(
                    achievement, row, "The achievement does not allow rollback after "
                    "completion: the completion, its achievement event and its awards stay."))
            else:
                outcome.effects.append(ProgressEffect(
                    ROLLBACK, achievement, row, delta,
                    row.progress if row.pk in final_ids else Decimal(0)))
    if result.truncated:
        outcome.effects.append(TruncatedEffect(achievement, limit))

    # Completions follow the iterations: (customer, achievement, iteration row).
    now_completed = {id(row) for row, _ in final if row.status == Status.COMPLETED}
    for row, _ in final:
        if id(row) in now_completed and (row.pk is None or row.pk not in was_completed):
            outcome.completed.append(Completion(achievement, row))
    final_completed_pks = {row.pk for row, _ in final if row.pk is not None
                           and row.status == Status.COMPLETED}
    for row, _ in final:
        if row.pk in was_completed and row.pk in final_completed_pks and (
                completion_dates[row.pk] != row.completion_date
                or completion_values[row.pk] != row.completion_value):
            outcome.moved.append(Completion(achievement, row))
    for pk in sorted(was_completed - final_completed_pks):
        outcome.uncompleted.append(Completion(achievement, by_key[pk]))

    if goal.refold:
        # What moved besides the event's own contributions (those have their effects).
        touched = {row.pk for row, iteration in final
                   if any(c.event_id == plan.event.id for c in iteration.added)}
        touched |= set(plan.old_deltas)
        changes = []
        final_pks = set()
        for row, _ in final:
            if row.pk is None:
                changes.append(("added", row, None))
                continue
            final_pks.add(row.pk)
            old = before[row.pk]
            new = _snapshot(row)
            if old != new:
                moved = any(old[k] != new[k] for k in ("sequence", "window_start",
                                                       "start_date", "end_date"))
                if moved or row.pk not in touched:
                    changes.append(("moved" if moved else "changed", row, old))
        for row in stored:
            if row.pk not in final_pks:
                changes.append(("removed", row, before[row.pk]))
        if changes:
            outcome.pending.append(_RefoldPending(achievement, goal.refold_from, changes))


@dataclass
class _RefoldPending:
    """A refold effect whose new rows get their ids when the plan's writes are saved."""

    achievement: Achievement
    refolded_from: datetime
    changes: list[tuple[str, AchievementProgress, dict[str, Any] | None]]

    def resolve(self) -> RefoldEffect:
        return RefoldEffect(self.achievement, self.refolded_from, [
            IterationChange(change, row.pk, row.sequence, old,
                            None if change == "removed" else _snapshot(row))
            for change, row, old in self.changes
        ])


def _skipped(achievement: Achievement, exc: Exception) -> SkippedEffect:
    logger.exception("Achievement %s failed while counting an event", achievement.pk)
    return SkippedEffect(achievement, f"{type(exc).__name__}: {exc}"[:500])


def _check_fits(writes: _Writes) -> None:
    rows = [*writes.new, *writes.changed]
    values = [*(r.progress for r in rows), *(r.completion_value or 0 for r in rows),
              *(c.delta for _, c in writes.contributions)]
    if any(abs(value) >= _COLUMN_LIMIT for value in values):
        raise OverflowError("its progress would exceed 10^14, the largest value Laurel "
                            "stores; check the definition's progressIncrement and target")


def progress_apply(*, plan: ProgressPlan, history: list[EventFacts] = ()) -> ProgressOutcome:
    """Fold every goal of the plan and write the difference: each table once for the plan.
    `history` holds the customer's POSTED events from `plan.history_from` (when set), in any
    order; the processed event itself need not be among them.

    A goal that fails (its definition breaks the period engine or its numbers outgrow the
    columns) is skipped before anything is written: the event counts everywhere else and
    `outcome.skipped` says which (the caller tells the managers)."""
    outcome = ProgressOutcome(skipped=list(plan.skipped))
    writes = _Writes()
    limit = settings.LAUREL_MAX_COMPLETIONS_PER_EVENT
    for goal in plan.goals:
        goal_writes, goal_outcome = _Writes(), ProgressOutcome()
        try:
            _apply_goal(plan=plan, goal=goal, history=list(history), writes=goal_writes,
                        outcome=goal_outcome, limit=limit)
            _check_fits(goal_writes)
        except Exception as exc:
            outcome.skipped.append(_skipped(goal.achievement, exc))
            continue
        writes.merge(goal_writes)
        outcome.merge(goal_outcome)
    writes.save()
    outcome.refolds = [pending.resolve() for pending in outcome.pending]
    outcome.effects.extend(outcome.skipped)
    return outcome


def progress_rebuild(*, customer: Customer, achievement: Achievement,
                     history: list[EventFacts], dry_run: bool = False
                     ) -> tuple[ProgressOutcome, list[dict[str, Any]]]:
    """Rebuild a customer's iterations of one achievement from their whole event history
    (`recompute_progress`): the same fold, from the start. Returns the outcome and the
    differences found (before/after of each iteration changed); with `dry_run` nothing is
    written."""
    goal = GoalPlan(achievement=achievement,
                    refold_from=datetime.min.replace(tzinfo=UTC))
    _load_refold_rows(customer=customer, goals=[goal])
    if not goal.rows and not any(counted_amount(achievement=achievement, event=f) > 0
                                 for f in history):
        return ProgressOutcome(), []
    marker = EventFacts(id=0, type="", performed_on=goal.refold_from, activation={})
    plan = ProgressPlan(customer=customer, event=marker, goals=[goal], cancelled=True)
    outcome = ProgressOutcome()
    writes = _Writes()
    _apply_goal(plan=plan, goal=goal, history=history, writes=writes, outcome=outcome,
                limit=settings.LAUREL_MAX_COMPLETIONS_PER_EVENT)
    differences = [{"change": c.change, "progressTrackerId": c.progress_tracker_id,
                    "before": c.before, "after": c.after}
                   for pending in outcome.pending for c in pending.resolve().changes]
    outcome.effects = []
    if not dry_run:
        writes.save()
    return outcome, differences
