"""Ingestion: store a customer event, count it towards goals, post achievement events, pay
reward offers. One transaction per event, with the customer's row locked first."""

import dataclasses
import hashlib
import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils.dateparse import parse_datetime
from django.utils.duration import duration_iso_string

from achievements import rules
from achievements.models import (
    Achievement,
    AchievementProgress,
    Enrolment,
    TargetGroup,
)
from achievements.services import (
    EventFacts,
    ProgressOutcome,
    StreakOutcome,
    achievement_failure_record,
    progress_apply,
    progress_plan,
    progress_plan_cancel,
    progress_rebuild,
    streak_recompute,
    streaks_record_event,
    streaks_rollback_event,
)
from achievements.services import streaks as streak_services
from config.db import insert_or_skip, one_or_none, values_table
from config.exceptions import ApplicationError, ConflictError, ItemFailedError, api_name
from events import references
from events.models import CustomerEvent
from loyalty.models import AwardTransaction, Classification, Customer, Notification, Program
from loyalty.selectors import reward_offers_need_achieved
from loyalty.services import (
    awards_cancel_for_event,
    customer_get_or_create_locked,
    customer_lock,
    notifications_record,
    rewards_grant,
)

logger = logging.getLogger(__name__)

# Numbers every customer event (see migration events 0003): unique and increasing, with gaps.
EVENT_NUMBERS = "events_customerevent_number_seq"

EVENT_FIELDS = (
    "type", "product", "payment_medium_type", "payment_medium_brand",
    "payment_medium_identifier", "amount", "performed_by_business_unit", "performed_by_unit",
    "performed_by_tap", "performed_on", "description", "external_system",
    "external_system_reference_number", "promo_code",
    *(f"udf_string{i}" for i in range(1, 9)),
    *(f"udf_float{i}" for i in range(1, 5)),
    *(f"udf_date{i}" for i in range(1, 5)),
    "attributes",
)


_API_NAMES = {name: api_name(name) for name in EVENT_FIELDS}


@dataclass
class IngestResult:
    event: CustomerEvent
    effects: list[dict[str, Any]] = field(default_factory=list)
    replayed: bool = False


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return str(value)


def jsonable(data: Any) -> Any:
    """Effects as stored and returned: decimals become JSON numbers."""
    return json.loads(json.dumps(data, default=_json_value))


def payload_hash(data: dict[str, Any]) -> str:
    """A fingerprint of a request, to tell a retry from a different request under one key."""
    canonical = json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _activation(event: CustomerEvent, customer: Customer) -> dict[str, Any]:
    return event_activation(
        fields={name: getattr(event, name) for name in EVENT_FIELDS},
        classification=event.classification.code if event.classification else None,
        customer={"integrationId": customer.integration_id, "name": customer.name,
                  "attributes": customer.attributes},
    )


def event_activation(*, fields: dict[str, Any], classification: str | None,
                     customer: dict[str, Any]) -> dict[str, Any]:
    """The CEL activation of an event: its EVENT_FIELDS (snake_case), its classification code
    and its customer (integrationId, name, attributes)."""
    facts = {_API_NAMES.get(name) or api_name(name): value for name, value in fields.items()}
    facts["classification"] = classification
    facts["customer"] = customer["integrationId"]
    return rules.event_activation(event=facts, customer=customer)


def _existing(*, program: Program, data: dict[str, Any],
              idempotency_key: str) -> CustomerEvent | None:
    if idempotency_key:
        found = one_or_none(CustomerEvent.objects.filter(program=program,
                                                         idempotency_key=idempotency_key))
        if found is not None:
            return found
    system = data.get("external_system") or ""
    reference = data.get("external_system_reference_number") or ""
    if system and reference:
        return one_or_none(CustomerEvent.objects.filter(
            program=program, external_system=system,
            external_system_reference_number=reference,
        ))
    return None


def _replay(existing: CustomerEvent, fingerprint: str) -> IngestResult:
    if existing.payload_hash != fingerprint:
        raise ConflictError(
            "This Idempotency-Key or external reference was already used for a different "
            f"event (#{existing.number}).",
            field="idempotency_key" if existing.idempotency_key else
            "external_system_reference_number",
        )
    return IngestResult(event=existing, effects=existing.effects, replayed=True)


def _classification(*, program: Program, code: str | None) -> Classification | None:
    if not code:
        return None
    classification = one_or_none(Classification.objects.filter(program=program, code=code))
    if classification is None:
        raise ApplicationError(f"There is no classification '{code}' in this program.",
                               field="classification")
    return classification


def _award_effects(awards: list[AwardTransaction], effect_type: str) -> list[dict[str, Any]]:
    return [
        {"effectType": effect_type, "awardTransactionId": a.pk,
         "customerEventId": a.customer_event_id, "rewardOfferId": a.reward_offer_id,
         "currency": a.currency.code, "amount": a.amount}
        for a in awards
    ]


def _pay(*, customer: Customer, event: CustomerEvent) -> list[dict[str, Any]]:
    """Reward offers on the event's classification pay it (customer locked)."""
    achieved = None
    if reward_offers_need_achieved(program=customer.program,
                                   classification_id=event.classification_id):
        achieved = set(CustomerEvent.objects.filter(
            customer=customer, type=CustomerEvent.Type.ACHIEVEMENT,
            life_cycle_state=CustomerEvent.LifeCycleState.POSTED, classification__isnull=False,
        ).values_list("classification_id", flat=True))
    awards = rewards_grant(
        customer=customer, classification=event.classification, customer_event_id=event.pk,
        event_amount=event.amount, performed_on=event.performed_on,
        achieved_classification_ids=achieved,
    )
    return _award_effects(awards, "awardTransaction")


def _goal_event(*, customer: Customer, classification: Classification, amount: Decimal,
                performed_on: datetime, description: str, reference: str,
                trigger: CustomerEvent | None,
                now: datetime) -> tuple[CustomerEvent, list[dict[str, Any]]]:
    """Post the ACHIEVEMENT customer event of a goal reached (unique per reference) and pay
    it: the one place Laurel's goal events come from. Returns it and its award effects."""
    event = CustomerEvent.objects.create(
        program_id=customer.program_id, customer=customer,
        # The definition's classification object (from the definitions cache), so paying the
        # event does not load it again.
        type=CustomerEvent.Type.ACHIEVEMENT, classification=classification,
        amount=amount, performed_on=performed_on, received_at=now, description=description,
        external_system=CustomerEvent.LAUREL_SYSTEM, external_system_reference_number=reference,
        triggered_by=trigger,
    )
    return event, _pay(customer=customer, event=event)


def _post_achievement_event(*, customer: Customer, record: AchievementProgress,
                            trigger: CustomerEvent | None, cancelled: bool,
                            now: datetime) -> tuple[CustomerEvent, list[dict[str, Any]]]:
    """The ACHIEVEMENT customer event of a completion, paid: unique per iteration and
    trigger."""
    achievement: Achievement = record.achievement
    return _goal_event(
        customer=customer, classification=achievement.classification,
        # The value achieved: a percentage reward pays on it (10% of 100 spent this month).
        amount=record.completion_value if record.completion_value is not None
        else record.progress, performed_on=record.completion_date,
        description=f"Completed achievement {achievement.name}",
        reference=references.completion(record, trigger, cancelled=cancelled, now=now),
        trigger=trigger,
        now=now,
    )


def _post_streak_events(*, customer: Customer, outcome: StreakOutcome,
                        trigger: CustomerEvent | None, now: datetime) -> tuple[list, list]:
    """Post the ACHIEVEMENT events of streak levels and milestones reached; cancel those of
    levels and milestones taken back. Returns (effects, events posted)."""
    effects: list[dict[str, Any]] = []
    posted: list[CustomerEvent] = []
    for reached in outcome.reached:
        level = reached.level
        event, awards = _goal_event(
            customer=customer, classification=level.classification,
            amount=Decimal(level.target_count_of_sequence), performed_on=reached.achieved_at,
            description=f"Reached streak level {level.name}",
            reference=references.level(reached), trigger=trigger, now=now,
        )
        posted.append(event)
        effects.append({"effectType": "achievementCustomerEvent", "customerEventId": event.pk,
                        "streakLevelName": level.name,
                        "classification": level.classification.code})
        effects.extend(awards)
    for cycle in outcome.milestones_met:
        target = cycle.target
        event, awards = _goal_event(
            customer=customer, classification=target.classification,
            amount=cycle.value, performed_on=cycle.met_at or now,
            description=f"Met target {target.name} in {cycle.period.ref_code}",
            reference=references.milestone(cycle, trigger),
            trigger=trigger, now=now,
        )
        posted.append(event)
        effects.append({"effectType": "achievementCustomerEvent", "customerEventId": event.pk,
                        "targetId": target.pk, "periodRefCode": cycle.period.ref_code,
                        "classification": target.classification.code})
        effects.extend(awards)
    taken_back = [
        *(references.posted_goal_events(program_id=customer.program_id, lock=True,
                                        reference=references.level(a))
          for a in outcome.revoked),
        *(references.posted_goal_events(program_id=customer.program_id, lock=True,
                                        prefix=references.milestone_prefix(c))
          for c in outcome.milestones_unmet),
    ]
    for events in taken_back:
        for event in events:
            effects.append({"effectType": "achievementCustomerEventCancelled",
                            "customerEventId": event.pk})
            effects.extend(_cancel_locked(customer=customer, event=event, now=now,
                                          reason="The goal was taken back."))
    return effects, posted


def _number_events(*, program_id: int, events: list[CustomerEvent],
                   also: list[str] | None = None) -> None:
    """Give events their numbers from one sequence (unique and increasing, gaps allowed: no
    row that every event of a program writes). `also` names other fields to write in the same
    UPDATE: one round trip for all the events."""
    values = values_table(model=CustomerEvent, objs=events, fields=also or [],
                          extra=[("position", range(1, len(events) + 1))])
    assignments = f", {values.assignments}" if also else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE "{CustomerEvent._meta.db_table}" AS t '
            f"SET \"number\" = nextval('{EVENT_NUMBERS}'){assignments} "
            f"FROM (SELECT * FROM {values.sql} ORDER BY v.position) AS v "
            'WHERE t.id = v.id::bigint RETURNING t.id, t."number"',
            values.params,
        )
        numbers = dict(cursor.fetchall())
    for event in events:
        event.number = numbers[event.pk]


def _history(*, customer: Customer, since: datetime | None,
             exclude_id: int) -> list[EventFacts]:
    """The customer's POSTED events from `since` on, as the goals see them: what a re-fold
    runs over (one statement)."""
    if since is None:
        return []
    rows = (CustomerEvent.objects.filter(customer=customer, performed_on__gte=since,
                                         life_cycle_state=CustomerEvent.LifeCycleState.POSTED)
            .exclude(pk=exclude_id).select_related("classification").order_by())
    return [_facts(row, customer) for row in rows]


def _facts(event: CustomerEvent, customer: Customer) -> EventFacts:
    return EventFacts(id=event.pk, type=event.type, performed_on=event.performed_on,
                      activation=_activation(event, customer), amount=event.amount,
                      attributes=event.attributes)


def _tell_managers(*, customer: Customer, outcome: ProgressOutcome, now: datetime) -> None:
    """Goals skipped because they failed: flag each definition and notify the program once a
    day per goal (a notification, delivered to the webhook when there is one)."""
    for skipped in outcome.skipped:
        achievement = skipped.achievement
        achievement_failure_record(achievement_id=achievement.pk, message=skipped.reason,
                                   now=now)
        notifications_record(notifications=[Notification(
            program_id=customer.program_id, kind=Notification.Kind.GOAL_FAILED,
            key=f"goal-failed:achievement:{achievement.pk}:{now.date().isoformat()}",
            occurred_at=now, payload={
                "achievementId": achievement.pk, "achievementName": achievement.name,
                "customer": customer.integration_id, "message": skipped.reason,
            })])


def _follow_completions(*, customer: Customer, outcome: ProgressOutcome,
                        trigger: CustomerEvent | None, cancelled: bool, now: datetime,
                        reason: str = "Completion taken back: a late event moved the "
                                      "iteration.") -> tuple[list[dict[str, Any]],
                                                             list[CustomerEvent]]:
    """ACHIEVEMENT events and awards follow the completions: a new one posts and pays, one
    that is gone is cancelled with its awards. Returns (effects, events posted)."""
    effects: list[dict[str, Any]] = []
    posted: list[CustomerEvent] = []
    for completion in outcome.completed:
        record = completion.record
        achievement_event, awards = _post_achievement_event(
            customer=customer, record=record, trigger=trigger, cancelled=cancelled, now=now)
        posted.append(achievement_event)
        effects.append({"effectType": "achievementCustomerEvent",
                        "customerEventId": achievement_event.pk,
                        "achievementId": completion.achievement.pk,
                        "progressTrackerId": record.pk,
                        "classification": completion.achievement.classification.code})
        effects.extend(awards)
    for completion in outcome.moved:
        # A completion that stays keeps its event and awards; the event follows its date.
        record = completion.record
        for achievement_event in references.posted_goal_events(
                program_id=customer.program_id, prefix=references.completion_prefix(record)):
            achievement_event.performed_on = record.completion_date
            achievement_event.amount = record.completion_value
            achievement_event.save(update_fields=["performed_on", "amount"])
            effects.append({"effectType": "achievementCustomerEventMoved",
                            "customerEventId": achievement_event.pk,
                            "achievementId": completion.achievement.pk,
                            "progressTrackerId": record.pk,
                            "performedOn": record.completion_date.isoformat()})
    for completion in outcome.uncompleted:
        record = completion.record
        for achievement_event in references.posted_goal_events(
                program_id=customer.program_id, lock=True,
                prefix=references.completion_prefix(record)):
            effects.append({"effectType": "achievementCustomerEventCancelled",
                            "customerEventId": achievement_event.pk,
                            "achievementId": completion.achievement.pk,
                            "progressTrackerId": record.pk})
            effects.extend(_cancel_locked(customer=customer, event=achievement_event, now=now,
                                          reason=reason))
    return effects, posted


def _process(*, program: Program, customer: Customer, data: dict[str, Any],
             idempotency_key: str, fingerprint: str,
             now: datetime) -> tuple[IngestResult, list[CustomerEvent]]:
    """Store an event and everything it causes (customer locked). Returns the result and the
    events posted, which the caller numbers as its last write.

    The event is inserted first and looked up only when a unique key (Idempotency-Key or
    external reference) already holds one: a replay is the rare case, so the common one costs
    no SELECT.
    """
    try:
        classification = _classification(program=program, code=data.get("classification"))
        if data["type"] == CustomerEvent.Type.ACHIEVEMENT and classification is None:
            raise ApplicationError("An ACHIEVEMENT event needs the classification of the goal.",
                                   field="classification")
    except ApplicationError:
        existing = _existing(program=program, data=data, idempotency_key=idempotency_key)
        if existing is None:
            raise
        return _replay(existing, fingerprint), []  # stored when the classification existed
    event = CustomerEvent(
        program=program, customer=customer, classification=classification, received_at=now,
        idempotency_key=idempotency_key, payload_hash=fingerprint,
        **{name: data[name] for name in EVENT_FIELDS if name in data},
    )
    if not insert_or_skip(event):
        existing = _existing(program=program, data=data, idempotency_key=idempotency_key)
        if existing is None:  # the holder was cancelled or rolled back meanwhile
            raise IntegrityError("The event's unique key is taken by another event.")
        return _replay(existing, fingerprint), []
    effects: list[dict[str, Any]] = []
    posted = [event]
    facts = _facts(event, customer)
    plan = progress_plan(customer=customer, event=facts)
    outcome = progress_apply(plan=plan, history=_history(
        customer=customer, since=plan.history_from, exclude_id=event.pk))
    effects.extend(effect.as_dict() for effect in outcome.effects)
    _tell_managers(customer=customer, outcome=outcome, now=now)
    goal_effects, goal_events = _follow_completions(customer=customer, outcome=outcome,
                                                    trigger=event, cancelled=False, now=now)
    effects.extend(goal_effects)
    effects.extend(refold.as_dict() for refold in outcome.refolds)
    posted.extend(goal_events)
    if event.type == CustomerEvent.Type.ACHIEVEMENT:
        effects.extend(_pay(customer=customer, event=event))
    awarded: dict[str, Decimal] = defaultdict(Decimal)
    for effect in effects:
        if effect["effectType"] == "awardTransaction":
            awarded[effect["currency"]] += effect["amount"]
    streak_outcome = streaks_record_event(
        customer=customer, now=now, event=dataclasses.replace(facts, awarded=dict(awarded)))
    effects.extend(streak_outcome.effects)
    streak_effects, streak_events = _post_streak_events(customer=customer,
                                                        outcome=streak_outcome,
                                                        trigger=event, now=now)
    effects.extend(streak_effects)
    posted.extend(streak_events)
    event.effects = jsonable(effects)
    return IngestResult(event=event, effects=event.effects), posted


def _check_time(data: dict[str, Any], *, program: Program, now: datetime,
                late_window: bool = True) -> None:
    """performedOn may not be in the future (beyond the allowed skew) nor, where the program
    sets a lateEventWindow, older than that window (import_events brings older history)."""
    skew = settings.LAUREL_MAX_FUTURE_SKEW_SECONDS
    performed_on = data["performed_on"]
    if isinstance(performed_on, str):
        performed_on = data["performed_on"] = parse_datetime(performed_on)
    if (performed_on - now).total_seconds() > skew:
        raise ApplicationError(
            f"performedOn is more than {skew // 60} minutes in the future.", field="performed_on"
        )
    window = program.late_event_window
    if late_window and window is not None and performed_on < now - window:
        raise ApplicationError(
            f"performedOn is older than the program's lateEventWindow "
            f"({duration_iso_string(window)}); load older history with import_events.",
            field="performed_on", extra={"lateEventWindow": duration_iso_string(window)},
        )


def event_ingest(*, program: Program, data: dict[str, Any], idempotency_key: str = "",
                 now: datetime, late_window: bool = True) -> IngestResult:
    """Store one customer event and everything it causes, exactly once.

    `data` holds the event's fields (snake_case) with `customer` as the integration id and
    `classification` as a code. A replay (same Idempotency-Key or external reference, same
    payload) returns the original result; the same key with another payload is a 409.
    `late_window=False` (the import) accepts events older than the program's
    lateEventWindow.
    """
    fingerprint = payload_hash({**data, "idempotency_key": idempotency_key})
    _check_time(data, program=program, now=now, late_window=late_window)
    try:
        with transaction.atomic():
            # A refused event writes nothing, not even its new customer: the customer is
            # created inside this transaction (a concurrent first event waits on its key).
            customer = customer_get_or_create_locked(program=program,
                                                     integration_id=data["customer"])
            result, posted = _process(program=program, customer=customer, data=data,
                                      idempotency_key=idempotency_key,
                                      fingerprint=fingerprint, now=now)
            if posted:
                _number_events(program_id=program.pk, events=posted, also=["effects"])
            return result
    except IntegrityError:
        # Another request stored the same event first (a different customer's lock, or a
        # unique key raced): the constraint kept one; answer as its replay.
        existing = _existing(program=program, data=data, idempotency_key=idempotency_key)
        if existing is None:
            raise
        return _replay(existing, fingerprint)


def event_bulk_ingest(*, program: Program, items: list[dict[str, Any] | Exception],
                      now: datetime) -> list[IngestResult | Exception]:
    """Store many events in one transaction; each item succeeds or fails on its own.

    Items that failed validation come in as exceptions and go out unchanged. The customers
    are created and locked up front in id order (so two bulks never deadlock), each item runs
    in a savepoint (a refused or raced item leaves no trace), and the event numbers are
    reserved once, last. One commit for the whole batch.
    """
    results: list[IngestResult | Exception | None] = []
    valid = []
    for item in items:
        if isinstance(item, Exception):
            results.append(item)
            continue
        try:
            _check_time(item, program=program, now=now)
        except ApplicationError as exc:
            results.append(exc)
            continue
        results.append(None)
        valid.append((len(results) - 1, item))
    if not valid:
        return results
    with transaction.atomic():
        integration_ids = sorted({item["customer"] for _, item in valid})
        known = set(Customer.objects.filter(program=program, integration_id__in=integration_ids)
                    .values_list("integration_id", flat=True))
        new_ids = [i for i in integration_ids if i not in known]
        Customer.objects.bulk_create(
            [Customer(program=program, integration_id=i) for i in new_ids],
            ignore_conflicts=True,
        )
        customers = {
            c.integration_id: c for c in
            Customer.objects.select_for_update(no_key=True, of=("self",)).select_related("program")
            .filter(program=program, integration_id__in=integration_ids).order_by("pk")
        }
        posted: list[CustomerEvent] = []
        for index, item in valid:
            fingerprint = payload_hash({**item, "idempotency_key": ""})
            try:
                with transaction.atomic():
                    result, item_posted = _process(
                        program=program, customer=customers[item["customer"]], data=item,
                        idempotency_key="", fingerprint=fingerprint, now=now,
                    )
            except IntegrityError:
                existing = _existing(program=program, data=item, idempotency_key="")
                results[index] = (
                    _replay(existing, fingerprint) if existing is not None else ApplicationError(
                        "The event clashed with another; send it again.", field=None)
                )
                continue
            except ApplicationError as exc:
                results[index] = exc
                continue
            except Exception:  # one broken item must not take the others down with it
                logger.exception("Bulk item %s of program %s failed", index, program.pk)
                results[index] = ItemFailedError(
                    "Laurel could not process this item; it was not stored.")
                continue
            results[index] = result
            posted.extend(item_posted)
        if posted:
            _number_events(program_id=program.pk, events=posted, also=["effects"])
        # A refused event writes nothing: customers this bulk created for refused items only
        # go again.
        kept = {posted_event.customer_id for posted_event in posted}
        Customer.objects.filter(program=program, integration_id__in=new_ids).exclude(
            pk__in=kept).filter(events__isnull=True).delete()
    return results


@dataclass
class CancelResult:
    event: CustomerEvent
    effects: list[dict[str, Any]]
    changed: bool


def _cancel_locked(*, customer: Customer, event: CustomerEvent, now: datetime,
                   reason: str) -> list[dict[str, Any]]:
    effects: list[dict[str, Any]] = []
    plan = progress_plan_cancel(customer=customer, event=_facts(event, customer))
    outcome = progress_apply(plan=plan, history=_history(
        customer=customer, since=plan.history_from, exclude_id=event.pk))
    effects.extend(effect.as_dict() for effect in outcome.effects)
    _tell_managers(customer=customer, outcome=outcome, now=now)
    goal_effects, goal_events = _follow_completions(
        customer=customer, outcome=outcome, trigger=event, cancelled=True, now=now,
        reason=f"Completion taken back: {reason}")
    effects.extend(goal_effects)
    effects.extend(refold.as_dict() for refold in outcome.refolds)
    if goal_events:  # without the event, windows may hold more: a completion can appear
        _number_events(program_id=customer.program_id, events=goal_events)
    outcome = streaks_rollback_event(customer=customer, customer_event_id=event.pk, now=now)
    effects.extend(outcome.effects)
    streak_effects, streak_events = _post_streak_events(customer=customer, outcome=outcome,
                                                        trigger=event, now=now)
    effects.extend(streak_effects)
    if streak_events:  # a cancelled return can make a level count again
        _number_events(program_id=customer.program_id, events=streak_events)
    cancellations = awards_cancel_for_event(customer=customer, customer_event_id=event.pk,
                                            reason=reason)
    effects.extend(_award_effects(cancellations, "awardTransactionCancelled"))
    event.life_cycle_state = CustomerEvent.LifeCycleState.CANCELLED
    event.cancelled_at = now
    event.cancellation_reason = reason
    event.save(update_fields=["life_cycle_state", "cancelled_at", "cancellation_reason"])
    return effects


@transaction.atomic
def event_cancel(*, event: CustomerEvent, now: datetime, reason: str = "") -> CancelResult:
    """Cancel an event: take back its progress (within allowRollbackAfterCompletion), the
    achievement events it caused and their awards. A second cancel changes nothing."""
    customer = customer_lock(customer_id=event.customer_id)
    event = CustomerEvent.objects.select_for_update().get(pk=event.pk)
    if event.life_cycle_state == CustomerEvent.LifeCycleState.CANCELLED:
        return CancelResult(event=event, effects=[], changed=False)
    if event.triggered_by_id is not None:
        raise ApplicationError(
            f"This achievement event was posted by Laurel for event #{event.triggered_by.number}"
            "; cancel that event and its achievement events go with it.",
            field="id",
        )
    effects = _cancel_locked(customer=customer, event=event, now=now,
                             reason=reason or "Cancelled")
    return CancelResult(event=event, effects=jsonable(effects),
                        changed=True)


@transaction.atomic
def enrolment_enrol(*, group: TargetGroup, integration_id: str, now: datetime,
                    reset_streak_status: bool = False) -> Enrolment:
    """Enrol a customer (created on first sight) in a target group; a level the enrolment
    reaches at once (a resumed streak whose targets were lowered) posts its achievement event
    and pays, as an event would."""
    customer = customer_get_or_create_locked(program=group.program, integration_id=integration_id)
    enrolment = streak_services.enrolment_open(group=group, customer=customer, now=now,
                                                reset_streak_status=reset_streak_status)
    outcome = streak_recompute(enrolment=enrolment, now=now)
    _, posted = _post_streak_events(customer=customer, outcome=outcome, trigger=None, now=now)
    if posted:
        _number_events(program_id=group.program_id, events=posted)
    return enrolment


@dataclass
class RecomputeResult:
    differences: list[dict[str, Any]]  # per iteration: achievementId, change, before, after
    effects: list[dict[str, Any]]


@transaction.atomic
def progress_recompute(*, customer: Customer, achievements: list[Achievement], now: datetime,
                       dry_run: bool = False) -> RecomputeResult:
    """Rebuild the customer's progress in `achievements` from their event log with the same
    fold, and bring the ACHIEVEMENT events and awards in line (completions kept where
    rollback is not allowed). With `dry_run` nothing is written: only the differences."""
    customer = customer_lock(customer_id=customer.pk)
    history = _history(customer=customer, since=datetime.min.replace(tzinfo=UTC),
                       exclude_id=0)
    differences: list[dict[str, Any]] = []
    effects: list[dict[str, Any]] = []
    for achievement in achievements:
        outcome, found = progress_rebuild(customer=customer, achievement=achievement,
                                          history=history, dry_run=dry_run)
        differences.extend({"achievementId": achievement.pk, **d} for d in found)
        if not dry_run and (outcome.completed or outcome.uncompleted):
            goal_effects, posted = _follow_completions(
                customer=customer, outcome=outcome, trigger=None, cancelled=False, now=now,
                reason="Completion taken back: recompute_progress rebuilt the iteration.")
            effects.extend(goal_effects)
            if posted:
                _number_events(program_id=customer.program_id, events=posted)
    return RecomputeResult(differences=jsonable(differences), effects=jsonable(effects))
