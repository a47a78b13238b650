"""What time does when no event arrives: the scheduled jobs' services.

Each takes `now` (the instant to run as of), touches only due rows through a partial index,
works in batches that each commit, claims rows with SKIP LOCKED (so two workers share the
work instead of doubling it) and records what it did as notifications that are unique by key.
Running a job twice for the same `now` changes nothing the second time; a run killed between
batches leaves committed batches done and the next run finishes the rest.

Reads never wait for these jobs: they compute statuses for "now" themselves. The jobs bring
the stored state in line and emit what must happen at that moment.
"""

from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Count, Exists, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce

from achievements.models import (
    Achievement,
    CycleProgress,
    Enrolment,
    TargetGroup,
    TargetPeriod,
    TargetValue,
)
from loyalty.models import Notification
from loyalty.services import JobStats, notifications_record

BATCH_SIZE = 5000
# More due iterations than this (a month-end rollover) are swept in primary-key order.
BACKLOG_SWEEP_FROM = 20_000


# One statement per batch: claim (SKIP LOCKED), expire, notify. `{due}` picks the batch.
_CLOSE_ITERATIONS_SQL = """
WITH due AS (
    SELECT id FROM achievements_achievementprogress
    WHERE {due}
    FOR UPDATE SKIP LOCKED
), expired AS (
    UPDATE achievements_achievementprogress AS p
    SET status = 'expired', updated_at = %(now)s
    FROM due WHERE p.id = due.id
    RETURNING p.id, p.customer_id, p.achievement_id, p.progress, p.start_date, p.end_date
), notified AS (
    INSERT INTO loyalty_notification
        (program_id, kind, customer_id, key, payload, occurred_at, created_at, delivery,
         attempts, next_attempt_at, delivered_at, last_error)
    SELECT c.program_id, 'achievementExpired', e.customer_id, 'achievementExpired:' || e.id,
           jsonb_build_object(
               'achievementId', a.id, 'achievementName', a.name, 'progressTrackerId', e.id,
               'progress', e.progress::text, 'target', a.target::text,
               'startDate', e.start_date, 'endDate', e.end_date),
           %(now)s, now(),
           CASE WHEN pr.webhook_url <> '' THEN 'pending' ELSE 'no_webhook' END, 0,
           CASE WHEN pr.webhook_url <> '' THEN %(now)s::timestamptz END, NULL, ''
    FROM expired e
    JOIN achievements_achievement a ON a.id = e.achievement_id
    JOIN loyalty_campaign c ON c.id = a.campaign_id
    JOIN loyalty_program pr ON pr.id = c.program_id
    ON CONFLICT (program_id, key) DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM expired), (SELECT max(id) FROM due)
"""
_OLDEST_FIRST = ("status = 'inprogress' AND end_date <= %(now)s "
                 "ORDER BY end_date LIMIT %(batch)s")
_SWEEP = ("id > %(after)s AND status = 'inprogress' AND end_date <= %(now)s "
          "ORDER BY id LIMIT %(batch)s")
_DUE_UP_TO = """
SELECT count(*) FROM (
    SELECT 1 FROM achievements_achievementprogress
    WHERE status = 'inprogress' AND end_date <= %(now)s LIMIT %(limit)s
) AS due
"""


def _batch_claimed(*, expired: int) -> None:
    """Runs inside each iteration batch's transaction, after its rows are claimed, expired and
    notified, before the commit. A seam: the tests kill or pause a run here."""


def achievement_iterations_close_due(*, now: datetime, batch_size: int = BATCH_SIZE,
                                     stats: JobStats | None = None,
                                     sweep_from: int = BACKLOG_SWEEP_FROM) -> JobStats:
    """Every `inprogress` iteration whose end has passed becomes `expired`, with an
    `achievementExpired` notification each. Recurring achievements then start afresh on the
    customer's next event (reads already say `not_started`).

    One statement a batch claims (SKIP LOCKED), expires and notifies, so the work runs in the
    database and memory stays flat. A few due iterations are taken oldest first through the
    partial `end_date` index. A backlog (more than `sweep_from`, as when a month ends for every
    customer) is swept in primary-key order instead: oldest-first batches scatter over the
    whole table, so every batch dirties thousands of pages and index leaves that the next ones
    touch again (1M rows: 25 s for the updates alone, against 10.5 s in key order). Rows
    another transaction holds are skipped either way and expire in the next run; reads are
    right meanwhile.
    """
    stats = stats if stats is not None else JobStats()
    with connection.cursor() as cursor:
        cursor.execute(_DUE_UP_TO, {"now": now, "limit": sweep_from + 1})
        sweep = cursor.fetchone()[0] > sweep_from
    sql = _CLOSE_ITERATIONS_SQL.format(due=_SWEEP if sweep else _OLDEST_FIRST)
    after = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, {"now": now, "batch": batch_size, "after": after})
            expired, last_id = cursor.fetchone()
            _batch_claimed(expired=expired)
        if expired:
            stats.rows += expired
            stats.batches += 1
            after = last_id
        if expired < batch_size:
            return stats


def _met_cycles_after(period: TargetPeriod) -> Subquery:
    """For an enrolment: how many of its cycles after `period` are met (a subquery)."""
    met = CycleProgress.objects.filter(
        enrolment=OuterRef("pk"), period__group_id=period.group_id,
        period__position__gt=period.position,
        value__gte=Subquery(TargetValue.objects.filter(
            target=OuterRef("target"), period=OuterRef("period")).values("value")[:1]),
    )
    return Coalesce(
        Subquery(met.order_by().values("enrolment").annotate(n=Count("pk")).values("n")[:1],
                 output_field=IntegerField()),
        0,
    )


def _runs_broken(*, group: TargetGroup, target, period: TargetPeriod,
                 enrolment_ids: list[int],
                 targets_by_period: dict[int, object]) -> list[tuple[int, int, int]]:
    """Of the enrolments that missed `period`: (enrolment, customer, run) for those whose
    streak ran into it, i.e. the run of met cycles just before it was not empty. Read from the
    ledger, not from stored counts, so it is right whenever the job runs."""
    earlier = TargetPeriod.objects.filter(group=group, position__lt=period.position).order_by(
        "-position").values_list("pk", "start_date")
    earlier = list(earlier)
    met: dict[int, set[int]] = {}
    rows = CycleProgress.objects.filter(
        enrolment_id__in=enrolment_ids, target=target,
        period_id__in=[pk for pk, _ in earlier],
    ).values_list("enrolment_id", "period_id", "value")
    for enrolment_id, period_id, value in rows:
        if value >= targets_by_period.get(period_id, value + 1):
            met.setdefault(enrolment_id, set()).add(period_id)
    broken = []
    for enrolment_id, customer_id, counting_from in Enrolment.objects.filter(
        pk__in=enrolment_ids).values_list("pk", "customer_id", "counting_from"):
        run = 0
        for period_id, start in earlier:
            if start < counting_from or period_id not in met.get(enrolment_id, ()):
                break
            run += 1
        if run:
            broken.append((enrolment_id, customer_id, run))
    return broken


def _close_period_batch(*, period: TargetPeriod, now: datetime, batch_size: int) -> int | None:
    """Close one batch of a period's enrolments; returns how many, or None when another
    worker holds the period."""
    group = period.group
    period = (
        TargetPeriod.objects.select_for_update(skip_locked=True).filter(
            pk=period.pk, closed_at__isnull=True).first()
    )
    if period is None:
        return None
    enrolments = list(
        Enrolment.objects.filter(group=group, active=True,
                                 pk__gt=period.closed_through_enrolment)
        .order_by("pk").values_list("pk", "counting_from")[:batch_size]
    )
    ids = [pk for pk, _ in enrolments]
    for target in group.targets.filter(active=True):
        CycleProgress.objects.bulk_create(
            [CycleProgress(enrolment_id=pk, target=target, period=period, final=True)
             for pk in ids],
            ignore_conflicts=True,
        )
    CycleProgress.objects.filter(period=period, enrolment_id__in=ids, final=False).update(
        final=True
    )
    if group.tracking_type == TargetGroup.TrackingType.STREAKS and ids:
        target = group.targets.filter(active=True).order_by("pk").first()
        targets_by_period = dict(
            TargetValue.objects.filter(target=target).values_list("period_id", "value"))
        missed = list(
            CycleProgress.objects.filter(period=period, target=target, enrolment_id__in=ids,
                                         value__lt=targets_by_period[period.pk],
                                         enrolment__counting_from__lte=period.start_date)
            .values_list("enrolment_id", flat=True)
        )
        if missed:
            broken = _runs_broken(group=group, target=target, period=period,
                                  enrolment_ids=missed, targets_by_period=targets_by_period)
            Enrolment.objects.filter(pk__in=missed).update(
                current_count=_met_cycles_after(period))
            notifications_record(notifications=[
                Notification(
                    program_id=group.program_id, customer_id=customer_id,
                    kind=Notification.Kind.STREAK_BROKEN,
                    key=f"streakBroken:{pk}:{period.pk}", occurred_at=now,
                    payload={"targetGroupId": group.pk, "targetGroupName": group.name,
                             "periodRefCode": period.ref_code, "previousCount": run},
                )
                for pk, customer_id, run in broken
            ])
    if ids:
        period.closed_through_enrolment = ids[-1]
    if len(ids) < batch_size:
        period.closed_at = now
    period.save(update_fields=["closed_through_enrolment", "closed_at"])
    return len(ids)


def streak_cycles_close_due(*, now: datetime, batch_size: int = BATCH_SIZE,
                            stats: JobStats | None = None) -> JobStats:
    """Once a cycle's end plus the group's grace period has passed, every enrolled customer's
    cycle becomes final (met or missed); a miss resets a continuous streak, with a
    `streakBroken` notification where a count went to 0."""
    stats = stats if stats is not None else JobStats()
    due = [
        period for period in
        TargetPeriod.objects.select_related("group").filter(
            closed_at__isnull=True, end_date__lte=now).order_by("end_date", "pk")
        if period.end_date + period.group.grace_period <= now
    ]
    for period in due:
        while True:
            with transaction.atomic():
                closed = _close_period_batch(period=period, now=now, batch_size=batch_size)
            if closed is None:
                break  # another worker has it
            stats.rows += closed
            stats.batches += 1
            if closed < batch_size:
                break
    return stats


def periods_open_due(*, now: datetime, stats: JobStats | None = None) -> JobStats:
    """Target periods and fixed-schedule achievements whose start has come: record it once
    (`periodStarted`, `achievementStarted`)."""
    stats = stats if stats is not None else JobStats()
    with transaction.atomic():
        periods = list(
            TargetPeriod.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("group").filter(opened_at__isnull=True, start_date__lte=now)
        )
        TargetPeriod.objects.filter(pk__in=[p.pk for p in periods]).update(opened_at=now)
        achievements = list(
            Achievement.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("campaign").filter(schedule_started_at__isnull=True,
                                               fixed_start_date__lte=now)
        )
        Achievement.objects.filter(pk__in=[a.pk for a in achievements]).update(
            schedule_started_at=now)
        notifications_record(notifications=[
            *(Notification(program_id=p.group.program_id, kind=Notification.Kind.PERIOD_STARTED,
                           key=f"periodStarted:{p.pk}", occurred_at=now,
                           payload={"targetGroupId": p.group_id, "targetGroupName": p.group.name,
                                    "periodRefCode": p.ref_code,
                                    "startDate": p.start_date.isoformat(),
                                    "endDate": p.end_date.isoformat()})
              for p in periods),
            *(Notification(program_id=a.campaign.program_id,
                           kind=Notification.Kind.ACHIEVEMENT_STARTED,
                           key=f"achievementStarted:{a.pk}", occurred_at=now,
                           payload={"achievementId": a.pk, "achievementName": a.name,
                                    "fixedStartDate": a.fixed_start_date.isoformat()})
              for a in achievements),
        ])
        stats.rows += len(periods) + len(achievements)
        stats.batches += 1
    return stats


def streaks_at_risk_notify(*, now: datetime, batch_size: int = BATCH_SIZE,
                           stats: JobStats | None = None) -> JobStats:
    """For running cycles ending within the group's reminder window and not yet met, one
    `streakAtRisk` per customer and cycle."""
    stats = stats if stats is not None else JobStats()
    running = TargetPeriod.objects.select_related("group").filter(
        start_date__lte=now, end_date__gt=now, group__active=True,
        group__reminder_window__gt=timedelta(0),
    )
    for period in running:
        group = period.group
        if period.end_date - group.reminder_window > now:
            continue
        target = group.targets.filter(active=True).order_by("pk").first()
        if target is None:
            continue
        target_value = TargetValue.objects.filter(target=target, period=period).values("value")
        met = CycleProgress.objects.filter(enrolment=OuterRef("pk"), period=period,
                                           target=target, value__gte=Subquery(target_value))
        last = 0
        while True:
            batch = list(
                Enrolment.objects.filter(group=group, active=True, pk__gt=last)
                .exclude(Exists(met)).order_by("pk").values_list("pk", "customer_id")[:batch_size]
            )
            stats.rows += notifications_record(notifications=[
                Notification(program_id=group.program_id, customer_id=customer_id,
                             kind=Notification.Kind.STREAK_AT_RISK,
                             key=f"streakAtRisk:{pk}:{period.pk}", occurred_at=now,
                             payload={"targetGroupId": group.pk, "targetGroupName": group.name,
                                      "periodRefCode": period.ref_code,
                                      "endDate": period.end_date.isoformat()})
                for pk, customer_id in batch
            ])
            stats.batches += 1
            if len(batch) < batch_size:
                break
            last = batch[-1][0]
    return stats
