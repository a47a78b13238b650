"""The event-log commands: import_events (history in any order and any age, idempotent and
resumable) and recompute_progress (the same fold over the stored events)."""

import io
import json
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError

from achievements.models import AchievementProgress
from events import imports
from events.models import CustomerEvent
from events.services import event_ingest
from tests.achievements.factories import AchievementFactory
from tests.loyalty.factories import CampaignFactory, ProgramFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
BASE = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)  # long before any lateEventWindow


def run(command, *args):
    out = io.StringIO()
    call_command(command, *args, "--no-progress", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def _program(name):
    program = ProgramFactory(name=name, time_zone="UTC", late_event_window=timedelta(days=30))
    campaign = CampaignFactory(program=program, running=True)
    AchievementFactory(campaign=campaign, name="Weekly", target=3, period="1W",
                       recurrence_policy="on_expiration", allow_rollback_after_completion=True)
    AchievementFactory(campaign=campaign, name="Big", target=50, period="1M_U",
                       progress_increment="event.amount", is_capped_by_target=True)
    return program


def _bodies():
    rng = random.Random(3)
    bodies = []
    for n in range(60):
        at = BASE + timedelta(hours=rng.randrange(0, 24 * 40))
        bodies.append({"customer": f"c{n % 4}", "type": "PURCHASE",
                       "performedOn": at.isoformat(), "amount": rng.choice([5, 10, 20]),
                       "externalSystem": "POS", "externalSystemReferenceNumber": f"R-{n}"})
    return bodies


def _shape(program):
    return sorted(
        (r.customer.integration_id, r.achievement.name, r.sequence, r.window_start,
         r.start_date, r.end_date, r.progress, r.status, r.completion_date)
        for r in AchievementProgress.objects.filter(customer__program=program)
        .select_related("customer", "achievement"))


def _write(tmp_path, lines):
    path = tmp_path / "events.ndjson"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_import_events_equals_posting_the_events_in_event_time_and_reports_refusals(tmp_path):
    imported_into, posted_into = _program("Imported"), _program("Posted")
    bodies = _bodies()
    shuffled = list(bodies)
    random.Random(5).shuffle(shuffled)
    lines = [json.dumps(b) for b in shuffled]
    lines.insert(7, "{not json")
    lines.insert(20, json.dumps({**bodies[0], "externalSystemReferenceNumber": "",
                                 "externalSystem": ""}))
    lines.insert(30, json.dumps({**bodies[0], "type": "PURCHSE",
                                 "externalSystemReferenceNumber": "X-1"}))

    output = run("import_events", "--program", str(imported_into.pk),
                 str(_write(tmp_path, lines)))

    assert "imported 60, replayed 0, refused 3" in output
    assert "line 8: Not JSON" in output
    assert "line 21: externalSystemReferenceNumber: An imported event needs" in output
    assert "line 31: type:" in output
    for body in sorted(bodies, key=lambda b: b["performedOn"]):
        data = {"customer": body["customer"], "type": "PURCHASE",
                "performed_on": datetime.fromisoformat(body["performedOn"]),
                "amount": Decimal(body["amount"]), "external_system": "POS",
                "external_system_reference_number": body["externalSystemReferenceNumber"]}
        event_ingest(program=posted_into, data=data, now=NOW, late_window=False)
    assert _shape(imported_into) == _shape(posted_into)
    assert _shape(imported_into)


def test_import_events_replays_a_second_run_and_resumes_after_a_crash(tmp_path, monkeypatch):
    program = _program("Resumed")
    path = _write(tmp_path, [json.dumps(b) for b in _bodies()])
    real_ingest = imports.event_ingest
    calls = {"n": 0}

    def crashing(**kwargs):
        calls["n"] += 1
        if calls["n"] > 25:
            raise RuntimeError("the worker was killed")
        return real_ingest(**kwargs)

    monkeypatch.setattr(imports, "event_ingest", crashing)
    with pytest.raises(RuntimeError):
        run("import_events", "--program", str(program.pk), str(path))
    assert CustomerEvent.objects.filter(type="PURCHASE").count() == 25
    monkeypatch.setattr(imports, "event_ingest", real_ingest)

    resumed = run("import_events", "--program", str(program.pk), str(path))
    again = run("import_events", "--program", str(program.pk), str(path))

    assert "imported 35, replayed 25, refused 0" in resumed
    assert "imported 0, replayed 60, refused 0" in again
    assert CustomerEvent.objects.filter(type="PURCHASE").count() == 60
    assert "would change 0" in run("recompute_progress", "--program", str(program.pk),
                                   "--dry-run")


def test_import_events_reads_standard_input(monkeypatch):
    program = _program("Piped")
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(_bodies()[0]) + "\n"))

    assert "imported 1," in run("import_events", "--program", str(program.pk), "-")


def test_import_events_refuses_an_unknown_program_and_an_unreadable_file(tmp_path):
    with pytest.raises(CommandError, match="no program"):
        run("import_events", "--program", "999999", str(tmp_path / "x.ndjson"))
    program = _program("Missing file")
    with pytest.raises(CommandError, match="Cannot read"):
        run("import_events", "--program", str(program.pk), str(tmp_path / "missing.ndjson"))


def test_recompute_progress_finds_nothing_on_a_consistent_database_and_repairs_a_damaged_row():
    program = _program("Recomputed")
    bodies = _bodies()
    random.Random(9).shuffle(bodies)
    for body in bodies:  # out of order, through the normal path
        data = {"customer": body["customer"], "type": "PURCHASE",
                "performed_on": datetime.fromisoformat(body["performedOn"]),
                "amount": Decimal(body["amount"]), "external_system": "POS",
                "external_system_reference_number": body["externalSystemReferenceNumber"]}
        with time_machine.travel(NOW, tick=False):
            event_ingest(program=program, data=data, now=NOW, late_window=False)
    assert "would change 0" in run("recompute_progress", "--program", str(program.pk),
                                   "--dry-run")
    good = _shape(program)
    damaged = AchievementProgress.objects.filter(status="inprogress").first()
    AchievementProgress.objects.filter(pk=damaged.pk).update(progress=damaged.progress + 7)

    dry = run("recompute_progress", "--program", str(program.pk), "--dry-run")
    assert "would change 1" in dry
    assert f"customer {damaged.customer.integration_id}" in dry
    assert _shape(program) != good  # a dry run writes nothing

    fixed = run("recompute_progress", "--program", str(program.pk))
    assert "changed 1" in fixed
    assert _shape(program) == good
    assert "would change 0" in run("recompute_progress", "--program", str(program.pk),
                                   "--customer", damaged.customer.integration_id,
                                   "--dry-run")


def test_post_events_import_streams_ndjson_and_answers_a_summary(integration_client):
    program = integration_client.api_key.program
    CampaignFactory(program=program, running=True)
    url = f"/api/v1/programs/{program.pk}/events/import"
    lines = [json.dumps(b) for b in _bodies()[:10]]
    lines.insert(3, "[1, 2]")
    body = "\n".join(lines) + "\n"

    first = integration_client.post(url, data=body, content_type="application/x-ndjson")
    again = integration_client.post(url, data=body, content_type="application/x-ndjson")
    wrong_type = integration_client.post(url, data=body, content_type="application/xml")

    assert first.status_code == 200, first.json()
    assert (first.json()["imported"], first.json()["replayed"], first.json()["refused"]) == (
        10, 0, 1)
    assert first.json()["refusals"] == [{"line": 4, "field": None, "message":
                                         "Each line must be one JSON object (an event body)."}]
    assert (again.json()["imported"], again.json()["replayed"]) == (0, 10)
    assert wrong_type.status_code == 415
    assert CustomerEvent.objects.filter(type="PURCHASE").count() == 10


def test_post_events_import_needs_an_integration_key(management_client):
    program = management_client.api_key.program
    response = management_client.post(f"/api/v1/programs/{program.pk}/events/import",
                                      data="{}\n", content_type="application/x-ndjson")
    assert response.status_code == 403
    assert not CustomerEvent.objects.exists()
