"""Loading history: NDJSON lines of native event bodies into the same ingestion as the API.

Each line is one event as `POST /events` takes it (camelCase). Lines are validated like the
API's bodies, read in chunks, and each chunk is ingested in event time (sorted by
performedOn) so that most events arrive in order and re-fold nothing; events of any age are
accepted (the program's lateEventWindow does not apply). Every line must carry
`externalSystem` + `externalSystemReferenceNumber`: that is what makes an import idempotent
and resumable, since a line that was stored before a crash is a replay the second time.
Memory stays flat: one chunk at a time.
"""

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from djangorestframework_camel_case.util import underscoreize

from config.api.exception_handler import error_items
from config.exceptions import ApplicationError, api_name
from events.api.serializers import CustomerEventInputSerializer
from events.services import event_ingest
from loyalty.models import Program

CHUNK_LINES = 1000
MAX_REFUSALS_KEPT = 1000


@dataclass
class Refusal:
    line: int
    field: str | None
    message: str


@dataclass
class ImportSummary:
    imported: int = 0
    replayed: int = 0
    refused: int = 0
    refusals: list[Refusal] = field(default_factory=list)  # the first MAX_REFUSALS_KEPT

    def refuse(self, line: int, field_name: str | None, message: str) -> None:
        self.refused += 1
        if len(self.refusals) < MAX_REFUSALS_KEPT:
            self.refusals.append(Refusal(line, field_name, message))


def _parse(number: int, line: str, summary: ImportSummary) -> dict[str, Any] | None:
    try:
        body = json.loads(line)
    except ValueError as exc:
        summary.refuse(number, None, f"Not JSON: {exc}")
        return None
    if not isinstance(body, dict):
        summary.refuse(number, None, "Each line must be one JSON object (an event body).")
        return None
    serializer = CustomerEventInputSerializer(data=underscoreize(body))
    if not serializer.is_valid():
        first = error_items(serializer.errors)[0]
        summary.refuse(number, first["field"], first["message"])
        return None
    data = dict(serializer.validated_data)
    if not (data.get("external_system") and data.get("external_system_reference_number")):
        summary.refuse(number, "externalSystemReferenceNumber",
                       "An imported event needs externalSystem and "
                       "externalSystemReferenceNumber: they make the import idempotent.")
        return None
    return data


def _chunks(lines: Iterable[str], size: int) -> Iterator[list[tuple[int, str]]]:
    chunk: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            chunk.append((number, line))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def events_import(*, program: Program, lines: Iterable[str], now: datetime,
                  progress: Callable[[int], None] | None = None,
                  chunk_lines: int = CHUNK_LINES) -> ImportSummary:
    """Import NDJSON event lines into `program`; `progress(n)` is told of every n lines
    handled. Each event commits on its own, so a crash loses nothing that was stored and a
    second run replays what the first stored."""
    summary = ImportSummary()
    for chunk in _chunks(lines, chunk_lines):
        parsed = [(number, _parse(number, line, summary)) for number, line in chunk]
        valid = sorted(((n, d) for n, d in parsed if d is not None),
                       key=lambda item: (item[1]["performed_on"], item[0]))
        for number, data in valid:
            try:
                result = event_ingest(program=program, data=data, now=now, late_window=False)
            except ApplicationError as exc:
                summary.refuse(number, api_name(exc.field) if exc.field else None, exc.message)
                continue
            if result.replayed:
                summary.replayed += 1
            else:
                summary.imported += 1
        if progress is not None:
            progress(len(chunk))
    return summary
