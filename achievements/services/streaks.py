"""Writes for streak targets (Capillary's target groups): definitions, enrolment and the
per-cycle ledger that events move.

Every function that touches a customer's cycles runs with the customer's row locked (see
`loyalty.services.customer_lock`); the events app orchestrates that.
"""

import itertools
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from achievements import periods, rules, streaks
from achievements.models import (
    CycleContribution,
    CycleProgress,
    Enrolment,
    StreakLevel,
    StreakLevelAchievement,
    Target,
    TargetGroup,
    TargetPeriod,
    TargetValue,
)
from achievements.selectors import cycle_ledger, program_definitions
from achievements.services.progress import EventFacts
from config.db import bulk_update_rows
from config.exceptions import ApplicationError, ConflictError, api_name
from loyalty.models import Classification, Customer, Program
from loyalty.services import classification_create, customer_lock

Tracking = TargetGroup.TrackingType
Kpi = Target.Kpi

# frequencyType → (period unit, units per frequency step)
FREQUENCY_UNITS = {
    TargetGroup.FrequencyType.DAILY: ("D", 1),
    TargetGroup.FrequencyType.WEEKLY: ("W", 1),
    TargetGroup.FrequencyType.MONTHLY: ("M", 1),
    TargetGroup.FrequencyType.QUARTERLY: ("M", 3),
    TargetGroup.FrequencyType.HALF_YEARLY: ("M", 6),
    TargetGroup.FrequencyType.YEARLY: ("Y", 1),
}
# Editable after creation (Capillary: name, description, expression, filters, target values).
GROUP_EDITABLE = ("name", "description", "active")
TARGET_EDITABLE = ("name", "description", "expression", "filters", "default_values")
# KPIs that a RETURN event takes back from a purchase target.
RETURNABLE = (Kpi.COUNT, Kpi.SALES, Kpi.GROSS_SALES, Kpi.QUANTITY)


def group_time_zone(group: TargetGroup) -> ZoneInfo:
    return ZoneInfo(group.time_zone or group.program.time_zone)


# Definitions
# ------------------------------------------------------------------------------
def target_periods_generate(*, frequency_type: str, frequency: int, cycles: int,
                            start: datetime, tz: ZoneInfo) -> list[tuple[datetime, datetime]]:
    """Consecutive cycles from `start` in local calendar time: DAILY x 10 = ten-day cycles."""
    unit, per_step = FREQUENCY_UNITS[frequency_type]
    step = frequency * per_step

    def boundary(k: int) -> datetime:
        if k == 0:
            return start
        spec = periods.PeriodSpec(amount=Decimal(k * step), unit=unit)
        return periods.add_period(at=start, spec=spec, tz=tz)

    return [(boundary(k), boundary(k + 1)) for k in range(cycles)]


def _errors(errors: dict[str, list[str]], key: str, message: str) -> None:
    errors.setdefault(key, []).append(message)


def _validate_periods(rows: list[dict[str, Any]], errors: dict[str, list[str]]) -> None:
    if not rows:
        _errors(errors, "periods", "A target group needs at least one period.")
    if len(rows) > TargetGroup.MAX_PERIODS:
        _errors(errors, "periods", f"At most {TargetGroup.MAX_PERIODS} periods.")
    codes = set()
    for i, row in enumerate(rows):
        if row["end_date"] <= row["start_date"]:
            _errors(errors, f"periods.{i}.end_date", "endDate must be after startDate.")
        if row["ref_code"] in codes:
            _errors(errors, f"periods.{i}.ref_code", f"refCode '{row['ref_code']}' is repeated.")
        codes.add(row["ref_code"])
        if i and row["start_date"] < rows[i - 1]["end_date"]:
            _errors(errors, f"periods.{i}.start_date",
                    f"Period '{row['ref_code']}' overlaps '{rows[i - 1]['ref_code']}'.")


def _validate_targets(*, program: Program, tracking_type: str, rows: list[dict[str, Any]],
                      period_count: int, errors: dict[str, list[str]]) -> None:
    if not rows:
        _errors(errors, "targets", "A target group needs a target.")
    if tracking_type != Tracking.UNIFIED and len(rows) > 1:
        _errors(errors, "targets", f"A {tracking_type} group has exactly one target.")
    for i, row in enumerate(rows):
        values = row.get("default_values") or []
        if len(values) != period_count:
            _errors(errors, f"targets.{i}.default_values",
                    f"Give one defaultValue per period: {period_count} expected, {len(values)} "
                    "given.")
        if any(v <= 0 for v in values):
            _errors(errors, f"targets.{i}.default_values", "Every defaultValue must be > 0.")
        try:
            rules.expression_validate(source=row.get("expression") or "true", kind="condition",
                                      label="expression")
        except rules.ExpressionError as exc:
            _errors(errors, f"targets.{i}.expression", exc.message)
        kpi = row["target_type"]
        if kpi == Kpi.EVENT_ATTRIBUTE and not row.get("attribute_name"):
            _errors(errors, f"targets.{i}.attribute_name",
                    "EVENT_ATTRIBUTE targets name the attribute they sum.")
        if row["target_entity"] == Target.Entity.ALTERNATE_CURRENCIES:
            code = row.get("alternate_currency_identifier") or ""
            if not program.currencies.filter(code=code, kind="alternative").exists():
                _errors(errors, f"targets.{i}.alternate_currency_identifier",
                        f"'{code}' is not an alternative currency of this program.")
            if row.get("alternate_program_id") not in (None, program.pk):
                _errors(errors, f"targets.{i}.alternate_program_id",
                        "programId must be this program's id.")


def _validate_levels(*, tracking_type: str, rows: list[dict[str, Any]], period_count: int,
                     errors: dict[str, list[str]]) -> None:
    if tracking_type not in TargetGroup.STREAK_TYPES:
        if rows:
            _errors(errors, "streaks", "Only STREAKS and NON_CONTINUOUS_STREAKS have levels.")
        return
    if not rows:
        _errors(errors, "streaks", "A streak needs at least one level.")
    if len(rows) > TargetGroup.MAX_LEVELS:
        _errors(errors, "streaks", f"At most {TargetGroup.MAX_LEVELS} levels.")
    counts = [row["target_count_of_sequence"] for row in rows]
    if any(b <= a for a, b in itertools.pairwise(counts)):
        _errors(errors, "streaks", "Levels go in strictly ascending targetCountOfSequence.")
    if counts and max(counts) > period_count:
        _errors(errors, "streaks",
                f"targetCountOfSequence {max(counts)} is more than the {period_count} periods.")
    names = [row["name"].lower() for row in rows]
    if len(set(names)) != len(names):
        _errors(errors, "streaks", "Level names must differ.")


@transaction.atomic
def target_group_create(*, program: Program, name: str, tracking_type: str,
                        frequency_type: str, targets: list[dict[str, Any]],
                        periods: list[dict[str, Any]] | None = None,
                        streaks: list[dict[str, Any]] | None = None,
                        start_date: datetime | None = None, **fields: Any) -> TargetGroup:
    """Create a group with its periods (given, or generated from the frequency and
    `start_date`), targets (one defaultValue per period) and streak levels."""
    if TargetGroup.objects.filter(program=program, name__iexact=name).exists():
        raise ConflictError(f"A target group named '{name}' already exists.", field="name")
    group = TargetGroup(program=program, name=name, tracking_type=tracking_type,
                        frequency_type=frequency_type, **fields)
    group.full_clean(validate_constraints=False)
    errors: dict[str, list[str]] = {}
    if group.is_streak and (
        group.target_evaluation_type != TargetGroup.EvaluationType.FIXED_CALENDAR_WINDOW
    ):
        _errors(errors, "target_evaluation_type", "Streaks need FIXED_CALENDAR_WINDOW.")
    if not periods:
        if frequency_type == TargetGroup.FrequencyType.CUSTOM:
            _errors(errors, "periods", "CUSTOM frequency needs explicit periods.")
        elif start_date is None:
            _errors(errors, "start_date", "Give periods, or a startDate to generate them from.")
        elif not 1 <= group.recurring_cycles <= TargetGroup.MAX_PERIODS:
            _errors(errors, "recurring_cycles",
                    f"Generating periods needs recurringCycles between 1 and "
                    f"{TargetGroup.MAX_PERIODS}.")
        elif group.frequency < 1:
            _errors(errors, "frequency", "Generating periods needs a frequency of at least 1.")
        else:
            generated = target_periods_generate(
                frequency_type=frequency_type, frequency=group.frequency,
                cycles=group.recurring_cycles, start=start_date, tz=group_time_zone(group),
            )
            periods = [{"ref_code": f"Cycle_{i + 1}", "start_date": s, "end_date": e}
                       for i, (s, e) in enumerate(generated)]
    periods = sorted(periods or [], key=lambda row: row["start_date"])
    _validate_periods(periods, errors)
    _validate_targets(program=program, tracking_type=tracking_type, rows=targets,
                      period_count=len(periods), errors=errors)
    _validate_levels(tracking_type=tracking_type, rows=streaks or [],
                     period_count=len(periods), errors=errors)
    if errors:
        raise ValidationError(errors)
    group.total_periods = len(periods)
    try:
        with transaction.atomic():
            group.save()
    except IntegrityError as exc:  # a concurrent create took the name first
        raise ConflictError(f"A target group named '{name}' already exists.",
                            field="name") from exc
    period_rows = TargetPeriod.objects.bulk_create([
        TargetPeriod(group=group, position=i, ref_code=row["ref_code"],
                     start_date=row["start_date"], end_date=row["end_date"],
                     description=row.get("description", ""), active=row.get("active", True))
        for i, row in enumerate(periods)
    ])
    for row in targets:
        row = dict(row)
        values = row.pop("default_values")
        target = Target.objects.create(group=group, **row)
        target.classification = classification_create(
            program=program, code=f"MILESTONE:{group.pk}:{target.pk}",
            name=f"Milestone: {group.name} / {target.name}"[:200], event_type="ACHIEVEMENT",
            description="Posted when a customer meets the target in a cycle.",
        )
        target.save(update_fields=["classification"])
        TargetValue.objects.bulk_create([
            TargetValue(target=target, period=period, value=value)
            for period, value in zip(period_rows, values, strict=True)
        ])
    for row in streaks or []:
        level = StreakLevel.objects.create(group=group, name=row["name"],
                                           target_count_of_sequence=row["target_count_of_sequence"])
        level.classification = classification_create(
            program=program, code=f"STREAK:{group.pk}:{level.target_count_of_sequence}",
            name=f"Streak level: {level.name}"[:200], event_type="ACHIEVEMENT",
            description=f"Posted when a customer's streak reaches {level.name}.",
        )
        level.save(update_fields=["classification"])
    return group


@transaction.atomic
def target_group_update(*, group: TargetGroup, data: dict[str, Any]) -> TargetGroup:
    """Change what may change after creation: the group's name, description, activity, grace
    and reminder windows, and per target its name, description, expression, filters and
    values. Anything structural is refused, naming the fields."""
    structural = [key for key in data if key not in (*GROUP_EDITABLE, "targets")]
    if structural:
        names = sorted(api_name(key) for key in structural)
        raise ApplicationError(
            "After creation only the name, description, expression, filters and target values "
            "change; structural fields are fixed: " + ", ".join(names),
            field=structural[0], extra={"lockedFields": names},
        )
    new_name = data.get("name")
    if new_name and TargetGroup.objects.filter(
        program=group.program, name__iexact=new_name
    ).exclude(pk=group.pk).exists():
        raise ConflictError(f"A target group named '{new_name}' already exists.", field="name")
    for key in GROUP_EDITABLE:
        if key in data:
            setattr(group, key, data[key])
    group.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            group.save()
    except IntegrityError as exc:
        raise ConflictError(f"A target group named '{new_name}' already exists.",
                            field="name") from exc
    targets = {t.pk: t for t in group.targets.all()}
    period_rows = list(group.periods.order_by("position"))
    for i, row in enumerate(data.get("targets") or []):
        target = targets.get(row.get("id"))
        if target is None:
            raise ApplicationError("Targets are changed by id; adding or removing them is a "
                                   "structural change.", field=f"targets.{i}.id")
        locked = [key for key in row if key not in (*TARGET_EDITABLE, "id")]
        if locked:
            names = sorted(api_name(key) for key in locked)
            raise ApplicationError("Only a target's name, description, expression, filters and "
                                   "values change: " + ", ".join(names),
                                   field=f"targets.{i}.{locked[0]}",
                                   extra={"lockedFields": [f"targets.{i}.{n}" for n in names]})
        if "expression" in row:
            try:
                rules.expression_validate(source=row["expression"], kind="condition",
                                          label="expression")
            except rules.ExpressionError as exc:
                raise ApplicationError(exc.message, field=f"targets.{i}.expression") from exc
        for key in ("name", "description", "expression", "filters"):
            if key in row:
                setattr(target, key, row[key])
        try:
            target.full_clean(exclude=["group", "classification"])
        except ValidationError as exc:
            raise ValidationError({f"targets.{i}.{key}": messages
                                   for key, messages in exc.message_dict.items()}) from exc
        target.save()
        if "default_values" in row:
            values = row["default_values"]
            if len(values) != len(period_rows) or any(v <= 0 for v in values):
                raise ApplicationError(
                    f"Give one defaultValue > 0 per period ({len(period_rows)}).",
                    field=f"targets.{i}.default_values",
                )
            for period, value in zip(period_rows, values, strict=True):
                TargetValue.objects.filter(target=target, period=period).update(value=value)
    return group


# Enrolment
# ------------------------------------------------------------------------------
def _cycle_start_at(group: TargetGroup, at: datetime) -> datetime:
    """The start of the period holding `at` (or of the next one): where counting begins."""
    period = group.periods.filter(end_date__gt=at).order_by("position").first()
    return period.start_date if period is not None else at


@transaction.atomic
def enrolment_open(*, group: TargetGroup, customer: Customer, now: datetime,
                    reset_streak_status: bool = False) -> Enrolment:
    """Enrol (explicitly) in every cycle from the current one. Re-enrolling with
    `reset_streak_status` clears the count and lets the levels be reached again. Levels the
    (re-)enrolment reaches are for the caller to settle: see events.services.enrolment_enrol."""
    customer = customer_lock(customer_id=customer.pk)
    if not group.active:
        raise ApplicationError("This target group is not active.", field="target_group")
    enrolment = Enrolment.objects.filter(group=group, customer=customer).first()
    if enrolment is None:
        return Enrolment.objects.create(
            group=group, customer=customer, enrolled_at=now,
            counting_from=_cycle_start_at(group, now),
        )
    if enrolment.active and not reset_streak_status:
        raise ConflictError("The customer is already enrolled.", field="customer")
    enrolment.active = True
    enrolment.unenrolled_at = None
    if reset_streak_status:
        # The count is cleared: the streak starts over with the next cycle, and the levels
        # reached before are history (they can be reached and paid again).
        enrolment.epoch += 1
        enrolment.counting_from = now
        enrolment.current_count = 0
    enrolment.save()
    return enrolment


@transaction.atomic
def enrolment_unenrol(*, group: TargetGroup, customer: Customer, now: datetime) -> Enrolment:
    """Stop tracking from now on; levels reached and rewards paid stay."""
    customer = customer_lock(customer_id=customer.pk)
    enrolment = Enrolment.objects.filter(group=group, customer=customer, active=True).first()
    if enrolment is None:
        raise ApplicationError("The customer is not enrolled in this target group.",
                               field="customer")
    enrolment.active = False
    enrolment.unenrolled_at = now
    enrolment.save(update_fields=["active", "unenrolled_at"])
    return enrolment


# Evaluation
# ------------------------------------------------------------------------------
@dataclass
class StreakOutcome:
    """What an event (or its cancellation) did to streak targets; the events app posts and
    cancels the ACHIEVEMENT events that follow from it."""

    effects: list[dict[str, Any]] = field(default_factory=list)
    reached: list[StreakLevelAchievement] = field(default_factory=list)
    revoked: list[StreakLevelAchievement] = field(default_factory=list)
    milestones_met: list[CycleProgress] = field(default_factory=list)
    milestones_unmet: list[CycleProgress] = field(default_factory=list)

    def extend(self, other: "StreakOutcome") -> None:
        self.effects += other.effects
        self.reached += other.reached
        self.revoked += other.revoked
        self.milestones_met += other.milestones_met
        self.milestones_unmet += other.milestones_unmet


def _sign(target: Target, event: EventFacts) -> int:
    """+1 when the event counts for the target, -1 when it takes back (a RETURN against a
    purchase or any-activity target), 0 when it does not concern the target."""
    if event.type == "ACHIEVEMENT":
        return 1 if target.event_name == "ACHIEVEMENT" else 0
    if target.event_name == event.type:
        return 1
    if event.type == "RETURN":
        returnable = target.event_name in ("", "PURCHASE") and target.target_type in RETURNABLE
        return -1 if returnable else 0
    return 1 if not target.event_name else 0


def _number(value: Any) -> Decimal:
    try:
        number = Decimal(str(value))
    except (ArithmeticError, ValueError, TypeError):
        return Decimal(0)
    return number if number.is_finite() and number > 0 else Decimal(0)


def _kpi(target: Target, event: EventFacts) -> Decimal:
    """What one matching event adds to the target's KPI (before the sign)."""
    kpi = target.target_type
    if kpi in (Kpi.COUNT, Kpi.VISIT):
        return Decimal(1)
    if kpi in (Kpi.SALES, Kpi.GROSS_SALES):
        return _number(event.amount)
    if kpi == Kpi.QUANTITY:
        return _number(event.attributes.get("quantity", 1))
    if kpi == Kpi.EVENT_ATTRIBUTE:
        return _number(event.attributes.get(target.attribute_name))
    if kpi == Kpi.ALL:
        currency = target.alternate_currency_identifier or target.group.program.currency_code
        return _number(event.awarded.get(currency))
    return Decimal(0)


def _period_at(group: TargetGroup, at: datetime) -> TargetPeriod | None:
    for period in group.periods.all():
        if period.start_date <= at < period.end_date:
            return period
    return None


def _value_target(target: Target, period: TargetPeriod) -> Decimal | None:
    """The target's value in a period (from prefetched values when the target has them)."""
    for value in target.values.all():
        if value.period_id == period.pk:
            return value.value
    return None


def _apply(*, cycle: CycleProgress, target_value: Decimal, delta: Decimal, at: datetime,
           outcome: StreakOutcome, group: TargetGroup) -> bool:
    """Move a cycle's value; returns whether it became met or un-met."""
    was_met = cycle.value >= target_value
    cycle.value = max(Decimal(0), cycle.value + delta)
    is_met = cycle.value >= target_value
    if is_met and not was_met:
        cycle.met_at = at
    elif was_met and not is_met:
        cycle.met_at = None
    if group.tracking_type in (Tracking.DEFAULT, Tracking.UNIFIED):
        if is_met and not was_met:
            outcome.milestones_met.append(cycle)
        elif was_met and not is_met:
            outcome.milestones_unmet.append(cycle)
    return was_met != is_met


def streaks_record_event(*, customer: Customer, event: EventFacts,
                         now: datetime) -> StreakOutcome:
    """Add a customer event's KPI contribution to the cycle holding its performedOn, in every
    active target group it matches; then move streak counts and levels where a cycle became
    met or un-met. Enrolments and cycles are read in one query each, written in bulk."""
    outcome = StreakOutcome()
    matched = []
    for group in program_definitions(program=customer.program).groups:
        for target in group.targets.all():
            sign = _sign(target, event)
            if not sign or not rules.condition_matches(source=target.expression,
                                                      activation=event.activation):
                continue
            period = _period_at(group, event.performed_on)
            if period is None or streaks.is_final(end=period.end_date,
                                                  grace=group.grace_period, now=now):
                continue  # outside every cycle, or the cycle is closed for good
            amount = _kpi(target, event)
            target_value = _value_target(target, period)
            if amount and target_value is not None:
                matched.append((group, target, period, sign, amount, target_value))
    if not matched:
        return outcome
    enrolments = {
        e.group_id: e for e in Enrolment.objects.filter(
            customer=customer, group_id__in={group.pk for group, *_ in matched})
    }
    cycles = {
        (c.enrolment_id, c.target_id, c.period_id): c for c in CycleProgress.objects.filter(
            enrolment__customer=customer,
            period_id__in={period.pk for _, _, period, *_ in matched})
    }
    # Implicit enrolments (TRANSACTION targets) of groups the customer is new to: one INSERT,
    # counting from the cycle of the group's first matching target.
    new_enrolments: dict[int, Enrolment] = {}
    for group, target, period, *_ in matched:
        if (group.pk not in enrolments and group.pk not in new_enrolments
                and target.enrolment_method == Target.EnrolmentMethod.TRANSACTION):
            new_enrolments[group.pk] = Enrolment(group=group, customer=customer, enrolled_at=now,
                                                 counting_from=period.start_date)
    Enrolment.objects.bulk_create(new_enrolments.values())
    enrolments.update(new_enrolments)
    contributions, new_cycles, changed_cycles, recompute = [], [], {}, {}
    for group, target, period, sign, amount, target_value in matched:
        enrolment = enrolments.get(group.pk)
        if enrolment is None:
            continue  # IMPORT: only explicitly enrolled customers take part
        if not enrolment.active:
            continue
        if (
            period.start_date < enrolment.counting_from and enrolment.epoch == 1
            and target.enrolment_method == Target.EnrolmentMethod.TRANSACTION
        ):
            # Implicit enrolment counts from the first cycle with activity, whatever order
            # the events arrive in: a late event for an earlier cycle moves the start back.
            enrolment.counting_from = period.start_date
            enrolment.save(update_fields=["counting_from"])
            recompute[enrolment.pk] = (enrolment, group)
        key = (enrolment.pk, target.pk, period.pk)
        cycle = cycles.get(key)
        if cycle is None:  # written below, with its first value, in one INSERT
            cycle = cycles[key] = CycleProgress(enrolment=enrolment, target=target, period=period)
            new_cycles.append(cycle)
        visit_day = None
        delta = sign * amount
        if target.target_type == Kpi.VISIT:
            visit_day = event.performed_on.astimezone(group_time_zone(group)).date()
            seen = cycle.pk is not None and cycle.contributions.filter(
                visit_day=visit_day, delta__gt=0, reversed_at__isnull=True).exists()
            delta = Decimal(0) if seen or sign < 0 else Decimal(1)
        if sign < 0:
            delta = -min(amount, cycle.value)  # a return takes back at most what is there
        contributions.append(CycleContribution(cycle=cycle, customer_event_id=event.id,
                                               delta=delta, visit_day=visit_day))
        if delta:
            changed_cycles[key] = cycle
            if _apply(cycle=cycle, target_value=target_value, delta=delta,
                      at=event.performed_on, outcome=outcome, group=group):
                recompute[enrolment.pk] = (enrolment, group)
        outcome.effects.append({
            "effectType": "streakCycleProgress", "targetGroupId": group.pk,
            "targetGroupName": group.name, "targetId": target.pk,
            "periodRefCode": period.ref_code, "delta": delta, "value": cycle.value,
            "target": target_value, "isMet": cycle.value >= target_value,
        })
    CycleProgress.objects.bulk_create(new_cycles)
    CycleContribution.objects.bulk_create(contributions)
    for cycle in changed_cycles.values():
        cycle.updated_at = now
    inserted = {id(cycle) for cycle in new_cycles}
    bulk_update_rows(model=CycleProgress, fields=["value", "met_at", "updated_at"],
                     objs=[c for c in changed_cycles.values() if id(c) not in inserted])
    for enrolment, group in recompute.values():
        outcome.extend(streak_recompute(enrolment=enrolment, now=now, at=event.performed_on,
                                        group=group))
    return outcome


def streaks_rollback_event(*, customer: Customer, customer_event_id: int,
                           now: datetime) -> StreakOutcome:
    """Take back what a cancelled event added to (or, for a return, took from) cycles."""
    outcome = StreakOutcome()
    touched: dict[int, Enrolment] = {}
    contributions = (
        CycleContribution.objects.select_related("cycle__enrolment__group__program",
                                                 "cycle__target", "cycle__period")
        .filter(customer_event_id=customer_event_id, reversed_at__isnull=True,
                cycle__enrolment__customer=customer)
        .order_by("pk")
    )
    for contribution in contributions:
        cycle = contribution.cycle
        group = cycle.enrolment.group
        contribution.reversed_at = now
        contribution.save(update_fields=["reversed_at"])
        delta = -contribution.delta
        if contribution.visit_day is not None and contribution.delta > 0:
            # Another event that day takes over the visit.
            heir = cycle.contributions.filter(visit_day=contribution.visit_day, delta=0,
                                              reversed_at__isnull=True).first()
            if heir is not None:
                heir.delta = Decimal(1)
                heir.save(update_fields=["delta"])
                delta = Decimal(0)
        target_value = _value_target(cycle.target, cycle.period)
        if delta and target_value is not None:
            _apply(cycle=cycle, target_value=target_value, delta=delta, at=now,
                   outcome=outcome, group=group)
            cycle.save(update_fields=["value", "met_at", "updated_at"])
            outcome.effects.append({
                "effectType": "streakCycleRollback", "targetGroupId": group.pk,
                "targetGroupName": group.name, "targetId": cycle.target_id,
                "periodRefCode": cycle.period.ref_code, "delta": delta, "value": cycle.value,
                "target": target_value, "isMet": cycle.value >= target_value,
            })
        touched[cycle.enrolment_id] = cycle.enrolment
    for enrolment in touched.values():
        outcome.extend(streak_recompute(enrolment=enrolment, now=now, at=now))
    return outcome


def streak_recompute(*, enrolment: Enrolment, now: datetime, at: datetime | None = None,
                     group: TargetGroup | None = None) -> StreakOutcome:
    """Bring a customer's streak count and levels in line with the cycle ledger at `now`.

    Levels are reached once per enrolment epoch, in order (a database constraint backs this);
    a level whose reaching cycle is un-met while still open is taken back. Also used by the
    scheduled job that closes cycles.
    """
    outcome = StreakOutcome()
    group = group or enrolment.group
    if not group.is_streak:
        return outcome
    rows = cycle_ledger(enrolment=enrolment, now=now, group=group)
    counted = [row for row in rows if row.counted]
    count = streaks.streak_count(tracking_type=group.tracking_type,
                                 states=[row.state for row in counted])
    longest = streaks.streak_count(tracking_type=group.tracking_type,
                                   states=[row.state for row in rows]).longest
    if (enrolment.current_count, enrolment.longest_count) != (count.current, longest):
        enrolment.current_count, enrolment.longest_count = count.current, longest
        enrolment.save(update_fields=["current_count", "longest_count"])
    levels = {level.target_count_of_sequence: level for level in group.levels.all()}
    achieved = {
        a.level.target_count_of_sequence: a
        for a in StreakLevelAchievement.objects.select_related("level", "cycle__period").filter(
            enrolment=enrolment, epoch=enrolment.epoch, revoked_at__isnull=True)
    }
    # A level can be taken back while the cycle that reached it is not final: the count can
    # only fall below it then because a cycle of its run, still open to events, was un-met.
    revocable = {
        n for n, a in achieved.items()
        if a.cycle is not None
        and not streaks.is_final(end=a.cycle.period.end_date, grace=group.grace_period, now=now)
    }
    change = streaks.level_changes(count=count.current, levels=list(levels),
                                   reached=set(achieved), revocable=revocable)
    for n in change.revoke:
        achievement = achieved[n]
        achievement.revoked_at = now
        achievement.save(update_fields=["revoked_at"])
        outcome.revoked.append(achievement)
        outcome.effects.append({"effectType": "streakLevelUnAchieved", "targetGroupId": group.pk,
                                "streakLevelName": levels[n].name, "currentCount": count.current})
    latest_met = next((row.cycle for row in reversed(counted) if row.state == streaks.MET), None)
    for n in change.reach:
        achievement = StreakLevelAchievement.objects.create(
            enrolment=enrolment, level=levels[n], epoch=enrolment.epoch,
            achieved_at=at or now, cycle=latest_met,
        )
        outcome.reached.append(achievement)
        outcome.effects.append({"effectType": "streakLevelAchieved", "targetGroupId": group.pk,
                                "streakLevelName": levels[n].name, "currentCount": count.current})
    return outcome


@transaction.atomic
def target_group_delete(*, group: TargetGroup) -> None:
    """Delete a group nobody is enrolled in; deactivate the others instead."""
    if group.enrolments.exists():
        raise ApplicationError("Customers are enrolled in this target group; set it inactive "
                               "instead of deleting it.", field="id")
    classification_ids = [
        *group.targets.values_list("classification_id", flat=True),
        *group.levels.values_list("classification_id", flat=True),
    ]
    group.delete()
    Classification.objects.filter(pk__in=classification_ids, reward_offers__isnull=True).delete()
