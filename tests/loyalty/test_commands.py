"""Management commands: create_api_key, load_demo, ensure_admin."""

import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from achievements.models import Achievement
from events.management.commands.load_demo import ACHIEVEMENTS, DEMO_KEYS, PROGRAM_NAME
from loyalty.models import ApiKey, Campaign, Currency, Customer, Program
from loyalty.services import api_key_hash
from tests.loyalty.factories import ProgramFactory

pytestmark = pytest.mark.django_db

KEY_PATTERN = re.compile(r"laurel_[A-Za-z0-9_-]+")


def run(command: str, *args: str) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def bearer(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


# create_api_key
# ------------------------------------------------------------------------------
def test_create_api_key_prints_working_key_when_integration_scope():
    program = ProgramFactory()

    output = run("create_api_key", "--scope", "integration", "--program", str(program.pk),
                 "--name", "POS terminal")

    raw_key = output.strip()
    assert KEY_PATTERN.fullmatch(raw_key)
    api_key = ApiKey.objects.get(key_hash=api_key_hash(raw_key))
    assert (api_key.name, api_key.scope, api_key.program) == (
        "POS terminal", ApiKey.Scope.INTEGRATION, program,
    )
    response = bearer(raw_key).get(f"/api/v1/programs/{program.pk}/campaigns")
    assert response.status_code == 200


def test_create_api_key_key_stays_in_its_program_when_another_program_asked():
    program, other = ProgramFactory(), ProgramFactory()
    raw_key = run("create_api_key", "--scope", "management", "--program", str(program.pk),
                  "--name", "Back office").strip()

    response = bearer(raw_key).get(f"/api/v1/programs/{other.pk}/campaigns")

    assert response.status_code == 404


def test_create_api_key_creates_account_key_when_no_program():
    ProgramFactory()

    raw_key = run("create_api_key", "--scope", "account", "--name", "Ops").strip()

    api_key = ApiKey.objects.get(key_hash=api_key_hash(raw_key))
    assert (api_key.scope, api_key.program) == (ApiKey.Scope.ACCOUNT, None)
    assert bearer(raw_key).get("/api/v1/programs").status_code == 200


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--scope", "account", "--program", "1"), "leave out --program"),
        (("--scope", "management"), "give --program"),
        (("--scope", "integration"), "give --program"),
        (("--scope", "integration", "--program", "987654321"), "no program 987654321"),
    ],
)
def test_create_api_key_raises_command_error_when_program_does_not_fit(args, message):
    with pytest.raises(CommandError, match=message):
        run("create_api_key", *args, "--name", "Bad")

    assert not ApiKey.objects.exists()


# load_demo
# ------------------------------------------------------------------------------
def demo_counts() -> dict[str, int]:
    return {
        "programs": Program.objects.count(),
        "campaigns": Campaign.objects.count(),
        "achievements": Achievement.objects.count(),
        "customers": Customer.objects.count(),
        "currencies": Currency.objects.count(),
    }


def printed_keys(output: str) -> dict[str, str]:
    """{scope: raw key} from load_demo's output lines `Name (scope, program N): key`."""
    found = re.findall(r"\((management|integration), program \d+\): (laurel_\S+)", output)
    return dict(found)


def test_load_demo_creates_demo_program_when_database_empty():
    output = run("load_demo")

    program = Program.objects.get(name=PROGRAM_NAME)
    assert program.time_zone == "Europe/Amsterdam"
    assert set(program.currencies.values_list("code", flat=True)) == {"PTS", "STARS"}
    (campaign,) = program.campaigns.all()
    assert campaign.state == Campaign.State.RUNNING
    assert set(campaign.achievements.values_list("name", flat=True)) == {
        spec["name"] for spec in ACHIEVEMENTS
    }
    assert program.customers.count() == 25
    assert f"(id {program.pk})" in output


def test_load_demo_is_idempotent_when_run_twice():
    first_output = run("load_demo")
    after_first = demo_counts()

    second_output = run("load_demo")

    assert demo_counts() == after_first
    assert after_first == {"programs": 1, "campaigns": 1, "achievements": len(ACHIEVEMENTS),
                           "customers": 25, "currencies": 2}
    assert set(printed_keys(first_output)) == set(printed_keys(second_output)) == set(DEMO_KEYS)


def test_load_demo_revokes_previous_keys_when_run_again():
    first_keys = printed_keys(run("load_demo"))

    second_keys = printed_keys(run("load_demo"))

    program = Program.objects.get(name=PROGRAM_NAME)
    active = ApiKey.objects.filter(program=program, revoked_at__isnull=True)
    assert {k.key_hash for k in active} == {api_key_hash(k) for k in second_keys.values()}
    assert {k.scope for k in active} == set(DEMO_KEYS)
    revoked = ApiKey.objects.filter(program=program, revoked_at__isnull=False)
    assert {k.key_hash for k in revoked} == {api_key_hash(k) for k in first_keys.values()}
    assert not set(first_keys.values()) & set(second_keys.values())


def test_load_demo_prints_keys_that_work_when_run():
    run("load_demo")  # keys from this run are revoked by the next one
    keys = printed_keys(run("load_demo"))
    program = Program.objects.get(name=PROGRAM_NAME)
    base = f"/api/v1/programs/{program.pk}"

    management = bearer(keys[ApiKey.Scope.MANAGEMENT])
    integration = bearer(keys[ApiKey.Scope.INTEGRATION])

    listing = management.get(f"{base}/achievements")
    assert listing.status_code == 200
    assert listing.json()["count"] == len(ACHIEVEMENTS)
    assert integration.get(f"{base}/customers/demo-customer-001").status_code == 200
    assert management.post(f"{base}/campaigns", {"name": "Extra"},
                           format="json").status_code == 201
    assert integration.post(f"{base}/campaigns", {"name": "Nope"},
                            format="json").status_code == 403


def test_load_demo_rejects_revoked_keys_when_run_again():
    old_keys = printed_keys(run("load_demo"))
    run("load_demo")
    program = Program.objects.get(name=PROGRAM_NAME)

    for raw_key in old_keys.values():
        response = bearer(raw_key).get(f"/api/v1/programs/{program.pk}/campaigns")
        assert response.status_code == 401


def test_load_demo_keeps_keys_when_quiet_keys_given():
    keys = printed_keys(run("load_demo"))

    output = run("load_demo", "--quiet-keys")

    assert not KEY_PATTERN.search(output)
    active = ApiKey.objects.filter(revoked_at__isnull=True)
    assert {k.key_hash for k in active} == {api_key_hash(k) for k in keys.values()}


def test_load_demo_adds_missing_customers_when_asked_for_more():
    run("load_demo", "--customers", "3", "--quiet-keys")

    run("load_demo", "--customers", "5", "--quiet-keys")

    assert list(Customer.objects.values_list("integration_id", flat=True)) == [
        f"demo-customer-{i:03d}" for i in range(1, 6)
    ]


# ensure_admin
# ------------------------------------------------------------------------------
def test_ensure_admin_creates_superuser_when_missing():
    output = run("ensure_admin", "--username", "boss", "--password", "first-secret")

    user = get_user_model().objects.get(username="boss")
    assert user.is_superuser and user.is_staff
    assert user.check_password("first-secret")
    assert "Created superuser boss" in output


def test_ensure_admin_keeps_password_when_user_exists():
    run("ensure_admin", "--username", "boss", "--password", "first-secret")

    output = run("ensure_admin", "--username", "boss", "--password", "second-secret")

    (user,) = get_user_model().objects.filter(username="boss")
    assert user.check_password("first-secret")
    assert not user.check_password("second-secret")
    assert "password unchanged" in output


def test_ensure_admin_uses_admin_admin_when_no_options():
    run("ensure_admin")

    user = get_user_model().objects.get(username="admin")
    assert user.is_superuser
    assert user.check_password("admin")
