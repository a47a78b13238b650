"""The admin for events, reward offers, classifications, the wallet ledger and the customer
page, on data made by ingesting events."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from events.models import CustomerEvent
from events.services import event_ingest
from loyalty.models import AwardTransaction, Classification, RewardOffer, WalletBalance
from tests.achievements.factories import AchievementFactory
from tests.events.factories import ClassificationFactory, RewardOfferFactory
from tests.loyalty.factories import CampaignFactory, CurrencyFactory, ProgramFactory

pytestmark = pytest.mark.django_db


def url(name: str, *args) -> str:
    return reverse(f"admin:{name}", args=args)


def result_pks(response) -> set[int]:
    return {obj.pk for obj in response.context["cl"].result_list}


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def ingest(program, customer: str = "ann", amount: str = "10", **fields) -> CustomerEvent:
    now = timezone.now()
    data = {"customer": customer, "type": "PURCHASE", "performed_on": now - timedelta(hours=1),
            "amount": Decimal(amount), **fields}
    return event_ingest(program=program, data=data, now=now).event


@pytest.fixture
def achievement(program):
    """Completes on the first purchase; a cancelled purchase takes the completion back."""
    campaign = CampaignFactory(program=program, running=True)
    return AchievementFactory(campaign=campaign, title="First sip", target=1,
                              event_types=["PURCHASE"], allow_rollback_after_completion=True)


@pytest.fixture
def offer(program, achievement):
    return RewardOfferFactory(program=program, name="Welcome bonus", code="WELCOME",
                              classifications=[achievement.classification], award_value=37)


@pytest.fixture
def purchase(program, offer):
    """Ann's first purchase: completes the achievement and earns 37 PTS."""
    return ingest(program, "ann", external_system="POS", external_system_reference_number="R-1")


@pytest.fixture
def points(program):
    return program.currencies.get(kind="points")


def balance(customer, currency) -> Decimal:
    row = WalletBalance.objects.filter(customer=customer, currency=currency).first()
    return row.balance if row else Decimal(0)


# Changelists and search
# ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url_name", "rows"),
    [
        ("events_customerevent_changelist", lambda p: CustomerEvent.objects.all()),
        ("loyalty_rewardoffer_changelist", lambda p: RewardOffer.objects.all()),
        ("loyalty_classification_changelist", lambda p: Classification.objects.all()),
        ("loyalty_awardtransaction_changelist", lambda p: AwardTransaction.objects.all()),
        ("loyalty_walletbalance_changelist", lambda p: WalletBalance.objects.all()),
    ],
)
def test_changelist_lists_rows_when_events_were_ingested(admin_client, purchase, url_name,
                                                         rows):
    expected = {obj.pk for obj in rows(purchase.program)}

    response = admin_client.get(url(url_name))

    assert response.status_code == 200
    assert expected
    assert expected <= result_pks(response)


def test_event_changelist_finds_customer_events_when_searching_integration_id(
    admin_client, program, purchase
):
    other = ingest(program, "bob")

    response = admin_client.get(url("events_customerevent_changelist"), {"q": "ann"})

    pks = result_pks(response)
    assert purchase.pk in pks
    assert other.pk not in pks
    # Ann's ACHIEVEMENT event is hers too
    assert CustomerEvent.objects.filter(customer__integration_id="ann").count() == len(pks) == 2


def test_event_changelist_finds_event_when_searching_external_reference(admin_client, program,
                                                                        purchase):
    ingest(program, "bob", external_system="POS", external_system_reference_number="R-2")

    response = admin_client.get(url("events_customerevent_changelist"), {"q": "R-1"})

    assert result_pks(response) == {purchase.pk}


def test_event_changelist_filters_by_state_when_filter_chosen(admin_client, program, purchase):
    response = admin_client.get(url("events_customerevent_changelist"),
                                {"life_cycle_state__exact": "CANCELLED"})

    assert result_pks(response) == set()


def test_ledger_changelist_finds_customer_rows_when_searching_integration_id(
    admin_client, program, points, purchase
):
    ingest(program, "bob")

    response = admin_client.get(url("loyalty_awardtransaction_changelist"), {"q": "ann"})

    rows = response.context["cl"].result_list
    assert [row.customer.integration_id for row in rows] == ["ann"]
    assert rows[0].amount == 37


@pytest.mark.parametrize(
    ("url_name", "query", "attribute", "expected"),
    [
        ("loyalty_rewardoffer_changelist", "WELCOME", "code", {"WELCOME"}),
        ("loyalty_classification_changelist", "Achievement: First sip", "name",
         {"Achievement: First sip"}),
        ("loyalty_walletbalance_changelist", "ann", "balance", {Decimal(37)}),
    ],
)
def test_changelist_search_finds_match_when_query_given(admin_client, program, purchase,
                                                        url_name, query, attribute, expected):
    RewardOfferFactory(program=program, code="OTHER",
                       classifications=[ClassificationFactory(program=program)])
    ingest(program, "bob", amount="3")

    response = admin_client.get(url(url_name), {"q": query})

    assert {getattr(row, attribute) for row in response.context["cl"].result_list} == expected


# Events: read-only, cancelled through the service
# ------------------------------------------------------------------------------
def test_event_admin_shows_every_field_when_event_opened(admin_client, purchase):
    model_admin = admin.site.get_model_admin(CustomerEvent)
    shown = set(flatten_fieldsets(model_admin.fieldsets))

    response = admin_client.get(url("events_customerevent_change", purchase.pk))

    assert response.status_code == 200
    # every field; `effects` pretty-printed and `amount` without trailing zeros
    assert {f.name for f in CustomerEvent._meta.concrete_fields} - {"id", "effects",
                                                                    "amount"} <= shown
    assert {"effects_display", "amount_display"} <= shown
    content = response.content.decode()
    assert escape('"effectType": "increaseAchievementProgress"') in content
    assert escape('"effectType": "achievementCustomerEvent"') in content
    # the award was paid on the achievement event the purchase posted: both pages show it
    achievement_event = purchase.achievement_events.get()
    award = AwardTransaction.objects.get(customer_event_id=achievement_event.pk)
    assert url("loyalty_awardtransaction_change", award.pk) in content
    assert url("events_customerevent_change", achievement_event.pk) in content
    page = admin_client.get(url("events_customerevent_change", achievement_event.pk))
    assert url("loyalty_awardtransaction_change", award.pk) in page.content.decode()


def test_event_admin_refuses_add_change_and_delete_when_posted(admin_client, purchase):
    change = admin_client.post(url("events_customerevent_change", purchase.pk),
                               {"type": "RETURN", "amount": "1"})
    delete = admin_client.post(url("events_customerevent_delete", purchase.pk), {"post": "yes"})
    add = admin_client.get(url("events_customerevent_add"))

    assert (change.status_code, delete.status_code, add.status_code) == (403, 403, 403)
    purchase.refresh_from_db()
    assert (purchase.type, purchase.amount) == ("PURCHASE", Decimal(10))


def test_cancel_action_cancels_event_and_reverses_award_when_run(admin_client, admin_user,
                                                                 points, purchase):
    achievement_event = purchase.achievement_events.get()
    award = AwardTransaction.objects.get(customer_event_id=achievement_event.pk)
    assert balance(purchase.customer, points) == 37

    response = admin_client.post(
        url("events_customerevent_changelist"),
        {"action": "cancel_selected", "_selected_action": [purchase.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert ("Cancelled 1 event. 1 achievement event and 1 award were taken back with them."
            in messages_of(response))
    purchase.refresh_from_db()
    achievement_event.refresh_from_db()
    award.refresh_from_db()
    assert purchase.life_cycle_state == CustomerEvent.LifeCycleState.CANCELLED
    assert purchase.cancellation_reason == f"Cancelled in the admin by {admin_user}"
    assert achievement_event.life_cycle_state == CustomerEvent.LifeCycleState.CANCELLED
    assert award.state == AwardTransaction.State.CANCELLED
    reversal = award.reversed_by
    assert (reversal.kind, reversal.amount) == (AwardTransaction.Kind.CANCELLATION, -37)
    assert balance(purchase.customer, points) == 0


def test_cancel_action_reports_already_cancelled_when_run_twice(admin_client, points, purchase):
    data = {"action": "cancel_selected", "_selected_action": [purchase.pk]}
    admin_client.post(url("events_customerevent_changelist"), data, follow=True)

    response = admin_client.post(url("events_customerevent_changelist"), data, follow=True)

    assert messages_of(response) == ["1 event was already cancelled."]
    assert AwardTransaction.objects.filter(kind=AwardTransaction.Kind.CANCELLATION).count() == 1
    assert balance(purchase.customer, points) == 0


# Reward offers and classifications
# ------------------------------------------------------------------------------
def offer_form(program, classifications, **overrides) -> dict:
    data = {
        "program": str(program.pk), "name": "Double bonus", "code": "DOUBLE",
        "description": "", "state": "effective",
        "classifications": [str(c.pk) for c in classifications],
        "award_type": "FIXED", "award_value": "20",
        "currency": str(program.currencies.get(kind="points").pk),
        "valid_from_0": "", "valid_from_1": "", "valid_to_0": "", "valid_to_1": "",
        "number_of_awards": "MULTIPLE", "award_period": "",
    }
    data.update(overrides)
    return data


def test_reward_offer_admin_creates_offer_with_classifications_when_added(admin_client,
                                                                          program, achievement):
    response = admin_client.post(url("loyalty_rewardoffer_add"),
                                 offer_form(program, [achievement.classification]))

    assert response.status_code == 302, response.context["adminform"].form.errors
    offer = RewardOffer.objects.get(code="DOUBLE")
    assert list(offer.classifications.all()) == [achievement.classification]
    assert (offer.award_value, offer.program) == (20, program)


def test_reward_offer_admin_updates_classifications_when_changed(admin_client, program, offer):
    second = AchievementFactory(campaign=CampaignFactory(program=program)).classification
    data = offer_form(program, [second], name=offer.name, code=offer.code, award_value="37")

    response = admin_client.post(url("loyalty_rewardoffer_change", offer.pk), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert list(offer.classifications.all()) == [second]


def test_reward_offer_admin_shows_service_error_when_classification_of_other_program(
    admin_client, program, achievement
):
    foreign = AchievementFactory(campaign=CampaignFactory(program=ProgramFactory()))

    response = admin_client.post(
        url("loyalty_rewardoffer_add"),
        offer_form(program, [achievement.classification, foreign.classification]),
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "belongs to another program" in str(errors["classifications"])
    assert not RewardOffer.objects.filter(code="DOUBLE").exists()


def test_classification_admin_creates_and_renames_through_services(admin_client, program):
    created = admin_client.post(url("loyalty_classification_add"), {
        "program": str(program.pk), "code": "VIP", "name": "VIP visit",
        "event_type": "VISIT", "description": "",
    })
    classification = Classification.objects.get(program=program, code="VIP")

    changed = admin_client.post(url("loyalty_classification_change", classification.pk), {
        "code": "VIP2", "name": "VIP visit", "description": "Renamed",
    })

    assert (created.status_code, changed.status_code) == (302, 302)
    classification.refresh_from_db()
    assert (classification.code, classification.event_type, classification.description) == (
        "VIP2", "VISIT", "Renamed",
    )


def test_classification_admin_shows_conflict_as_form_error_when_code_taken(admin_client,
                                                                           program):
    ClassificationFactory(program=program, code="TAKEN")
    classification = ClassificationFactory(program=program, code="FREE")

    response = admin_client.post(url("loyalty_classification_change", classification.pk),
                                 {"code": "TAKEN", "name": "x", "description": ""})

    assert response.status_code == 200
    assert "already exists" in str(response.context["adminform"].form.errors["code"])
    classification.refresh_from_db()
    assert classification.code == "FREE"


# The ledger and manual corrections
# ------------------------------------------------------------------------------
def test_ledger_admin_has_no_add_change_or_delete_permission(admin_user, purchase):
    request = RequestFactory().get("/")
    request.user = admin_user
    ledger = admin.site.get_model_admin(AwardTransaction)
    row = AwardTransaction.objects.get()

    assert ledger.has_view_permission(request, row) is True
    assert ledger.has_add_permission(request) is False
    assert ledger.has_change_permission(request, row) is False
    assert ledger.has_delete_permission(request, row) is False


def test_ledger_admin_keeps_row_when_change_or_delete_posted(admin_client, purchase):
    row = AwardTransaction.objects.get()

    view = admin_client.get(url("loyalty_awardtransaction_change", row.pk))
    change = admin_client.post(url("loyalty_awardtransaction_change", row.pk),
                               {"amount": "1000", "state": "CANCELLED", "reason": "hacked"})
    delete = admin_client.post(url("loyalty_awardtransaction_delete", row.pk), {"post": "yes"})

    assert view.status_code == 200
    assert (change.status_code, delete.status_code) == (403, 403)
    row.refresh_from_db()
    assert (row.amount, row.state, row.reason) == (37, AwardTransaction.State.POSTED, "")


def correction_form(program, currency, **overrides) -> dict:
    data = {"program": str(program.pk), "integration_id": "ann",
            "currency": str(currency.pk), "amount": "-12.5",
            "reason": "Double award after a till outage"}
    data.update(overrides)
    return data


def test_ledger_changelist_links_to_correction_when_user_may_add(admin_client, purchase):
    response = admin_client.get(url("loyalty_awardtransaction_changelist"))

    assert url("loyalty_awardtransaction_correction") in response.content.decode()


def test_correction_view_renders_form_when_opened(admin_client, program, purchase):
    response = admin_client.get(url("loyalty_awardtransaction_correction"),
                                {"program": program.pk, "integration_id": "ann"})

    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial == {"program": str(program.pk), "integration_id": "ann"}
    assert 'name="reason"' in response.content.decode()


def test_correction_view_records_who_and_why_when_posted(admin_client, admin_user, program,
                                                         points, purchase):
    response = admin_client.post(url("loyalty_awardtransaction_correction"),
                                 correction_form(program, points), follow=True)

    assert response.redirect_chain[-1][0].startswith(url("loyalty_awardtransaction_changelist"))
    row = AwardTransaction.objects.get(kind=AwardTransaction.Kind.CORRECTION)
    assert (row.customer, row.currency, row.amount) == (purchase.customer, points,
                                                        Decimal("-12.5"))
    assert (row.created_by, row.reason) == (admin_user, "Double award after a till outage")
    assert balance(purchase.customer, points) == Decimal("24.5")
    assert "by -12.50. New balance: 24.50 PTS." in messages_of(response)[0]


def test_correction_view_creates_balance_when_currency_was_never_used(admin_client, program,
                                                                      purchase):
    stars = CurrencyFactory(program=program, code="STARS")

    admin_client.post(url("loyalty_awardtransaction_correction"),
                      correction_form(program, stars, amount="5"))

    assert balance(purchase.customer, stars) == 5


def test_correction_view_writes_nothing_when_reason_missing(admin_client, program, points,
                                                            purchase):
    rows_before = AwardTransaction.objects.count()

    response = admin_client.post(url("loyalty_awardtransaction_correction"),
                                 correction_form(program, points, reason="   "))

    assert response.status_code == 200
    assert response.context["form"].errors["reason"] == ["Say why: a correction needs a reason."]
    assert "Say why: a correction needs a reason." in response.content.decode()
    assert AwardTransaction.objects.count() == rows_before
    assert balance(purchase.customer, points) == 37


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"amount": "0"}, "amount", "non-zero amount"),
        ({"integration_id": "nobody"}, "integration_id", "no customer"),
    ],
)
def test_correction_view_shows_error_when_request_refused(admin_client, program, points,
                                                          purchase, overrides, field, message):
    rows_before = AwardTransaction.objects.count()

    response = admin_client.post(url("loyalty_awardtransaction_correction"),
                                 correction_form(program, points, **overrides))

    assert response.status_code == 200
    assert message in str(response.context["form"].errors[field])
    assert AwardTransaction.objects.count() == rows_before


def test_correction_view_shows_service_error_when_currency_of_other_program(admin_client,
                                                                            program, purchase):
    foreign = ProgramFactory().currencies.get()

    response = admin_client.post(url("loyalty_awardtransaction_correction"),
                                 correction_form(program, foreign))

    assert "belongs to another program" in str(response.context["form"].errors["currency"])
    assert not AwardTransaction.objects.filter(kind=AwardTransaction.Kind.CORRECTION).exists()


def test_correction_view_forbidden_when_user_may_not_add_ledger_rows(client, django_user_model):
    staff = django_user_model.objects.create_user("clerk", password="x", is_staff=True)
    client.force_login(staff)

    response = client.get(url("loyalty_awardtransaction_correction"))

    assert response.status_code == 403


# The customer page
# ------------------------------------------------------------------------------
def test_customer_page_shows_achievements_events_and_wallet(admin_client, program, purchase):
    customer = purchase.customer

    response = admin_client.get(url("loyalty_customer_change", customer.pk))

    assert response.status_code == 200
    content = response.content.decode()
    assert "First sip" in content
    (standing,) = response.context["customer_achievements"]
    assert (standing["status"], standing["progress"], standing["target"], standing["percent"]) == (
        "completed", "1", "1", 100,
    )
    numbers = [e["number"] for e in response.context["customer_events"]]
    assert sorted(numbers) == sorted(
        CustomerEvent.objects.filter(customer__integration_id="ann").values_list("number",
                                                                                 flat=True))
    assert url("events_customerevent_change", purchase.pk) in content
    assert f">#{purchase.number}<" in content
    assert 'data-currency="PTS">37<' in content


def test_customer_page_still_saves_customer_when_posted(admin_client, purchase):
    customer = purchase.customer

    response = admin_client.post(url("loyalty_customer_change", customer.pk),
                                 {"name": "Ann Smith", "attributes": "{}"})

    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.name == "Ann Smith"
