"""Generate the benchmark data in `laurel_bench` (migrated, empty): seeded and fast.

Definitions (achievements, streak target groups, reward offers, API keys) go through Laurel's
services, as an integrator's would; bulk rows (customers, progress rows and the filler
definitions of the scaling programs) are written with COPY or bulk_create. Every random
choice comes from `random.Random(BENCH_SEED)`; dates are relative to the moment of the run
(events must be "now"), so two runs differ only in their timestamps.

    python -m bench.datagen            # writes bench/results/fixtures.json
    python -m bench.datagen rollover 1000000 --fixture rollover_1m
"""

import argparse
import io
import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from psycopg.copy import QueuedLibpqWriter

from bench.common import FIXTURES, SEED, load_json, setup_django, write_json

TZ = "Europe/Amsterdam"
CUSTOMERS = 10_000
FILLERS = {"scale_10": 0, "scale_100": 90, "scale_1000": 990}
READ_ACHIEVEMENTS = 100
READ_ITERATIONS_PER_CUSTOMER = 20
PRODUCTS = ["COFFEE", "TEA", "CAKE", "SANDWICH", "JUICE"]


def _copy(table: str, columns: list[str], lines: io.StringIO | list[str]) -> None:
    """COPY text-format rows (tab-separated, \\N for NULL) into a table."""
    from django.db import connection

    connection.ensure_connection()
    data = lines.getvalue() if isinstance(lines, io.StringIO) else "".join(lines)
    with connection.connection.cursor() as cursor:
        # The rows are generated consistent, so skip the per-row foreign-key triggers (the
        # benchmark connects as a superuser) and do not wait for WAL flushes.
        cursor.execute("SET session_replication_role = replica")
        cursor.execute("SET synchronous_commit = off")
        try:
            # A queued writer sends in a thread, so PostgreSQL works while Python formats.
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN",
                             writer=QueuedLibpqWriter(cursor)) as copy:
                chunk = 8 * 1024 * 1024
                for start in range(0, len(data), chunk):
                    copy.write(data[start:start + chunk])
        finally:
            cursor.execute("RESET session_replication_role")
            cursor.execute("RESET synchronous_commit")


def _ts(value: datetime | None) -> str:
    return r"\N" if value is None else value.astimezone(UTC).isoformat(sep=" ")


def _epoch(seconds: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime(seconds))


def customers_copy(*, program_id: int, count: int, rng: random.Random, now: datetime) -> None:
    tiers = ["bronze", "silver", "gold"]
    buf = io.StringIO()
    created = _ts(now)
    for i in range(count):
        attributes = json.dumps({"tier": rng.choice(tiers), "age": rng.randint(18, 80)})
        buf.write(f"{program_id}\tc{i:05d}\tCustomer {i}\t{attributes}\t{created}\n")
    _copy("loyalty_customer", ["program_id", "integration_id", "name", "attributes",
                               "created_at"], buf)


def program_make(*, name: str, now: datetime, rng: random.Random,
                 customers: int = CUSTOMERS) -> dict:
    """A program (Europe/Amsterdam, PTS), a running campaign, an integration key and
    `customers` customers c00000 .. c{n-1}."""
    from loyalty.models import ApiKey
    from loyalty.services import api_key_create, campaign_create, program_create

    program = program_create(name=name, time_zone=TZ)
    campaign = campaign_create(program=program, name=f"{name} campaign", state="running")
    _, raw_key = api_key_create(name=f"{name} bench key", scope=ApiKey.Scope.INTEGRATION,
                                program=program)
    customers_copy(program_id=program.pk, count=customers, rng=rng, now=now)
    return {"program": program, "campaign": campaign, "key": raw_key, "customers": customers}


def _local_midnight(at: datetime, tz: ZoneInfo) -> datetime:
    local = at.astimezone(tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def ingest_specs(*, now: datetime) -> list[dict]:
    """The 10 achievements every benchmark event matches: one-time, on_expiration with
    user_action and fixed_schedule (1M), on_completion and capped ones."""
    from achievements.models import Achievement

    policy = Achievement.RecurrencePolicy
    tz = ZoneInfo(TZ)
    local = now.astimezone(tz)
    year, month = (local.year, local.month - 6) if local.month > 6 else (
        local.year - 1, local.month + 6)
    months_ago = datetime(year, month, 1, tzinfo=tz)
    return [
        dict(name="FirstPurchase", title="First purchase", target=1,
             event_types=["PURCHASE"]),
        dict(name="Spend500Ever", title="Spend 500 in total", target=500,
             event_types=["PURCHASE"], progress_increment="event.amount"),
        dict(name="FivePurchases30D", title="Five purchases in 30 days", target=5,
             period="30D", recurrence_policy=policy.ON_EXPIRATION, event_types=["PURCHASE"]),
        dict(name="WeeklySpend100", title="Spend 100 a week", target=100, period="1W_U",
             recurrence_policy=policy.ON_EXPIRATION, event_types=["PURCHASE"],
             progress_condition="event.amount >= 1.0", progress_increment="event.amount"),
        dict(name="MonthlySpend200", title="Spend 200 every calendar month", target=200,
             period="1M", recurrence_policy=policy.ON_EXPIRATION,
             activation_policy="fixed_schedule", fixed_start_date=months_ago,
             event_types=["PURCHASE"], progress_increment="event.amount",
             is_capped_by_target=True),
        dict(name="MonthlyThreeVisits", title="Three visits every calendar month", target=3,
             period="1M", recurrence_policy=policy.ON_EXPIRATION,
             activation_policy="fixed_schedule", fixed_start_date=months_ago, event_types=[]),
        dict(name="EveryThirdPurchase", title="Every third purchase", target=3,
             recurrence_policy=policy.ON_COMPLETION, event_types=["PURCHASE"]),
        dict(name="EveryFiftySpent", title="Every 50 spent this year", target=50,
             period="1Y", recurrence_policy=policy.ON_COMPLETION, event_types=["PURCHASE"],
             progress_increment="event.amount"),
        dict(name="CappedSpend100", title="Spend 100 (capped)", target=100,
             event_types=["PURCHASE"], progress_increment="event.amount",
             is_capped_by_target=True),
        dict(name="WeeklyTenCapped", title="Ten purchases in 7 days (capped)", target=10,
             period="7D", recurrence_policy=policy.ON_EXPIRATION, event_types=["PURCHASE"],
             progress_condition='has(event.product) && event.product != ""',
             is_capped_by_target=True),
    ]


def definitions_make(*, setup: dict, now: datetime, streaks: bool = True,
                     offers: bool = True, copies: int = 1) -> list:
    """The ingest definitions (x `copies`, renamed), the two streak groups and two offers."""
    from achievements.services import achievement_create, target_group_create
    from loyalty.models import Currency
    from loyalty.services import reward_offer_create

    program, campaign = setup["program"], setup["campaign"]
    achievements = []
    for k in range(copies):
        for spec in ingest_specs(now=now):
            spec = dict(spec)
            name, title = spec.pop("name"), spec.pop("title")
            if copies > 1:
                name, title = f"{name}{k:02d}", f"{title} #{k}"
            achievements.append(achievement_create(campaign=campaign, name=name, title=title,
                                                   **spec))
    if streaks:
        tz = ZoneInfo(TZ)
        midnight = _local_midnight(now, tz)
        monday = midnight - timedelta(days=midnight.weekday())
        target_group_create(
            program=program, name="Weekly spend streak", tracking_type="STREAKS",
            frequency_type="WEEKLY", recurring_cycles=52,
            start_date=(monday - timedelta(weeks=4)).replace(tzinfo=tz),
            grace_period=timedelta(hours=6), reminder_window=timedelta(days=1),
            targets=[{"name": "Spend 50 a week", "target_entity": "TRANSACTION",
                      "target_type": "SALES", "event_name": "PURCHASE",
                      "default_values": [Decimal(50)] * 52}],
            streaks=[{"name": "Two weeks", "target_count_of_sequence": 2},
                     {"name": "Four weeks", "target_count_of_sequence": 4},
                     {"name": "Eight weeks", "target_count_of_sequence": 8}],
        )
        target_group_create(
            program=program, name="Daily purchase streak", tracking_type="STREAKS",
            frequency_type="DAILY", recurring_cycles=100,
            start_date=(midnight - timedelta(days=30)).replace(tzinfo=tz),
            targets=[{"name": "A purchase a day", "target_entity": "TRANSACTION",
                      "target_type": "COUNT", "event_name": "PURCHASE",
                      "default_values": [Decimal(1)] * 100}],
            streaks=[{"name": "Three days", "target_count_of_sequence": 3},
                     {"name": "A week", "target_count_of_sequence": 7},
                     {"name": "Two weeks", "target_count_of_sequence": 14}],
        )
    if offers:
        points = Currency.objects.get(program=program, kind=Currency.Kind.POINTS)
        by_name = {a.name: a for a in achievements}
        reward_offer_create(program=program, classifications=[by_name["FirstPurchase"]
                                                               .classification],
                            name="Welcome bonus", code="WELCOME", award_type="FIXED",
                            award_value=Decimal(100), currency=points,
                            number_of_awards="ONLY_ONE")
        reward_offer_create(program=program, classifications=[by_name["EveryThirdPurchase"]
                                                               .classification],
                            name="Every third purchase", code="THIRD", award_type="FIXED",
                            award_value=Decimal(10), currency=points,
                            number_of_awards="MULTIPLE")
    return achievements


def fillers_make(*, campaign, count: int, prefix: str = "Filler") -> None:
    """`count` definitions no benchmark event matches: even ones count only CUSTOM events,
    odd ones PURCHASE events with a condition that is false (a distinct CEL source each).
    bulk_create, after validating one of each kind as the services would."""
    from achievements.models import Achievement
    from loyalty.models import Classification

    if not count:
        return
    program = campaign.program

    def spec(i: int) -> dict:
        base = dict(target=Decimal(10), period="30D",
                    recurrence_policy=Achievement.RecurrencePolicy.ON_EXPIRATION)
        if i % 2 == 0:
            return base | dict(event_types=["CUSTOM"])
        return base | dict(event_types=["PURCHASE"],
                           progress_condition=f"event.amount > {100000 + i}.0")

    for i in (0, 1):
        Achievement(campaign=campaign, name=f"{prefix}{i:04d}", title=f"{prefix} {i}",
                    **spec(i)).full_clean(validate_unique=False, validate_constraints=False)
    classifications = Classification.objects.bulk_create([
        Classification(program=program, code=f"ACHIEVEMENT:{campaign.pk}:{prefix}{i:04d}",
                       name=f"Achievement: {prefix} {i}", event_type="ACHIEVEMENT")
        for i in range(count)
    ])
    Achievement.objects.bulk_create([
        Achievement(campaign=campaign, name=f"{prefix}{i:04d}", title=f"{prefix} {i}",
                    classification=classification, **spec(i))
        for i, classification in enumerate(classifications)
    ], batch_size=500)


def read_progress_copy(*, setup: dict, achievements: list, rng: random.Random,
                       now: datetime) -> int:
    """Progress rows for the read program: each customer has 20 of the 100 achievements, the
    recurring ones often with an earlier (expired or completed) iteration."""
    from achievements.models import Achievement, AchievementProgress
    from achievements.selectors import achievement_window_preview
    from loyalty.models import Customer

    customer_ids = list(Customer.objects.filter(program=setup["program"])
                        .order_by("integration_id").values_list("pk", flat=True))
    # Per achievement: its current window (as of two days ago) and the one before, as text.
    shapes = []
    for a in achievements:
        w = achievement_window_preview(achievement=a, at=now - timedelta(days=2))
        if w is None:
            continue
        recurring = a.recurrence_policy != Achievement.RecurrencePolicy.NO_RECURRENCE
        previous = None
        if recurring and w.end is not None:
            length = w.end - w.start
            previous = (_ts(w.start - length), _ts(w.start), _ts(w.start - length / 2),
                        str(max(w.index - 1, 0)))
        shapes.append((str(a.pk), a.target, _ts(w.start), _ts(w.end),
                       _ts(w.start + timedelta(hours=1)), str(w.index), previous))
    buf = io.StringIO()
    rows = 0
    stamp = _ts(now)
    for customer in customer_ids:
        customer_id = str(customer)
        for pk, target, start, end, done_at, index, previous in rng.sample(
            shapes, READ_ITERATIONS_PER_CUSTOMER
        ):
            sequence = "1"
            if previous is not None and rng.random() < 0.5:
                prev_start, prev_end, prev_done, prev_index = previous
                completed = rng.random() < 0.4
                progress = target if completed else target * rng.randint(1, 9) / 10
                buf.write(f"{pk}\t{customer_id}\t1\t"
                          f"{'completed' if completed else 'expired'}\t{progress}\t"
                          f"{prev_start}\t{prev_start}\t{prev_end}\t"
                          f"{prev_done if completed else NULL}\t{prev_index}\t{stamp}\t"
                          f"{stamp}\n")
                rows += 1
                sequence = "2"
            completed = rng.random() < 0.3
            progress = target if completed else target * rng.randint(1, 9) / 10
            buf.write(f"{pk}\t{customer_id}\t{sequence}\t"
                      f"{'completed' if completed else 'inprogress'}\t{progress}\t{start}\t"
                      f"{start}\t{end}\t{done_at if completed else NULL}\t{index}\t{stamp}\t"
                      f"{stamp}\n")
            rows += 1
    _copy(AchievementProgress._meta.db_table, PROGRESS_COLUMNS, buf)
    return rows


NULL = r"\N"
PROGRESS_COLUMNS = ["achievement_id", "customer_id", "sequence", "status", "progress",
                    "window_start", "start_date", "end_date", "completion_date", "window_index",
                    "created_at", "updated_at"]


def rollover_make(*, rows: int, name: str, now: datetime, seed: int) -> dict:
    """A program whose customers x achievements give `rows` due iterations (inprogress, end
    between 10 and 5 days ago), written with COPY."""
    from achievements.models import Achievement, AchievementProgress
    from loyalty.models import Customer

    rng = random.Random(seed)
    customers = min(CUSTOMERS, rows)
    n_achievements = -(-rows // customers)
    setup = program_make(name=name, now=now, rng=rng, customers=customers)
    fillers_make(campaign=setup["campaign"], count=n_achievements, prefix="Rollover")
    achievement_ids = list(Achievement.objects.filter(campaign=setup["campaign"])
                           .order_by("pk").values_list("pk", flat=True))
    customer_ids = list(Customer.objects.filter(program=setup["program"])
                        .order_by("pk").values_list("pk", flat=True))
    stamp = _ts(now)
    base = int((now - timedelta(days=40)).timestamp())
    # Window starts are drawn from 2**16 random instants in a 5-day band (formatting a
    # timestamp per row would cost more than PostgreSQL's insert).
    starts = [base + rng.randint(0, 5 * 86400) for _ in range(1 << 16)]
    windows = [f"{_epoch(s)}\t{_epoch(s)}\t{_epoch(s + 30 * 86400)}" for s in starts]
    tail = f"\t{NULL}\t0\t{stamp}\t{stamp}\n"
    lines = []
    written = 0
    started = time.monotonic()
    getrandbits = rng.getrandbits
    for achievement_id in achievement_ids:
        prefix = f"{achievement_id}\t"
        for customer_id in customer_ids:
            if written == rows:
                break
            lines.append(f"{prefix}{customer_id}\t1\tinprogress\t{getrandbits(3)}\t"
                         f"{windows[getrandbits(16)]}{tail}")
            written += 1
        if len(lines) >= 200_000:
            _copy(AchievementProgress._meta.db_table, PROGRESS_COLUMNS, lines)
            lines = []
    if lines:
        _copy(AchievementProgress._meta.db_table, PROGRESS_COLUMNS, lines)
    return {"program_id": setup["program"].pk, "rows": written,
            "achievements": len(achievement_ids), "customers": len(customer_ids),
            "copy_seconds": round(time.monotonic() - started, 2)}


def generate_all(now: datetime) -> dict:
    from django.db import connection

    from bench.baseline import BENCH_EVENT_DDL

    rng = random.Random(SEED)
    fixtures: dict = {"seed": SEED, "generated_at": now.isoformat(), "programs": {}}
    timings = {}

    def record(key: str, setup: dict, **extra) -> None:
        fixtures["programs"][key] = {"id": setup["program"].pk, "key": setup["key"],
                                     "customers": setup["customers"], **extra}

    started = time.monotonic()
    for key, name in (("ingest", "Bench ingest"), ("bulk", "Bench bulk")):
        setup = program_make(name=name, now=now, rng=rng)
        definitions_make(setup=setup, now=now)
        record(key, setup, achievements=10, target_groups=2)
    timings["ingest_and_bulk_programs"] = round(time.monotonic() - started, 2)

    started = time.monotonic()
    setup = program_make(name="Bench read", now=now, rng=rng)
    achievements = definitions_make(setup=setup, now=now, streaks=False, offers=False,
                                    copies=READ_ACHIEVEMENTS // 10)
    progress_rows = read_progress_copy(setup=setup, achievements=achievements, rng=rng, now=now)
    record("read", setup, achievements=len(achievements), progress_rows=progress_rows)
    timings["read_program"] = round(time.monotonic() - started, 2)

    started = time.monotonic()
    for key, fillers in FILLERS.items():
        setup = program_make(name=f"Bench {key}", now=now, rng=rng)
        definitions_make(setup=setup, now=now)
        fillers_make(campaign=setup["campaign"], count=fillers)
        record(key, setup, achievements=10 + fillers, matching=10, target_groups=2)
    timings["scaling_programs"] = round(time.monotonic() - started, 2)

    with connection.cursor() as cursor:
        cursor.execute(BENCH_EVENT_DDL)
        cursor.execute("ANALYZE")
    fixtures["timings_s"] = timings
    return fixtures


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", nargs="?", default="all", choices=["all", "rollover"])
    parser.add_argument("rows", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--fixture", default="rollover")
    args = parser.parse_args(argv)
    setup_django()
    from django.utils import timezone

    now = timezone.now()
    if args.what == "all":
        fixtures = generate_all(now)
    else:
        fixtures = load_json(FIXTURES)
        fixtures.setdefault("rollover", {})[args.fixture] = rollover_make(
            rows=args.rows, name=f"Bench {args.fixture} {now:%H%M%S}", now=now,
            seed=SEED + args.rows)
    write_json(FIXTURES, fixtures)


if __name__ == "__main__":
    main(sys.argv[1:])
