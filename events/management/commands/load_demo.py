"""Demo data for `make run`: safe to run any number of times."""

import random
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from achievements.models import Achievement
from achievements.services import achievement_create, target_group_create
from config.exceptions import ApplicationError
from config.progress import progress_bar
from events.models import CustomerEvent
from events.services import event_ingest
from loyalty.models import ApiKey, AwardTransaction, Campaign, Customer, Program, RewardOffer
from loyalty.services import (
    api_key_create,
    api_key_revoke,
    campaign_create,
    currency_create,
    program_create,
    reward_offer_create,
)

PROGRAM_NAME = "Laurel Coffee Club"
CUSTOMER_BATCH = 1000
CAMPAIGN_NAME = "Everyday rewards"
DEMO_KEYS = {
    ApiKey.Scope.MANAGEMENT: "Demo management key",
    ApiKey.Scope.INTEGRATION: "Demo integration key",
}
ACHIEVEMENTS = [
    {
        "name": "FirstOrder",
        "title": "Welcome: place your first order",
        "description": "Completes on the first purchase.",
        "target": 1,
        "event_types": ["PURCHASE"],
    },
    {
        "name": "TenCoffeesIn30Days",
        "title": "Ten coffees in 30 days",
        "description": "Buy ten coffees within 30 days of the first one; starts over after.",
        "target": 10,
        "period": "30D",
        "recurrence_policy": Achievement.RecurrencePolicy.ON_EXPIRATION,
        "event_types": ["PURCHASE"],
        "progress_condition": 'event.product == "COFFEE"',
    },
    {
        "name": "MonthlySpend100",
        "title": "Spend 100 in a calendar month",
        "description": "Every month from 1 January 2026, spend 100 in total.",
        "target": 100,
        "period": "1M",
        "recurrence_policy": Achievement.RecurrencePolicy.ON_EXPIRATION,
        "activation_policy": Achievement.ActivationPolicy.FIXED_SCHEDULE,
        "fixed_start_date": datetime(2025, 12, 31, 23, 0, tzinfo=UTC),  # 1 Jan, Amsterdam
        "event_types": ["PURCHASE"],
        "progress_increment": "event.amount",
        "is_capped_by_target": True,
    },
    {
        "name": "ExerciseMarathon",
        "title": "300 minutes of exercise",
        "description": "Every 300 minutes logged earn a reward; the excess carries over.",
        "target": 300,
        "recurrence_policy": Achievement.RecurrencePolicy.ON_COMPLETION,
        "event_types": ["CUSTOM"],
        "progress_condition": "has(event.attributes.minutes)",
        "progress_increment": "event.attributes.minutes",
    },
    {
        "name": "ThreeVisitsThisQuarter",
        "title": "Three visits in three months",
        "description": "Three purchases before the end of the month three months on.",
        "target": 3,
        "period": "3M_U",
        "recurrence_policy": Achievement.RecurrencePolicy.ON_EXPIRATION,
        "event_types": ["PURCHASE"],
    },
]

# (offer code, name, achievement, award, currency, number of awards, period)
REWARD_OFFERS = [
    ("WELCOME100", "Welcome bonus", "FirstOrder", "FIXED", 100, "PTS", "ONLY_ONE", ""),
    ("COFFEE_STARS", "Coffee lover stars", "TenCoffeesIn30Days", "FIXED", 10, "STARS",
     "MULTIPLE", ""),
    ("MONTHLY_BONUS", "Monthly spender: 10% back", "MonthlySpend100", "PERCENTAGE", 10, "PTS",
     "ONLY_ONE_PER_PERIOD", "MONTH"),
    ("MARATHON", "Marathon medal", "ExerciseMarathon", "FIXED", 25, "STARS", "MULTIPLE", ""),
    ("LOYAL_TRIO", "Loyal trio: first order and three visits", "ThreeVisitsThisQuarter",
     "FIXED", 30, "PTS", "MULTIPLE", ""),
]


STREAKS = [
    {
        "name": "Weekly coffee streak",
        "description": "Spend 20 or more every week; 2, 4 and 8 weeks in a row earn stars.",
        "tracking_type": "STREAKS",
        "frequency_type": "WEEKLY",
        "recurring_cycles": 12,
        "grace_period": timedelta(hours=6),
        "reminder_window": timedelta(days=1),
        "targets": [{"name": "Spend 20 a week", "target_entity": "TRANSACTION",
                     "target_type": "SALES", "event_name": "PURCHASE",
                     "default_values": [Decimal(20)] * 12}],
        "streaks": [{"name": "Two weeks", "target_count_of_sequence": 2},
                    {"name": "Four weeks", "target_count_of_sequence": 4},
                    {"name": "Eight weeks", "target_count_of_sequence": 8}],
        "offers": [10, 25, 60],
    },
    {
        "name": "Daily exercise",
        "description": "Log 30 minutes of exercise on any 5 and 20 days of the next 30.",
        "tracking_type": "NON_CONTINUOUS_STREAKS",
        "frequency_type": "DAILY",
        "recurring_cycles": 30,
        "targets": [{"name": "30 minutes a day", "target_entity": "EVENT",
                     "target_type": "EVENT_ATTRIBUTE", "event_name": "CUSTOM",
                     "attribute_name": "minutes",
                     "expression": "has(currentEvent.attributes.minutes)",
                     "default_values": [Decimal(30)] * 30}],
        "streaks": [{"name": "Five active days", "target_count_of_sequence": 5},
                    {"name": "Twenty active days", "target_count_of_sequence": 20}],
        "offers": [15, 50],
    },
]


class Command(BaseCommand):
    help = "Load Laurel's demo program (idempotent) and print fresh demo API keys."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=25)
        parser.add_argument("--quiet-keys", action="store_true", help="Do not rotate the keys.")
        parser.add_argument(
            "--activity-days", type=int, default=30,
            help="Post this many days of past activity (purchases, exercise) for the first "
            "--active-customers customers, through the real pipeline, so the dashboard has "
            "something to show; only into a program without events yet. 0: none.")
        parser.add_argument("--active-customers", type=int, default=25)
        parser.add_argument("--no-progress", action="store_true",
                            help="No progress bar on stderr.")

    def handle(self, *args, customers: int, quiet_keys: bool, activity_days: int,
               active_customers: int, no_progress: bool, **options):
        started = time.monotonic()
        with progress_bar(self.stderr, disable=no_progress) as progress:
            program = self._definitions_and_customers(customers=customers, quiet_keys=quiet_keys,
                                                      progress=progress)
            posted = 0
            if activity_days > 0:
                posted = self._activity(program, days=activity_days,
                                        customers=min(active_customers, customers),
                                        progress=progress)
        self.stderr.write(
            f"Summary: {program.customers.count():,} customers, {posted:,} events posted, in "
            f"{time.monotonic() - started:,.1f} s."
        )

    @transaction.atomic
    def _definitions_and_customers(self, *, customers: int, quiet_keys: bool,
                                   progress) -> Program:
        program = Program.objects.filter(name=PROGRAM_NAME).first() or program_create(
            name=PROGRAM_NAME, time_zone="Europe/Amsterdam", currency_code="PTS"
        )
        if not program.currencies.filter(code="STARS").exists():
            currency_create(program=program, code="STARS", name="Stars")
        campaign = program.campaigns.filter(name=CAMPAIGN_NAME).first() or campaign_create(
            program=program, name=CAMPAIGN_NAME, state=Campaign.State.RUNNING,
            description="The demo campaign: every achievement below is live.",
        )
        for spec in ACHIEVEMENTS:
            if not campaign.achievements.filter(name=spec["name"]).exists():
                achievement_create(campaign=campaign, **spec)
        for code, name, achievement_name, award_type, value, currency, number, period in (
            REWARD_OFFERS
        ):
            if program.reward_offers.filter(code=code).exists():
                continue
            achievement = campaign.achievements.get(name=achievement_name)
            reward_offer_create(
                program=program, code=code, name=name,
                classifications=[achievement.classification], award_type=award_type,
                award_value=value, currency=program.currencies.get(code=currency),
                number_of_awards=number, award_period=period,
                state=RewardOffer.State.EFFECTIVE,
            )
        self._streaks(program)
        task = progress.add_task("Customers", total=customers, unit="customers")
        for first in range(1, customers + 1, CUSTOMER_BATCH):
            last = min(first + CUSTOMER_BATCH, customers + 1)
            Customer.objects.bulk_create(
                [Customer(program=program, integration_id=f"demo-customer-{i:03d}",
                          name=f"Demo customer {i}") for i in range(first, last)],
                ignore_conflicts=True,
            )
            progress.advance(task, last - first)
        self.stdout.write(
            f"Demo program '{program.name}' (id {program.pk}): "
            f"{campaign.achievements.count()} achievements, "
            f"{program.reward_offers.count()} reward offers, "
            f"{program.target_groups.count()} streak target groups, "
            f"{program.customers.count()} customers, "
            f"currencies {', '.join(program.currencies.values_list('code', flat=True))}."
        )
        if quiet_keys:
            return program
        now = timezone.now()
        for scope, name in DEMO_KEYS.items():
            for old in ApiKey.objects.filter(program=program, name=name, revoked_at__isnull=True):
                api_key_revoke(api_key=old, now=now)
            _, raw_key = api_key_create(name=name, scope=scope, program=program)
            self.stdout.write(f"{name} ({scope}, program {program.pk}): {raw_key}")
        return program

    def _activity(self, program: Program, *, days: int, customers: int, progress) -> int:
        """A few weeks of coffee, brunch and exercise for the first customers, each event
        through `event_ingest` (so progress, completions, rewards and streaks are real).
        Seeded, and only into a program without events: running again adds nothing."""
        if CustomerEvent.objects.filter(program=program).exists():
            return 0
        now = timezone.now()
        plan = []
        for i in range(1, customers + 1):
            rng = random.Random(i)
            keenness = rng.uniform(0.15, 0.8)
            for day in range(days, -1, -1):
                if rng.random() > keenness:
                    continue
                at = now - timedelta(days=day, hours=rng.uniform(0.5, 10))
                if at >= now:
                    continue
                brunch = rng.random() < 0.15
                plan.append((at, i, {
                    "type": "PURCHASE", "product": "BRUNCH" if brunch else "COFFEE",
                    "amount": Decimal(rng.randint(18, 42) if brunch else rng.randint(3, 7)),
                }))
                if rng.random() < 0.35:
                    plan.append((at + timedelta(hours=1), i, {
                        "type": "CUSTOM", "attributes": {"minutes": rng.randint(20, 60)}}))
        plan.sort(key=lambda item: item[0])
        task = progress.add_task("Demo activity", total=len(plan), unit="events")
        posted = 0
        for n, (at, i, fields) in enumerate(plan, start=1):
            try:
                event_ingest(program=program, now=min(at + timedelta(seconds=1), now), data={
                    "customer": f"demo-customer-{i:03d}", "performed_on": at,
                    "external_system": "DEMO", "external_system_reference_number": f"D-{n}",
                    **fields,
                })
                posted += 1
            except ApplicationError as exc:  # a definition refusing an event: skip it
                self.stderr.write(f"Event {n} skipped: {exc.message}")
            progress.advance(task)
        # As if the events had arrived live: the ledger rows they caused are dated when
        # their event was received (the pipeline dates them by the clock).
        AwardTransaction.objects.filter(program=program, customer_event_id__isnull=False).update(
            created_at=Subquery(CustomerEvent.objects.filter(pk=OuterRef("customer_event_id"))
                                .values("received_at")[:1]))
        return posted



    def _streaks(self, program: Program) -> None:
        """Streaks start on the Monday of the week the demo is first loaded (local time)."""
        tz = ZoneInfo(program.time_zone)
        today = timezone.now().astimezone(tz).date()
        monday = today - timedelta(days=today.weekday())
        stars = program.currencies.get(code="STARS")
        for spec in STREAKS:
            if program.target_groups.filter(name=spec["name"]).exists():
                continue
            spec = dict(spec)
            offers = spec.pop("offers")
            start = monday if spec["frequency_type"] == "WEEKLY" else today
            group = target_group_create(
                program=program, frequency=1,
                start_date=datetime(start.year, start.month, start.day, tzinfo=tz), **spec,
            )
            for level, value in zip(group.levels.order_by("target_count_of_sequence"), offers,
                                    strict=True):
                reward_offer_create(
                    program=program, code=f"STREAK_{group.pk}_{level.target_count_of_sequence}",
                    name=f"{group.name}: {level.name}", classifications=[level.classification],
                    award_type="FIXED", award_value=value, currency=stars,
                    number_of_awards="MULTIPLE", state=RewardOffer.State.EFFECTIVE,
                )
