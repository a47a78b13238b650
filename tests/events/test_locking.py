"""The customer lock holds one customer, never the program its row is joined with."""

import threading
from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connections
from django.utils import timezone

from events import services as events_services
from events.models import CustomerEvent
from tests.achievements.factories import AchievementFactory
from tests.loyalty.factories import CampaignFactory, ProgramFactory


@pytest.mark.django_db(transaction=True)
def test_event_for_another_customer_completes_while_one_customer_is_locked():
    # given: a program whose events count in an achievement
    program = ProgramFactory()
    AchievementFactory(campaign=CampaignFactory(program=program, running=True), target=100)
    at = timezone.now() - timedelta(minutes=1)
    reached, release = threading.Event(), threading.Event()
    real = events_services.streaks_record_event

    def paused(**kwargs):
        if kwargs["customer"].integration_id == "ann":
            reached.set()
            release.wait(20)
        return real(**kwargs)

    def post(customer: str) -> None:
        try:
            events_services.event_ingest(program=program, now=timezone.now(), data={
                "customer": customer, "type": "PURCHASE", "amount": Decimal(1),
                "performed_on": at})
        finally:
            connections.close_all()

    # when: ann's event holds her lock (mid-transaction) while bob's event runs
    with mock.patch.object(events_services, "streaks_record_event", paused):
        ann = threading.Thread(target=post, args=("ann",))
        ann.start()
        assert reached.wait(20)
        bob = threading.Thread(target=post, args=("bob",))
        bob.start()
        bob.join(10)
        bob_finished = not bob.is_alive()
        release.set()
        ann.join(20)
        bob.join(20)

    # then: bob never waited for ann (the program row was not locked with her)
    assert bob_finished
    bob_number, ann_number = (CustomerEvent.objects.get(customer__integration_id=name).number
                              for name in ("bob", "ann"))
    assert bob_number < ann_number


