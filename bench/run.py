"""`make bench`: Laurel's benchmark suite, end to end, in at most 15 minutes.

1. recreate the `laurel_bench` database, migrate it and generate the data (bench.datagen);
2. count the queries of one ingest and one read (bench.profile queries);
3. start gunicorn (bench.settings: production settings + /bench/ baselines) with
   2 x cores + 1 sync workers on a free port of 127.0.0.1 and drive it with wrk:
   ingest-http, read, ingest-bulk (+ pgbench -N) and scaling, each next to its baseline;
4. stop gunicorn and time the rollover job (100,000 and 1,000,000 due iterations) against a
   bare UPDATE of a copy of the same rows;
5. write bench/results/latest.json and docs/benchmarks.md (bench.report).

    python -m bench.run                 # everything (what `make bench` runs)
    python -m bench.run --reuse-data    # keep the database and fixtures of the last run
    python -m bench.run --only ingest,read --reuse-data
"""

import argparse
import contextlib
import json
import os
import platform
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from importlib import metadata

from bench.common import (
    CORES,
    DATABASE_URL,
    DB_NAME,
    FIXTURES,
    LATEST,
    LUA,
    PGBENCH_DB,
    PYTHON,
    REPO,
    RESULTS,
    SEED,
    WORKERS,
    django_env,
    free_port,
    load_json,
    psql,
    write_json,
)

# make bench's 15 minutes, less what installing and checking the tools takes before this.
BUDGET_S = float(os.environ.get("BENCH_BUDGET_S", 14 * 60))
DURATION_S = int(os.environ.get("BENCH_DURATION_S", 20))
WARMUP_S = int(os.environ.get("BENCH_WARMUP_S", 5))
CONNECTIONS = 16
BULK_CONNECTIONS = int(os.environ.get("BENCH_BULK_CONNECTIONS", 2))
BULK_SIZE = int(os.environ.get("BENCH_BULK_SIZE", 500))
SCALING_CONNECTIONS = 4
WRK_THREADS = 2
ROLLOVER_SMALL = int(os.environ.get("BENCH_ROLLOVER_SMALL", 100_000))
ROLLOVER_BIG = int(os.environ.get("BENCH_ROLLOVER_BIG", 1_000_000))
SCENARIOS = ("ingest", "read", "bulk", "scaling", "rollover", "simulate")
SIMULATE_CUSTOMERS = int(os.environ.get("BENCH_SIMULATE_CUSTOMERS", 100_000))
SIMULATE_EVENTS = int(os.environ.get("BENCH_SIMULATE_EVENTS", 1_000_000))
T0 = time.monotonic()


def log(message: str) -> None:
    elapsed = time.monotonic() - T0
    print(f"[bench {int(elapsed) // 60:02d}:{int(elapsed) % 60:02d}] {message}", flush=True)


def run(cmd: list[str], *, env: dict | None = None, capture: bool = False,
        timeout: float | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=REPO, env=env, check=True, text=True, timeout=timeout,
                          capture_output=capture)


def manage(*args: str, capture: bool = False) -> subprocess.CompletedProcess:
    return run([PYTHON, "manage.py", *args], env=django_env(), capture=capture)


# Machine and versions
# ------------------------------------------------------------------------------
def machine() -> dict:
    def first(path: str, prefix: str) -> str:
        with contextlib.suppress(OSError), open(path) as lines:
            for line in lines:
                if line.startswith(prefix):
                    return line.split(":", 1)[1].strip()
        return ""

    cpu = first("/proc/cpuinfo", "model name") or "unknown"
    mem_kb = int((first("/proc/meminfo", "MemTotal") or "0 kB").split()[0])
    return {"cores": CORES, "cpu_model": cpu, "memory_gib": round(mem_kb / 1024 / 1024, 1),
            "os": platform.platform(), "load_average_at_start": os.getloadavg()}


def versions() -> dict:
    def out(cmd: list[str]) -> str:
        try:
            result = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return "missing"
        return (result.stdout or result.stderr).strip().splitlines()[0]

    return {
        "python": platform.python_version(),
        "django": metadata.version("django"),
        "djangorestframework": metadata.version("djangorestframework"),
        "gunicorn": metadata.version("gunicorn"),
        "psycopg": metadata.version("psycopg"),
        "postgresql": psql("SHOW server_version", db="postgres"),
        "redis": out(["redis-server", "--version"]),
        "wrk": out(["wrk", "-v"]),
        "pgbench": out(["pgbench", "--version"]),
    }


def pg_settings() -> dict:
    names = ["shared_buffers", "max_connections", "synchronous_commit", "max_wal_size",
             "work_mem", "autovacuum"]
    return {name: psql(f"SHOW {name}", db="postgres") for name in names}


APP_DIRS = ("config", "loyalty", "achievements", "events")


def app_code() -> dict[str, float]:
    """Modification times of the application's Python files (others edit them while the
    benchmark runs; the report says when a file changed during a run)."""
    return {str(path.relative_to(REPO)): path.stat().st_mtime
            for folder in APP_DIRS for path in (REPO / folder).rglob("*.py")}


def code_changes(before: dict[str, float]) -> list[str]:
    after = app_code()
    return sorted(
        f"{name} ({datetime.fromtimestamp(after[name], UTC):%H:%M:%S} UTC)"
        if name in after else f"{name} (deleted)"
        for name in set(before) | set(after)
        if before.get(name) != after.get(name)
    )


# Setup
# ------------------------------------------------------------------------------
def database_reset() -> None:
    log(f"recreating database {DB_NAME}")
    psql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)", db="postgres")
    psql(f"CREATE DATABASE {DB_NAME}", db="postgres")
    log("migrating")
    manage("migrate", "--noinput", capture=True)


def datagen(*args: str) -> None:
    run([PYTHON, "-m", "bench.datagen", *args], env=django_env())


# Gunicorn and wrk
# ------------------------------------------------------------------------------
class Gunicorn:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "Gunicorn":
        cmd = [str(REPO / ".venv" / "bin" / "gunicorn"), "config.wsgi:application",
               "--chdir", str(REPO), "--workers", str(WORKERS),
               "--bind", f"127.0.0.1:{self.port}", "--backlog", "2048", "--timeout", "300",
               "--log-level", "warning"]
        if not os.path.exists(cmd[0]):
            cmd[0:1] = [PYTHON, "-m", "gunicorn"]
        log(f"starting gunicorn ({WORKERS} sync workers) on {self.url}")
        self.log_file = open(RESULTS / "gunicorn.log", "w")
        # Its own session: on exit the whole group (master and workers) is ours to stop.
        self.process = subprocess.Popen(cmd, cwd=REPO, env=django_env(),
                                        stdout=self.log_file, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("gunicorn exited; see bench/results/gunicorn.log")
            try:
                with urllib.request.urlopen(f"{self.url}/bench/programs/0/customers/x",
                                            timeout=2):
                    pass
                break
            except urllib.error.HTTPError as exc:
                if exc.code == 404:
                    break
            except OSError:
                pass
            time.sleep(0.3)
        else:
            raise RuntimeError("gunicorn did not answer within 60 s")
        return self

    def worker_pids(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True,
                             text=True).stdout
        return [int(pid) for pid in out.split()]

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # quick shutdown: abandon requests
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=15)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)  # workers left behind, if any
            self.process.wait()
        self.log_file.close()
        log("gunicorn stopped")


def wrk(server: Gunicorn, *, mode: str, program: dict | None, connections: int,
        duration: int, run_tag: str, timeout: str = "30s", bulk_size: int = BULK_SIZE) -> dict:
    env = dict(os.environ)
    env.update({
        "BENCH_MODE": mode,
        "BENCH_PROGRAM": str(program["id"]) if program else "0",
        "BENCH_KEY": program["key"] if program else "",
        "BENCH_CUSTOMERS": str(program["customers"]) if program else "10000",
        "BENCH_SEED": str(SEED),
        "BENCH_RUN": run_tag,
        "BENCH_BULK_SIZE": str(bulk_size),
    })
    cmd = ["wrk", f"-t{min(WRK_THREADS, connections)}", f"-c{connections}", f"-d{duration}s",
           "--timeout", timeout, "-s", str(LUA), server.url]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True,
                            timeout=duration + 120)
    match = re.search(r"^BENCH_JSON (.*)$", result.stdout, re.M)
    if result.returncode != 0 or not match:
        raise RuntimeError(f"wrk failed: {result.stdout}\n{result.stderr}")
    data = json.loads(match.group(1))
    seconds = data["duration_us"] / 1e6
    ok = data["requests"] - data["non2xx"]
    data.update({
        "seconds": round(seconds, 2),
        "connections": connections,
        "ok_per_s": round(ok / seconds, 1),
        "p50_ms": round(data["p50_us"] / 1000, 2),
        "p90_ms": round(data["p90_us"] / 1000, 2),
        "p99_ms": round(data["p99_us"] / 1000, 2),
        "mean_ms": round(data["latency_mean_us"] / 1000, 2),
        "socket_errors": data["connect_errors"] + data["read_errors"] + data["write_errors"]
        + data["timeouts"],
    })
    return data


def planner_statistics() -> None:
    """ANALYZE the benchmark database, as autovacuum's autoanalyze would have by now.

    The data is generated (and analyzed) with empty event tables, and autovacuum may be off
    on a benchmark machine (it is on the reference one): the planner would then go on
    believing the tables empty and pick linear plans for lookups by unique key as the
    warm-up fills them. A production server runs autovacuum; so the benchmark refreshes the
    statistics after each warm-up, before it measures."""
    psql("ANALYZE")


def measured(server: Gunicorn, *, label: str, mode: str, program: dict | None,
             connections: int, duration: int = DURATION_S, **kwargs) -> dict:
    tag = f"{label}-{int(time.time()) % 100000}".replace(" ", "_")
    if WARMUP_S:
        # Warm every worker (definitions cache, compiled CEL, connection): at least as many
        # connections as workers, whatever the measured run uses.
        wrk(server, mode=mode, program=program, connections=max(connections, CONNECTIONS),
            duration=WARMUP_S, run_tag=f"{tag}-warm", **kwargs)
    planner_statistics()
    log(f"{label}: {mode} x{connections} for {duration} s")
    data = wrk(server, mode=mode, program=program, connections=connections,
               duration=duration, run_tag=tag, **kwargs)
    log(f"{label}: {data['ok_per_s']}/s p50 {data['p50_ms']} ms p99 {data['p99_ms']} ms "
        f"non-2xx {data['non2xx']} socket errors {data['socket_errors']}")
    return data


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


# Scenarios
# ------------------------------------------------------------------------------
def scenario_ingest(server: Gunicorn, programs: dict) -> dict:
    laurel = measured(server, label="ingest-http", mode="ingest", program=programs["ingest"],
                      connections=CONNECTIONS)
    bare = measured(server, label="ingest-http baseline", mode="bare_ingest",
                    program=programs["ingest"], connections=CONNECTIONS)
    stored = int(psql(
        "SELECT count(*) FROM events_customerevent WHERE program_id = "
        f"{programs['ingest']['id']} AND external_system = 'BENCH'"))
    errors = laurel["non2xx"] + laurel["socket_errors"]
    r = ratio(laurel["ok_per_s"], bare["ok_per_s"])
    return {
        "load_generator": "wrk + bench/lua/laurel.lua (math.random seeded per thread)",
        "laurel": laurel, "baseline": bare, "events_stored_incl_warmup": stored,
        "events_per_s": laurel["ok_per_s"], "baseline_per_s": bare["ok_per_s"], "ratio": r,
        "p50_ms": laurel["p50_ms"], "p99_ms": laurel["p99_ms"], "errors": errors,
        # Issue 12's targets: >= 0.6x the bare endpoint, p99 <= 2x the bare endpoint's p99.
        "target": {"ratio_min": 0.6, "p99_vs_bare_max": 2.0, "errors": 0},
        "met": r is not None and r >= 0.6 and laurel["p99_ms"] <= 2 * bare["p99_ms"]
        and errors == 0,
    }


def scenario_read(server: Gunicorn, programs: dict) -> dict:
    laurel = measured(server, label="read", mode="read", program=programs["read"],
                      connections=CONNECTIONS)
    bare = measured(server, label="read baseline", mode="bare_read", program=programs["read"],
                    connections=CONNECTIONS)
    r = ratio(laurel["ok_per_s"], bare["ok_per_s"])
    errors = laurel["non2xx"] + laurel["socket_errors"]
    return {
        "load_generator": "wrk + bench/lua/laurel.lua",
        "laurel": laurel, "baseline": bare, "requests_per_s": laurel["ok_per_s"],
        "baseline_per_s": bare["ok_per_s"], "ratio": r, "p50_ms": laurel["p50_ms"],
        "p99_ms": laurel["p99_ms"], "errors": errors,
        "target": {"ratio_min": 0.6},
        "met": r is not None and r >= 0.6 and errors == 0,
    }


def _drain() -> None:
    """Wait until the server has finished the requests wrk abandoned at its deadline (a bulk
    request runs on after wrk stops): no busy session on the benchmark database."""
    query = (f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{DB_NAME}' "
             "AND pid <> pg_backend_pid() AND state <> 'idle'")
    deadline = time.monotonic() + 300
    idle_since = None
    while time.monotonic() < deadline:
        if psql(query) == "0":
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since >= 1:
                return
        else:
            idle_since = None
        time.sleep(0.25)
    log("warning: the server was still busy 300 s after the bulk run")


def pgbench_tps() -> dict:
    log(f"pgbench: initialising {PGBENCH_DB} (scale 10)")
    psql(f"DROP DATABASE IF EXISTS {PGBENCH_DB} WITH (FORCE)", db="postgres")
    psql(f"CREATE DATABASE {PGBENCH_DB}", db="postgres")
    base = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
    run(["pgbench", "-i", "-s", "10", "-q", f"{base}/{PGBENCH_DB}"], capture=True)
    psql("CHECKPOINT", db=PGBENCH_DB)
    log(f"pgbench -N -c 16 -j 2 -T {DURATION_S}")
    result = run(["pgbench", "-N", "-c", "16", "-j", "2", "-T", str(DURATION_S),
                  f"{base}/{PGBENCH_DB}"], capture=True)
    tps = float(re.search(r"tps = ([\d.]+) \(without initial", result.stdout).group(1))
    latency = re.search(r"latency average = ([\d.]+) ms", result.stdout)
    psql(f"DROP DATABASE IF EXISTS {PGBENCH_DB} WITH (FORCE)", db="postgres")
    log(f"pgbench: {tps:.0f} TPS")
    return {"tps": tps, "latency_avg_ms": float(latency.group(1)) if latency else None,
            "command": f"pgbench -N -c 16 -j 2 -T {DURATION_S} (scale 10)"}


def bulkload(server: Gunicorn, program: dict, *, size: int, connections: int,
             duration: float, tag: str) -> dict:
    cmd = [PYTHON, "-m", "bench.bulkload", server.url, str(program["id"]), program["key"],
           "--connections", str(connections), "--size", str(size), "--duration",
           str(duration), "--customers", str(program["customers"]), "--seed", str(SEED),
           "--tag", tag]
    result = run(cmd, capture=True, timeout=900)
    return json.loads(re.search(r"^BENCH_JSON (.*)$", result.stdout, re.M).group(1))


def scenario_bulk(server: Gunicorn, programs: dict) -> dict:
    program = programs["bulk"]
    stamp = int(time.time())
    bulkload(server, program, size=20, connections=BULK_CONNECTIONS, duration=WARMUP_S or 1,
             tag=f"bulk-warm-{stamp}")
    _drain()
    planner_statistics()
    log(f"ingest-bulk: {BULK_SIZE} events/request x{BULK_CONNECTIONS} for {DURATION_S} s "
        "(then the requests in flight finish)")
    laurel = bulkload(server, program, size=BULK_SIZE, connections=BULK_CONNECTIONS,
                      duration=DURATION_S, tag=f"bulk-{stamp}")
    _drain()
    item_errors = laurel["items"] - laurel["created"]
    log(f"ingest-bulk: {laurel['events_per_s']} events/s ({laurel['created']} events in "
        f"{laurel['elapsed_s']} s, {laurel['requests']} requests of "
        f"{laurel['request_s_min']}..{laurel['request_s_max']} s), item errors {item_errors}")
    base = pgbench_tps()
    r = ratio(laurel["events_per_s"], base["tps"])
    return {
        "load_generator": "python -m bench.bulkload (http.client, one thread per connection, "
        "random.Random seeded per thread); events = items answered 201, over the time to "
        "the last answer",
        "laurel": laurel, "baseline": base, "events_per_s": laurel["events_per_s"],
        "item_errors": item_errors, "non2xx": laurel["non2xx"],
        "baseline_tps": base["tps"], "ratio": r,
        "target": {"ratio_min": 1.0}, "met": r is not None and r >= 1.0,
    }


def scenario_scaling(server: Gunicorn, programs: dict) -> dict:
    runs = {}
    for key in ("scale_10", "scale_100", "scale_1000"):
        program = programs[key]
        data = measured(server, label=f"scaling {program['achievements']}", mode="ingest",
                        program=program, connections=SCALING_CONNECTIONS)
        data["definitions"] = program["achievements"]
        data["ms_per_event"] = data["mean_ms"]
        data["server_ms_per_event"] = round(1000 * WORKERS / data["ok_per_s"], 2) \
            if data["ok_per_s"] else None
        runs[key] = data
    r = ratio(runs["scale_1000"]["mean_ms"], runs["scale_10"]["mean_ms"])
    return {
        "load_generator": "wrk + bench/lua/laurel.lua (ingest mode)",
        "connections": SCALING_CONNECTIONS, "runs": runs, "ratio_1000_vs_10": r,
        "ratio_100_vs_10": ratio(runs["scale_100"]["mean_ms"], runs["scale_10"]["mean_ms"]),
        "target": {"ratio_max": 1.2}, "met": r is not None and r <= 1.2,
    }


# Rollover
# ------------------------------------------------------------------------------
def _time_v(stderr: str) -> dict:
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", stderr)
    seconds = None
    if wall:
        parts = [float(p) for p in wall.group(1).split(":")]
        seconds = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
    return {"peak_rss_mb": round(int(rss.group(1)) / 1024, 1) if rss else None,
            "wall_s": seconds}


def rollover_job(*, now: datetime, program_id: int, expected: int, limit_s: float) -> dict:
    """Run the close-due job in its own process under /usr/bin/time -v; stop it (SIGTERM)
    after `limit_s` seconds if it has not finished, and measure what it did by then."""
    psql("CHECKPOINT")
    cmd = ["/usr/bin/time", "-v", PYTHON, "manage.py", "run_periodic_jobs",
           "--job", "close-due-achievement-iterations", "--now", now.isoformat()]
    log(f"rollover: job on {expected} due rows (limit {int(limit_s)} s)")
    started = time.monotonic()
    process = subprocess.Popen(cmd, cwd=REPO, env=django_env(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    finished = True
    try:
        stdout, stderr = process.communicate(timeout=max(limit_s, 10))
    except subprocess.TimeoutExpired:
        finished = False
        # Stop the job (the child of /usr/bin/time), so that time still reports its peak.
        children = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True,
                                  text=True).stdout.split()
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGTERM)
        try:
            stdout, stderr = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # our own process group: time + python
            stdout, stderr = process.communicate()
    elapsed = time.monotonic() - started
    closed = int(psql(
        "SELECT count(*) FROM achievements_achievementprogress p JOIN achievements_achievement "
        "a ON a.id = p.achievement_id JOIN loyalty_campaign c ON c.id = a.campaign_id "
        f"WHERE c.program_id = {program_id} AND p.status = 'expired'"))
    measured_ = _time_v(stderr)
    job_ms = re.search(r"(\d+) ms\s*$", stdout.strip())
    result = {
        "job_s": round(int(job_ms.group(1)) / 1000, 2) if job_ms else None,
        "rows": expected, "rows_closed": closed, "finished": finished,
        "wall_s": round(measured_["wall_s"] or elapsed, 2),
        "peak_rss_mb": measured_["peak_rss_mb"], "job_output": stdout.strip(),
        "rows_per_s": round(closed / elapsed, 1) if elapsed else None,
    }
    if not finished and closed:
        result["projected_wall_s"] = round(elapsed * expected / closed, 1)
    log(f"rollover: {closed}/{expected} rows in {result['wall_s']} s, "
        f"peak RSS {result['peak_rss_mb']} MB{'' if finished else ' (stopped at the limit)'}")
    return result


def bare_update(*, now: datetime, program_id: int) -> dict:
    """The baseline: one UPDATE of an identical copy of the program's progress rows (same
    columns, indexes and constraints, foreign keys aside)."""
    log("rollover: copying the rows for the bare UPDATE")
    table = "achievements_achievementprogress"
    psql("DROP TABLE IF EXISTS bench_progress_copy")
    psql(f"CREATE TABLE bench_progress_copy (LIKE {table} INCLUDING DEFAULTS "
         "INCLUDING CONSTRAINTS INCLUDING IDENTITY)")
    psql(f"INSERT INTO bench_progress_copy SELECT p.* FROM {table} p "
         "JOIN achievements_achievement a ON a.id = p.achievement_id JOIN loyalty_campaign c "
         f"ON c.id = a.campaign_id WHERE c.program_id = {program_id}")
    # The same indexes as the real table (primary key, unique, partial ones), built after
    # the load, which is much faster than maintaining them row by row.
    for definition in psql(f"SELECT indexdef FROM pg_indexes WHERE tablename = '{table}'"
                           ).splitlines():
        definition = re.sub(r"INDEX (\S+) ON (\S+\.)?" + table, r"INDEX \1_copy ON \2"
                            "bench_progress_copy", definition)
        psql(definition)
    psql("VACUUM ANALYZE bench_progress_copy")
    psql("VACUUM ANALYZE achievements_achievementprogress")
    psql("CHECKPOINT")
    import psycopg

    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        started = time.monotonic()
        with conn.transaction():
            cursor = conn.execute(
                "UPDATE bench_progress_copy SET status = 'expired', updated_at = %s "
                "WHERE status = 'inprogress' AND end_date <= %s", [now, now])
            rows = cursor.rowcount
        seconds = time.monotonic() - started
    log(f"rollover baseline: UPDATE of {rows} rows in {seconds:.2f} s")
    psql("DROP TABLE bench_progress_copy")
    return {"rows": rows, "wall_s": round(seconds, 2),
            "sql": "UPDATE bench_progress_copy SET status='expired', updated_at=now "
                   "WHERE status='inprogress' AND end_date <= now"}


def scenario_rollover() -> dict:
    out: dict = {"load_generator": "python manage.py run_periodic_jobs --job "
                 "close-due-achievement-iterations under /usr/bin/time -v"}
    log(f"rollover: generating {ROLLOVER_SMALL:,} due rows (COPY)")
    datagen("rollover", str(ROLLOVER_SMALL), "--fixture", "rollover_100k")
    small = load_json(FIXTURES)["rollover"]["rollover_100k"]
    psql("VACUUM ANALYZE achievements_achievementprogress")
    now = datetime.now(UTC)
    out["job_100k"] = rollover_job(now=now, program_id=small["program_id"],
                                   expected=small["rows"], limit_s=remaining(300))
    out["job_100k"]["copy_s"] = small["copy_seconds"]

    log(f"rollover: generating {ROLLOVER_BIG:,} due rows (COPY)")
    datagen("rollover", str(ROLLOVER_BIG), "--fixture", "rollover_1m")
    big = load_json(FIXTURES)["rollover"]["rollover_1m"]
    now = datetime.now(UTC)
    out["bare_update_1m"] = bare_update(now=now, program_id=big["program_id"])
    out["job_1m"] = rollover_job(now=now, program_id=big["program_id"], expected=big["rows"],
                                 limit_s=remaining(45))
    out["job_1m"]["copy_s"] = big["copy_seconds"]
    job, bare = out["job_1m"], out["bare_update_1m"]
    job_s = job["wall_s"] if job["finished"] else job.get("projected_wall_s")
    out["ratio"] = ratio(job_s, bare["wall_s"])
    out["ratio_is_projected"] = not job["finished"]
    small_rss, big_rss = out["job_100k"]["peak_rss_mb"], job["peak_rss_mb"]
    out["rss_ratio_1m_vs_100k"] = ratio(big_rss, small_rss)
    out["target"] = {"ratio_max": 3.0, "peak_rss_mb_max": 300,
                     "rss_independent": "peak RSS at 1M <= 1.25 x peak RSS at 100k"}
    out["met_time"] = out["ratio"] is not None and out["ratio"] <= 2.5 and job["finished"]
    out["met_memory"] = (big_rss is not None and big_rss < 300 and small_rss is not None
                         and big_rss <= 1.25 * small_rss)
    out["met"] = out["met_time"] and out["met_memory"]
    return out


def remaining(reserve_s: float) -> float:
    """Seconds left of the budget, keeping `reserve_s` for what follows."""
    return max(BUDGET_S - (time.monotonic() - T0) - reserve_s, 30)


def exclusive() -> object:
    """One benchmark at a time per PostgreSQL server: the run recreates `laurel_bench`, which
    would pull the database from under another run. A session-level advisory lock, held by a
    connection kept open for the whole run."""
    import psycopg

    conn = psycopg.connect(f"{os.environ.get('BENCH_PG_URL', 'postgres://postgres@127.0.0.1:5432')}"
                           "/postgres", autocommit=True)
    if not conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", [DB_NAME]).fetchone()[0]:
        holder = conn.execute(
            "SELECT a.pid, a.application_name, a.backend_start FROM pg_locks l JOIN "
            "pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
            "AND l.objid = hashtext(%s)::oid", [DB_NAME]).fetchone()
        sys.exit(f"Another benchmark run holds {DB_NAME} (PostgreSQL session {holder}); "
                 "wait for it to finish.")
    return conn


def scenario_simulate() -> dict:
    """An achievement simulated over 1,000,000 stored events of 100,000 customers (its own
    database, bench.simulate), next to streaming the same rows with a bare cursor."""
    log(f"simulate: {SIMULATE_CUSTOMERS:,} customers, {SIMULATE_EVENTS:,} events "
        "(bench.simulate)")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    sizes = ["--customers", str(SIMULATE_CUSTOMERS), "--events", str(SIMULATE_EVENTS)]
    made = run([PYTHON, "-m", "bench.simulate", *sizes, "--generate-only"], capture=True,
               env=env)
    # Measured in a process of its own: peak memory is the simulation's, not the generator's.
    out = run([PYTHON, "-m", "bench.simulate", *sizes, "--reuse-data"], capture=True, env=env)
    report = json.loads(out.stdout[out.stdout.index("{"):])
    report["generate_s"] = json.loads(made.stdout[made.stdout.index("{"):])["generate_s"]
    report["met"] = report["simulate_s"] < 60
    log(f"simulate: {report['simulate_s']} s (bare stream {report['baseline_stream_s']} s), "
        f"peak RSS {report['peak_rss_mb']} MB")
    return report


# Main
# ------------------------------------------------------------------------------
def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reuse-data", action="store_true",
                        help="keep laurel_bench and bench/results/fixtures.json")
    parser.add_argument("--only", default=",".join(SCENARIOS),
                        help=f"comma-separated subset of {', '.join(SCENARIOS)}")
    args = parser.parse_args(argv)
    only = [s for s in args.only.split(",") if s]
    lock = exclusive()  # noqa: F841  (held until the process exits)
    RESULTS.mkdir(parents=True, exist_ok=True)
    results = load_json(LATEST) if args.reuse_data else {}
    results.update({
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(), "versions": versions(), "postgresql_settings": pg_settings(),
        "config": {"workers": WORKERS, "worker_class": "sync", "duration_s": DURATION_S,
                   "warmup_s": WARMUP_S, "connections": CONNECTIONS,
                   "bulk_connections": BULK_CONNECTIONS, "bulk_size": BULK_SIZE,
                   "scaling_connections": SCALING_CONNECTIONS, "wrk_threads": WRK_THREADS,
                   "seed": SEED, "settings": "bench.settings (config.settings.production + "
                   "/bench/ baselines), DEBUG off, CONN_MAX_AGE 600"},
    })
    results.setdefault("scenarios", {})
    code_at_start = app_code()
    newest = max(code_at_start.items(), key=lambda item: item[1])
    results["app_code"] = {"newest_file_at_start": f"{newest[0]} "
                           f"({datetime.fromtimestamp(newest[1], UTC):%Y-%m-%d %H:%M:%S} UTC)"}
    log(f"machine: {results['machine']['cores']} cores, {results['machine']['cpu_model']}, "
        f"load {results['machine']['load_average_at_start']}")
    if not args.reuse_data:
        database_reset()
        log("generating data (bench.datagen)")
        started = time.monotonic()
        datagen()
        results["datagen_s"] = round(time.monotonic() - started, 1)
    fixtures = load_json(FIXTURES)
    programs = fixtures["programs"]
    results["fixtures"] = {k: {key: v for key, v in p.items() if key != "key"}
                           for k, p in programs.items()}

    log("counting queries (bench.profile queries)")
    run([PYTHON, "-m", "bench.profile", "queries"], env=django_env())
    results["queries"] = load_json(RESULTS / "queries.json")

    http = [s for s in ("ingest", "read", "bulk", "scaling") if s in only]
    if http:
        with Gunicorn() as server:
            for name in http:
                fn = {"ingest": scenario_ingest, "read": scenario_read,
                      "bulk": scenario_bulk, "scaling": scenario_scaling}[name]
                results["scenarios"][name] = fn(server, programs)
                write_json(LATEST, results)
    if "rollover" in only:
        results["scenarios"]["rollover"] = scenario_rollover()
    if "simulate" in only:
        results["scenarios"]["simulate"] = scenario_simulate()
    results["app_code"]["changed_during_run"] = code_changes(code_at_start)
    if results["app_code"]["changed_during_run"]:
        log("warning: application code changed during the run: "
            + ", ".join(results["app_code"]["changed_during_run"]))
    results["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    results["total_s"] = round(time.monotonic() - T0, 1)
    results["machine"]["load_average_at_end"] = os.getloadavg()
    write_json(LATEST, results)
    run([PYTHON, "-m", "bench.report"])
    log(f"done in {results['total_s']} s: bench/results/latest.json, docs/benchmarks.md")


if __name__ == "__main__":
    main(sys.argv[1:])
