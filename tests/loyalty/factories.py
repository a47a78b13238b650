import factory

from loyalty.models import ApiKey, Campaign, Currency, Customer, Program
from loyalty.services import api_key_hash


class ProgramFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Program
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Program {n}")
    time_zone = "UTC"
    currency_code = "PTS"

    @factory.post_generation
    def points_currency(obj, create, extracted, **kwargs):
        if create:
            Currency.objects.get_or_create(
                program=obj, kind=Currency.Kind.POINTS,
                defaults={"code": obj.currency_code, "name": "Points"},
            )


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    program = factory.SubFactory(ProgramFactory)
    name = factory.Sequence(lambda n: f"Campaign {n}")
    state = Campaign.State.DRAFT

    class Params:
        running = factory.Trait(state=Campaign.State.RUNNING)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    program = factory.SubFactory(ProgramFactory)
    integration_id = factory.Sequence(lambda n: f"customer-{n}")
    name = factory.Faker("name")


class CurrencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Currency

    program = factory.SubFactory(ProgramFactory)
    code = factory.Sequence(lambda n: f"ALT{n}")
    name = factory.Sequence(lambda n: f"Alternative {n}")
    kind = Currency.Kind.ALTERNATIVE


class ApiKeyFactory(factory.django.DjangoModelFactory):
    """`raw_key` is the bearer token; only its hash is stored."""

    class Meta:
        model = ApiKey
        exclude = ("raw_key",)

    name = factory.Sequence(lambda n: f"Key {n}")
    scope = ApiKey.Scope.MANAGEMENT
    program = factory.Maybe(
        factory.LazyAttribute(lambda o: o.scope != ApiKey.Scope.ACCOUNT),
        yes_declaration=factory.SubFactory(ProgramFactory),
        no_declaration=None,
    )
    raw_key = factory.Sequence(lambda n: f"laurel_test_key_{n:06d}")
    prefix = factory.LazyAttribute(lambda o: o.raw_key[:13])
    key_hash = factory.LazyAttribute(lambda o: api_key_hash(o.raw_key))
