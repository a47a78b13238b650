"""Simulate an achievement before launching it: the same pure fold over the program's stored
events, writing nothing.

The events of the range are read once, streamed in (customer, performedOn, id) order with a
server-side cursor (memory stays flat: one customer's events at a time), counted with the
definition's condition and increment (`counted_amount`, as ingestion does) and folded per
customer (`achievements.progress.fold`). Rewards come from the effective offers on the
achievement's classification, decided per completion by `loyalty.services.offer_award`, the
function that pays real completions.
"""

from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings

from achievements import progress, rules
from achievements.models import Achievement
from achievements.services.progress import EventFacts, counted_amount, progress_definition
from config.exceptions import api_name
from events.models import CustomerEvent
from events.services import EVENT_FIELDS, event_activation
from loyalty.models import Customer, Program
from loyalty.selectors import reward_offers_by_classification
from loyalty.services import offer_award

SAMPLE_SIZE = 5
PROGRESS_EVERY = 1000
CHUNK = 5000
INPROGRESS, COMPLETED, EXPIRED = "inprogress", "completed", "expired"


@dataclass
class SimulatedIteration:
    sequence: int
    start_date: datetime
    end_date: datetime | None
    progress: Decimal
    status: str
    completion_date: datetime | None


@dataclass
class SimulationResult:
    customers: int = 0  # with at least one event in the range
    events: int = 0
    started: int = 0
    in_progress: int = 0
    completed: int = 0
    expired: int = 0
    completions: int = 0
    rewards: dict[str, Decimal] = field(default_factory=dict)  # currency code -> amount
    sample: list[dict[str, Any]] = field(default_factory=list)
    truncated_events: int = 0


def _status(iteration: progress.Iteration, at: datetime) -> str:
    if iteration.completed:
        return COMPLETED
    if iteration.end_date is not None and iteration.end_date <= at:
        return EXPIRED
    return INPROGRESS


def _fields_read(achievement: Achievement) -> tuple[str, ...] | None:
    """The event fields (snake_case) the definition's expressions read, when both are
    constants or plain `event.field`s (their activation is built from those alone); None when
    they may read anything (the whole event and its customer)."""
    used = [rules.event_fields_used(achievement.progress_condition),
            rules.event_fields_used(achievement.progress_increment)]
    if None in used:
        return None
    camel = set().union(*used)
    return tuple(name for name in EVENT_FIELDS if api_name(name) in camel)


def _customer_events(*, program: Program, start: datetime, end: datetime,
                     fields: tuple[str, ...] | None
                     ) -> Iterator[tuple[int, list[EventFacts]]]:
    """(customer id, their POSTED events of [start, end)) in customer order, streamed,
    without the ACHIEVEMENT events Laurel posted itself. With `fields` the activation holds
    just those (no join, no attributes to convert: the common case is a few microseconds an
    event); without, the whole event and its customer."""
    rows = (CustomerEvent.objects.filter(program=program, performed_on__gte=start,
                                         performed_on__lt=end,
                                         life_cycle_state=CustomerEvent.LifeCycleState.POSTED)
            # Laurel's own goal events follow today's definitions: not an input here.
            .exclude(external_system=CustomerEvent.LAUREL_SYSTEM)
            .order_by("customer_id", "performed_on", "id"))
    head = ("id", "customer_id", "type", "performed_on", "amount")
    if fields is None:
        rest = (*EVENT_FIELDS, "classification__code", "customer__integration_id",
                "customer__name", "customer__attributes")
    else:
        rest = tuple(name for name in fields if name not in head)
    current, facts = None, []
    for row in rows.values_list(*head, *rest).iterator(chunk_size=CHUNK):
        event_id, customer_id, event_type, performed_on, amount = row[:5]
        if customer_id != current:
            if facts:
                yield current, facts
            current, facts = customer_id, []
        values = dict(zip(head + rest, row, strict=True))
        if fields is None:
            activation = event_activation(
                fields={name: values[name] for name in EVENT_FIELDS},
                classification=values["classification__code"],
                customer={"integrationId": values["customer__integration_id"],
                          "name": values["customer__name"],
                          "attributes": values["customer__attributes"] or {}})
        else:
            activation = rules.event_activation(
                event={api_name(name): values[name] for name in fields})
        facts.append(EventFacts(id=event_id, type=event_type, performed_on=performed_on,
                                activation=activation, amount=amount))
    if facts:
        yield current, facts


def achievement_simulate(*, program: Program, achievement: Achievement, start: datetime,
                         end: datetime, at: datetime,
                         progress_callback: Callable[[int], None] | None = None
                         ) -> SimulationResult:
    """Run `achievement` (saved or not: it is never written) over the program's POSTED
    events performed in [start, end); statuses are as of `at`. `progress_callback(n)` is told
    of every n customers folded."""
    for step in achievement_simulate_steps(program=program, achievement=achievement,
                                           start=start, end=end, at=at):
        if isinstance(step, SimulationResult):
            return step
        if progress_callback is not None:
            progress_callback(step)
    raise AssertionError("the simulation ended without a result")


def achievement_simulate_steps(*, program: Program, achievement: Achievement, start: datetime,
                               end: datetime, at: datetime) -> Iterator[int | SimulationResult]:
    """achievement_simulate as a generator: the number of customers folded since the last
    step, every PROGRESS_EVERY customers, then the result (what the admin streams)."""
    definition = progress_definition(achievement)
    offers = []
    if achievement.classification_id:
        offers = [o for o in reward_offers_by_classification(program=program).get(
            achievement.classification_id, []) if not o.all_achievements_should_exist]
    tz = ZoneInfo(program.time_zone)
    limit = settings.LAUREL_MAX_COMPLETIONS_PER_EVENT
    result = SimulationResult()
    rewards: dict[str, Decimal] = defaultdict(Decimal)
    standings: Counter[str] = Counter()
    done = 0
    for customer_id, facts in _customer_events(program=program, start=start, end=end,
                                               fields=_fields_read(achievement)):
        result.customers += 1
        result.events += len(facts)
        counted = [progress.Counted(f.performed_on, f.id, amount) for f in facts
                   if (amount := counted_amount(achievement=achievement, event=f)) > 0]
        folded = progress.fold(definition, counted, max_completions=limit)
        result.truncated_events += len(folded.truncated)
        iterations = folded.iterations
        if iterations:
            result.started += 1
            standings[_status(iterations[-1], at)] += 1
            if any(i.completed for i in iterations):
                result.completed += 1
        paid_keys: set[tuple[int, str]] = set()
        for number, iteration in enumerate(iterations, start=1):
            if not iteration.completed:
                continue
            result.completions += 1
            for offer in offers:
                if (offer.valid_from and iteration.completion_date < offer.valid_from) or (
                        offer.valid_to and iteration.completion_date >= offer.valid_to):
                    continue
                decided = offer_award(offer=offer, event_amount=iteration.completion_value,
                                      performed_on=iteration.completion_date,
                                      customer_event_id=number, tz=tz)
                if decided is None or (offer.pk, decided[1]) in paid_keys:
                    continue
                paid_keys.add((offer.pk, decided[1]))
                rewards[offer.currency.code] += decided[0]
        if len(result.sample) < SAMPLE_SIZE and iterations:
            result.sample.append({"integrationId": customer_id, "iterations": [
                SimulatedIteration(n, i.start_date, i.end_date, i.progress, _status(i, at),
                                   i.completion_date)
                for n, i in enumerate(iterations, start=1)]})
        done += 1
        if done % PROGRESS_EVERY == 0:
            yield PROGRESS_EVERY
    names = dict(Customer.objects.filter(pk__in=[s["integrationId"] for s in result.sample])
                 .values_list("pk", "integration_id"))
    for entry in result.sample:
        entry["integrationId"] = names[entry["integrationId"]]
    result.in_progress = standings[INPROGRESS]
    result.expired = standings[EXPIRED]
    result.rewards = dict(rewards)
    yield done % PROGRESS_EVERY
    yield result
