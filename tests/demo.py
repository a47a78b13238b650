"""The demo program (`load_demo`) with a little activity, through the real pipeline: shared
by the admin, dashboard and browser tests."""

import io
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.management import call_command

from events.services import event_ingest
from loyalty.models import Program


def demo_program(*, customers: int = 3, activity_days: int = 0) -> Program:
    call_command("load_demo", customers=customers, quiet_keys=True, no_progress=True,
                 activity_days=activity_days, stdout=io.StringIO(), stderr=io.StringIO())
    return Program.objects.get(name="Laurel Coffee Club")


def demo_purchase(program: Program, *, customer: str, at: datetime, amount: str = "25",
                  product: str = "COFFEE", reference: str | None = None):
    return event_ingest(
        program=program, now=at + timedelta(seconds=1),
        data={"customer": customer, "type": "PURCHASE", "product": product,
              "amount": Decimal(amount), "performed_on": at,
              "external_system": "POS", "external_system_reference_number":
                  reference or f"{customer}-{at.isoformat()}"},
    )
