"""Delivering notifications to a program's webhook, against a real HTTP server on 127.0.0.1
(http.server in a thread) that records what it receives and can be told to fail.

Notifications are made by the jobs themselves (an iteration expiring, a period starting); the
delivery job runs with an explicit `now`, so the backoff is checked to the second.
"""

import hashlib
import hmac
import json
import socket
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO

import pytest
from django.core.management import call_command

from achievements.services.jobs import achievement_iterations_close_due
from events.jobs import JOBS
from loyalty.models import JobRun, Notification
from loyalty.services import (
    WEBHOOK_MAX_ATTEMPTS,
    notifications_deliver_due,
    notifications_retry,
)
from tests.achievements.factories import AchievementFactory, AchievementProgressFactory
from tests.loyalty.factories import CampaignFactory, CustomerFactory, ProgramFactory

pytestmark = pytest.mark.django_db

SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
END = T0 + timedelta(days=1)
SECRET = "hook-secret-0123456789"
Delivery = Notification.Delivery


class Hook:
    """A webhook receiver: records each request; `mode` says how to answer: ok (200),
    fail (500) or garbage (a response that is not HTTP)."""

    def __init__(self):
        self.requests: list[dict] = []
        self.mode = "ok"
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                hook.requests.append({"path": self.path, "headers": dict(self.headers),
                                      "body": body})
                if hook.mode == "garbage":
                    self.wfile.write(b"NOT-HTTP garbage\r\n\r\n")
                    self.close_connection = True
                    return
                self.send_response(200 if hook.mode == "ok" else 500)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def hook():
    receiver = Hook()
    yield receiver
    receiver.close()


@pytest.fixture
def refused_url():
    """A URL on a port nobody listens on (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


@pytest.fixture
def program(hook):
    return ProgramFactory(name="Hooked", webhook_url=hook.url, webhook_secret=SECRET)


def expire(program, *names, end=END):
    """Give each named customer an iteration ending at `end` and run the close at `end`:
    one achievementExpired notification each."""
    achievement = AchievementFactory(campaign=CampaignFactory(program=program, running=True))
    for name in names:
        customer = CustomerFactory(program=program, integration_id=name)
        AchievementProgressFactory(achievement=achievement, customer=customer, sequence=1,
                                   window_start=T0, end_date=end)
    achievement_iterations_close_due(now=end)
    return list(Notification.objects.filter(program=program, customer__integration_id__in=names)
                .order_by("pk"))


def signature(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


def reload(notification):
    notification.refresh_from_db()
    return notification


# Delivery
# ------------------------------------------------------------------------------------------
def test_notifications_deliver_due_posts_signed_json_when_program_has_webhook(program, hook):
    # given
    (notification,) = expire(program, "ann")
    assert (notification.delivery, notification.next_attempt_at) == (Delivery.PENDING, END)

    # when
    stats = notifications_deliver_due(now=END)

    # then
    (request,) = hook.requests
    assert request["path"] == "/hook"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"]["X-Laurel-Signature"] == signature(request["body"])
    assert json.loads(request["body"]) == {
        "id": notification.pk, "type": "achievementExpired", "programId": program.pk,
        "customer": "ann", "occurredAt": END.isoformat(), "data": notification.payload,
    }
    reload(notification)
    assert (notification.delivery, notification.attempts, notification.delivered_at,
            notification.last_error) == (Delivery.DELIVERED, 1, END, "")
    assert stats.rows == 1


def test_notifications_deliver_due_sends_nothing_when_not_due_yet(program, hook):
    # given
    (notification,) = expire(program, "ann")

    # when
    notifications_deliver_due(now=END - SECOND)

    # then
    assert hook.requests == []
    assert reload(notification).delivery == Delivery.PENDING


def test_notifications_deliver_due_delivers_each_once_when_run_again(program, hook):
    # given
    expire(program, "ann", "bob")
    notifications_deliver_due(now=END)

    # when
    stats = notifications_deliver_due(now=END + MINUTE)

    # then
    assert stats.rows == 0
    assert len(hook.requests) == 2
    assert set(Notification.objects.values_list("delivery", flat=True)) == {Delivery.DELIVERED}


def test_notifications_deliver_due_signs_with_each_programs_secret_when_two_programs(hook):
    # given
    first = ProgramFactory(webhook_url=hook.url, webhook_secret=SECRET)
    second = ProgramFactory(webhook_url=hook.url, webhook_secret="another-secret")
    expire(first, "ann")
    expire(second, "bob")

    # when
    notifications_deliver_due(now=END)

    # then
    by_program = {json.loads(r["body"])["programId"]: r for r in hook.requests}
    assert by_program[first.pk]["headers"]["X-Laurel-Signature"] == signature(
        by_program[first.pk]["body"])
    assert by_program[second.pk]["headers"]["X-Laurel-Signature"] == "sha256=" + hmac.new(
        b"another-secret", by_program[second.pk]["body"], hashlib.sha256).hexdigest()


# Failures and backoff
# ------------------------------------------------------------------------------------------
def test_notifications_deliver_due_backs_off_exponentially_when_endpoint_fails(program, hook):
    # given: an endpoint that answers 500
    (notification,) = expire(program, "ann")
    hook.mode = "fail"
    now = END

    # when / then: attempt n waits 2 ** (n - 1) minutes; one second early nothing happens
    for attempt in range(1, WEBHOOK_MAX_ATTEMPTS):
        notifications_deliver_due(now=now)
        reload(notification)
        backoff = MINUTE * 2 ** (attempt - 1)
        assert (notification.delivery, notification.attempts, notification.next_attempt_at) == (
            Delivery.PENDING, attempt, now + backoff)
        assert "500" in notification.last_error
        notifications_deliver_due(now=now + backoff - SECOND)
        assert reload(notification).attempts == attempt
        now += backoff

    # when: the last attempt fails too
    notifications_deliver_due(now=now)

    # then
    reload(notification)
    assert (notification.delivery, notification.attempts) == (Delivery.FAILED,
                                                              WEBHOOK_MAX_ATTEMPTS)
    assert len(hook.requests) == WEBHOOK_MAX_ATTEMPTS
    notifications_deliver_due(now=now + timedelta(days=30))
    assert len(hook.requests) == WEBHOOK_MAX_ATTEMPTS


def test_notifications_deliver_due_schedules_retry_when_connection_refused(refused_url):
    # given
    program = ProgramFactory(webhook_url=refused_url, webhook_secret=SECRET)
    (notification,) = expire(program, "ann")

    # when
    stats = notifications_deliver_due(now=END)

    # then
    reload(notification)
    assert (notification.delivery, notification.attempts, notification.next_attempt_at) == (
        Delivery.PENDING, 1, END + MINUTE)
    assert "refused" in notification.last_error.lower()
    assert stats.rows == 1


def test_notifications_deliver_due_delivers_others_when_one_endpoint_fails(hook, refused_url):
    # given
    broken = ProgramFactory(webhook_url=refused_url, webhook_secret=SECRET)
    working = ProgramFactory(webhook_url=hook.url, webhook_secret=SECRET)
    (failing,) = expire(broken, "ann")
    (fine,) = expire(working, "bob")

    # when
    notifications_deliver_due(now=END)

    # then
    assert reload(failing).delivery == Delivery.PENDING
    assert reload(fine).delivery == Delivery.DELIVERED
    assert len(hook.requests) == 1


def test_run_periodic_jobs_runs_every_job_when_a_webhook_fails(hook, refused_url):
    # given: a program whose endpoint refuses and one whose endpoint answers 500
    broken = ProgramFactory(webhook_url=refused_url, webhook_secret=SECRET)
    failing = ProgramFactory(webhook_url=hook.url, webhook_secret=SECRET)
    hook.mode = "fail"
    for program, name in ((broken, "ann"), (failing, "bob")):
        achievement = AchievementFactory(campaign=CampaignFactory(program=program, running=True))
        AchievementProgressFactory(
            achievement=achievement, sequence=1, window_start=T0, end_date=END,
            customer=CustomerFactory(program=program, integration_id=name))
    out = StringIO()

    # when
    call_command("run_periodic_jobs", "--now", END.isoformat(), stdout=out)

    # then: every job ran and succeeded; the deliveries wait for their retry
    assert len(out.getvalue().splitlines()) == len(JOBS)
    runs = {run.job: run for run in JobRun.objects.all()}
    assert set(runs) == set(JOBS)
    assert {run.outcome for run in runs.values()} == {JobRun.Outcome.SUCCEEDED}
    assert runs["deliver-notifications"].rows == 2
    assert set(Notification.objects.values_list("delivery", "attempts", "next_attempt_at")) == {
        (Delivery.PENDING, 1, END + MINUTE)}


# Regression: a response that is not HTTP (http.client.BadStatusLine, not an OSError)
# once aborted the whole delivery batch and rolled back rows already POSTed.
def test_notifications_deliver_due_delivers_others_when_endpoint_answers_garbage(hook):
    # given: a good endpoint's notification first, then one whose endpoint answers garbage
    good = Hook()
    try:
        working = ProgramFactory(webhook_url=good.url, webhook_secret=SECRET)
        weird = ProgramFactory(webhook_url=hook.url, webhook_secret=SECRET)
        hook.mode = "garbage"
        (fine,) = expire(working, "ann")
        (bad,) = expire(weird, "bob")

        # when
        notifications_deliver_due(now=END)
        notifications_deliver_due(now=END + timedelta(hours=1))

        # then
        assert reload(fine).delivery == Delivery.DELIVERED
        assert len(good.requests) == 1
        assert (reload(bad).delivery, bad.attempts) == (Delivery.PENDING, 2)
    finally:
        good.close()


# Retry and programs without a webhook
# ------------------------------------------------------------------------------------------
def test_notifications_retry_makes_failed_pending_again_when_asked(program, hook):
    # given: ann's notification failed (every attempt answered 500), bob's was delivered
    (failed,) = expire(program, "ann")
    hook.mode = "fail"
    now = END
    for _ in range(WEBHOOK_MAX_ATTEMPTS):
        notifications_deliver_due(now=now)
        now = reload(failed).next_attempt_at
    assert reload(failed).delivery == Delivery.FAILED
    hook.mode = "ok"
    (delivered,) = expire(program, "bob", end=now)
    notifications_deliver_due(now=now)
    assert reload(delivered).delivery == Delivery.DELIVERED
    retry_at = now + timedelta(hours=1)

    # when
    count = notifications_retry(notification_ids=[failed.pk, delivered.pk], now=retry_at)

    # then: only the failed one goes back in the queue, from scratch
    assert count == 1
    reload(failed)
    assert (failed.delivery, failed.attempts, failed.next_attempt_at) == (
        Delivery.PENDING, 0, retry_at)
    assert reload(delivered).delivery == Delivery.DELIVERED

    # when: the next delivery run
    requests_before = len(hook.requests)
    notifications_deliver_due(now=retry_at)

    # then
    assert (reload(failed).delivery, failed.attempts) == (Delivery.DELIVERED, 1)
    assert len(hook.requests) == requests_before + 1


def test_notifications_record_marks_no_webhook_and_sends_nothing_when_program_has_none(hook):
    # given: a program without a webhook (another program has one, with nothing to send)
    ProgramFactory(webhook_url=hook.url, webhook_secret=SECRET)
    plain = ProgramFactory(webhook_url="")
    (notification,) = expire(plain, "ann")

    # when
    stats = notifications_deliver_due(now=END + timedelta(days=1))
    retried = notifications_retry(notification_ids=[notification.pk], now=END)

    # then
    reload(notification)
    assert (notification.delivery, notification.next_attempt_at, notification.attempts) == (
        Delivery.NO_WEBHOOK, None, 0)
    assert (stats.rows, retried) == (0, 0)
    assert hook.requests == []


# GET /api/v1/programs/{id}/notifications
# ------------------------------------------------------------------------------------------
@pytest.fixture
def listed(program, hook, other_program):
    """ann and bob expired and delivered; cleo expired later, pending; a period started;
    another program's notification that must not show."""
    from achievements.services import target_group_create
    from achievements.services.jobs import periods_open_due

    expire(program, "ann", "bob")
    target_group_create(
        program=program, name="Weekly", tracking_type="DEFAULT", frequency_type="WEEKLY",
        frequency=1, recurring_cycles=2, start_date=T0, time_zone="UTC",
        targets=[{"name": "Buy", "target_entity": "EVENT", "target_type": "COUNT",
                  "event_name": "PURCHASE", "default_values": [1, 1]}],
    )
    periods_open_due(now=T0)
    notifications_deliver_due(now=END)
    expire(program, "cleo", end=END + timedelta(days=1))
    expire(other_program, "ann")
    return program


def listing(client, program, **params):
    response = client.get(f"/api/v1/programs/{program.pk}/notifications", params)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_notifications_api_lists_the_programs_notifications_when_no_filter(
    listed, management_client
):
    # when
    rows = listing(management_client, listed)

    # then
    assert sorted((r["type"], r["customer"], r["delivery"]) for r in rows) == [
        ("achievementExpired", "ann", "delivered"), ("achievementExpired", "bob", "delivered"),
        ("achievementExpired", "cleo", "pending"), ("periodStarted", None, "delivered")]
    ann = next(r for r in rows if r["customer"] == "ann")
    assert set(ann) == {"id", "type", "customer", "occurredAt", "payload", "delivery",
                        "attempts", "deliveredAt", "lastError"}
    assert (ann["attempts"], ann["deliveredAt"]) == (1, "2026-03-11T12:00:00Z")


@pytest.mark.parametrize(("params", "expected"), [
    ({"type": "achievementExpired"}, {"ann", "bob", "cleo"}),
    ({"type": "periodStarted"}, {None}),
    ({"customer": "ann"}, {"ann"}),
    ({"delivery": "pending"}, {"cleo"}),
    ({"delivery": "delivered", "type": "achievementExpired"}, {"ann", "bob"}),
    ({"delivery": "failed"}, set()),
], ids=["type", "type-without-customer", "customer", "delivery", "delivery-and-type",
        "no-match"])
def test_notifications_api_filters_when_filter_given(listed, management_client, params,
                                                     expected):
    # when
    rows = listing(management_client, listed, **params)

    # then
    assert {r["customer"] for r in rows} == expected
    assert len(rows) == len(expected)


def test_notifications_api_refuses_when_filter_value_unknown(listed, management_client):
    # when
    response = management_client.get(f"/api/v1/programs/{listed.pk}/notifications",
                                     {"type": "nope"})

    # then
    assert response.status_code == 400
