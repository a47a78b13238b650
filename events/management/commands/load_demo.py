"""Demo data for `make run`: safe to run any number of times."""

from datetime import UTC, datetime

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from achievements.models import Achievement
from achievements.services import achievement_create
from loyalty.models import ApiKey, Campaign, Customer, Program, RewardOffer
from loyalty.services import (
    api_key_create,
    api_key_revoke,
    campaign_create,
    currency_create,
    program_create,
    reward_offer_create,
)

PROGRAM_NAME = "Laurel Coffee Club"
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


class Command(BaseCommand):
    help = "Load Laurel's demo program (idempotent) and print fresh demo API keys."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=25)
        parser.add_argument("--quiet-keys", action="store_true", help="Do not rotate the keys.")

    @transaction.atomic
    def handle(self, *args, customers: int, quiet_keys: bool, **options):
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
        Customer.objects.bulk_create(
            [Customer(program=program, integration_id=f"demo-customer-{i:03d}",
                      name=f"Demo customer {i}") for i in range(1, customers + 1)],
            ignore_conflicts=True,
        )
        self.stdout.write(
            f"Demo program '{program.name}' (id {program.pk}): "
            f"{campaign.achievements.count()} achievements, "
            f"{program.reward_offers.count()} reward offers, "
            f"{program.customers.count()} customers, "
            f"currencies {', '.join(program.currencies.values_list('code', flat=True))}."
        )
        if quiet_keys:
            return
        now = timezone.now()
        for scope, name in DEMO_KEYS.items():
            for old in ApiKey.objects.filter(program=program, name=name, revoked_at__isnull=True):
                api_key_revoke(api_key=old, now=now)
            _, raw_key = api_key_create(name=name, scope=scope, program=program)
            self.stdout.write(f"{name} ({scope}, program {program.pk}): {raw_key}")


