"""Load generator for ingest-bulk (its own process): N threads, each POSTing bulk requests of
SIZE events in a loop until the deadline, then finishing the request it has in flight.

A bulk request commits once, at its end, and can take tens of seconds, so throughput is
counted by the client: items answered 201 over the time from the start to the last answer
(wrk would cut the requests in flight at its deadline and see none of them finish).

    python -m bench.bulkload URL PROGRAM_ID KEY --connections 2 --size 500 --duration 20

Prints one line: BENCH_JSON {...}. Bodies come from random.Random(seed + thread number).
"""

import argparse
import http.client
import json
import random
import sys
import threading
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

PRODUCTS = ["COFFEE", "TEA", "CAKE", "SANDWICH", "JUICE"]


def body(rng: random.Random, *, size: int, customers: int, tag: str, counter: list[int]) -> bytes:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    events = []
    for _ in range(size):
        counter[0] += 1
        events.append({
            "customer": f"c{rng.randrange(customers):05d}", "type": "PURCHASE",
            "product": rng.choice(PRODUCTS), "amount": rng.randint(100, 6000) / 100,
            "performedOn": now, "externalSystem": "BENCH",
            "externalSystemReferenceNumber": f"{tag}-{counter[0]}",
        })
    return json.dumps({"events": events}).encode()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("program", type=int)
    parser.add_argument("key")
    parser.add_argument("--connections", type=int, default=2)
    parser.add_argument("--size", type=int, default=500)
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--tag", default="bulk")
    args = parser.parse_args(argv)
    target = urlsplit(args.url)
    path = f"/api/v1/programs/{args.program}/events/bulk"
    headers = {"Content-Type": "application/json", "Accept": "application/json",
               "Authorization": f"Bearer {args.key}"}
    lock = threading.Lock()
    totals = {"requests": 0, "non2xx": 0, "items": 0, "created": 0, "errors": 0}
    latencies: list[float] = []
    last_answer = [0.0]
    start = time.monotonic()
    deadline = start + args.duration

    def worker(number: int) -> None:
        rng = random.Random(args.seed + 7919 * number)
        counter = [0]
        while time.monotonic() < deadline:
            payload = body(rng, size=args.size, customers=args.customers,
                           tag=f"{args.tag}-{number}", counter=counter)
            sent = time.monotonic()
            try:
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=600)
                conn.request("POST", path, body=payload, headers=headers)
                response = conn.getresponse()
                data = response.read()
                conn.close()
            except OSError:
                with lock:
                    totals["errors"] += 1
                continue
            answered = time.monotonic()
            results = json.loads(data).get("results", []) if response.status == 200 else []
            with lock:
                totals["requests"] += 1
                totals["non2xx"] += not 200 <= response.status < 300
                totals["items"] += len(results)
                totals["created"] += sum(1 for r in results if r.get("status") == 201)
                latencies.append(answered - sent)
                last_answer[0] = max(last_answer[0], answered)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(args.connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = (last_answer[0] or time.monotonic()) - start
    latencies.sort()
    result = {
        **totals, "connections": args.connections, "size": args.size,
        "duration_s": args.duration, "elapsed_s": round(elapsed, 2),
        "events_per_s": round(totals["created"] / elapsed, 1) if elapsed else None,
        "request_s_min": round(latencies[0], 2) if latencies else None,
        "request_s_median": round(latencies[len(latencies) // 2], 2) if latencies else None,
        "request_s_max": round(latencies[-1], 2) if latencies else None,
    }
    print("BENCH_JSON " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
