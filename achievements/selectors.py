"""Reads for achievement definitions and customer progress."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cached_property
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import TruncDate

from achievements import periods, streaks
from achievements.models import (
    Achievement,
    AchievementProgress,
    CycleProgress,
    Enrolment,
    StreakLevel,
    StreakLevelAchievement,
    Target,
    TargetGroup,
    TargetPeriod,
)
from loyalty.models import Campaign, Customer, Program

NOT_STARTED = "not_started"
# A customer's iterations, the current one first: the latest window (a late event may have
# opened an older window after the current one), then the newest spill of on_completion.
CURRENT_FIRST = ("-window_start", "-sequence")


def achievement_list(*, program: Program) -> QuerySet[Achievement]:
    """A program's achievements, each annotated with `has_progress`."""
    return (
        Achievement.objects.filter(campaign__program=program)
        .select_related("campaign__program", "created_by")
        .annotate(
            has_progress=Exists(AchievementProgress.objects.filter(achievement=OuterRef("pk")))
        )
    )


def achievement_has_progress(*, achievement: Achievement) -> bool:
    annotated = getattr(achievement, "has_progress", None)
    if annotated is not None:
        return annotated
    return AchievementProgress.objects.filter(achievement=achievement).exists()


def achievement_participant_count(*, achievement: Achievement) -> int:
    """Customers with any iteration of the achievement (one index range of
    achievement_progress_sequence_unique, which leads with the achievement and customer)."""
    return (AchievementProgress.objects.filter(achievement=achievement)
            .values("customer_id").distinct().count())


def achievement_time_zone(*, achievement: Achievement) -> ZoneInfo:
    return ZoneInfo(achievement.time_zone or achievement.campaign.program.time_zone)


def achievement_status(*, achievement: Achievement, now: datetime) -> str:
    """Definition-level status: `not_started` before a fixed start, `expired` after the end
    date, `inprogress` otherwise."""
    if achievement.fixed_start_date and now < achievement.fixed_start_date:
        return "not_started"
    if achievement.end_date and now >= achievement.end_date:
        return "expired"
    return "inprogress"


def achievement_is_locked(*, achievement: Achievement) -> bool:
    """Once the campaign runs or any customer has progress, only title and description change."""
    return achievement.campaign.state == "running" or achievement_has_progress(
        achievement=achievement
    )


def achievement_window_preview(*, achievement: Achievement, at: datetime) -> periods.Window | None:
    """The iteration a customer whose first contributing event happens at `at` would get."""
    return periods.iteration_window(
        activation_policy=achievement.activation_policy,
        recurring=achievement.recurrence_policy != Achievement.RecurrencePolicy.NO_RECURRENCE,
        spec=achievement.period_spec,
        tz=achievement_time_zone(achievement=achievement),
        at=at,
        fixed_start=achievement.fixed_start_date,
        end_date=achievement.end_date,
        end_override=achievement.end_override,
    )


@dataclass
class ProgramDefinitions:
    """A program's live definitions, as the hot path needs them: achievements of running
    campaigns, and active target groups with their targets (and values), periods and levels
    prefetched. Read-only: shared between requests of one process."""

    achievements: list[Achievement]
    groups: list[TargetGroup]

    @cached_property
    def by_event_type(self) -> dict[str | None, list[Achievement]]:
        """Achievements by the event types they list (None: those listing none)."""
        index: dict[str | None, list[Achievement]] = {}
        for achievement in self.achievements:
            for event_type in achievement.event_types or [None]:
                index.setdefault(event_type, []).append(achievement)
        return index


_definitions_cache: dict[int, tuple[tuple, ProgramDefinitions]] = {}


def program_definitions(*, program: Program) -> ProgramDefinitions:
    """The program's definitions from a per-process cache, keyed by the program's
    `definitions_version` (bumped whenever an achievement, campaign or target group of the
    program changes; see achievements.apps). The version comes with the program row the
    caller already has, so a warm cache costs no query, and an event's cost does not grow
    with the number of definitions."""
    key = (program.definitions_version, program.time_zone)
    cached = _definitions_cache.get(program.pk)
    if cached is not None and cached[0] == key:
        return cached[1]
    achievements = list(
        Achievement.objects.filter(campaign__program_id=program.pk,
                                   campaign__state=Campaign.State.RUNNING, enabled=True)
        .select_related("campaign__program", "classification")
        .order_by("pk")
    )
    groups = list(
        TargetGroup.objects.filter(program_id=program.pk, active=True)
        .select_related("program")
        .prefetch_related(
            Prefetch("targets", queryset=Target.objects.filter(active=True)
                     .select_related("classification").prefetch_related("values")
                     .order_by("pk")),
            Prefetch("periods", queryset=TargetPeriod.objects.order_by("position")),
            Prefetch("levels", queryset=StreakLevel.objects.select_related("classification")
                     .order_by("target_count_of_sequence")),
        )
        .order_by("pk")
    )
    definitions = ProgramDefinitions(achievements=achievements, groups=groups)
    _definitions_cache[program.pk] = (key, definitions)
    return definitions


def achievements_counting(*, program: Program, event_type: str,
                          at: datetime) -> list[Achievement]:
    """Achievements an event of `event_type` performed at `at` may count for: campaign running
    and inside its dates, the type listed (or no types listed). ACHIEVEMENT events count only
    where an achievement lists ACHIEVEMENT explicitly."""
    index = program_definitions(program=program).by_event_type
    candidates = index.get(event_type, [])
    if event_type != "ACHIEVEMENT":
        candidates = sorted([*candidates, *index.get(None, [])], key=lambda a: a.pk)
    return [
        a for a in candidates
        if (a.campaign.start_time is None or a.campaign.start_time <= at)
        and (a.campaign.end_time is None or at < a.campaign.end_time)
    ]


def progress_status_at(*, record: AchievementProgress, now: datetime) -> str:
    """The status of an iteration at `now`, whatever the scheduled jobs have stored yet."""
    if record.status == AchievementProgress.Status.COMPLETED:
        return record.status
    if record.end_date is not None and now >= record.end_date:
        return AchievementProgress.Status.EXPIRED
    return record.status


def _current_window_index(*, achievement: Achievement, now: datetime) -> int | None:
    window = achievement_window_preview(achievement=achievement, at=now)
    return window.index if window is not None else None


@dataclass(frozen=True)
class CustomerAchievement:
    """A customer's current standing in one achievement (Talon.One's
    AchievementProgressWithDefinition)."""

    achievement: Achievement
    record: AchievementProgress | None  # None: no current iteration
    status: str

    @property
    def progress(self) -> Decimal:
        return self.record.progress if self.record else Decimal(0)


def _current_standing(*, achievement: Achievement, latest: AchievementProgress | None,
                      now: datetime) -> CustomerAchievement:
    if latest is None:
        return CustomerAchievement(achievement, None, NOT_STARTED)
    status = progress_status_at(record=latest, now=now)
    recurring = achievement.recurrence_policy != Achievement.RecurrencePolicy.NO_RECURRENCE
    if recurring:
        window_over = latest.end_date is not None and now >= latest.end_date
        fresh_available = (
            status == AchievementProgress.Status.EXPIRED
            or (status == AchievementProgress.Status.COMPLETED and window_over)
            or (status == AchievementProgress.Status.COMPLETED and achievement.recurrence_policy
                == Achievement.RecurrencePolicy.ON_COMPLETION)
        )
        if (
            not fresh_available
            and achievement.activation_policy == Achievement.ActivationPolicy.FIXED_SCHEDULE
        ):
            fresh_available = _current_window_index(
                achievement=achievement, now=now
            ) != latest.window_index
        if fresh_available:
            return CustomerAchievement(achievement, None, NOT_STARTED)
    return CustomerAchievement(achievement, latest, status)


def customer_achievement_list(
    *,
    customer: Customer,
    now: datetime,
    campaign_ids: Iterable[int] | None = None,
    statuses: Iterable[str] | None = None,
) -> list[CustomerAchievement]:
    """One entry per achievement of the customer's program in a running campaign, with the
    status right for `now`. The definitions come from the per-process cache; the customer's
    current iterations take one query (DISTINCT ON on PostgreSQL)."""
    standings, _ = _standings(program=customer.program,
                              rows=AchievementProgress.objects.filter(customer=customer),
                              now=now, campaign_ids=campaign_ids, statuses=statuses)
    return standings


def customer_achievement_list_by_integration_id(
    *,
    program: Program,
    integration_id: str,
    now: datetime,
    campaign_ids: Iterable[int] | None = None,
    statuses: Iterable[str] | None = None,
) -> list[CustomerAchievement] | None:
    """customer_achievement_list for the API, which names the customer by integration id:
    the iterations are found through the customer's unique key in the same query, and the
    customer is looked up on its own only when it has none (None: there is no such
    customer)."""
    standings, started = _standings(
        program=program,
        rows=AchievementProgress.objects.filter(customer__program_id=program.pk,
                                                customer__integration_id=integration_id),
        now=now, campaign_ids=campaign_ids, statuses=statuses,
    )
    if started or Customer.objects.filter(
            program=program, integration_id=integration_id).exists():
        return standings
    return None


def _standings(*, program: Program, rows, now: datetime, campaign_ids: Iterable[int] | None,
               statuses: Iterable[str] | None) -> tuple[list[CustomerAchievement], bool]:
    """The standings, and whether the customer had any iteration at all."""
    achievements = sorted(program_definitions(program=program).achievements,
                          key=lambda a: (a.campaign_id, a.pk))
    if campaign_ids:
        wanted_campaigns = set(campaign_ids)
        achievements = [a for a in achievements if a.campaign_id in wanted_campaigns]
    # Every achievement's latest iteration: those of achievements not listed (campaign not
    # running, filtered out) are few and dropped below, cheaper than listing 100 ids.
    rows = rows.order_by("achievement_id", *CURRENT_FIRST)
    if connection.features.can_distinct_on_fields:
        rows = rows.distinct("achievement_id")
    records: dict[int, AchievementProgress] = {}
    for row in rows:
        records.setdefault(row.achievement_id, row)
    standings = [_current_standing(achievement=a, latest=records.get(a.pk), now=now)
                 for a in achievements]
    if statuses:
        wanted = set(statuses)
        standings = [s for s in standings if s.status in wanted]
    return standings, bool(records)


def customer_achievement_history(*, customer: Customer, achievement: Achievement,
                                 statuses: Iterable[str] | None = None,
                                 now: datetime) -> list[tuple[AchievementProgress, str]]:
    """Every iteration of the customer in the achievement, latest window first, with its
    status."""
    records = AchievementProgress.objects.filter(
        customer=customer, achievement=achievement
    ).order_by(*CURRENT_FIRST)
    rows = [(r, progress_status_at(record=r, now=now)) for r in records]
    if statuses:
        wanted = set(statuses)
        rows = [row for row in rows if row[1] in wanted]
    return rows


def achievement_progress_list(*, achievement: Achievement, now: datetime,
                              status: str | None = None) -> QuerySet[AchievementProgress]:
    """Every customer's current (latest) iteration, annotated with `current_status` for `now`."""
    latest_id = (
        AchievementProgress.objects.filter(achievement=OuterRef("achievement"),
                                           customer=OuterRef("customer"))
        .order_by(*CURRENT_FIRST)
        .values("pk")[:1]
    )
    expired = Q(status=AchievementProgress.Status.EXPIRED) | Q(
        status=AchievementProgress.Status.INPROGRESS, end_date__lte=now
    )
    qs = (
        AchievementProgress.objects.filter(achievement=achievement, pk=Subquery(latest_id))
        .select_related("customer")
        .annotate(current_status=Case(
            When(status=AchievementProgress.Status.COMPLETED, then=F("status")),
            When(expired, then=Value(AchievementProgress.Status.EXPIRED)),
            default=F("status"),
        ))
        .order_by("customer_id")
    )
    if status:
        qs = qs.filter(current_status=status)
    return qs


# Streak targets
# ------------------------------------------------------------------------------
def target_group_list(*, program: Program) -> QuerySet[TargetGroup]:
    return (
        TargetGroup.objects.filter(program=program)
        .select_related("program")
        .prefetch_related(
            Prefetch("periods", queryset=TargetPeriod.objects.order_by("position")),
            Prefetch("targets", queryset=Target.objects.order_by("pk").prefetch_related(
                "values")),
            Prefetch("levels", queryset=StreakLevel.objects.order_by("target_count_of_sequence")),
        )
        .order_by("name")
    )


def period_status(*, start: datetime, end: datetime, now: datetime) -> str:
    """Capillary's periodStatus, from the clock."""
    if now < start:
        return "UPCOMING"
    return "RUNNING" if now < end else "ENDED"


@dataclass(frozen=True)
class CustomerStreak:
    """A customer's standing in one target group: counts, levels and the cycle ledger."""

    enrolment: Enrolment
    current_count: int
    longest_count: int
    levels: list[dict]
    cycles: list


@dataclass(frozen=True)
class CycleRow:
    """One line of a customer's cycle ledger."""

    period: TargetPeriod
    value: Decimal
    target: Decimal
    state: str
    cycle: CycleProgress | None
    counted: bool  # inside the current enrolment epoch


def cycle_ledger(*, enrolment: Enrolment, now: datetime,
                 group: TargetGroup | None = None) -> list[CycleRow]:
    """Every period of the group with the customer's value, target and state at `now`.

    Pass `group` with its targets (and their values) and periods prefetched, as
    `program_definitions` has them, to spend one query (the customer's cycles)."""
    if group is None:
        group = (
            TargetGroup.objects.prefetch_related(
                Prefetch("targets", queryset=Target.objects.filter(active=True)
                         .prefetch_related("values").order_by("pk")),
                Prefetch("periods", queryset=TargetPeriod.objects.order_by("position")),
            ).get(pk=enrolment.group_id)
        )
    target = next(iter(group.targets.all()), None)
    if target is None:
        return []
    values = {v.period_id: v.value for v in target.values.all()}
    cycles = CycleProgress.objects.filter(enrolment=enrolment, target=target)
    by_period = {c.period_id: c for c in cycles}
    rows = []
    for period in group.periods.all():
        cycle = by_period.get(period.pk)
        value = cycle.value if cycle else Decimal(0)
        target_value = values.get(period.pk, Decimal(0))
        rows.append(CycleRow(
            period=period, value=value, target=target_value, cycle=cycle,
            state=streaks.cycle_state(value=value, target=target_value or Decimal(1),
                                      start=period.start_date, end=period.end_date,
                                      grace=group.grace_period, now=now),
            counted=period.start_date >= enrolment.counting_from,
        ))
    return rows


def customer_streak_list(*, customer: Customer, now: datetime,
                         group_id: int | None = None) -> list[CustomerStreak]:
    """Every target group the customer is enrolled in, computed for `now` (the same
    arithmetic the services and jobs use, so reads never wait for a job)."""
    enrolments = Enrolment.objects.filter(customer=customer).select_related("group__program")
    if group_id is not None:
        enrolments = enrolments.filter(group_id=group_id)
    result = []
    for enrolment in enrolments.order_by("group__name"):
        group = enrolment.group
        rows = cycle_ledger(enrolment=enrolment, now=now)
        group = enrolment.group
        counted = [row.state for row in rows if row.counted]
        count = streaks.streak_count(tracking_type=group.tracking_type, states=counted)
        longest = streaks.streak_count(tracking_type=group.tracking_type,
                                       states=[row.state for row in rows]).longest
        reached = {
            a.level_id: a for a in StreakLevelAchievement.objects.filter(
                enrolment=enrolment, epoch=enrolment.epoch, revoked_at__isnull=True)
        }
        levels = [
            {"name": level.name, "target_count_of_sequence": level.target_count_of_sequence,
             "status": "ACHIEVED" if level.pk in reached else "INPROGRESS",
             "achieved_at": reached[level.pk].achieved_at if level.pk in reached else None}
            for level in group.levels.order_by("target_count_of_sequence")
        ]
        result.append(CustomerStreak(enrolment=enrolment, current_count=count.current,
                                     longest_count=max(longest, count.current),
                                     levels=levels, cycles=rows))
    return result


# Dashboard and definition figures
# ------------------------------------------------------------------------------
# Bounded reads: each is a range of one index (named in its docstring) and touches the
# rows of one program's definitions only, never a full scan of the progress tables.
@dataclass(frozen=True)
class AchievementFunnel:
    """One achievement's customers and iterations: `started` customers (any iteration),
    iterations `in_progress`, `completed` and `expired` as of `now` (a stored in-progress
    iteration whose end has passed counts as expired, whatever the jobs have done yet)."""

    achievement_id: int
    title: str
    started: int
    in_progress: int
    completed: int
    expired: int


def _stale_in_progress(*, achievement_ids: list[int], now: datetime) -> dict[int, int]:
    """In-progress iterations whose end has passed, per achievement: read through the
    partial index achievement_progress_open_end (status = inprogress, by end_date), which
    holds only what the expiry job has not closed yet."""
    return dict(
        AchievementProgress.objects.filter(achievement_id__in=achievement_ids,
                                           status=AchievementProgress.Status.INPROGRESS,
                                           end_date__lte=now)
        .order_by().values("achievement_id").annotate(n=Count("*"))
        .values_list("achievement_id", "n")
    )


def achievement_funnels(*, program: Program, now: datetime,
                        achievement_ids: list[int] | None = None) -> list[AchievementFunnel]:
    """The completion funnel of each of a program's achievements (or of those ids).

    Status counts come index-only from achievement_progress_by_status (achievement, status);
    started customers from achievement_progress_sequence_unique (achievement, customer,
    sequence); the stale in-progress correction from the partial open-end index."""
    achievements = Achievement.objects.filter(campaign__program=program).order_by("pk")
    if achievement_ids is not None:
        achievements = achievements.filter(pk__in=achievement_ids)
    titles = dict(achievements.values_list("pk", "title"))
    ids = list(titles)
    by_status: dict[tuple[int, str], int] = {
        (a, s): n for a, s, n in
        AchievementProgress.objects.filter(achievement_id__in=ids).order_by()
        .values("achievement_id", "status").annotate(n=Count("*"))
        .values_list("achievement_id", "status", "n")
    }
    started = dict(
        AchievementProgress.objects.filter(achievement_id__in=ids).order_by()
        .values("achievement_id").annotate(n=Count("customer_id", distinct=True))
        .values_list("achievement_id", "n")
    )
    stale = _stale_in_progress(achievement_ids=ids, now=now)
    status = AchievementProgress.Status
    return [
        AchievementFunnel(
            achievement_id=pk, title=titles[pk], started=started.get(pk, 0),
            in_progress=by_status.get((pk, status.INPROGRESS), 0) - stale.get(pk, 0),
            completed=by_status.get((pk, status.COMPLETED), 0),
            expired=by_status.get((pk, status.EXPIRED), 0) + stale.get(pk, 0),
        )
        for pk in ids
    ]


def completion_counts_by_day(*, program: Program, start: datetime, end: datetime,
                             tz: ZoneInfo,
                             achievement_ids: list[int] | None = None) -> dict[date, int]:
    """Iterations completed per local day of [start, end), by their completion date: one
    range per achievement of the partial index achievement_progress_completed
    (achievement, completion_date) INCLUDE (status), index-only."""
    if achievement_ids is None:
        achievement_ids = list(Achievement.objects.filter(campaign__program=program)
                               .values_list("pk", flat=True))
    rows = (AchievementProgress.objects.filter(
        achievement_id__in=achievement_ids, completion_date__gte=start,
        completion_date__lt=end, status=AchievementProgress.Status.COMPLETED)
        .order_by().annotate(day=TruncDate("completion_date", tzinfo=tz))
        .values("day").annotate(n=Count("*")).values_list("day", "n"))
    return dict(rows)


def completion_count(*, program: Program, start: datetime, end: datetime) -> int:
    return sum(completion_counts_by_day(program=program, start=start, end=end,
                                        tz=ZoneInfo("UTC")).values())


@dataclass(frozen=True)
class AchievementStats:
    participants: int
    in_progress: int
    completed: int
    expired: int
    completers: int
    completion_rate: float | None  # completers / participants
    median_time_to_complete: timedelta | None


def achievement_stats(*, achievement: Achievement, now: datetime) -> AchievementStats:
    """An achievement's numbers for its admin page. The funnel as in `achievement_funnels`;
    completers (customers with a completed iteration) and the median time from an
    iteration's first progress to its completion read only the completed iterations, through
    achievement_progress_by_status (achievement, status)."""
    funnel = achievement_funnels(program=achievement.campaign.program, now=now,
                                 achievement_ids=[achievement.pk])[0]
    completed = AchievementProgress.objects.filter(
        achievement=achievement, status=AchievementProgress.Status.COMPLETED,
        completion_date__isnull=False)
    completers = completed.values("customer_id").distinct().count()
    median = None
    if funnel.completed:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY "
                "EXTRACT(EPOCH FROM completion_date - start_date)) "
                f"FROM {AchievementProgress._meta.db_table} WHERE achievement_id = %s "
                "AND status = %s AND completion_date IS NOT NULL",
                [achievement.pk, AchievementProgress.Status.COMPLETED],
            )
            seconds = cursor.fetchone()[0]
        median = timedelta(seconds=float(seconds)) if seconds is not None else None
    rate = completers / funnel.started if funnel.started else None
    return AchievementStats(
        participants=funnel.started, in_progress=funnel.in_progress,
        completed=funnel.completed, expired=funnel.expired, completers=completers,
        completion_rate=rate, median_time_to_complete=median,
    )


# Streaks
def _streak_groups(program: Program) -> QuerySet[TargetGroup]:
    return TargetGroup.objects.filter(program=program, tracking_type__in=TargetGroup.STREAK_TYPES)


def running_streak_count(*, program: Program) -> int:
    """Customers (active enrolments) whose current streak is at least one cycle, over the
    program's streak groups: a range of enrolment_streak_lengths (group, active,
    current_count, longest_count) per group, index-only."""
    return Enrolment.objects.filter(group__in=_streak_groups(program), active=True,
                                    current_count__gte=1).count()


def streak_enrolled_count(*, program: Program) -> int:
    return Enrolment.objects.filter(group__in=_streak_groups(program), active=True).count()


@dataclass(frozen=True)
class StreakDistribution:
    group_id: int
    name: str
    enrolled: int
    current: dict[int, int]  # streak length -> customers
    longest: dict[int, int]


def streak_distributions(*, program: Program,
                         group_ids: list[int] | None = None) -> list[StreakDistribution]:
    """How many active enrolments have each current and longest streak length, per streak
    group: two GROUP BYs over enrolment_streak_lengths (group, active, current_count,
    longest_count), index-only; bounded by the group's enrolments, not by events."""
    groups = _streak_groups(program).order_by("name")
    if group_ids is not None:
        groups = TargetGroup.objects.filter(program=program, pk__in=group_ids).order_by("name")
    names = dict(groups.values_list("pk", "name"))
    active = Enrolment.objects.filter(group_id__in=list(names), active=True).order_by()
    current: dict[int, dict[int, int]] = {pk: {} for pk in names}
    longest: dict[int, dict[int, int]] = {pk: {} for pk in names}
    for group_id, length, n in (active.values("group_id", "current_count")
                                .annotate(n=Count("*"))
                                .values_list("group_id", "current_count", "n")):
        current[group_id][length] = n
    for group_id, length, n in (active.values("group_id", "longest_count")
                                .annotate(n=Count("*"))
                                .values_list("group_id", "longest_count", "n")):
        longest[group_id][length] = n
    return [
        StreakDistribution(group_id=pk, name=names[pk], enrolled=sum(current[pk].values()),
                           current=dict(sorted(current[pk].items())),
                           longest=dict(sorted(longest[pk].items())))
        for pk in names
    ]


def level_reached_counts(*, group: TargetGroup) -> list[tuple[StreakLevel, int]]:
    """Each level of the group with how many times it was reached (not revoked): one GROUP BY
    over the level_id index of the levels reached."""
    counts = dict(StreakLevelAchievement.objects.filter(level__group=group,
                                                        revoked_at__isnull=True)
                  .order_by().values("level_id").annotate(n=Count("*"))
                  .values_list("level_id", "n"))
    return [(level, counts.get(level.pk, 0))
            for level in group.levels.order_by("target_count_of_sequence")]


@dataclass(frozen=True)
class CycleShare:
    period: TargetPeriod
    state: str  # ENDED, RUNNING or UPCOMING (period_status)
    enrolled: int  # customers enrolled during the cycle
    met: int

    @property
    def missed(self) -> int:
        return max(self.enrolled - self.met, 0) if self.state == "ENDED" else 0

    @property
    def met_share(self) -> float | None:
        return self.met / self.enrolled if self.enrolled else None


def cycle_shares(*, group: TargetGroup, now: datetime) -> list[CycleShare]:
    """Per cycle of the group: customers enrolled while it ran, how many met it (a met
    cycle of any of the group's targets), and so the missed share of closed cycles. Two
    GROUP BYs: cycles met through the period_id index of the cycle rows, enrolments
    overlapping each period through the unique (group, customer) index; bounded by the
    group's at most 100 periods and its enrolments, never by events."""
    periods_ = list(group.periods.order_by("position"))
    met = dict(CycleProgress.objects.filter(period__in=periods_, met_at__isnull=False)
               .order_by().values("period_id")
               .annotate(n=Count("enrolment_id", distinct=True))
               .values_list("period_id", "n"))
    enrolled = dict(
        TargetPeriod.objects.filter(pk__in=[p.pk for p in periods_]).order_by()
        .annotate(n=Count("group__enrolments", filter=(
            Q(group__enrolments__enrolled_at__lt=F("end_date"))
            & (Q(group__enrolments__unenrolled_at__isnull=True)
               | Q(group__enrolments__unenrolled_at__gt=F("start_date"))))))
        .values_list("pk", "n")
    )
    return [
        CycleShare(period=p, state=period_status(start=p.start_date, end=p.end_date, now=now),
                   enrolled=enrolled.get(p.pk, 0), met=met.get(p.pk, 0))
        for p in periods_
    ]
