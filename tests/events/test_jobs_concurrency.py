"""Scheduled jobs under real concurrency: threads on PostgreSQL, each with its own connection.

Every test commits for real (`transaction=True`). Two runs of a job for the same `now` start
together behind a barrier and must share the work (SKIP LOCKED) instead of doubling it; a late
event racing the close of its iteration must be counted once, in the iteration whose window
holds its performedOn, whichever of the two takes the row lock first.
"""

import functools
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connections

import events.services as events_services
from achievements.models import (
    Achievement,
    AchievementProgress,
    CycleProgress,
    Enrolment,
    ProgressContribution,
)
from achievements.selectors import customer_achievement_list
from achievements.services import target_group_create
from achievements.services.jobs import achievement_iterations_close_due, streak_cycles_close_due
from events.jobs import JOBS, job_run
from events.services import event_ingest
from loyalty.models import Customer, JobRun, Notification
from tests.achievements.factories import AchievementFactory, AchievementProgressFactory
from tests.loyalty.factories import CustomerFactory, ProgramFactory

pytestmark = pytest.mark.django_db(transaction=True)

SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)
WEEK = timedelta(days=7)
T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
END = T0 + DAY
MONDAY = datetime(2026, 1, 5, tzinfo=UTC)
W2_CLOSE = MONDAY + 2 * WEEK + DAY
CLOSE_ITERATIONS = "close-due-achievement-iterations"
CLOSE_CYCLES = "close-due-streak-cycles"
Status = AchievementProgress.Status
Kind = Notification.Kind


@pytest.fixture
def program(db):
    return ProgramFactory(name="Laurel Jobs Race", time_zone="UTC")


def together(*calls, timeout=120):
    """Run `calls` in threads that start behind one barrier; return their results in order.
    Each thread closes its database connections when done."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        try:
            barrier.wait(timeout=30)
            return call()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(run, call) for call in calls]
        return [future.result(timeout=timeout) for future in futures]


def in_thread(call):
    """Start `call` in a thread with its own connection; return (thread, result box)."""
    box = {}

    def run():
        try:
            box["result"] = call()
        except BaseException as exc:  # re-raised by the test through the box
            box["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, box


def result_of(thread, box, timeout=60):
    thread.join(timeout)
    assert not thread.is_alive(), "the thread did not finish"
    if "error" in box:
        raise box["error"]
    return box.get("result")


def due_iterations(achievement, count, end=END):
    """`count` customers with an in-progress iteration [T0, end), bulk-created."""
    program = achievement.campaign.program
    customers = Customer.objects.bulk_create(
        CustomerFactory.build_batch(count, program=program))
    return AchievementProgress.objects.bulk_create([
        AchievementProgressFactory.build(achievement=achievement, customer=customer, sequence=1,
                                         window_start=T0, end_date=end)
        for customer in customers
    ])


def with_batch_size(job, service, size):
    return mock.patch.dict(JOBS, {
        job: lambda now, **kw: service(now=now, batch_size=size, **kw)})


# Two runs of the same job
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("sweep_from", [20_000, 0], ids=["oldest-first", "backlog-sweep"])
def test_achievement_iterations_close_due_expires_each_once_when_two_runs_race(campaign,
                                                                               sweep_from):
    # given: 3000 due iterations
    achievement = AchievementFactory(campaign=campaign, target=5, period="1D")
    due_iterations(achievement, 3000)

    # when: two runs for the same now, batches of 200 (taken oldest first, or swept in key
    # order as a backlog is)
    service = functools.partial(achievement_iterations_close_due, sweep_from=sweep_from)
    with with_batch_size(CLOSE_ITERATIONS, service, 200):
        together(lambda: job_run(job=CLOSE_ITERATIONS, now=END),
                 lambda: job_run(job=CLOSE_ITERATIONS, now=END))

    # then: every iteration expired once, one notification each, the work shared
    assert AchievementProgress.objects.filter(status=Status.EXPIRED).count() == 3000
    assert not AchievementProgress.objects.filter(status=Status.INPROGRESS).exists()
    keys = Counter(Notification.objects.values_list("key", flat=True))
    assert len(keys) == 3000 and set(keys.values()) == {1}
    expected = {f"achievementExpired:{pk}" for pk in AchievementProgress.objects.values_list(
        "pk", flat=True)}
    assert set(keys) == expected
    runs = list(JobRun.objects.filter(job=CLOSE_ITERATIONS))
    assert len(runs) == 2
    assert all(run.outcome == JobRun.Outcome.SUCCEEDED for run in runs)
    assert sum(run.rows for run in runs) == 3000


# Regression: job_run once returned the newest JobRun of the job, not its own.
def test_job_run_returns_its_own_record_when_another_run_of_the_job_overlaps(campaign):
    # given: a job whose first run is still working when a second run starts and finishes
    started, release = threading.Event(), threading.Event()

    def slow(now, **kw):
        started.set()
        assert release.wait(30)
        return achievement_iterations_close_due(now=now, **kw)

    achievement = AchievementFactory(campaign=campaign, target=5, period="1D")
    due_iterations(achievement, 3)
    with mock.patch.dict(JOBS, {"slow": slow}):
        thread, box = in_thread(lambda: job_run(job="slow", now=END))
        assert started.wait(30)
        JOBS["slow"] = achievement_iterations_close_due  # the second run does not wait
        second = job_run(job="slow", now=END)
        release.set()

        # when
        first = result_of(thread, box)

    # then: each run returns its own record
    assert first.pk != second.pk
    assert (first.rows, second.rows) == (0, 3)


def test_streak_cycles_close_due_closes_each_cycle_once_when_two_runs_race(program):
    # given: 600 customers who met week 1 (closed) and miss week 2
    group = target_group_create(
        program=program, name="Weekly", tracking_type="STREAKS", frequency_type="WEEKLY",
        frequency=1, recurring_cycles=4, start_date=MONDAY, time_zone="UTC", grace_period=DAY,
        targets=[{"name": "Spend", "target_entity": "TRANSACTION", "target_type": "SALES",
                  "event_name": "PURCHASE", "default_values": [Decimal(100)] * 4}],
        streaks=[{"name": "Two", "target_count_of_sequence": 2}],
    )
    week1, week2 = group.periods.get(position=0), group.periods.get(position=1)
    target = group.targets.get()
    customers = Customer.objects.bulk_create(CustomerFactory.build_batch(600, program=program))
    enrolments = Enrolment.objects.bulk_create([
        Enrolment(group=group, customer=c, counting_from=MONDAY, enrolled_at=MONDAY,
                  current_count=1, longest_count=1)
        for c in customers
    ])
    CycleProgress.objects.bulk_create([
        CycleProgress(enrolment=e, target=target, period=week1, value=100, met_at=MONDAY,
                      final=True)
        for e in enrolments
    ])
    week1.closed_at = MONDAY + WEEK + DAY
    week1.closed_through_enrolment = enrolments[-1].pk
    week1.save()

    # when: two runs for the same now, batches of 50
    with with_batch_size(CLOSE_CYCLES, streak_cycles_close_due, 50):
        together(lambda: job_run(job=CLOSE_CYCLES, now=W2_CLOSE),
                 lambda: job_run(job=CLOSE_CYCLES, now=W2_CLOSE))

    # then
    week2.refresh_from_db()
    assert week2.closed_at == W2_CLOSE
    assert week2.closed_through_enrolment == enrolments[-1].pk
    assert CycleProgress.objects.filter(period=week2, final=True).count() == 600
    assert not Enrolment.objects.filter(current_count__gt=0).exists()
    keys = Counter(Notification.objects.filter(kind=Kind.STREAK_BROKEN).values_list(
        "key", flat=True))
    assert len(keys) == 600 and set(keys.values()) == {1}
    runs = list(JobRun.objects.filter(job=CLOSE_CYCLES))
    assert [run.outcome for run in runs] == [JobRun.Outcome.SUCCEEDED] * 2
    assert sum(run.rows for run in runs) == 600


# A late event racing the close of its iteration
# ------------------------------------------------------------------------------------------
def late_event(program, customer, amount, *, end=END):
    """An event performed one second before `end`, received two minutes after it."""
    return event_ingest(program=program, now=end + timedelta(minutes=2), data={
        "customer": customer, "type": "PURCHASE", "performed_on": end - SECOND,
        "amount": amount,
    })


def summed(campaign):
    """A one-time achievement with target 3 that sums event amounts."""
    return AchievementFactory(campaign=campaign, target=3, period="1D",
                              progress_increment="event.amount")


@pytest.fixture
def racing(campaign):
    """150 customers with a due iteration (progress 1 of 3) ending at END, so the close holds
    its row locks for a while."""
    achievement = summed(campaign)
    due_iterations(achievement, 150)
    return achievement


ROUNDS = 8
HOUR = timedelta(hours=1)


def assert_counted_once(record, event_id, amount):
    contributions = ProgressContribution.objects.filter(customer_event_id=event_id)
    assert [(c.progress_record_id, c.delta) for c in contributions] == [(record.pk, amount)]
    assert AchievementProgress.objects.filter(customer=record.customer).count() == 1


@pytest.mark.parametrize("amount", [Decimal(2), Decimal(1)],
                         ids=["event-completes-it", "event-does-not-complete-it"])
def test_late_event_counts_in_its_iteration_when_it_races_the_close(
    program, campaign, amount
):
    # given: eight rounds; in round k, 40 iterations end at END + k hours, one of them the
    # racing customer's
    achievement = summed(campaign)
    rounds = [(END + k * HOUR, due_iterations(achievement, 40, end=END + k * HOUR)[17])
              for k in range(ROUNDS)]
    results = []

    # when: in each round the customer's late event and the close start together
    for end, record in rounds:
        event, run = together(
            lambda end=end, record=record: late_event(
                program, record.customer.integration_id, amount, end=end),
            lambda end=end: job_run(job=CLOSE_ITERATIONS, now=end),
        )
        assert run.outcome == JobRun.Outcome.SUCCEEDED
        results.append((end, record, event.event.pk))

    # then: counted once, in the iteration holding performedOn
    for end, record, event_id in results:
        record.refresh_from_db()
        assert_counted_once(record, event_id, amount)
        assert record.progress == 1 + amount
        if amount == 2:
            assert (record.status, record.completion_date) == (Status.COMPLETED, end - SECOND)
        else:
            # expired, or still stored in progress if the event held the row and the job
            # skipped it: reads say expired either way, and the next run stores it
            assert record.status in (Status.EXPIRED, Status.INPROGRESS)
            (read,) = customer_achievement_list(customer=record.customer, now=end + SECOND)
            assert (read.status, read.progress) == ("expired", 2)
    job_run(job=CLOSE_ITERATIONS, now=END + ROUNDS * HOUR)
    raced = AchievementProgress.objects.filter(pk__in=[r.pk for _, r, _ in results])
    assert set(raced.values_list("status", flat=True)) == (
        {Status.COMPLETED} if amount == 2 else {Status.EXPIRED})
    assert not AchievementProgress.objects.filter(status=Status.INPROGRESS).exists()
    keys = Counter(Notification.objects.values_list("key", flat=True))
    assert set(keys.values()) == {1}
    if amount == 1:
        assert len(keys) == ROUNDS * 40
    else:  # a raced iteration the close expired first was then completed by the event
        assert ROUNDS * 39 <= len(keys) <= ROUNDS * 40


def _pause(module, name, reached, release):
    """Wrap module.name so that it signals `reached` and waits for `release` first."""
    real = getattr(module, name)

    def paused(**kwargs):
        reached.set()
        assert release.wait(30)
        return real(**kwargs)

    return mock.patch.object(module, name, paused)


@pytest.mark.parametrize("amount", [Decimal(2), Decimal(1)],
                         ids=["event-completes-it", "event-does-not-complete-it"])
def test_late_event_waits_and_counts_in_expired_iteration_when_job_holds_the_row(
    program, racing, amount
):
    # given: the close has locked and expired the batch and is paused before committing
    import achievements.services.jobs as jobs_module

    record = AchievementProgress.objects.select_related("customer").order_by("pk").first()
    reached, release = threading.Event(), threading.Event()
    with _pause(jobs_module, "_batch_claimed", reached, release):
        job, job_box = in_thread(lambda: job_run(job=CLOSE_ITERATIONS, now=END))
        assert reached.wait(30)

        # when: the late event comes in, and must wait for the row
        event, event_box = in_thread(
            lambda: late_event(program, record.customer.integration_id, amount))
        event.join(1.0)
        assert event.is_alive(), "the event did not wait for the iteration's row lock"
        release.set()
        run = result_of(job, job_box)
        ingested = result_of(event, event_box)

    # then: the job expired it; the event counted in it afterwards
    record.refresh_from_db()
    assert run.rows == 150
    assert_counted_once(record, ingested.event.pk, amount)
    assert record.progress == 1 + amount
    assert record.status == (Status.COMPLETED if amount == 2 else Status.EXPIRED)
    assert Notification.objects.filter(key=f"achievementExpired:{record.pk}").count() == 1


@pytest.mark.parametrize("amount", [Decimal(2), Decimal(1)],
                         ids=["event-completes-it", "event-does-not-complete-it"])
def test_close_skips_iteration_and_next_run_expires_it_when_event_holds_the_row(
    program, racing, amount
):
    # given: the late event has locked its iteration and is paused before committing
    record = AchievementProgress.objects.select_related("customer").order_by("pk").first()
    reached, release = threading.Event(), threading.Event()
    with _pause(events_services, "streaks_record_event", reached, release):
        event, event_box = in_thread(
            lambda: late_event(program, record.customer.integration_id, amount))
        assert reached.wait(30)

        # when: the close runs meanwhile
        run = job_run(job=CLOSE_ITERATIONS, now=END)
        release.set()
        ingested = result_of(event, event_box)

    # then: the job skipped the locked row instead of waiting or overwriting it
    record.refresh_from_db()
    assert run.rows == 149
    assert_counted_once(record, ingested.event.pk, amount)
    assert record.progress == 1 + amount
    if amount == 2:
        assert record.status == Status.COMPLETED
    else:
        assert record.status == Status.INPROGRESS

    # when: the next run
    rerun = job_run(job=CLOSE_ITERATIONS, now=END)

    # then
    record.refresh_from_db()
    assert rerun.rows == (0 if amount == 2 else 1)
    assert record.status == (Status.COMPLETED if amount == 2 else Status.EXPIRED)
    expired = Notification.objects.filter(key=f"achievementExpired:{record.pk}").count()
    assert expired == (0 if amount == 2 else 1)
    assert Notification.objects.count() == (149 if amount == 2 else 150)


def test_achievement_iterations_close_due_leaves_no_iteration_in_progress_when_racing(
    program, racing
):
    # given: all 150 customers post a late event while two runs close
    customers = list(Customer.objects.filter(program=program).values_list(
        "integration_id", flat=True))

    def post_all(names):
        return [late_event(program, name, Decimal(1)) for name in names]

    # when
    together(lambda: post_all(customers[::2]), lambda: post_all(customers[1::2]),
             lambda: job_run(job=CLOSE_ITERATIONS, now=END),
             lambda: job_run(job=CLOSE_ITERATIONS, now=END))
    job_run(job=CLOSE_ITERATIONS, now=END)

    # then: every event counted once, every iteration expired once
    assert ProgressContribution.objects.count() == 150
    assert set(AchievementProgress.objects.values_list("status", "progress")) == {
        (Status.EXPIRED, Decimal(2))}
    assert AchievementProgress.objects.count() == 150
    assert Notification.objects.count() == 150
    assert Achievement.objects.count() == 1
