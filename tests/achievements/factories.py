from datetime import UTC, datetime

import factory

from achievements.models import Achievement, AchievementProgress
from achievements.services import achievement_classification_attach
from tests.loyalty.factories import CampaignFactory, CustomerFactory


class AchievementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Achievement
        skip_postgeneration_save = True

    campaign = factory.SubFactory(CampaignFactory)
    name = factory.Sequence(lambda n: f"Achievement{n}")
    title = factory.Sequence(lambda n: f"Achievement number {n}")
    description = "Do the thing."
    target = 10
    period = "1D"
    recurrence_policy = Achievement.RecurrencePolicy.NO_RECURRENCE
    activation_policy = Achievement.ActivationPolicy.USER_ACTION

    @factory.post_generation
    def classification(obj, create, extracted, **kwargs):
        if create:
            achievement_classification_attach(achievement=obj)

    class Params:
        fixed = factory.Trait(
            activation_policy=Achievement.ActivationPolicy.FIXED_SCHEDULE,
            fixed_start_date=datetime(2024, 1, 1, tzinfo=UTC),
        )


class AchievementProgressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AchievementProgress

    achievement = factory.SubFactory(AchievementFactory)
    customer = factory.SubFactory(
        CustomerFactory, program=factory.SelfAttribute("..achievement.campaign.program")
    )
    progress = 1
    sequence = factory.Sequence(lambda n: n + 1)
    window_start = datetime(2024, 1, 1, tzinfo=UTC)
    start_date = factory.SelfAttribute("window_start")
    end_date = datetime(2024, 1, 2, tzinfo=UTC)
