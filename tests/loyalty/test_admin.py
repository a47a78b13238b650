"""The admin for programs, campaigns, customers, currencies and API keys."""

import re

import pytest
from django.contrib import admin
from django.contrib.messages import get_messages
from django.test import RequestFactory
from django.urls import reverse

from loyalty.models import ApiKey, Campaign, Currency, Program
from loyalty.services import api_key_hash
from tests.loyalty.factories import (
    ApiKeyFactory,
    CampaignFactory,
    CurrencyFactory,
    CustomerFactory,
    ProgramFactory,
)

pytestmark = pytest.mark.django_db


def changelist(model_name: str) -> str:
    return reverse(f"admin:loyalty_{model_name}_changelist")


def add_url(model_name: str) -> str:
    return reverse(f"admin:loyalty_{model_name}_add")


def change_url(model_name: str, pk: int) -> str:
    return reverse(f"admin:loyalty_{model_name}_change", args=[pk])


def result_pks(response) -> set[int]:
    return {obj.pk for obj in response.context["cl"].result_list}


def empty_inline(prefix: str, initial: int = 0) -> dict[str, str]:
    return {
        f"{prefix}-TOTAL_FORMS": str(initial),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def campaign_form(campaign: Campaign, **overrides: str) -> dict[str, str]:
    data = {
        "name": campaign.name,
        "description": campaign.description,
        "state": campaign.state,
        "start_time_0": "",
        "start_time_1": "",
        "end_time_0": "",
        "end_time_1": "",
    }
    data.update(overrides)
    return data


# Changelists and search
# ------------------------------------------------------------------------------
@pytest.fixture
def rows(db):
    program = ProgramFactory(name="Coffee Club")
    other = ProgramFactory(name="Tea Club")
    return {
        "program": (program, other),
        "campaign": (
            CampaignFactory(program=program, name="Summer streaks"),
            CampaignFactory(program=other, name="Winter warmers"),
        ),
        "customer": (
            CustomerFactory(program=program, integration_id="cust-alpha", name="Ann"),
            CustomerFactory(program=program, integration_id="cust-beta", name="Bob"),
        ),
        "currency": (
            CurrencyFactory(program=program, code="STARS", name="Stars"),
            CurrencyFactory(program=other, code="LEAVES", name="Leaves"),
        ),
        "apikey": (
            ApiKeyFactory(program=program, name="Checkout integration",
                          scope=ApiKey.Scope.INTEGRATION),
            ApiKeyFactory(program=other, name="Back office", scope=ApiKey.Scope.MANAGEMENT),
        ),
    }


@pytest.mark.parametrize("model_name", ["program", "campaign", "customer", "currency", "apikey"])
def test_changelist_lists_rows_when_they_exist(admin_client, rows, model_name):
    response = admin_client.get(changelist(model_name))

    assert response.status_code == 200
    assert {obj.pk for obj in rows[model_name]} <= result_pks(response)


@pytest.mark.parametrize(
    ("model_name", "query"),
    [
        ("program", "Coffee"),
        ("campaign", "Summer"),
        ("customer", "cust-alpha"),
        ("currency", "STARS"),
        ("apikey", "Checkout"),
    ],
)
def test_changelist_search_finds_only_match_when_query_given(admin_client, rows, model_name,
                                                               query):
    wanted, unwanted = rows[model_name]

    response = admin_client.get(changelist(model_name), {"q": query})

    assert response.status_code == 200
    pks = result_pks(response)
    assert wanted.pk in pks
    assert unwanted.pk not in pks


def test_customer_search_matches_integration_id_exactly_when_query_is_a_prefix(admin_client,
                                                                                rows):
    response = admin_client.get(changelist("customer"), {"q": "cust-"})

    assert result_pks(response) == set()


def test_campaign_changelist_counts_achievements_when_listing(admin_client, rows):
    from tests.achievements.factories import AchievementFactory

    campaign = rows["campaign"][0]
    AchievementFactory.create_batch(2, campaign=campaign)

    response = admin_client.get(changelist("campaign"), {"q": "Summer"})

    (row,) = response.context["cl"].result_list
    assert row.achievement_count == 2


# Add and change pages
# ------------------------------------------------------------------------------
@pytest.mark.parametrize("model_name", ["program", "campaign", "customer", "currency", "apikey"])
def test_add_page_renders_when_opened(admin_client, model_name):
    response = admin_client.get(add_url(model_name))

    assert response.status_code == 200
    assert "adminform" in response.context


@pytest.mark.parametrize("model_name", ["program", "campaign", "customer", "currency", "apikey"])
def test_change_page_renders_when_row_exists(admin_client, rows, model_name):
    obj = rows[model_name][0]

    response = admin_client.get(change_url(model_name, obj.pk))

    assert response.status_code == 200
    assert response.context["original"] == obj


# Programs
# ------------------------------------------------------------------------------
def test_program_admin_creates_points_currency_when_program_added(admin_client):
    data = {"name": "Juice Bar", "time_zone": "Europe/Paris", "currency_code": "DROPS",
            **empty_inline("currencies")}

    response = admin_client.post(add_url("program"), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    program = Program.objects.get(name="Juice Bar")
    assert program.time_zone == "Europe/Paris"
    (currency,) = program.currencies.all()
    assert (currency.code, currency.kind) == ("DROPS", Currency.Kind.POINTS)


def test_program_admin_rejects_unknown_time_zone_when_program_added(admin_client):
    data = {"name": "Juice Bar", "time_zone": "Mars/Olympus", "currency_code": "PTS",
            **empty_inline("currencies")}

    response = admin_client.post(add_url("program"), data)

    assert response.status_code == 200
    assert "time_zone" in response.context["adminform"].form.errors
    assert not Program.objects.filter(name="Juice Bar").exists()


def test_program_admin_renames_points_currency_when_currency_code_changed(admin_client):
    program = ProgramFactory(name="Juice Bar", currency_code="PTS")
    points = program.currencies.get()
    data = {
        "name": "Juice Bar", "time_zone": "UTC", "currency_code": "DROPS",
        **empty_inline("currencies", initial=1),
        "currencies-0-id": str(points.pk), "currencies-0-program": str(program.pk),
        "currencies-0-code": "PTS", "currencies-0-name": "Points",
    }

    response = admin_client.post(change_url("program", program.pk), data)

    assert response.status_code == 302
    points.refresh_from_db()
    assert points.code == "DROPS"


def test_program_admin_keeps_currency_code_in_sync_when_points_currency_renamed_inline(
    admin_client,
):
    program = ProgramFactory(name="Juice Bar", currency_code="PTS")
    points = program.currencies.get()
    data = {
        "name": "Juice Bar", "time_zone": "UTC", "currency_code": "PTS",
        **empty_inline("currencies", initial=1),
        "currencies-0-id": str(points.pk), "currencies-0-program": str(program.pk),
        "currencies-0-code": "DROPS", "currencies-0-name": "Points",
    }

    response = admin_client.post(change_url("program", program.pk), data)

    assert response.status_code == 302
    points.refresh_from_db()
    program.refresh_from_db()
    assert program.currency_code == points.code


# Campaigns
# ------------------------------------------------------------------------------
def test_campaign_admin_creates_campaign_when_added(admin_client):
    program = ProgramFactory()
    data = campaign_form(Campaign(name="Spring", description="Blossoms", state="draft"),
                         program=str(program.pk))

    response = admin_client.post(add_url("campaign"), data)

    assert response.status_code == 302
    campaign = Campaign.objects.get(program=program, name="Spring")
    assert (campaign.description, campaign.state) == ("Blossoms", Campaign.State.DRAFT)


def test_campaign_admin_updates_campaign_when_changed(admin_client):
    campaign = CampaignFactory(name="Spring", description="Old")
    data = campaign_form(campaign, name="Spring 2026", description="New", state="running")

    response = admin_client.post(change_url("campaign", campaign.pk), data)

    assert response.status_code == 302
    campaign.refresh_from_db()
    assert (campaign.name, campaign.description, campaign.state) == (
        "Spring 2026", "New", Campaign.State.RUNNING,
    )


def test_campaign_admin_keeps_program_when_post_tries_to_move_it(admin_client):
    campaign = CampaignFactory()
    original_program = campaign.program
    data = campaign_form(campaign, description="Moved?", program=str(ProgramFactory().pk))

    response = admin_client.post(change_url("campaign", campaign.pk), data)

    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.description == "Moved?"
    assert campaign.program == original_program


ADMIN_RAISES_SERVICE_ERRORS = (
    "The admin lets ApplicationError/ConflictError from the services escape (HTTP 500) "
    "instead of showing them as a message, as config/exceptions.py promises."
)


def test_campaign_admin_shows_error_when_running_campaign_set_back_to_draft(admin_client):
    campaign = CampaignFactory(running=True)
    data = campaign_form(campaign, state="draft")

    response = admin_client.post(change_url("campaign", campaign.pk), data, follow=True)

    assert "cannot go back to draft" in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.RUNNING


def test_campaign_admin_shows_error_when_renamed_to_taken_name(admin_client):
    taken = CampaignFactory(name="Spring")
    campaign = CampaignFactory(program=taken.program, name="Autumn")
    data = campaign_form(campaign, name="Spring")

    response = admin_client.post(change_url("campaign", campaign.pk), data, follow=True)

    assert "already exists" in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.name == "Autumn"


def test_campaign_admin_keeps_campaign_when_deleting_running_campaign(admin_client):
    campaign = CampaignFactory(running=True)

    admin_client.post(reverse("admin:loyalty_campaign_delete", args=[campaign.pk]),
                      {"post": "yes"})

    assert Campaign.objects.filter(pk=campaign.pk).exists()


# Customers and currencies
# ------------------------------------------------------------------------------
def test_customer_admin_makes_identity_read_only_when_changing(admin_client):
    customer = CustomerFactory(integration_id="cust-1", name="Ann")
    data = {"program": str(ProgramFactory().pk), "integration_id": "cust-2",
            "name": "Annie", "attributes": '{"tier": "gold"}'}

    response = admin_client.post(change_url("customer", customer.pk), data)

    assert response.status_code == 302
    old_program = customer.program
    customer.refresh_from_db()
    assert (customer.integration_id, customer.program) == ("cust-1", old_program)
    assert (customer.name, customer.attributes) == ("Annie", {"tier": "gold"})


def test_currency_admin_updates_program_code_when_points_currency_renamed(admin_client):
    program = ProgramFactory(currency_code="PTS")
    points = program.currencies.get(kind=Currency.Kind.POINTS)

    response = admin_client.post(change_url("currency", points.pk),
                                 {"code": "BEANS", "name": "Beans"})

    assert response.status_code == 302
    program.refresh_from_db()
    assert program.currency_code == "BEANS"


def test_currency_admin_creates_alternative_currency_when_added(admin_client):
    program = ProgramFactory()

    response = admin_client.post(add_url("currency"),
                                 {"program": str(program.pk), "code": "GEMS", "name": "Gems"})

    assert response.status_code == 302
    currency = program.currencies.get(code="GEMS")
    assert currency.kind == Currency.Kind.ALTERNATIVE


def test_currency_admin_forbids_delete_when_currency_is_points(admin_user):
    program = ProgramFactory()
    points = program.currencies.get(kind=Currency.Kind.POINTS)
    alternative = CurrencyFactory(program=program)
    request = RequestFactory().get("/")
    request.user = admin_user
    model_admin = admin.site._registry[Currency]

    assert model_admin.has_delete_permission(request, points) is False
    assert model_admin.has_delete_permission(request, alternative) is True


# API keys
# ------------------------------------------------------------------------------
def test_api_key_admin_shows_raw_key_once_and_stores_hash_when_added(admin_client, admin_user):
    program = ProgramFactory()
    data = {"name": "POS terminal", "scope": ApiKey.Scope.INTEGRATION, "program": str(program.pk)}

    response = admin_client.post(add_url("apikey"), data, follow=True)

    assert response.status_code == 200
    texts = [str(m) for m in response.context["messages"]]
    raw_keys = [k for t in texts for k in re.findall(r"laurel_[A-Za-z0-9_-]+", t)]
    assert len(raw_keys) == 1
    raw_key = raw_keys[0]
    api_key = ApiKey.objects.get(name="POS terminal")
    assert api_key.key_hash == api_key_hash(raw_key)
    assert raw_key not in (api_key.key_hash, api_key.prefix)
    assert raw_key.startswith(api_key.prefix)
    assert (api_key.scope, api_key.program, api_key.created_by) == (
        ApiKey.Scope.INTEGRATION, program, admin_user,
    )
    # the key is shown once: the change page never shows it again
    change_page = admin_client.get(change_url("apikey", api_key.pk))
    assert raw_key not in change_page.content.decode()


def test_api_key_admin_rejects_program_when_scope_is_account(admin_client):
    program = ProgramFactory()
    data = {"name": "Too broad", "scope": ApiKey.Scope.ACCOUNT, "program": str(program.pk)}

    response = admin_client.post(add_url("apikey"), data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert not ApiKey.objects.filter(name="Too broad").exists()


def test_api_key_admin_changes_only_name_when_key_edited(admin_client):
    api_key = ApiKeyFactory(name="Old name", scope=ApiKey.Scope.MANAGEMENT)
    key_hash, program = api_key.key_hash, api_key.program
    data = {"name": "New name", "scope": ApiKey.Scope.INTEGRATION,
            "program": str(ProgramFactory().pk)}

    response = admin_client.post(change_url("apikey", api_key.pk), data)

    assert response.status_code == 302
    api_key.refresh_from_db()
    assert api_key.name == "New name"
    assert (api_key.scope, api_key.program, api_key.key_hash) == (
        ApiKey.Scope.MANAGEMENT, program, key_hash,
    )


def test_api_key_admin_revokes_selected_keys_when_action_run(admin_client):
    chosen = ApiKeyFactory.create_batch(2)
    spared = ApiKeyFactory()

    response = admin_client.post(
        changelist("apikey"),
        {"action": "revoke_selected", "_selected_action": [k.pk for k in chosen]},
        follow=True,
    )

    assert response.status_code == 200
    assert "Revoked 2 keys." in [str(m) for m in response.context["messages"]]
    for api_key in chosen:
        api_key.refresh_from_db()
        assert api_key.revoked_at is not None
    spared.refresh_from_db()
    assert spared.revoked_at is None


def test_api_key_admin_keeps_first_revocation_time_when_revoked_again(admin_client):
    api_key = ApiKeyFactory()
    url = changelist("apikey")
    admin_client.post(url, {"action": "revoke_selected", "_selected_action": [api_key.pk]})
    api_key.refresh_from_db()
    first = api_key.revoked_at

    response = admin_client.post(url, {"action": "revoke_selected",
                                       "_selected_action": [api_key.pk]})

    api_key.refresh_from_db()
    assert api_key.revoked_at == first
    assert "Revoked 0 keys." in [str(m) for m in get_messages(response.wsgi_request)]


def test_api_key_admin_forbids_delete_when_key_exists(admin_client):
    api_key = ApiKeyFactory()

    response = admin_client.get(reverse("admin:loyalty_apikey_delete", args=[api_key.pk]))

    assert response.status_code == 403
    assert ApiKey.objects.filter(pk=api_key.pk).exists()
