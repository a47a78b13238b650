"""Simulation at size: 100,000 customers and 1,000,000 events, one achievement simulated over
them, next to a bare baseline in the same run (streaming the same rows with a plain
server-side cursor, the floor of any simulation that reads them).

Uses its own database (`laurel_bench_sim`, recreated), so it never touches `make bench`'s.

    python -m bench.simulate                     # 100,000 customers, 1,000,000 events
    python -m bench.simulate --customers 10000 --events 100000
    python -m bench.simulate --reuse-data        # keep the last run's data
    python -m bench.simulate --generate-only     # only make the data

Prints one JSON object (also written to bench/results/simulate.json).
"""

import argparse
import io
import json
import os
import random
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from bench.common import PG_ADMIN_URL, RESULTS, SEED, write_json

DB = "laurel_bench_sim"


def _psql(sql: str, db: str = "postgres") -> None:
    subprocess.run(["psql", f"{PG_ADMIN_URL}/{db}", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql],
                   check=True, capture_output=True)


def _setup(reuse: bool) -> None:
    if not reuse:
        _psql(f"DROP DATABASE IF EXISTS {DB}")
        _psql(f"CREATE DATABASE {DB}")
    os.environ.update({"DJANGO_SETTINGS_MODULE": "config.settings.test",
                       "DATABASE_URL": f"{PG_ADMIN_URL}/{DB}"})
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _generate(customers: int, events: int, now: datetime) -> dict:
    from bench.datagen import _copy, _ts, customers_copy
    from events.models import CustomerEvent
    from loyalty.models import Customer
    from loyalty.services import campaign_create, program_create

    rng = random.Random(SEED)
    program = program_create(name="Simulation bench", time_zone="Europe/Amsterdam")
    campaign = campaign_create(program=program, name="Simulation bench", state="running")
    customers_copy(program_id=program.pk, count=customers, rng=rng, now=now)
    ids = list(Customer.objects.filter(program=program).values_list("pk", flat=True))
    start = now - timedelta(days=90)
    from django.db import models

    columns = ["program_id", "customer_id", "type", "amount", "performed_on", "received_at",
               "life_cycle_state", "attributes", "effects"]
    blank = [f.column for f in CustomerEvent._meta.concrete_fields
             if isinstance(f, models.CharField | models.TextField) and f.column not in columns]
    tail = "\t" * len(blank)
    buf = io.StringIO()
    received = _ts(now)
    for _ in range(events):
        at = start + timedelta(seconds=rng.randrange(90 * 86400))
        buf.write(f"{program.pk}\t{rng.choice(ids)}\tPURCHASE\t{rng.choice([5, 10, 20, 40])}"
                  f"\t{_ts(at)}\t{received}\tPOSTED\t{{}}\t[]{tail}\n")
    _copy(CustomerEvent._meta.db_table, [*columns, *blank], buf)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {CustomerEvent._meta.db_table}")
    return {"program": program.pk, "campaign": campaign.pk}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--reuse-data", action="store_true")
    parser.add_argument("--generate-only", action="store_true",
                        help="make the data and stop (then measure with --reuse-data, in a "
                        "process of its own, so peak memory is the simulation's alone)")
    args = parser.parse_args(argv)
    _setup(args.reuse_data)
    now = datetime.now(UTC).replace(microsecond=0)
    from django.db import connection

    from achievements.models import Achievement
    from events.models import CustomerEvent
    from events.simulation import achievement_simulate
    from loyalty.models import Campaign, Program

    began = time.monotonic()
    if args.reuse_data:
        program = Program.objects.get(name="Simulation bench")
    else:
        program = Program.objects.get(pk=_generate(args.customers, args.events, now)["program"])
    generated_s = time.monotonic() - began
    if args.generate_only:
        print(json.dumps({"generate_s": round(generated_s, 1)}))
        return
    campaign = Campaign.objects.get(program=program)
    achievement = Achievement(campaign=campaign, name="Sim", title="Sim", target=100,
                              period="1M", recurrence_policy="on_expiration",
                              progress_increment="event.amount")
    achievement.clean()
    start, end = now - timedelta(days=91), now + timedelta(seconds=1)

    # Baseline: stream the same rows (what any simulation must read), nothing else.
    began = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("BEGIN")
        cursor.execute(
            "DECLARE bench_rows NO SCROLL CURSOR FOR SELECT id, customer_id, type, amount, "
            f"performed_on, attributes FROM {CustomerEvent._meta.db_table} "
            "WHERE program_id = %s AND performed_on >= %s AND performed_on < %s "
            "ORDER BY customer_id, performed_on, id", [program.pk, start, end])
        rows = 0
        while True:
            cursor.execute("FETCH 5000 FROM bench_rows")
            batch = cursor.fetchall()
            if not batch:
                break
            rows += len(batch)
        cursor.execute("COMMIT")
    baseline_s = time.monotonic() - began

    began = time.monotonic()
    result = achievement_simulate(program=program, achievement=achievement, start=start,
                                  end=end, at=now)
    simulate_s = time.monotonic() - began
    report = {
        "customers": result.customers, "events": result.events, "rows_streamed": rows,
        "started": result.started, "completed": result.completed,
        "completions": result.completions,
        "generate_s": round(generated_s, 1), "baseline_stream_s": round(baseline_s, 2),
        "simulate_s": round(simulate_s, 2),
        "ratio_to_stream": round(simulate_s / baseline_s, 1) if baseline_s else None,
        "events_per_s": round(result.events / simulate_s),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "load_average": os.getloadavg(),
        "at": now.isoformat(),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    write_json(RESULTS / "simulate.json", report)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
