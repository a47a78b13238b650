"""Requests from real threads, started together behind a barrier: the harness of the
concurrency tests. Each thread has its own APIClient and database connection."""

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.db import connections
from rest_framework.test import APIClient

THREADS = 32


@dataclass(frozen=True)
class Call:
    url: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    status: int
    body: dict[str, Any]


def api_client(raw_key: str) -> APIClient:
    """A client that returns a 500 as a response: the test client's exception signal is
    process-wide, so raising would blame one thread's crash on every request in flight."""
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


def send(client: APIClient, call: Call) -> Outcome:
    response = client.post(call.url, call.body, format="json", **call.headers)
    if response.get("Content-Type", "").startswith("application/json"):
        return Outcome(response.status_code, response.json())
    return Outcome(response.status_code, {"content": response.content.decode()[:300]})


def run_concurrently(*, raw_key: str, calls: list[Call], threads: int = THREADS) -> list[Outcome]:
    """Send `calls` from up to `threads` threads that start together behind a barrier.

    Thread i sends calls i, i + threads, ... in order, with its own APIClient and its own
    database connection. Returns the outcomes in the order of `calls`.
    """
    slices = [range(i, len(calls), threads) for i in range(min(threads, len(calls)))]
    barrier = threading.Barrier(len(slices))
    outcomes: list[Outcome | None] = [None] * len(calls)

    def worker(indexes: range) -> None:
        try:
            client = api_client(raw_key)
            barrier.wait(timeout=30)
            for index in indexes:
                outcomes[index] = send(client, calls[index])
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=len(slices)) as pool:
        for future in [pool.submit(worker, indexes) for indexes in slices]:
            future.result(timeout=120)
    return outcomes


def failures(outcomes: list[Outcome], *expected: int) -> list[Outcome]:
    """The first few outcomes with an unexpected status, for assertion messages."""
    return [o for o in outcomes if o.status not in expected][:3]


def event_numbers(program) -> list[int]:
    """The ranks of the program's event numbers, after checking that every event has one and
    that none repeats (numbers come from a sequence: unique and increasing, gaps allowed)."""
    from events.models import CustomerEvent

    numbers = list(CustomerEvent.objects.filter(program=program)
                   .values_list("number", flat=True))
    assert None not in numbers
    assert len(set(numbers)) == len(numbers)
    return list(range(1, len(numbers) + 1))
