from datetime import UTC, datetime

import factory

from loyalty.models import Classification, RewardOffer
from tests.loyalty.factories import ProgramFactory


class ClassificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Classification

    program = factory.SubFactory(ProgramFactory)
    code = factory.Sequence(lambda n: f"CLASS{n}")
    name = factory.Sequence(lambda n: f"Classification {n}")
    event_type = "PURCHASE"


class RewardOfferFactory(factory.django.DjangoModelFactory):
    """A fixed award in the program's points, triggered by `classifications`."""

    class Meta:
        model = RewardOffer
        skip_postgeneration_save = True

    program = factory.SubFactory(ProgramFactory)
    name = factory.Sequence(lambda n: f"Offer {n}")
    code = factory.Sequence(lambda n: f"OFFER{n}")
    award_value = 50
    currency = factory.LazyAttribute(lambda o: o.program.currencies.get(kind="points"))
    valid_from = datetime(2020, 1, 1, tzinfo=UTC)

    @factory.post_generation
    def classifications(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.classifications.set(extracted)
