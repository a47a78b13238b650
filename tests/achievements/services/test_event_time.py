"""Event time through the services on PostgreSQL: whatever order a customer's events arrive
in, and whatever is cancelled meanwhile, the stored iterations equal the pure fold of the
POSTED events in event time, ACHIEVEMENT events and awards follow the completions, and
`progress_rebuild` (recompute_progress) finds nothing to change."""

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from achievements import progress
from achievements.models import AchievementProgress, ProgressContribution
from achievements.services.progress import fold_definition, progress_rebuild
from events.models import CustomerEvent
from events.services import _facts, event_cancel, event_ingest
from loyalty.models import AwardTransaction, Customer, WalletBalance
from tests.achievements.factories import AchievementFactory
from tests.events.factories import RewardOfferFactory
from tests.loyalty.factories import CampaignFactory, ProgramFactory

pytestmark = pytest.mark.django_db

ORIGIN = datetime(2024, 3, 1, tzinfo=UTC)
NOW = ORIGIN + timedelta(days=60)
AWARD = Decimal(10)
_programs = itertools.count(1)


def ingest(program, customer, *, at, amount, reference):
    data = {"customer": customer, "type": "PURCHASE", "performed_on": at,
            "amount": Decimal(amount), "external_system": "POS",
            "external_system_reference_number": reference}
    with time_machine.travel(NOW, tick=False):
        return event_ingest(program=program, data=data, now=NOW)


def cancel(event):
    with time_machine.travel(NOW, tick=False):
        return event_cancel(event=CustomerEvent.objects.get(pk=event.pk), now=NOW,
                            reason="test")


def stored(achievement, customer):
    rows = AchievementProgress.objects.filter(
        achievement=achievement, customer__integration_id=customer).order_by("sequence")
    return [(r.window_start, r.start_date, r.end_date, r.window_index, r.progress,
             r.completion_date) for r in rows]


def folded(achievement, customer):
    """The pure fold over the customer's POSTED purchases, as recompute would see them."""
    posted = CustomerEvent.objects.filter(customer__program=achievement.campaign.program,
                                          customer__integration_id=customer, type="PURCHASE",
                                          life_cycle_state="POSTED")
    result = progress.fold(fold_definition(achievement), [
        progress.Counted(e.performed_on, e.pk, e.amount) for e in posted])
    return [(i.window_start, i.start_date, i.end_date, i.window_index, i.progress,
             i.completion_date) for i in result.iterations]


def assert_goal_events_follow_completions(achievement, customer):
    customer = Customer.objects.get(program=achievement.campaign.program,
                                    integration_id=customer)
    completed = AchievementProgress.objects.filter(achievement=achievement, customer=customer,
                                                   status="completed")
    posted = CustomerEvent.objects.filter(customer=customer, type="ACHIEVEMENT",
                                          life_cycle_state="POSTED")
    assert posted.count() == completed.count()
    for row in completed:  # one posted ACHIEVEMENT event per completed iteration
        prefix = f"achievement:{achievement.pk}:iteration:{row.pk}:"
        assert posted.filter(external_system_reference_number__startswith=prefix).count() == 1
    awards = AwardTransaction.objects.filter(customer=customer, kind="award", state="POSTED")
    assert awards.count() == completed.count()
    wallet = WalletBalance.objects.filter(customer=customer).first()
    balance = wallet.balance if wallet else Decimal(0)
    ledger = AwardTransaction.objects.filter(customer=customer).aggregate(s=Sum("amount"))["s"]
    assert balance == (ledger or 0) == AWARD * completed.count()
    for row in AchievementProgress.objects.filter(achievement=achievement, customer=customer):
        total = ProgressContribution.objects.filter(progress_record=row).aggregate(
            s=Sum("delta"))["s"]
        assert row.progress == (total or 0)


@st.composite
def scenarios(draw):
    policy = draw(st.sampled_from(["no_recurrence", "on_expiration", "on_completion"]))
    activation = draw(st.sampled_from(["user_action", "fixed_schedule"]))
    period = draw(st.sampled_from(["2h", "1D", "1D_U", "2D", "1W", "1M"]))
    capped = draw(st.booleans()) and policy != "on_completion"
    fields = dict(target=draw(st.integers(1, 4)), period=period, recurrence_policy=policy,
                  activation_policy=activation, is_capped_by_target=capped,
                  progress_increment="event.amount",
                  allow_rollback_after_completion=draw(st.booleans()))
    if activation == "fixed_schedule":
        fields["fixed_start_date"] = ORIGIN
    n = draw(st.integers(1, 10))
    minutes = draw(st.lists(st.integers(0, 8 * 24 * 60), min_size=n, max_size=n))
    amounts = draw(st.lists(st.integers(1, 3), min_size=n, max_size=n))
    order = draw(st.permutations(range(n)))
    cancels = draw(st.sets(st.sampled_from(range(n)), max_size=3))
    # When each cancellation happens: after how many arrivals.
    when = {i: draw(st.integers(0, n)) for i in cancels}
    return fields, [(ORIGIN + timedelta(minutes=m), a) for m, a in zip(
        minutes, amounts, strict=True)], order, when


def _run(fields, events, order, when):
    program = ProgramFactory(name=f"Event time {next(_programs)}", time_zone="UTC")
    campaign = CampaignFactory(program=program, running=True)
    achievement = AchievementFactory(campaign=campaign, **fields)
    RewardOfferFactory(program=program, award_value=AWARD,
                       classifications=[achievement.classification])
    posted: dict[int, CustomerEvent] = {}
    cancelled: set[int] = set()
    for arrived, index in enumerate(order, start=1):
        at, amount = events[index]
        posted[index] = ingest(program, "ann", at=at, amount=amount,
                               reference=f"e{index}").event
        for victim, after in sorted(when.items()):
            if after <= arrived and victim in posted and victim not in cancelled:
                cancel(posted[victim])
                cancelled.add(victim)
    for victim in sorted(when):
        if victim not in cancelled:
            cancel(posted[victim])
            cancelled.add(victim)
    return program, achievement


@settings(max_examples=30,   deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(scenarios())
def test_stored_progress_is_the_fold_of_posted_events_whatever_the_arrival_order(scenario):
    fields, events, order, when = scenario

    program, achievement = _run(fields, events, order, when)

    customer = Customer.objects.get(program=program, integration_id="ann")
    history = [_facts(e, customer) for e in CustomerEvent.objects.filter(
        customer=customer, life_cycle_state="POSTED").select_related("classification")]
    _, differences = progress_rebuild(customer=customer, achievement=achievement,
                                      history=history, dry_run=True)
    assert differences == []
    if fields["allow_rollback_after_completion"]:
        assert stored(achievement, "ann") == folded(achievement, "ann")
    sequences = list(AchievementProgress.objects.filter(achievement=achievement)
                     .order_by("window_start", "sequence").values_list("sequence", flat=True))
    assert sequences == list(range(1, len(sequences) + 1))
    assert_goal_events_follow_completions(achievement, "ann")


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(scenarios())
def test_in_order_arrival_without_cancellations_is_the_fold_whatever_the_rollback_flag(
        scenario):
    fields, events, _, _ = scenario
    in_order = sorted(range(len(events)), key=lambda i: (events[i][0], i))

    _, achievement = _run(fields, events, in_order, {})

    assert stored(achievement, "ann") == folded(achievement, "ann")
    assert_goal_events_follow_completions(achievement, "ann")


# Examples from the issue, through the services
# ------------------------------------------------------------------------------------------
T0 = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
def program(db):
    return ProgramFactory(name="Laurel UTC", time_zone="UTC")


@pytest.fixture
def campaign(program):
    return CampaignFactory(program=program, running=True)


def test_late_event_earlier_than_the_start_moves_a_one_time_iteration_back(program, campaign):
    achievement = AchievementFactory(campaign=campaign, target=3, period="1D")
    ingest(program, "ann", at=T0 + 2 * HOUR, amount=1, reference="a")
    ingest(program, "ann", at=T0 + 3 * HOUR, amount=1, reference="b")

    late = ingest(program, "ann", at=T0, amount=1, reference="late")

    ((window_start, start, end, _, progress_, completed_on),) = stored(achievement, "ann")
    assert (window_start, start, end) == (T0, T0, T0 + timedelta(days=1))
    assert (progress_, completed_on) == (3, T0 + 3 * HOUR)
    assert any(e["effectType"] == "achievementCustomerEvent" for e in late.effects)


def test_late_event_re_folds_a_recurring_achievement_into_the_iterations_of_event_time(
        program, campaign):
    achievement = AchievementFactory(campaign=campaign, target=3, period="1D",
                                     recurrence_policy="on_expiration",
                                     allow_rollback_after_completion=True)
    for n, offset in enumerate([20 * HOUR, 25 * HOUR, 26 * HOUR]):
        ingest(program, "ann", at=T0 + offset, amount=1, reference=f"r{n}")
    assert [row[4] for row in stored(achievement, "ann")] == [3]

    result = ingest(program, "ann", at=T0, amount=1, reference="late")

    assert [(row[1], row[4]) for row in stored(achievement, "ann")] == [
        (T0, 2), (T0 + 25 * HOUR, 2)]
    assert stored(achievement, "ann") == folded(achievement, "ann")
    refold = next(e for e in result.effects if e["effectType"] == "achievementProgressRefolded")
    assert [c["change"] for c in refold["iterations"]] == ["moved", "added"]
    # In event time no iteration reaches the target: the completion is taken back.
    assert "achievementCustomerEventCancelled" in [e["effectType"] for e in result.effects]
    assert not CustomerEvent.objects.filter(type="ACHIEVEMENT", life_cycle_state="POSTED")


def test_late_event_keeps_a_completion_that_rollback_may_not_take_back(program, campaign):
    achievement = AchievementFactory(campaign=campaign, target=3, period="1D",
                                     recurrence_policy="on_expiration")
    for n, offset in enumerate([20 * HOUR, 25 * HOUR, 26 * HOUR]):
        ingest(program, "ann", at=T0 + offset, amount=1, reference=f"r{n}")

    ingest(program, "ann", at=T0, amount=1, reference="late")

    # The kept iteration stays as it was; the late event opens one before it, up to it.
    assert [(row[1], row[2], row[4], row[5]) for row in stored(achievement, "ann")] == [
        (T0, T0 + 20 * HOUR, 1, None), (T0 + 20 * HOUR, T0 + 44 * HOUR, 3, T0 + 26 * HOUR)]
    assert CustomerEvent.objects.filter(type="ACHIEVEMENT", life_cycle_state="POSTED").count() \
        == 1


def test_cancelling_the_first_event_equals_never_having_sent_it_when_rollback_allowed(
        program, campaign):
    achievement = AchievementFactory(campaign=campaign, target=2, period="1D",
                                     recurrence_policy="on_expiration",
                                     allow_rollback_after_completion=True)
    RewardOfferFactory(program=program, award_value=AWARD,
                       classifications=[achievement.classification])
    first = ingest(program, "ann", at=T0, amount=1, reference="first")
    ingest(program, "ann", at=T0 + 20 * HOUR, amount=1, reference="x")
    ingest(program, "ann", at=T0 + 30 * HOUR, amount=1, reference="y")
    assert [row[5] for row in stored(achievement, "ann")] == [T0 + 20 * HOUR, None]
    ingest(program, "bob", at=T0 + 20 * HOUR, amount=1, reference="bx")
    ingest(program, "bob", at=T0 + 30 * HOUR, amount=1, reference="by")

    cancel(first.event)

    assert stored(achievement, "ann") == [
        (T0 + 20 * HOUR, T0 + 20 * HOUR, T0 + 44 * HOUR, 0, 2, T0 + 30 * HOUR)]
    assert stored(achievement, "ann") == stored(achievement, "bob")
    assert_goal_events_follow_completions(achievement, "ann")
    assert_goal_events_follow_completions(achievement, "bob")


def test_cancelling_an_early_event_keeps_the_completion_when_rollback_not_allowed(
        program, campaign):
    achievement = AchievementFactory(campaign=campaign, target=2, period="1D")
    RewardOfferFactory(program=program, award_value=AWARD,
                       classifications=[achievement.classification])
    first = ingest(program, "ann", at=T0, amount=1, reference="first")
    ingest(program, "ann", at=T0 + HOUR, amount=1, reference="second")

    result = cancel(first.event)

    ((_, _, _, _, _, completed_on),) = stored(achievement, "ann")
    assert completed_on == T0 + HOUR
    assert [e["effectType"] for e in result.effects] == ["achievementCompletionKept"]
    assert_goal_events_follow_completions(achievement, "ann")


def test_event_older_than_the_late_event_window_is_refused_and_writes_nothing(program):
    program.late_event_window = timedelta(days=7)
    program.save()
    from config.exceptions import ApplicationError

    with pytest.raises(ApplicationError) as refused:
        ingest(program, "ann", at=NOW - timedelta(days=7, seconds=1), amount=1, reference="old")

    assert refused.value.field == "performed_on"
    assert "P7D" in str(refused.value)
    assert not CustomerEvent.objects.exists()
    assert not Customer.objects.exists()
    inside = ingest(program, "ann", at=NOW - timedelta(days=7), amount=1, reference="edge")
    assert inside.event.pk is not None
