import secrets

import pytest
import time_machine
from rest_framework.test import APIClient

from loyalty.models import ApiKey
from tests.loyalty.factories import ApiKeyFactory, CampaignFactory, ProgramFactory


def client_for(api_key: ApiKey) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key.raw_key}")
    client.api_key = api_key
    return client


def make_key(*, scope: str, program=None) -> ApiKey:
    """An ApiKey row that remembers its raw key (as only its creator ever sees it)."""
    raw_key = f"laurel_test_{secrets.token_hex(12)}"
    api_key = ApiKeyFactory(scope=scope, program=program, raw_key=raw_key)
    api_key.raw_key = raw_key
    return api_key


@pytest.fixture
def program(db):
    return ProgramFactory(name="Coffee Club", time_zone="Europe/Amsterdam")


@pytest.fixture
def other_program(db):
    return ProgramFactory(name="Tea Club")


@pytest.fixture
def anonymous_client():
    return APIClient()


@pytest.fixture
def account_client(db):
    return client_for(make_key(scope=ApiKey.Scope.ACCOUNT, program=None))


@pytest.fixture
def management_client(program):
    return client_for(make_key(scope=ApiKey.Scope.MANAGEMENT, program=program))


@pytest.fixture
def integration_client(program):
    return client_for(make_key(scope=ApiKey.Scope.INTEGRATION, program=program))


@pytest.fixture
def staff_client(admin_user):
    client = APIClient()
    client.force_authenticate(user=admin_user)
    return client


@pytest.fixture
def campaign(program):
    """A running campaign of `program`."""
    return CampaignFactory(program=program, running=True)


@pytest.fixture
def frozen_clock(request):
    """The clock pinned at the test module's NOW for the whole test (use it through
    `pytestmark = [..., pytest.mark.usefixtures("frozen_clock")]`)."""
    with time_machine.travel(request.module.NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def fresh_cache():
    """Throttle counters live in the cache: every test starts with none."""
    from django.core.cache import cache

    cache.clear()
    yield
