"""Where the time goes: queries per request and py-spy hot spots. Needs the data of a
`make bench` run (laurel_bench and bench/results/fixtures.json).

    python -m bench.profile queries   # queries of one ingest / read, with what each is for
    python -m bench.profile spy       # py-spy on the gunicorn workers under wrk load
                                      # (pip install py-spy into .venv first)

`queries` writes bench/results/queries.json (make bench runs it); `spy` writes
bench/results/profile.json and re-renders docs/benchmarks.md.
"""

import collections
import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.common import FIXTURES, PROFILE, REPO, RESULTS, load_json, setup_django, write_json

# What each query of the ingest and read paths is for, by the first pattern it matches.
PURPOSES = [
    (r"^BEGIN$", "transaction: BEGIN"),
    (r"^COMMIT$", "transaction: COMMIT"),
    (r"^SAVEPOINT|^RELEASE SAVEPOINT|^ROLLBACK TO", "savepoint of a nested atomic block"),
    (r'FROM "loyalty_apikey"', "authenticate: the API key by its hash"),
    (r'UPDATE "loyalty_apikey"', "API key last_used_at (at most every 5 min)"),
    (r'UPDATE "?loyalty_program"? SET "?last_event_number', "reserve event numbers: locks "
     "the program row until commit"),
    (r'UPDATE "?loyalty_program"? SET "?definitions_version', "bump definitions version"),
    (r'FROM "loyalty_program"', "the program of the URL (404 check)"),
    (r'FROM "loyalty_customer".*FOR NO KEY UPDATE', "lock the customer row"),
    (r'FROM "loyalty_customer"', "find the customer by integration id"),
    (r'INSERT INTO "loyalty_customer"', "create the customer"),
    (r'FROM "events_customerevent".*"idempotency_key"', "idempotency: event by key"),
    (r'FROM "events_customerevent".*external_system_reference_number',
     "idempotency: event by external reference"),
    (r"INSERT INTO \"events_customerevent\".*'ACHIEVEMENT'", "insert an ACHIEVEMENT event"),
    (r'INSERT INTO "events_customerevent"', "insert the event"),
    (r'UPDATE "events_customerevent"( AS t)? SET "number"', "number the events (one UPDATE "
     "of the new events)"),
    (r'UPDATE "events_customerevent" SET "effects"', "store the effects on the event"),
    (r'FROM "events_customerevent"', "customer events"),
    (r'_prefetch_related_val_rewardoffer_id', "classifications of the offers (prefetch)"),
    (r'FROM "loyalty_rewardoffer"', "reward offers on the classification"),
    (r'FROM "loyalty_classification" WHERE "loyalty_classification"."id" =',
     "classification of the ACHIEVEMENT event (lazy foreign-key load)"),
    (r'FROM "loyalty_classification"', "classification by code"),
    (r'AS "latest_id"', "achievements with each one's latest iteration id (subquery)"),
    (r'FROM "achievements_achievement"', "definitions: achievements of running campaigns "
     "(per-process cache miss or read)"),
    (r'MAX\("achievements_achievementprogress"."sequence"\)',
     "next iteration sequences (grouped MAX)"),
    (r'FROM "achievements_achievementprogress".*FOR UPDATE',
     "the customer's open iterations of the matching achievements, locked"),
    (r'SELECT DISTINCT ON \("achievements_achievementprogress"."achievement_id"\)',
     "latest iteration per achievement (DISTINCT ON)"),
    (r'SELECT DISTINCT "achievements_achievementprogress"."achievement_id"',
     "one-time achievements already started"),
    (r'SELECT 1 AS "a" FROM "achievements_achievementprogress"',
     "one-time: has the customer any iteration? (exists)"),
    (r'FROM "achievements_achievementprogress".*"window_start" >',
     "start of the next iteration (late-event gap check)"),
    (r'FROM "achievements_achievementprogress".*IN \(', "iterations by id (in_bulk)"),
    (r'FROM "achievements_achievementprogress"', "iterations"),
    (r'INSERT INTO "achievements_achievementprogress"', "create iterations"),
    (r'UPDATE "achievements_achievementprogress"', "save the iterations' progress (one "
     "UPDATE)"),
    (r'INSERT INTO "achievements_progresscontribution"', "record the contributions"),
    (r'FROM "loyalty_rewardoffer"', "reward offers on the classification"),
    (r'FROM "loyalty_awardtransaction".*"customer_event_id" IN', "awards of the events "
     "(response)"),
    (r'FROM "loyalty_awardtransaction"', "award already taken?"),
    (r'INSERT INTO "loyalty_awardtransaction"', "insert the award"),
    (r'UPDATE "loyalty_walletbalance"', "credit the wallet balance"),
    (r'INSERT INTO "loyalty_walletbalance"', "create the wallet balance"),
    (r'FROM "achievements_targetgroup"', "definitions: active target groups"),
    (r'FROM "achievements_targetvalue" WHERE "achievements_targetvalue"."target_id" IN',
     "definitions: target values (prefetch)"),
    (r'FROM "achievements_targetvalue"', "target value of the cycle"),
    (r'FROM "achievements_target" .*"achievements_target"."group_id" IN',
     "definitions: targets of the groups (prefetch)"),
    (r'FROM "achievements_targetperiod" .*"group_id" IN',
     "definitions: periods of the groups (prefetch)"),
    (r'FROM "achievements_streaklevel" .*"group_id" IN',
     "definitions: levels of the groups (prefetch)"),
    (r'FROM "achievements_enrolment"', "the customer's enrolments"),
    (r'INSERT INTO "achievements_enrolment"', "enrol the customer"),
    (r'UPDATE "achievements_enrolment"', "save streak counts"),
    (r'FROM "achievements_cycleprogress"', "the customer's cycles (ledger)"),
    (r'INSERT INTO "achievements_cycleprogress"', "create a cycle"),
    (r'UPDATE "achievements_cycleprogress"', "save cycle values"),
    (r'INSERT INTO "achievements_cyclecontribution"', "record the cycle contributions"),
    (r'FROM "achievements_target" ', "the group's first active target"),
    (r'FROM "achievements_targetperiod"', "the group's periods"),
    (r'FROM "achievements_streaklevelachievement"', "levels reached"),
    (r'INSERT INTO "achievements_streaklevelachievement"', "record a level reached"),
    (r'FROM "achievements_streaklevel"', "levels of the group"),
    (r'INSERT INTO "?bench_event"?', "baseline: the one INSERT"),
    (r"FROM loyalty_customer", "baseline: the one SELECT"),
]


def purpose(sql: str) -> str:
    flat = " ".join(sql.split())
    for pattern, label in PURPOSES:
        if re.search(pattern, flat):
            return label
    verb = flat.split(" ", 1)[0].upper()
    tables = sorted(set(re.findall(r'(?:FROM|INTO|UPDATE) "?(\w+)"?', flat)))
    return f"{verb} {', '.join(tables)}"


def _summarise(queries: list[dict]) -> dict:
    rows = [{"n": i + 1, "purpose": purpose(q["sql"]),
             "ms": round(1000 * float(q.get("time") or 0), 3),
             "sql": q["sql"] if len(q["sql"]) < 600 else f"{q['sql'][:250]} ... {q['sql'][-300:]}"}
            for i, q in enumerate(queries)]
    counts = collections.Counter(row["purpose"] for row in rows)
    return {"count": len(rows), "by_purpose": counts.most_common(), "queries": rows}


def _captured(fn) -> tuple[object, list[dict]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        result = fn()
    return result, list(ctx.captured_queries)


def queries() -> dict:
    """Queries of one event_ingest (first and repeat event of an existing customer, in the
    10-achievement + 2-streak program and in the 1,000-definition one), of whole HTTP
    requests (test client: middleware, auth, view, rendering) and of the read endpoint."""
    setup_django()
    from django.test import Client
    from django.utils import timezone

    from events.services import event_ingest
    from loyalty.models import Program

    fixtures = load_json(FIXTURES)["programs"]
    out: dict = {}

    def event(customer: str, ref: str) -> dict:
        return {"customer": customer, "type": "PURCHASE", "product": "COFFEE",
                "amount": 12.5, "performed_on": timezone.now(),
                "external_system": "PROFILE", "external_system_reference_number": ref}

    stamp = int(time.time())
    for key, label in (("ingest", "10 achievements + 2 streaks"),
                       ("scale_1000", "1,000 definitions (10 match) + 2 streaks")):
        program = Program.objects.get(pk=fixtures[key]["id"])
        customer = f"profile-{stamp}"
        from loyalty.services import customer_create

        customer_create(program=program, integration_id=customer)
        # Warm this process up (definitions cache, compiled CEL) with another customer's
        # event, as a gunicorn worker is after its first requests.
        event_ingest(program=program, data=event(f"{customer}-warm", f"{stamp}-warm"),
                     now=timezone.now())
        for case, ref in (("first event", "a"), ("second event", "b")):
            result, captured = _captured(lambda program=program, customer=customer, ref=ref:
                                         event_ingest(program=program,
                                                      data=event(customer, f"{stamp}-{ref}"),
                                                      now=timezone.now()))
            summary = _summarise(captured)
            summary["effects"] = collections.Counter(e["effectType"]
                                                     for e in result.effects).most_common()
            out[f"event_ingest {label}: {case}"] = summary

    client = Client(HTTP_HOST="127.0.0.1")
    ingest, read = fixtures["ingest"], fixtures["read"]
    body = {"customer": f"profile-http-{stamp}", "type": "PURCHASE", "product": "TEA",
            "amount": 9.5, "performedOn": timezone.now().isoformat(),
            "externalSystem": "PROFILE", "externalSystemReferenceNumber": f"http-{stamp}"}
    client.get(f"/api/v1/programs/{read['id']}/customers/c00041/achievements?limit=1000",
               HTTP_AUTHORIZATION=f"Bearer {read['key']}")  # warm-up, as above
    for case in ("first request (new customer)", "second request"):
        body["externalSystemReferenceNumber"] += "x"
        response, captured = _captured(lambda: client.post(
            f"/api/v1/programs/{ingest['id']}/events", data=json.dumps(body),
            content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {ingest['key']}"))
        assert response.status_code == 201, response.content[:500]
        out[f"POST /events (whole request): {case}"] = _summarise(captured)
    response, captured = _captured(lambda: client.get(
        f"/api/v1/programs/{read['id']}/customers/c00042/achievements?limit=1000",
        HTTP_AUTHORIZATION=f"Bearer {read['key']}"))
    assert response.status_code == 200, response.content[:500]
    summary = _summarise(captured)
    summary["items"] = len(response.json()["results"])
    out["GET /customers/{id}/achievements (100 achievements)"] = summary
    response, captured = _captured(lambda: client.post(
        "/bench/events", data=json.dumps(body | {"externalSystemReferenceNumber": f"bare-{stamp}"}),
        content_type="application/json"))
    out["baseline POST /bench/events"] = _summarise(captured)
    response, captured = _captured(lambda: client.get(
        f"/bench/programs/{read['id']}/customers/c00042"))
    out["baseline GET /bench/programs/{id}/customers/{id}"] = _summarise(captured)
    write_json(RESULTS / "queries.json", out)
    for name, summary in out.items():
        print(f"{summary['count']:4d} queries  {name}")
    return out


# py-spy
# ------------------------------------------------------------------------------
def _frames(line: str) -> tuple[list[str], int]:
    stack, _, count = line.rpartition(" ")
    return stack.split(";"), int(count)


def _short(frame: str) -> str:
    """'function (path/file.py:12)' -> 'function (path/file.py)'."""
    match = re.match(r"(.*) \((.*?)(?::\d+)?\)$", frame)
    return f"{match.group(1)} ({match.group(2)})" if match else frame


APP = ("events/", "achievements/", "loyalty/", "config/", "bench/")
# Each sample goes to the category of the frame nearest its leaf that matches one.
CATEGORIES = [
    ("PostgreSQL round trips (psycopg: send, wait, adapt)", r"\(psycopg/"),
    ("CEL evaluation (achievements/rules.py)", r"\(achievements/rules\.py|\(cel/"),
    ("ORM: building SQL, model instances", r"\(django/db/"),
    ("DRF serializers, camelCase, JSON", r"\(rest_framework/|\(djangorestframework_camel_case/"
                                         r"|\(json/"),
    ("Django request cycle, middleware", r"\(django/|\(whitenoise/"),
    ("Laurel code itself", r"\((events|achievements|loyalty|config)/"),
    ("gunicorn", r"\(gunicorn"),
]


def _category(frames: list[str]) -> str:
    for frame in reversed(frames):
        for label, pattern in CATEGORIES:
            if re.search(pattern, frame):
                return label
    return "other"


def _analyse(path: Path) -> dict:
    total = 0
    self_time: collections.Counter = collections.Counter()
    inclusive: collections.Counter = collections.Counter()
    categories: collections.Counter = collections.Counter()
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        frames, count = _frames(line)
        frames = [f for f in frames if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += count
        self_time[_short(frames[-1])] += count
        app = {_short(f) for f in frames if re.search(r"\((" + "|".join(APP) + ")", f)}
        for frame in app:
            inclusive[frame] += count
        categories[_category(frames)] += count

    def pct(n: int) -> float:
        return round(100 * n / total, 1) if total else 0

    return {
        "samples": total,
        "categories": [(k, pct(v)) for k, v in categories.most_common()],
        "self": [(k, pct(v)) for k, v in self_time.most_common(15)],
        "inclusive_app": [(k, pct(v)) for k, v in inclusive.most_common(25)],
    }


class WaitSampler:
    """Samples what the benchmark database's client sessions are doing (pg_stat_activity)
    every 0.2 s while a load runs: lock waits show up as Lock:* next to their query."""

    def __init__(self) -> None:
        self.counts: collections.Counter = collections.Counter()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psycopg

        from bench.common import DATABASE_URL, DB_NAME

        with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
            while not self.stop.is_set():
                rows = conn.execute(
                    "SELECT coalesce(wait_event_type || ':' || wait_event, 'on CPU'), state, "
                    "left(regexp_replace(query, '\\s+', ' ', 'g'), 70) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid() "
                    "AND backend_type = 'client backend' AND state <> 'idle'", [DB_NAME],
                ).fetchall()
                for wait, state, query in rows:
                    if state == "idle in transaction":
                        wait = "idle in transaction (waiting for the worker)"
                    self.counts[f"{wait} | {query}"] += 1
                time.sleep(0.2)

    def __enter__(self) -> "WaitSampler":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()

    def top(self, n: int = 8) -> list:
        total = sum(self.counts.values()) or 1
        return [(k, round(100 * v / total, 1)) for k, v in self.counts.most_common(n)]


def spy(duration: int = 15) -> dict:
    from bench.run import Gunicorn, exclusive, wrk

    lock = exclusive()  # noqa: F841  (no profile while a benchmark runs)

    fixtures = load_json(FIXTURES)["programs"]
    pyspy = REPO / ".venv" / "bin" / "py-spy"
    if not pyspy.exists():
        sys.exit("py-spy is not installed: .venv/bin/pip install py-spy")
    out: dict = {}
    runs = [("ingest-http (10 achievements + 2 streaks, 16 connections)", "ingest",
             fixtures["ingest"], 16),
            ("read (100 achievements, 16 connections)", "read", fixtures["read"], 16),
            ("scaling (1,000 definitions, 4 connections)", "ingest", fixtures["scale_1000"], 4)]
    with Gunicorn() as server:
        for label, mode, program, connections in runs:
            wrk(server, mode=mode, program=program, connections=connections, duration=4,
                run_tag=f"spy-warm-{int(time.time())}")
            raw = RESULTS / f"pyspy-{mode}-{program['id']}.txt"
            spy_process = subprocess.Popen(
                [str(pyspy), "record", "--pid", str(server.process.pid), "--subprocesses",
                 "--duration", str(duration), "--rate", "200", "--format", "raw",
                 "--nonblocking", "--output", str(raw)],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            time.sleep(1)
            with WaitSampler() as waits:
                load = wrk(server, mode=mode, program=program, connections=connections,
                           duration=duration, run_tag=f"spy-{int(time.time())}")
            _, err = spy_process.communicate(timeout=duration + 60)
            if not raw.exists():
                raise RuntimeError(f"py-spy failed: {err}")
            out[label] = _analyse(raw) | {"throughput_per_s": load["ok_per_s"],
                                          "p99_ms": load["p99_ms"], "raw": raw.name,
                                          "db_sessions": waits.top()}
            print(f"{label}: {out[label]['samples']} samples")
            for name, share in out[label]["categories"]:
                print(f"  {share:5.1f}%  {name}")
    write_json(PROFILE, out)
    subprocess.run([sys.executable, "-m", "bench.report"], cwd=REPO, check=True)
    return out


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "queries"
    if what == "queries":
        queries()
    elif what == "spy":
        spy()
    else:
        sys.exit(__doc__)
