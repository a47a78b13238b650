"""Talon.One's official SDK (talon-one-sdk 26.2) against Laurel on pytest-django's live
server."""

import pytest
import talon_one

from loyalty.models import ApiKey, Campaign
from tests.conftest import make_key
from tests.loyalty.factories import CampaignFactory, ProgramFactory


def sdk_client(live_server, *, scheme: str, key: str, prefix: str):
    configuration = talon_one.Configuration(host=live_server.url)
    configuration.api_key[scheme] = key
    configuration.api_key_prefix[scheme] = prefix
    return talon_one.ApiClient(configuration)


@pytest.fixture
def application(transactional_db):
    """A Talon.One application: a Laurel program in UTC."""
    return ProgramFactory(name="Talon App", time_zone="UTC")


@pytest.fixture
def draft_campaign(application):
    return CampaignFactory(program=application, name="Draft", state=Campaign.State.DRAFT)


@pytest.fixture
def running_campaign(application):
    return CampaignFactory(program=application, name="Running", state=Campaign.State.RUNNING)


@pytest.fixture
def management_key(application):
    return make_key(scope=ApiKey.Scope.MANAGEMENT, program=application)


@pytest.fixture
def integration_key(application):
    return make_key(scope=ApiKey.Scope.INTEGRATION, program=application)


@pytest.fixture
def management(live_server, management_key):
    return talon_one.ManagementApi(sdk_client(
        live_server, scheme="management_key", key=management_key.raw_key,
        prefix="ManagementKey-v1"))


@pytest.fixture
def integration(live_server, integration_key):
    return talon_one.IntegrationApi(sdk_client(
        live_server, scheme="api_key_v1", key=integration_key.raw_key, prefix="ApiKey-v1"))


@pytest.fixture
def sdk(live_server):
    """Builds SDK clients with any key: sdk("management_key", raw, "ManagementKey-v1")."""
    def build(scheme: str, key: str, prefix: str):
        client = sdk_client(live_server, scheme=scheme, key=key, prefix=prefix)
        return talon_one.ManagementApi(client), talon_one.IntegrationApi(client)
    return build
