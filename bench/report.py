"""Render docs/benchmarks.md from bench/results/latest.json (and, when present,
bench/results/profile.json from `python -m bench.profile spy` and the hand-written
bench/findings.md).

    python -m bench.report
"""

from bench.common import BENCH, DOCS, LATEST, PROFILE, load_json
from bench.profile import purpose


def _num(value, digits: int = 1) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _load(values) -> str:
    return " / ".join(f"{v:.2f}" for v in values) if values else "n/a"


def _met(flag) -> str:
    return "**met**" if flag else "**missed**"


def _targets(s: dict) -> None:
    """The current targets (issue 12), applied to the stored figures, so that a report of an
    earlier run is judged by them too."""
    if "ingest" in s:
        i = s["ingest"]
        i["met"] = (i["ratio"] or 0) >= 0.6 and i["errors"] == 0 and \
            i["p99_ms"] <= 2 * i["baseline"]["p99_ms"]
    if "read" in s:
        r = s["read"]
        r["met"] = (r["ratio"] or 0) >= 0.6 and r["errors"] == 0
    if "scaling" in s:
        c = s["scaling"]
        c["met"] = c["ratio_1000_vs_10"] is not None and c["ratio_1000_vs_10"] <= 1.2
    if "rollover" in s:
        o = s["rollover"]
        o["met_time"] = o["ratio"] is not None and o["ratio"] <= 2.5 and \
            o["job_1m"]["finished"]


def _summary(s: dict) -> list[str]:
    _targets(s)
    rows = ["| Scenario | Laurel | Baseline | Ratio | Latency / memory | Target | Result |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    if "ingest" in s:
        i = s["ingest"]
        rows.append(
            f"| ingest-http (1 event/request, 16 conn.) | {_num(i['events_per_s'])} events/s | "
            f"{_num(i['baseline_per_s'])} req/s (bare DRF view + 1 INSERT) | "
            f"{_num(i['ratio'], 3)}x | p50 {_num(i['p50_ms'], 2)} ms, p99 "
            f"{_num(i['p99_ms'], 2)} ms, {_num(i['errors'])} errors | >= 0.6x, p99 <= 2x the bare "
            f"p99, 0 errors | {_met(i['met'])} |")
    if "bulk" in s:
        b = s["bulk"]
        rows.append(
            f"| ingest-bulk (500 events/request, {b['laurel']['connections']} conn.) | "
            f"{_num(b['events_per_s'])} events/s | {_num(b['baseline_tps'])} TPS (pgbench -N) "
            f"| {_num(b['ratio'], 3)}x | {_num(b['item_errors'])} item errors | >= 1.0x | "
            f"{_met(b['met'])} |")
    if "read" in s:
        r = s["read"]
        rows.append(
            f"| read (customer achievements, 100 defs, 16 conn.) | {_num(r['requests_per_s'])} "
            f"req/s | {_num(r['baseline_per_s'])} req/s (bare view + 1 SELECT) | "
            f"{_num(r['ratio'], 3)}x | p50 {_num(r['p50_ms'], 2)} ms, p99 "
            f"{_num(r['p99_ms'], 2)} ms, {_num(r['errors'])} errors | >= 0.6x | "
            f"{_met(r['met'])} |")
    if "simulate" in s:
        m = s["simulate"]
        rows.append(
            f"| simulate (one achievement, {_num(m['customers'])} customers, "
            f"{_num(m['events'])} events) | {_num(m['simulate_s'], 2)} s "
            f"({_num(m['events_per_s'])} events/s) | {_num(m['baseline_stream_s'], 2)} s "
            f"(bare cursor streaming the same rows) | {_num(m['ratio_to_stream'])}x | "
            f"peak RSS {_num(m['peak_rss_mb'])} MB | well under a "
            f"minute (< 60 s) | {_met(m['met'])} |")
    if "rollover" in s:
        o = s["rollover"]
        job, bare, small = o["job_1m"], o["bare_update_1m"], o["job_100k"]
        projected = " (projected)" if o["ratio_is_projected"] else ""
        wall = (f"{_num(job['wall_s'])} s" if job["finished"] else
                f"stopped at {_num(job['wall_s'])} s after {_num(job['rows_closed'])} rows; "
                f"projected {_num(job.get('projected_wall_s'))} s")
        rows.append(
            f"| rollover (1,000,000 due iterations) | {wall} | {_num(bare['wall_s'], 2)} s "
            f"(one UPDATE) | {_num(o['ratio'], 1)}x{projected} | "
            f"peak RSS {_num(job['peak_rss_mb'])} MB (1M) vs {_num(small['peak_rss_mb'])} MB "
            f"(100k) | <= 2.5x, < 300 MB, independent of rows | time {_met(o['met_time'])}, "
            f"memory {_met(o['met_memory'])} |")
    if "scaling" in s:
        c = s["scaling"]
        runs = c["runs"]
        rows.append(
            f"| scaling (ms/event at 4 conn.) | 1,000 defs: "
            f"{_num(runs['scale_1000']['ms_per_event'], 2)} ms | 10 defs: "
            f"{_num(runs['scale_10']['ms_per_event'], 2)} ms | {_num(c['ratio_1000_vs_10'], 2)}x "
            f"| 100 defs: {_num(runs['scale_100']['ms_per_event'], 2)} ms "
            f"({_num(c['ratio_100_vs_10'], 2)}x) | <= 1.2x | {_met(c['met'])} |")
    return rows


def _wrk_table(title: str, runs: list[tuple[str, dict]]) -> list[str]:
    rows = [f"**{title}**", "",
            "| run | conn. | ok/s | mean ms | p50 ms | p90 ms | p99 ms | max ms | non-2xx | "
            "socket errors | requests |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for label, d in runs:
        rows.append(
            f"| {label} | {d['connections']} | {_num(d['ok_per_s'])} | {_num(d['mean_ms'], 2)} "
            f"| {_num(d['p50_ms'], 2)} | {_num(d['p90_ms'], 2)} | {_num(d['p99_ms'], 2)} | "
            f"{_num(d['latency_max_us'] / 1000, 1)} | {_num(d['non2xx'])} | "
            f"{_num(d['socket_errors'])} | {_num(d['requests'])} |")
    return [*rows, ""]


def _details(s: dict) -> list[str]:
    out = ["## Details", ""]
    if "ingest" in s:
        i = s["ingest"]
        out += _wrk_table("ingest-http", [("Laurel POST /events", i["laurel"]),
                                           ("baseline POST /bench/events", i["baseline"])])
    if "read" in s:
        r = s["read"]
        out += _wrk_table("read", [("Laurel GET /customers/{id}/achievements?limit=1000",
                                    r["laurel"]),
                                   ("baseline GET /bench/.../customers/{id}", r["baseline"])])
    if "bulk" in s:
        b, lb = s["bulk"], s["bulk"]["laurel"]
        out += [
            "**ingest-bulk**", "",
            f"- Laurel: {_num(lb['created'])} events created by {_num(lb['requests'])} "
            f"requests of {lb['size']} events on {lb['connections']} connections, sent for "
            f"{_num(lb['duration_s'])} s; the last answer came after "
            f"{_num(lb['elapsed_s'], 2)} s = **{_num(b['events_per_s'])} events/s**. "
            f"One request took {lb['request_s_min']} .. {lb['request_s_max']} s (median "
            f"{lb['request_s_median']} s); {_num(b['item_errors'])} item errors, "
            f"{_num(b['non2xx'])} non-2xx responses, {_num(lb['errors'])} connection errors.",
            f"- Baseline: `{b['baseline']['command']}` on the same PostgreSQL = "
            f"**{_num(b['baseline_tps'])} TPS** (average latency "
            f"{_num(b['baseline']['latency_avg_ms'], 2)} ms).", ""]
    if "scaling" in s:
        c = s["scaling"]
        out += _wrk_table(
            "scaling (ingest-http at 4 connections; ms/event = mean latency; server ms/event "
            "= workers / throughput)",
            [(f"{d['definitions']} definitions (10 match), server "
              f"{_num(d['server_ms_per_event'], 1)} ms/event", d)
             for d in c["runs"].values()])
    if "rollover" in s:
        o = s["rollover"]
        rows = ["**rollover** (`achievement_iterations_close_due`, batches of 5,000, in its "
                "own process under `/usr/bin/time -v`)", "",
                "| run | rows | rows closed | finished | wall s (process) | job s (JobRun) | "
                "rows/s | peak RSS MB |",
                "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for label, key in (("job, 100,000 due rows", "job_100k"),
                           ("job, 1,000,000 due rows", "job_1m")):
            j = o[key]
            rows.append(f"| {label} | {_num(j['rows'])} | {_num(j['rows_closed'])} | "
                        f"{'yes' if j['finished'] else 'no (stopped at the time budget)'} | "
                        f"{_num(j['wall_s'], 1)} | {_num(j.get('job_s'), 1)} | "
                        f"{_num(j['rows_per_s'])} | "
                        f"{_num(j['peak_rss_mb'])} |")
        bare = o["bare_update_1m"]
        rows.append(f"| bare UPDATE of a copy | {_num(bare['rows'])} | {_num(bare['rows'])} | "
                    f"yes | {_num(bare['wall_s'], 2)} | n/a | "
                    f"{_num(round(bare['rows'] / bare['wall_s']) if bare['wall_s'] else None)}"
                    f" | n/a |")
        out += [*rows, ""]
        if not o["job_1m"]["finished"]:
            out += [f"The 1,000,000-row job did not finish inside the 15-minute budget of "
                    f"`make bench`; it was stopped (SIGTERM) after "
                    f"{_num(o['job_1m']['wall_s'])} s with {_num(o['job_1m']['rows_closed'])} "
                    f"rows closed (committed batches stay done). Its wall time is projected "
                    f"linearly from its rate: {_num(o['job_1m'].get('projected_wall_s'))} s.",
                    ""]
        out += [f"Peak RSS 1M / 100k = {_num(o['rss_ratio_1m_vs_100k'], 2)} (criterion for "
                f"'independent of row count': <= 1.25).", ""]
    return out


def _queries(q: dict) -> list[str]:
    if not q:
        return []
    out = ["## Queries per request", "",
           "Counted with `django.test.utils.CaptureQueriesContext` (`python -m bench.profile "
           "queries`), on the benchmark data:", "",
           "| what | queries |", "| --- | --- |"]
    out += [f"| {name} | {summary['count']} |" for name, summary in q.items()]
    out.append("")
    for name, summary in q.items():
        if not name.startswith("event_ingest 10") and not name.startswith("GET"):
            continue
        out += [f"<details><summary>{name}: {summary['count']} queries</summary>", "",
                "| # | for |", "| --- | --- |"]
        out += [f"| {row['n']} | {purpose(row['sql'])} |" for row in summary["queries"]]
        out += ["", "</details>", ""]
    return out


def _profile(p: dict) -> list[str]:
    if not p:
        return []
    out = ["## Hot spots (py-spy)", "",
           "`python -m bench.profile spy`: `py-spy record --subprocesses --nonblocking` on the "
           "gunicorn master (all workers) while wrk drives the endpoint; shares of the samples "
           "(py-spy leaves out threads blocked in the kernel, so a worker waiting for a lock "
           "in PostgreSQL is mostly invisible here: the pg_stat_activity table shows those). "
           "Sampling every worker at 200 Hz on 2 shared cores slows the server several-fold "
           "(throughput under the profiler is given), so read the shares, not the absolute "
           "figures.",
           ""]
    for label, data in p.items():
        out += [f"### {label}", "",
                f"{_num(data['samples'])} samples; {_num(data['throughput_per_s'])} req/s, "
                f"p99 {_num(data['p99_ms'], 1)} ms under the profiler.", "",
                "| where the time goes | % |", "| --- | --- |"]
        out += [f"| {name} | {share} |" for name, share in data["categories"]]
        out += ["", "| Laurel function (inclusive) | % |", "| --- | --- |"]
        out += [f"| `{name}` | {share} |" for name, share in data["inclusive_app"][:12]]
        if data.get("db_sessions"):
            out += ["", "| busy PostgreSQL sessions (pg_stat_activity every 0.2 s): state "
                    "&#124; query | % |", "| --- | --- |"]
            out += [f"| {name.replace('|', '&#124;')} | {share} |"
                    for name, share in data["db_sessions"]]
        out += ["", "| leaf frame (self) | % |", "| --- | --- |"]
        out += [f"| `{name}` | {share} |" for name, share in data["self"][:10]]
        out.append("")
    return out


def _code_note(code: dict) -> list[str]:
    if not code:
        return []
    lines = [f"Application code measured: newest file at the start "
             f"`{code.get('newest_file_at_start')}`."]
    changed = code.get("changed_during_run")
    if changed:
        lines[0] += (" **The application code changed during this run** (others were editing "
                     "it), so scenarios may have measured different versions: "
                     + ", ".join(f"`{c}`" for c in changed) + ".")
    elif changed is not None:
        lines[0] += " No application file changed during the run."
    return [*lines, ""]


def render() -> str:
    r = load_json(LATEST)
    s = r.get("scenarios", {})
    m, v = r["machine"], r["versions"]
    lines = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (bench/run.py, then bench/report.py) from "
        "`bench/results/latest.json`; do not edit by hand. How the data is made: "
        "[bench/README.md](../bench/README.md).",
        "",
        f"Run: {r['started_at']} .. {r.get('finished_at', 'unfinished')} "
        f"({_num(r.get('total_s'))} s in all, data generation {_num(r.get('datagen_s'))} s).",
        "",
        *_code_note(r.get("app_code", {})),
        "## Machine",
        "",
        "| | |", "| --- | --- |",
        f"| CPU | {m['cpu_model']}, {m['cores']} cores |",
        f"| memory | {m['memory_gib']} GiB |",
        f"| OS | {m['os']} |",
        f"| load average (1, 5, 15 min) | start {_load(m.get('load_average_at_start'))}, end "
        f"{_load(m.get('load_average_at_end'))} |",
        f"| Python | {v['python']} |",
        f"| Django / DRF | {v['django']} / {v['djangorestframework']} |",
        f"| PostgreSQL | {v['postgresql']} ({', '.join(f'{k} {x}' for k, x in r.get('postgresql_settings', {}).items())}) |",  # noqa: E501
        f"| gunicorn | {v['gunicorn']}, {r['config']['workers']} sync workers "
        "(2 x cores + 1) on 127.0.0.1 |",
        f"| wrk | {v['wrk']} ({r['config']['wrk_threads']} threads, same machine) |",
        f"| pgbench | {v['pgbench']} |",
        f"| Redis | {v['redis']} |",
        f"| settings | {r['config']['settings']} |",
        "",
        "## Results",
        "",
        *_summary(s),
        "",
        f"Durations: {r['config']['duration_s']} s per measured run after a "
        f"{r['config']['warmup_s']} s warm-up at >= 16 connections; load generators: wrk "
        "with `bench/lua/laurel.lua` for ingest-http, read and scaling (bodies built in Lua, "
        f"`math.random` seeded per thread with seed {r['config']['seed']}; every request a "
        "random customer and a unique externalSystemReferenceNumber), a Python client "
        "(`bench/bulkload.py`, http.client, `random.Random` seeded per thread) for "
        "ingest-bulk; all on the same 2 cores as the server. The rollover job runs as "
        "`manage.py run_periodic_jobs` under `/usr/bin/time -v`. Baselines run on the same "
        "gunicorn, settings and middleware (bench/baseline.py, mounted by bench/settings.py) "
        "and skip authentication.",
        "",
        *_details(s),
        *_queries(r.get("queries", {})),
        *_profile(load_json(PROFILE)),
    ]
    findings = BENCH / "findings.md"
    if findings.exists():
        lines += [findings.read_text().rstrip(), ""]
    lines += [
        "## Rerun",
        "",
        "```sh",
        "make bench                                   # everything, <= 15 min; rewrites this file",
        ".venv/bin/python -m bench.run --reuse-data --only ingest,read   # some scenarios again",
        ".venv/bin/pip install py-spy && .venv/bin/python -m bench.profile spy  # hot spots",
        "```",
        "",
        "`make bench` needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust) and Redis on "
        "127.0.0.1:6379; it installs wrk, pgbench and GNU time from Debian when missing, "
        "recreates the `laurel_bench` database and leaves it for inspection.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    DOCS.write_text(render())


if __name__ == "__main__":
    main()
