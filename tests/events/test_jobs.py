"""The scheduled jobs, one transition at a time: what each one changes at the edges of its
instant (one second before / at / after an end or end + grace), that a second run for the same
`now` changes nothing, that reads say the same before and after, batching and crash-resume,
and the `run_periodic_jobs` command.

Jobs are called with an explicit `now`; API reads pin the clock with time_machine.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO
from unittest import mock

import pytest
import time_machine
from django.core.management import CommandError, call_command

import achievements.services.jobs as jobs_module
from achievements.models import (
    Achievement,
    AchievementProgress,
    CycleProgress,
    Enrolment,
    TargetPeriod,
)
from achievements.selectors import customer_achievement_list, customer_streak_list
from achievements.services import enrolment_open, target_group_create
from achievements.services.jobs import (
    achievement_iterations_close_due,
    periods_open_due,
    streak_cycles_close_due,
    streaks_at_risk_notify,
)
from events.jobs import JOBS, job_run
from events.services import event_cancel, event_ingest
from loyalty.models import Customer, JobRun, Notification
from tests.achievements.factories import AchievementFactory, AchievementProgressFactory
from tests.loyalty.factories import CustomerFactory, ProgramFactory

pytestmark = pytest.mark.django_db

SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)
WEEK = timedelta(days=7)
T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
END = T0 + DAY  # the end of an iteration that starts at T0 with period 1D
MONDAY = datetime(2026, 1, 5, tzinfo=UTC)
GRACE = DAY
REMINDER = DAY
W1_CLOSE = MONDAY + WEEK + GRACE      # week 1's end + grace
W2_END = MONDAY + 2 * WEEK
W2_CLOSE = W2_END + GRACE              # week 2's end + grace
W3_END = MONDAY + 3 * WEEK
W3_RISK = W3_END - REMINDER            # week 3's reminder window opens

Kind = Notification.Kind
Status = AchievementProgress.Status
Policy = Achievement.RecurrencePolicy


@pytest.fixture
def program(db):
    return ProgramFactory(name="Laurel Jobs", time_zone="UTC")


@pytest.fixture
def base(program):
    return f"/api/v1/programs/{program.pk}"


def ingest(program, *, customer, at, amount="1", now=None):
    now = now or at
    with time_machine.travel(now, tick=False):
        return event_ingest(program=program, now=now, data={
            "customer": customer, "type": "PURCHASE", "performed_on": at,
            "amount": Decimal(amount),
        })


def api_get(client, url, *, now):
    with time_machine.travel(now, tick=False):
        response = client.get(url)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def notifications(kind=None):
    rows = Notification.objects.all()
    if kind is not None:
        rows = rows.filter(kind=kind)
    return sorted(rows.values_list("kind", "key"))


def achievement_reads(customer, now):
    return [(s.achievement.pk, s.status, s.progress, s.record.pk if s.record else None)
            for s in customer_achievement_list(customer=customer, now=now)]


def streak_reads(customer, now):
    return [
        (s.enrolment.group_id, s.current_count, s.longest_count,
         [(lv["name"], lv["status"]) for lv in s.levels],
         [(row.period.ref_code, row.value, row.target, row.state, row.counted)
          for row in s.cycles])
        for s in customer_streak_list(customer=customer, now=now)
    ]


def iteration_table():
    return sorted(AchievementProgress.objects.values_list("pk", "status", "progress",
                                                          "updated_at"))


def streak_tables():
    return (
        sorted(CycleProgress.objects.values_list("enrolment_id", "period_id", "value", "final")),
        sorted(Enrolment.objects.values_list("pk", "current_count", "longest_count")),
        sorted(TargetPeriod.objects.values_list("pk", "opened_at", "closed_at",
                                                "closed_through_enrolment")),
    )


# Achievement iterations
# ------------------------------------------------------------------------------------------
@pytest.fixture
def one_time(campaign):
    return AchievementFactory(campaign=campaign, target=3, period="1D",
                              recurrence_policy=Policy.NO_RECURRENCE)


@pytest.fixture
def recurring(campaign):
    return AchievementFactory(campaign=campaign, target=3, period="1D",
                              recurrence_policy=Policy.ON_EXPIRATION)


@pytest.mark.parametrize(("now", "expired"), [(END - SECOND, False), (END, True),
                                              (END + SECOND, True)],
                         ids=["one-second-before-end", "at-end", "one-second-after-end"])
def test_achievement_iterations_close_due_expires_iteration_when_its_end_has_passed(
    program, one_time, now, expired
):
    # given: ann's iteration [T0, T0 + 1D) with progress 1 of 3
    ingest(program, customer="ann", at=T0)
    record = AchievementProgress.objects.get()
    assert record.end_date == END

    # when
    stats = achievement_iterations_close_due(now=now)

    # then
    record.refresh_from_db()
    assert record.status == (Status.EXPIRED if expired else Status.INPROGRESS)
    assert stats.rows == (1 if expired else 0)
    expected = [(Kind.ACHIEVEMENT_EXPIRED, f"achievementExpired:{record.pk}")] if expired else []
    assert notifications() == expected


def test_achievement_iterations_close_due_records_payload_when_iteration_expires(
    program, one_time
):
    # given
    ingest(program, customer="ann", at=T0)
    record = AchievementProgress.objects.get()

    # when
    achievement_iterations_close_due(now=END)

    # then
    notification = Notification.objects.get()
    assert notification.customer.integration_id == "ann"
    assert notification.program == program
    assert notification.occurred_at == END
    assert notification.delivery == Notification.Delivery.NO_WEBHOOK
    assert notification.payload == {
        "achievementId": one_time.pk, "achievementName": one_time.name,
        "progressTrackerId": record.pk, "progress": "1.000000", "target": "3.000000",
        "startDate": T0.isoformat(), "endDate": END.isoformat(),
    }


def test_achievement_iterations_close_due_leaves_completed_and_open_ended_when_end_passed(
    program, campaign, one_time
):
    # given: a completed iteration and one without an end, both started at T0
    open_ended = AchievementFactory(campaign=campaign, target=5, period="")
    ingest(program, customer="ann", at=T0, amount="1")
    ingest(program, customer="ann", at=T0 + SECOND, amount="1")
    ingest(program, customer="ann", at=T0 + 2 * SECOND, amount="1")
    completed = AchievementProgress.objects.get(achievement=one_time)
    unbounded = AchievementProgress.objects.get(achievement=open_ended)
    assert (completed.status, unbounded.end_date) == (Status.COMPLETED, None)

    # when
    stats = achievement_iterations_close_due(now=END + WEEK)

    # then
    assert stats.rows == 0
    assert AchievementProgress.objects.get(pk=completed.pk).status == Status.COMPLETED
    assert AchievementProgress.objects.get(pk=unbounded.pk).status == Status.INPROGRESS
    assert notifications() == []


def test_achievement_iterations_close_due_reads_not_started_before_and_after_when_recurring(
    program, recurring
):
    # given
    ingest(program, customer="ann", at=T0)
    ann = Customer.objects.get(integration_id="ann")
    before = achievement_reads(ann, END)

    # when
    achievement_iterations_close_due(now=END)

    # then: the read for END is the same before and after the job: available again
    after = achievement_reads(ann, END)
    assert before == after == [(recurring.pk, "not_started", Decimal(0), None)]
    assert AchievementProgress.objects.get().status == Status.EXPIRED


def test_achievement_iterations_close_due_lets_next_event_start_new_iteration_when_recurring(
    program, recurring
):
    # given: the first iteration expired by the job
    ingest(program, customer="ann", at=T0)
    first = AchievementProgress.objects.get()
    achievement_iterations_close_due(now=END)

    # when: ann's next event
    ingest(program, customer="ann", at=END + SECOND)

    # then: a second iteration, in progress, from that event
    second = AchievementProgress.objects.exclude(pk=first.pk).get()
    assert (second.sequence, second.status, second.progress) == (2, Status.INPROGRESS, 1)
    assert (second.window_start, second.end_date) == (END + SECOND, END + SECOND + DAY)
    first.refresh_from_db()
    assert (first.status, first.progress) == (Status.EXPIRED, 1)
    ann = Customer.objects.get(integration_id="ann")
    assert achievement_reads(ann, END + SECOND) == [
        (recurring.pk, "inprogress", Decimal(1), second.pk)]


def test_achievement_iterations_close_due_reads_equal_before_and_after_when_one_time(
    program, one_time
):
    # given
    ingest(program, customer="ann", at=T0)
    ann = Customer.objects.get(integration_id="ann")
    record = AchievementProgress.objects.get()
    before = achievement_reads(ann, END)

    # when
    achievement_iterations_close_due(now=END)

    # then
    assert achievement_reads(ann, END) == before == [
        (one_time.pk, "expired", Decimal(1), record.pk)]


def test_customer_achievements_api_answers_the_same_before_and_after_when_iterations_close(
    program, one_time, recurring, management_client, base
):
    # given: ann has an iteration in a one-time and in a recurring achievement
    ingest(program, customer="ann", at=T0)
    url = f"{base}/customers/ann/achievements"
    before = api_get(management_client, url, now=END)

    # when
    job_run(job="close-due-achievement-iterations", now=END)

    # then
    after = api_get(management_client, url, now=END)
    assert after == before
    assert {e["achievementId"]: e["status"] for e in after} == {
        one_time.pk: "expired", recurring.pk: "not_started"}
    assert AchievementProgress.objects.filter(status=Status.EXPIRED).count() == 2


def test_achievement_iterations_close_due_changes_nothing_when_run_twice_for_same_now(
    program, one_time, recurring
):
    # given
    ingest(program, customer="ann", at=T0)
    ingest(program, customer="bob", at=T0 + SECOND)
    first = job_run(job="close-due-achievement-iterations", now=END + SECOND)
    table, sent = iteration_table(), notifications()
    assert first.rows == 4
    assert len(sent) == 4

    # when
    second = job_run(job="close-due-achievement-iterations", now=END + SECOND)

    # then
    assert (second.rows, second.outcome) == (0, JobRun.Outcome.SUCCEEDED)
    assert iteration_table() == table
    assert notifications() == sent


def _due_iterations(achievement, count):
    customers = CustomerFactory.create_batch(count, program=achievement.campaign.program)
    return [
        AchievementProgressFactory(achievement=achievement, customer=customer, sequence=1,
                                   window_start=T0, end_date=END - i * SECOND)
        for i, customer in enumerate(customers)
    ]


def test_achievement_iterations_close_due_works_in_batches_when_batch_size_is_smaller(
    one_time
):
    # given: ten due iterations
    records = _due_iterations(one_time, 10)

    # when
    stats = achievement_iterations_close_due(now=END, batch_size=3)

    # then: 3 + 3 + 3 + 1
    assert (stats.rows, stats.batches) == (10, 4)
    assert AchievementProgress.objects.filter(status=Status.EXPIRED).count() == 10
    assert notifications(Kind.ACHIEVEMENT_EXPIRED) == sorted(
        (Kind.ACHIEVEMENT_EXPIRED, f"achievementExpired:{r.pk}") for r in records)


@pytest.mark.parametrize(("sweep_from", "order"), [(20_000, "end_date"), (5, "pk")],
                         ids=["few-due-oldest-first", "backlog-swept-in-key-order"])
def test_achievement_iterations_close_due_batches_follow_end_or_key_order(
    one_time, monkeypatch, sweep_from, order
):
    # given: ten due iterations whose ends run opposite to their keys, two not yet due and
    # a completed one
    records = _due_iterations(one_time, 10)
    later = [AchievementProgressFactory(achievement=one_time, sequence=1, window_start=T0,
                                        end_date=END + DAY) for _ in range(2)]
    done = AchievementProgressFactory(achievement=one_time, sequence=1, window_start=T0,
                                      end_date=END - SECOND, status=Status.COMPLETED)
    batches = []
    seen = set()

    def claimed(*, expired):
        now_expired = set(AchievementProgress.objects.filter(
            status=Status.EXPIRED).values_list("pk", flat=True))
        batches.append(now_expired - seen)
        seen.update(now_expired)

    monkeypatch.setattr(jobs_module, "_batch_claimed", claimed)

    # when
    stats = achievement_iterations_close_due(now=END, batch_size=4, sweep_from=sweep_from)

    # then: 4 + 4 + 2, every due row once, in the expected order; the rest untouched
    assert (stats.rows, stats.batches) == (10, 3)
    ordered = sorted(records, key=lambda r: getattr(r, order))
    assert batches == [{r.pk for r in ordered[i:i + 4]} for i in (0, 4, 8)]
    assert notifications(Kind.ACHIEVEMENT_EXPIRED) == sorted(
        (Kind.ACHIEVEMENT_EXPIRED, f"achievementExpired:{r.pk}") for r in records)
    assert set(AchievementProgress.objects.filter(pk__in=[r.pk for r in later])
               .values_list("status", flat=True)) == {Status.INPROGRESS}
    done.refresh_from_db()
    assert done.status == Status.COMPLETED


def _crash_on_call(n, name="notifications_record"):
    """A stand-in for jobs_module.<name> that works n - 1 times, then raises (the worker
    died) inside the batch's transaction."""
    real = getattr(jobs_module, name)
    calls = {"n": 0}

    def record(**kwargs):
        calls["n"] += 1
        if calls["n"] >= n:
            raise RuntimeError("worker killed")
        return real(**kwargs)

    return record


def test_achievement_iterations_close_due_keeps_committed_batches_when_run_crashes(one_time):
    # given: ten due iterations, a run that dies in its second batch
    _due_iterations(one_time, 10)
    three = mock.patch.dict(JOBS, {"close-due-achievement-iterations": lambda now, **kw:
                                   achievement_iterations_close_due(now=now, batch_size=3, **kw)})

    # when
    with (three, mock.patch.object(jobs_module, "_batch_claimed",
                                     _crash_on_call(2, "_batch_claimed")),
          pytest.raises(RuntimeError, match="worker killed")):
        job_run(job="close-due-achievement-iterations", now=END)

    # then: the first batch stays committed, the run is recorded as failed
    assert AchievementProgress.objects.filter(status=Status.EXPIRED).count() == 3
    assert Notification.objects.count() == 3
    failed = JobRun.objects.get()
    assert failed.outcome == JobRun.Outcome.FAILED
    assert failed.error == "RuntimeError: worker killed"
    assert failed.finished_at is not None

    # when: the next run
    with three:
        resumed = job_run(job="close-due-achievement-iterations", now=END)

    # then: it finishes the other seven, no duplicates
    assert (resumed.outcome, resumed.rows, resumed.batches) == (JobRun.Outcome.SUCCEEDED, 7, 3)
    assert AchievementProgress.objects.filter(status=Status.EXPIRED).count() == 10
    keys = list(Notification.objects.values_list("key", flat=True))
    assert len(keys) == len(set(keys)) == 10


# Regression: job_run once copied the service's stats only when it returned, so a crashed
# run was recorded with rows=0 although batches had committed.
def test_job_run_records_committed_rows_when_run_crashes_after_first_batch(one_time):
    # given
    _due_iterations(one_time, 10)
    three = mock.patch.dict(JOBS, {"close-due-achievement-iterations": lambda now, **kw:
                                   achievement_iterations_close_due(now=now, batch_size=3, **kw)})

    # when
    with (three, mock.patch.object(jobs_module, "_batch_claimed",
                                     _crash_on_call(2, "_batch_claimed")),
          pytest.raises(RuntimeError)):
        job_run(job="close-due-achievement-iterations", now=END)

    # then
    assert AchievementProgress.objects.filter(status=Status.EXPIRED).count() == 3
    failed = JobRun.objects.get()
    assert (failed.rows, failed.batches) == (3, 1)


# Streak cycles
# ------------------------------------------------------------------------------------------
@pytest.fixture
def group(program):
    return target_group_create(
        program=program, name="Weekly 100", tracking_type="STREAKS",
        frequency_type="WEEKLY", frequency=1, recurring_cycles=4, start_date=MONDAY,
        time_zone="UTC", grace_period=GRACE, reminder_window=REMINDER,
        targets=[{"name": "Spend 100", "target_entity": "TRANSACTION", "target_type": "SALES",
                  "event_name": "PURCHASE", "default_values": [Decimal(100)] * 4}],
        streaks=[{"name": "Two weeks", "target_count_of_sequence": 2},
                 {"name": "Four weeks", "target_count_of_sequence": 4}],
    )


def period(group, position):
    return group.periods.get(position=position)


def enrolment(name):
    return Enrolment.objects.get(customer__integration_id=name)


@pytest.fixture
def streakers(program, group):
    """Week 1 closed; before week 2 closes:
    ann met week 1 only (count 1); bob met week 1 and already week 3 (during week 2's grace);
    cleo met weeks 1 and 2 (count 2); dan enrolled over the API and never bought; eve spent
    50 in week 2 only (enrolled from week 2)."""
    dan = CustomerFactory(program=program, integration_id="dan")
    enrolment_open(group=group, customer=dan, now=MONDAY)
    for name in ("ann", "bob", "cleo"):
        ingest(program, customer=name, at=MONDAY + DAY, amount="100")
    streak_cycles_close_due(now=W1_CLOSE)
    ingest(program, customer="cleo", at=MONDAY + WEEK + DAY, amount="100")
    ingest(program, customer="eve", at=MONDAY + WEEK + DAY, amount="50")
    ingest(program, customer="bob", at=W2_END + timedelta(hours=1), amount="100")
    Notification.objects.all().delete()
    assert {e.customer.integration_id: e.current_count for e in Enrolment.objects.all()} == {
        "ann": 1, "bob": 1, "cleo": 2, "dan": 0, "eve": 0}
    return group


@pytest.mark.parametrize(("now", "closed"), [(W2_CLOSE - SECOND, False), (W2_CLOSE, True),
                                             (W2_CLOSE + SECOND, True)],
                         ids=["one-second-before-grace-ends", "at-end-plus-grace",
                              "one-second-after"])
def test_streak_cycles_close_due_makes_every_cycle_final_when_end_plus_grace_passed(
    streakers, now, closed
):
    # given
    week2 = period(streakers, 1)

    # when
    stats = streak_cycles_close_due(now=now)

    # then
    finals = set(CycleProgress.objects.filter(period=week2, final=True).values_list(
        "enrolment__customer__integration_id", flat=True))
    week2.refresh_from_db()
    if closed:
        assert finals == {"ann", "bob", "cleo", "dan", "eve"}
        assert CycleProgress.objects.filter(period=week2).count() == 5
        assert week2.closed_at == now
        assert stats.rows == 5
    else:
        assert finals == set()
        assert week2.closed_at is None
        assert stats.rows == 0


def test_streak_cycles_close_due_creates_final_empty_cycle_when_customer_had_no_activity(
    streakers
):
    # when
    streak_cycles_close_due(now=W2_CLOSE)

    # then: dan has a final row for weeks 1 and 2, worth 0
    rows = CycleProgress.objects.filter(enrolment=enrolment("dan")).order_by("period__position")
    assert [(r.period.position, r.value, r.final) for r in rows] == [
        (0, 0, True), (1, 0, True)]


@pytest.mark.parametrize(("now", "closed"), [(W2_CLOSE - SECOND, False), (W2_CLOSE, True)],
                         ids=["one-second-before-grace-ends", "at-end-plus-grace"])
def test_streak_cycles_close_due_resets_continuous_streak_when_cycle_missed(
    streakers, now, closed
):
    # when
    streak_cycles_close_due(now=now)

    # then: ann 1 -> 0, bob 1 -> 1 (week 3 is already met), cleo keeps 2
    counts = {e.customer.integration_id: e.current_count for e in Enrolment.objects.all()}
    if closed:
        assert counts == {"ann": 0, "bob": 1, "cleo": 2, "dan": 0, "eve": 0}
        broken = {n.customer.integration_id: n for n in
                  Notification.objects.filter(kind=Kind.STREAK_BROKEN)}
        week2 = period(streakers, 1)
        assert set(broken) == {"ann", "bob"}
        assert broken["ann"].key == f"streakBroken:{enrolment('ann').pk}:{week2.pk}"
        assert broken["ann"].payload == {
            "targetGroupId": streakers.pk, "targetGroupName": "Weekly 100",
            "periodRefCode": "Cycle_2", "previousCount": 1}
        assert broken["ann"].occurred_at == now
    else:
        assert counts == {"ann": 1, "bob": 1, "cleo": 2, "dan": 0, "eve": 0}
        assert notifications() == []


# Regression: the close once decided 'broken' from the stored current_count, which any
# recompute after end + grace (before the job's tick) had already set to 0.
def test_streak_cycles_close_due_notifies_broken_streak_when_count_recomputed_before_the_job(
    program, streakers
):
    # given: ann (count 1, week 2 missed) meets week 3 a minute after week 2's grace ended,
    # and the purchase is cancelled a minute later, before the job has run
    met = ingest(program, customer="ann", at=W2_CLOSE + timedelta(minutes=1), amount="100")
    with time_machine.travel(W2_CLOSE + timedelta(minutes=2), tick=False):
        event_cancel(event=met.event, now=W2_CLOSE + timedelta(minutes=2))
    assert enrolment("ann").current_count == 0
    (read,) = customer_streak_list(customer=enrolment("ann").customer, now=W2_CLOSE)
    assert read.current_count == 0

    # when: the job, on its next tick
    streak_cycles_close_due(now=W2_CLOSE + timedelta(minutes=5))

    # then: ann's streak of 1 broke at week 2
    broken = Notification.objects.filter(kind=Kind.STREAK_BROKEN,
                                         customer__integration_id="ann")
    assert [n.payload["previousCount"] for n in broken] == [1]


def test_streak_cycles_close_due_stores_counts_equal_to_reads_when_cycle_closes(streakers):
    # when
    streak_cycles_close_due(now=W2_CLOSE)

    # then: the stored counts are what the reads compute
    for enrolled in Enrolment.objects.select_related("customer"):
        (read,) = customer_streak_list(customer=enrolled.customer, now=W2_CLOSE)
        assert enrolled.current_count == read.current_count, enrolled.customer.integration_id


def test_streak_cycles_close_due_reads_equal_before_and_after_when_cycle_closes(streakers):
    # given
    customers = list(Customer.objects.order_by("integration_id"))
    before = {c.integration_id: streak_reads(c, W2_CLOSE) for c in customers}

    # when
    streak_cycles_close_due(now=W2_CLOSE)

    # then
    after = {c.integration_id: streak_reads(c, W2_CLOSE) for c in customers}
    assert after == before
    assert {name: reads[0][1] for name, reads in after.items()} == {
        "ann": 0, "bob": 1, "cleo": 2, "dan": 0, "eve": 0}


def test_customer_streaks_api_answers_the_same_before_and_after_when_cycle_closes(
    streakers, management_client, base
):
    # given
    urls = {name: f"{base}/customers/{name}/streaks" for name in ("ann", "bob", "cleo", "dan")}
    before = {name: api_get(management_client, url, now=W2_CLOSE) for name, url in urls.items()}

    # when
    job_run(job="close-due-streak-cycles", now=W2_CLOSE)

    # then
    after = {name: api_get(management_client, url, now=W2_CLOSE) for name, url in urls.items()}
    assert after == before
    assert [row["state"] for row in after["ann"][0]["cycles"]] == [
        "met", "missed", "open", "upcoming"]
    assert CycleProgress.objects.filter(period=period(streakers, 1), final=True).count() == 5


def test_streak_cycles_close_due_changes_nothing_when_run_twice_for_same_now(streakers):
    # given
    first = job_run(job="close-due-streak-cycles", now=W2_CLOSE)
    tables, sent = streak_tables(), notifications()
    assert first.rows == 5
    assert len(sent) == 2

    # when
    second = job_run(job="close-due-streak-cycles", now=W2_CLOSE)

    # then
    assert (second.rows, second.outcome) == (0, JobRun.Outcome.SUCCEEDED)
    assert streak_tables() == tables
    assert notifications() == sent


def _broken_streaks(program, group, count):
    """`count` customers who met week 1 and will miss week 2 (week 1 closed)."""
    names = [f"c{i:02d}" for i in range(count)]
    for name in names:
        ingest(program, customer=name, at=MONDAY + DAY, amount="100")
    streak_cycles_close_due(now=W1_CLOSE)
    return names


def test_streak_cycles_close_due_works_in_batches_when_batch_size_is_smaller(program, group):
    # given
    _broken_streaks(program, group, 10)

    # when
    stats = streak_cycles_close_due(now=W2_CLOSE, batch_size=3)

    # then
    week2 = period(group, 1)
    assert (stats.rows, stats.batches) == (10, 4)
    assert week2.closed_at == W2_CLOSE
    assert week2.closed_through_enrolment == Enrolment.objects.order_by("-pk").first().pk
    assert CycleProgress.objects.filter(period=week2, final=True).count() == 10
    assert Notification.objects.filter(kind=Kind.STREAK_BROKEN).count() == 10


def test_streak_cycles_close_due_resumes_from_watermark_when_run_crashes(program, group):
    # given: ten broken streaks, a run that dies in its second batch
    _broken_streaks(program, group, 10)
    three = mock.patch.dict(JOBS, {"close-due-streak-cycles": lambda now, **kw:
                                   streak_cycles_close_due(now=now, batch_size=3, **kw)})
    first_three = list(Enrolment.objects.order_by("pk").values_list("pk", flat=True)[:3])

    # when
    with (three, mock.patch.object(jobs_module, "notifications_record", _crash_on_call(2)),
          pytest.raises(RuntimeError, match="worker killed")):
        job_run(job="close-due-streak-cycles", now=W2_CLOSE)

    # then: the first batch is committed, the watermark says how far
    week2 = period(group, 1)
    assert (week2.closed_at, week2.closed_through_enrolment) == (None, first_three[-1])
    assert set(CycleProgress.objects.filter(period=week2, final=True).values_list(
        "enrolment_id", flat=True)) == set(first_three)
    assert set(Enrolment.objects.filter(current_count=0).values_list("pk", flat=True)) == set(
        first_three)
    assert Notification.objects.count() == 3
    failed = JobRun.objects.get()
    assert (failed.outcome, failed.error) == (JobRun.Outcome.FAILED,
                                              "RuntimeError: worker killed")

    # when: the next run
    with three:
        resumed = job_run(job="close-due-streak-cycles", now=W2_CLOSE)

    # then
    week2.refresh_from_db()
    assert (resumed.outcome, resumed.rows) == (JobRun.Outcome.SUCCEEDED, 7)
    assert week2.closed_at == W2_CLOSE
    assert CycleProgress.objects.filter(period=week2, final=True).count() == 10
    assert not Enrolment.objects.filter(current_count__gt=0).exists()
    keys = list(Notification.objects.values_list("key", flat=True))
    assert len(keys) == len(set(keys)) == 10


# Periods opening and fixed-schedule achievements starting
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("now", "opened"), [
    (MONDAY - SECOND, []), (MONDAY, ["Cycle_1"]), (MONDAY + SECOND, ["Cycle_1"]),
    (MONDAY + WEEK, ["Cycle_1", "Cycle_2"]),
], ids=["one-second-before-start", "at-start", "one-second-after", "at-second-start"])
def test_periods_open_due_records_period_started_when_start_has_come(group, now, opened):
    # when
    stats = periods_open_due(now=now)

    # then
    started = Notification.objects.filter(kind=Kind.PERIOD_STARTED)
    assert sorted(n.payload["periodRefCode"] for n in started) == opened
    assert sorted(group.periods.filter(opened_at=now).values_list("ref_code", flat=True)) == (
        opened)
    assert stats.rows == len(opened)
    assert all(n.customer is None and n.occurred_at == now for n in started)


def test_periods_open_due_records_each_period_once_when_run_again_later(group):
    # given
    periods_open_due(now=MONDAY)

    # when
    stats = periods_open_due(now=MONDAY + WEEK)

    # then
    assert stats.rows == 1
    assert notifications(Kind.PERIOD_STARTED) == sorted(
        (Kind.PERIOD_STARTED, f"periodStarted:{p.pk}") for p in group.periods.filter(
            position__lte=1))
    assert period(group, 0).opened_at == MONDAY


@pytest.mark.parametrize(("now", "started"), [(T0 - SECOND, False), (T0, True),
                                              (T0 + SECOND, True)],
                         ids=["one-second-before-start", "at-start", "one-second-after"])
def test_periods_open_due_records_achievement_started_when_fixed_start_passed(
    campaign, now, started
):
    # given: a fixed schedule from T0 and a user-action achievement
    fixed = AchievementFactory(campaign=campaign, activation_policy="fixed_schedule",
                               fixed_start_date=T0, period="1W")
    AchievementFactory(campaign=campaign)

    # when
    periods_open_due(now=now)

    # then
    fixed.refresh_from_db()
    rows = list(Notification.objects.filter(kind=Kind.ACHIEVEMENT_STARTED))
    if started:
        assert fixed.schedule_started_at == now
        assert [(n.key, n.payload) for n in rows] == [(f"achievementStarted:{fixed.pk}", {
            "achievementId": fixed.pk, "achievementName": fixed.name,
            "fixedStartDate": T0.isoformat()})]
    else:
        assert fixed.schedule_started_at is None
        assert rows == []


def test_periods_open_due_changes_nothing_when_run_twice_for_same_now(campaign, group):
    # given
    AchievementFactory(campaign=campaign, fixed=True)
    first = job_run(job="open-due-periods", now=MONDAY + WEEK)
    tables, sent = streak_tables(), notifications()
    started = list(Achievement.objects.values_list("pk", "schedule_started_at"))
    assert first.rows == 3

    # when
    second = job_run(job="open-due-periods", now=MONDAY + WEEK)

    # then
    assert (second.rows, second.outcome) == (0, JobRun.Outcome.SUCCEEDED)
    assert streak_tables() == tables
    assert notifications() == sent
    assert list(Achievement.objects.values_list("pk", "schedule_started_at")) == started


def test_periods_open_due_reads_equal_before_and_after_when_periods_open(streakers):
    # given
    customers = list(Customer.objects.order_by("integration_id"))
    before = {c.integration_id: streak_reads(c, MONDAY + 2 * WEEK) for c in customers}

    # when
    periods_open_due(now=MONDAY + 2 * WEEK)

    # then
    assert {c.integration_id: streak_reads(c, MONDAY + 2 * WEEK) for c in customers} == before
    assert streakers.periods.filter(opened_at__isnull=False).count() == 3


# Streaks at risk
# ------------------------------------------------------------------------------------------
@pytest.fixture
def week3(streakers):
    """Week 2 closed; in week 3 bob has met the target, the others have not."""
    streak_cycles_close_due(now=W2_CLOSE)
    Notification.objects.all().delete()
    return period(streakers, 2)


@pytest.mark.parametrize(("now", "warned"), [
    (W3_RISK - SECOND, set()), (W3_RISK, {"ann", "cleo", "dan", "eve"}),
    (W3_END - SECOND, {"ann", "cleo", "dan", "eve"}), (W3_END, set()),
], ids=["one-second-before-window", "window-opens", "one-second-before-end", "at-end"])
def test_streaks_at_risk_notify_warns_unmet_customers_when_cycle_ends_within_window(
    week3, now, warned
):
    # when
    streaks_at_risk_notify(now=now)

    # then: one per customer not yet met, none for bob (met), none outside the window
    rows = list(Notification.objects.filter(kind=Kind.STREAK_AT_RISK))
    assert {n.customer.integration_id for n in rows} == warned
    assert len(rows) == len(warned)
    for n in rows:
        assert n.key == f"streakAtRisk:{enrolment(n.customer.integration_id).pk}:{week3.pk}"
        assert n.payload["periodRefCode"] == "Cycle_3"
        assert n.payload["endDate"] == W3_END.isoformat()


def test_streaks_at_risk_notify_warns_once_when_run_again_later_in_window(week3):
    # given
    streaks_at_risk_notify(now=W3_RISK)
    sent = notifications()

    # when
    streaks_at_risk_notify(now=W3_RISK + timedelta(hours=6))

    # then
    assert notifications() == sent
    assert len(sent) == 4


def test_streaks_at_risk_notify_stops_warning_customer_when_cycle_met(program, week3):
    # given: ann meets week 3 before the window opens
    ingest(program, customer="ann", at=W3_RISK - timedelta(hours=1), amount="100")

    # when
    streaks_at_risk_notify(now=W3_RISK)

    # then
    warned = Notification.objects.filter(kind=Kind.STREAK_AT_RISK)
    assert set(warned.values_list("customer__integration_id", flat=True)) == {
        "cleo", "dan", "eve"}


def test_streaks_at_risk_notify_leaves_tables_and_reads_unchanged_when_run_twice(week3):
    # given
    customers = list(Customer.objects.order_by("integration_id"))
    reads = {c.integration_id: streak_reads(c, W3_RISK) for c in customers}
    job_run(job="notify-streaks-at-risk", now=W3_RISK)
    tables, sent = streak_tables(), notifications()

    # when
    job_run(job="notify-streaks-at-risk", now=W3_RISK)

    # then
    assert streak_tables() == tables
    assert notifications() == sent
    assert {c.integration_id: streak_reads(c, W3_RISK) for c in customers} == reads


# Regression: the at-risk job once counted every candidate, not the notifications it added.
def test_streaks_at_risk_notify_reports_zero_rows_when_run_twice_for_same_now(week3):
    # given
    first = job_run(job="notify-streaks-at-risk", now=W3_RISK)
    assert first.rows == 4

    # when
    second = job_run(job="notify-streaks-at-risk", now=W3_RISK)

    # then
    assert second.rows == 0


# run_periodic_jobs
# ------------------------------------------------------------------------------------------
NOW_ARG = "2026-01-20T00:00:00+00:00"


def test_run_periodic_jobs_runs_every_job_and_prints_a_line_each_when_now_given(streakers):
    # given: week 2 is due (W2_CLOSE = 2026-01-20T00:00Z)
    out = StringIO()

    # when
    call_command("run_periodic_jobs", "--now", NOW_ARG, stdout=out)

    # then
    lines = out.getvalue().splitlines()
    assert [line.split()[0] for line in lines] == list(JOBS)
    assert all(" succeeded " in line for line in lines)
    runs = {run.job: run for run in JobRun.objects.all()}
    assert set(runs) == set(JOBS)
    now = datetime.fromisoformat(NOW_ARG)
    for run in runs.values():
        assert (run.now, run.outcome) == (now, JobRun.Outcome.SUCCEEDED)
        assert run.duration_ms is not None and run.finished_at is not None
    assert runs["close-due-streak-cycles"].rows == 5
    assert runs["open-due-periods"].rows == 3
    assert "rows=5 " in lines[list(JOBS).index("close-due-streak-cycles")]
    assert period(streakers, 1).closed_at == now


def test_run_periodic_jobs_runs_only_that_job_when_job_given(streakers):
    # given
    out = StringIO()

    # when
    call_command("run_periodic_jobs", "--now", NOW_ARG, "--job", "open-due-periods",
                 stdout=out)

    # then
    assert [line.split()[0] for line in out.getvalue().splitlines()] == ["open-due-periods"]
    assert list(JobRun.objects.values_list("job", "rows")) == [("open-due-periods", 3)]
    assert period(streakers, 1).closed_at is None


def test_run_periodic_jobs_runs_each_named_job_when_job_repeated(streakers):
    # when
    call_command("run_periodic_jobs", "--now", NOW_ARG, "--job", "close-due-streak-cycles",
                 "--job", "notify-streaks-at-risk", stdout=StringIO())

    # then
    assert sorted(JobRun.objects.values_list("job", flat=True)) == [
        "close-due-streak-cycles", "notify-streaks-at-risk"]


@pytest.mark.parametrize("value", ["2026-01-20T00:00:00", "not-a-date"],
                         ids=["no-offset", "garbage"])
def test_run_periodic_jobs_refuses_when_now_has_no_offset(streakers, value):
    # when / then
    with pytest.raises(CommandError, match="offset"):
        call_command("run_periodic_jobs", "--now", value, stdout=StringIO())
    assert not JobRun.objects.exists()


# Regression: parse_datetime's ValueError (month 13) once escaped as a traceback.
def test_run_periodic_jobs_refuses_when_now_is_an_impossible_date(streakers):
    # when / then
    with pytest.raises(CommandError, match="offset"):
        call_command("run_periodic_jobs", "--now", "2026-13-01T00:00:00+00:00",
                     stdout=StringIO())
    assert not JobRun.objects.exists()


def test_run_periodic_jobs_refuses_when_job_unknown():
    # when / then
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("run_periodic_jobs", "--now", NOW_ARG, "--job", "nope", stdout=StringIO())
