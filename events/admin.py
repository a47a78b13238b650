"""Admin for customer events, and the customer page with their achievements, streaks, events
and wallet.

Events are written only by ingestion; here they are read, and cancelled through the service.
The customer page lives here because only `events` may read all three apps.
"""

import json
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_permission_codename
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import ngettext

from achievements import selectors as achievement_selectors
from achievements.admin import (
    AchievementAdmin,
    EnrolmentAdmin,
    achievement_stats_view,
    streak_view,
)
from achievements.models import Achievement, AchievementProgress, Enrolment
from config.exceptions import ApplicationError
from events import selectors, services
from events.models import CustomerEvent
from loyalty import selectors as loyalty_selectors
from loyalty.admin import CustomerAdmin, compact_datetime, nowrap
from loyalty.formatting import human_amount, human_number
from loyalty.models import AwardTransaction, Classification, Customer, RewardOffer

CUSTOMER_EVENT_LIMIT = 50
CUSTOMER_LEDGER_LIMIT = 20
STATUS_LABELS = {
    achievement_selectors.NOT_STARTED: "Not started",
    **dict(AchievementProgress.Status.choices),
}


def _changelist_for(customer: Customer, url_name: str) -> str:
    """A changelist searched for the customer (search is by exact integration id)."""
    query = urlencode({"q": customer.integration_id, "program__id__exact": customer.program_id})
    return f"{reverse(url_name)}?{query}"


class ProgramClassificationFilter(admin.RelatedFieldListFilter):
    """Classifications named with their program: names repeat across programs."""

    def field_choices(self, field, request, model_admin):
        return [
            (c.pk, f"{c.name} ({c.program})")
            for c in Classification.objects.select_related("program").order_by(
                "program__name", "name"
            )
        ]


DETAIL_FIELDS = (
    "payment_medium_type", "payment_medium_brand", "payment_medium_identifier",
    "performed_by_business_unit", "performed_by_unit", "performed_by_tap",
)
CUSTOM_FIELDS = (
    *(f"udf_string{i}" for i in range(1, 9)),
    *(f"udf_float{i}" for i in range(1, 5)),
    *(f"udf_date{i}" for i in range(1, 5)),
    "attributes",
)


@admin.register(CustomerEvent)
class CustomerEventAdmin(admin.ModelAdmin):
    """Read-only: events come from the API; the only change is a cancellation."""

    list_display = ("number", "type", "customer_display", "classification", "amount_display",
                    "performed", "life_cycle_state", "external_reference")
    list_display_links = ("number",)
    list_filter = ("type", "life_cycle_state", "program",
                   ("classification", ProgramClassificationFilter))
    search_fields = ("=customer__integration_id", "=external_system_reference_number")
    search_help_text = "A customer's integration id or an external reference number, exactly."
    list_select_related = ("program", "customer", "classification")
    ordering = ("-performed_on", "-id")
    date_hierarchy = "performed_on"
    show_full_result_count = False
    actions = ("cancel_selected",)
    fieldsets = (
        (None, {"fields": ("number", "type", "classification", "customer", "program",
                           "amount_display", "performed_on", "received_at", "product",
                           "description")}),
        ("Lifecycle", {"fields": ("life_cycle_state", "cancelled_at", "cancellation_reason",
                                  "triggered_by", "posted_events")}),
        ("What processing did", {"fields": ("effects_display", "awards")}),
        ("External reference", {"fields": ("external_system",
                                           "external_system_reference_number", "promo_code",
                                           "idempotency_key", "payload_hash")}),
        ("Payment medium and point of sale", {"fields": DETAIL_FIELDS,
                                              "classes": ("collapse",)}),
        ("Custom fields", {"fields": CUSTOM_FIELDS, "classes": ("collapse",)}),
    )
    readonly_fields = (
        *(f.name for f in CustomerEvent._meta.concrete_fields if f.name != "id"),
        "amount_display", "posted_events", "effects_display", "awards",
    )

    @admin.display(description="Customer", ordering="customer__integration_id")
    def customer_display(self, obj: CustomerEvent) -> str:
        return nowrap(obj.customer.integration_id)

    @admin.display(description="Performed on", ordering="performed_on")
    def performed(self, obj: CustomerEvent) -> str:
        return nowrap(compact_datetime(obj.performed_on, obj.program.time_zone))

    @admin.display(description="Amount", ordering="amount")
    def amount_display(self, obj: CustomerEvent) -> str:
        return nowrap(human_amount(obj.amount))

    @admin.display(description="External reference",
                   ordering="external_system_reference_number")
    def external_reference(self, obj: CustomerEvent) -> str:
        if not obj.external_system_reference_number:
            return "-"
        if obj.external_system:
            return nowrap(f"{obj.external_system}: {obj.external_system_reference_number}")
        return nowrap(obj.external_system_reference_number)

    @admin.display(description="Effects (as stored)")
    def effects_display(self, obj: CustomerEvent) -> str:
        return format_html(
            '<pre style="margin:0;white-space:pre-wrap;max-height:32em;overflow:auto">{}</pre>',
            json.dumps(obj.effects, indent=2, ensure_ascii=False),
        )

    @admin.display(description="Award transactions")
    def awards(self, obj: CustomerEvent) -> str:
        """The ledger rows of the event and of the achievement events it posted (rewards are
        paid on those)."""
        numbers = {obj.pk: obj.number,
                   **dict(obj.achievement_events.values_list("pk", "number"))}
        by_event = selectors.awards_by_event(event_ids=numbers)
        rows = [row for event_id in numbers for row in by_event.get(event_id, [])]
        if not rows:
            return "None"
        body = format_html_join(
            "", '<tr><td><a href="{}">{}</a></td><td>#{}</td><td>{}</td><td>{}</td>'
            "<td>{} {}</td><td>{}</td></tr>",
            (
                (reverse("admin:loyalty_awardtransaction_change", args=[row.pk]),
                 compact_datetime(row.created_at, obj.program.time_zone),
                 numbers[row.customer_event_id],
                 row.get_kind_display(), row.get_state_display(),
                 human_amount(row.amount, signed=True), row.currency.code, row.reason or "")
                for row in rows
            ),
        )
        return format_html(
            "<table><thead><tr><th>When</th><th>Event</th><th>Kind</th><th>State</th>"
            "<th>Amount</th><th>Reason</th></tr></thead><tbody>{}</tbody></table>",
            body,
        )

    @admin.display(description="Achievement events it posted")
    def posted_events(self, obj: CustomerEvent) -> str:
        posted = list(obj.achievement_events.select_related("classification").order_by("pk"))
        if not posted:
            return "None"
        return format_html_join(
            mark_safe("<br>"), '<a href="{}">#{}</a> {} ({})',
            (
                (reverse("admin:events_customerevent_change", args=[e.pk]), e.number,
                 e.classification.name if e.classification else e.type,
                 e.get_life_cycle_state_display())
                for e in posted
            ),
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_cancel_permission(self, request) -> bool:
        """Cancelling is the one change an event takes: it needs `change customer event`."""
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.{get_permission_codename('change', opts)}")

    @admin.action(description="Cancel selected events", permissions=["cancel"])
    def cancel_selected(self, request, queryset):
        now = timezone.now()
        reason = f"Cancelled in the admin by {request.user}"
        cancelled = already = achievement_events = awards = 0
        # Oldest first: an activity event takes back the achievement events it posted.
        for event in queryset.order_by("pk"):
            if event.triggered_by_id is not None and event.life_cycle_state == "POSTED":
                self.message_user(request, f"Event #{event.number}: "
                                  f"{selectors.goal_event_cancel_refusal(event=event)}",
                                  messages.ERROR)
                continue
            try:
                result = services.event_cancel(event=event, now=now, reason=reason)
            except ApplicationError as exc:
                self.message_user(request, f"Event #{event.number}: {exc.message}",
                                  messages.ERROR)
                continue
            if not result.changed:
                already += 1
                continue
            cancelled += 1
            kinds = [effect.get("effectType") for effect in result.effects]
            achievement_events += kinds.count("achievementCustomerEventCancelled")
            awards += kinds.count("awardTransactionCancelled")
            kept = selectors.cancel_kept_effects(event=result.event,
                                                 effects_so_far=result.effects)
            if kept:
                self.message_user(request, selectors.cancel_summary(
                    event=result.event, effects=[*result.effects, *kept], changed=True,
                ), messages.WARNING)
        if cancelled:
            message = ngettext("Cancelled %d event.", "Cancelled %d events.",
                               cancelled) % cancelled
            if achievement_events or awards:
                message += " " + (
                    ngettext("%d achievement event", "%d achievement events",
                             achievement_events) % achievement_events
                    + " and "
                    + ngettext("%d award", "%d awards", awards) % awards
                    + " were taken back with them."
                )
            self.message_user(request, message, messages.SUCCESS)
        if already:
            self.message_user(
                request,
                ngettext("%d event was already cancelled.", "%d events were already cancelled.",
                         already) % already,
                messages.WARNING,
            )


# Enrolments: a streak reset may reach a level that posts an event and pays
# ------------------------------------------------------------------------------
admin.site.unregister(Enrolment)


@admin.register(Enrolment)
class EnrolmentResetAdmin(EnrolmentAdmin):
    actions = ("reset_streak", "unenrol")

    @admin.action(description="Reset streak (re-enrol with resetStreakStatus)",
                  permissions=["enrol"])
    def reset_streak(self, request, queryset):
        now = timezone.now()
        done = 0
        for enrolment in queryset.select_related("group__program", "customer").order_by("pk"):
            try:
                services.enrolment_enrol(group=enrolment.group,
                                         integration_id=enrolment.customer.integration_id,
                                         now=now, reset_streak_status=True)
            except ApplicationError as exc:
                self.message_user(request, f"{enrolment}: {exc.message}", messages.ERROR)
                continue
            done += 1
        if done:
            self.message_user(
                request,
                ngettext("Reset %d streak: counting starts again now and the levels can be "
                         "reached again.",
                         "Reset %d streaks: counting starts again now and the levels can be "
                         "reached again.", done) % done,
                messages.SUCCESS,
            )


# The customer page: their achievements, streaks, latest events and wallet
# ------------------------------------------------------------------------------
admin.site.unregister(Customer)


@admin.register(Customer)
class CustomerActivityAdmin(CustomerAdmin):
    change_form_template = "admin/loyalty/customer/change_form.html"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        customer = self.get_object(request, unquote(object_id))
        if customer is not None:
            extra_context = {**(extra_context or {}),
                             **self.activity_context(request, customer)}
        return super().change_view(request, object_id, form_url, extra_context)

    def activity_context(self, request, customer: Customer) -> dict:
        return {
            "activity": True,
            "customer_achievements": self._achievements(customer),
            "customer_streaks": self._streaks(customer),
            "customer_events": self._events(customer),
            "customer_events_limit": CUSTOMER_EVENT_LIMIT,
            "customer_events_url": _changelist_for(customer,
                                                   "admin:events_customerevent_changelist"),
            **self._wallet(request, customer),
        }

    def _achievements(self, customer: Customer) -> list[dict]:
        rows = []
        for standing in achievement_selectors.customer_achievement_list(
            customer=customer, now=timezone.now()
        ):
            achievement, record = standing.achievement, standing.record
            target = achievement.target
            rows.append({
                "title": achievement.title,
                "url": reverse("admin:achievements_achievement_change", args=[achievement.pk]),
                "campaign": achievement.campaign.name,
                "status": standing.status,
                "status_label": STATUS_LABELS.get(standing.status, standing.status),
                "progress": human_number(standing.progress),
                "target": human_number(target),
                "percent": min(100, int(standing.progress * 100 / target)) if target else 0,
                "start_date": record.start_date if record else None,
                "end_date": record.end_date if record else None,
                "completion_date": record.completion_date if record else None,
                "record_url": reverse("admin:achievements_achievementprogress_change",
                                      args=[record.pk]) if record else None,
            })
        return rows

    def _streaks(self, customer: Customer) -> list[dict]:
        now = timezone.now()
        return [
            streak_view(streak, now=now)
            for streak in achievement_selectors.customer_streak_list(customer=customer, now=now)
        ]

    def _events(self, customer: Customer) -> list[dict]:
        events = (
            selectors.event_list(program=customer.program)
            .filter(customer=customer)
            .order_by("-performed_on", "-id")[:CUSTOMER_EVENT_LIMIT]
        )
        return [
            {
                "number": event.number,
                "type": event.get_type_display(),
                "classification": event.classification.name if event.classification else "",
                "amount": human_amount(event.amount),
                "performed_on": event.performed_on,
                "state": event.life_cycle_state,
                "state_label": event.get_life_cycle_state_display(),
                "url": reverse("admin:events_customerevent_change", args=[event.pk]),
            }
            for event in events
        ]

    def _wallet(self, request, customer: Customer) -> dict:
        wallet = loyalty_selectors.wallet_get(customer=customer, limit=CUSTOMER_LEDGER_LIMIT)
        ledger_admin = self.admin_site.get_model_admin(AwardTransaction)
        correction_url = None
        if ledger_admin.has_correction_permission(request):
            correction_url = "{}?{}".format(
                reverse("admin:loyalty_awardtransaction_correction"),
                urlencode({"program": customer.program_id,
                           "integration_id": customer.integration_id}),
            )
        offers = RewardOffer.objects.in_bulk(
            {row.reward_offer_id for row in wallet.transactions if row.reward_offer_id}
        )
        return {
            "wallet_balances": [
                {"code": b.currency.code, "name": b.currency.name,
                 "balance": human_amount(b.balance)}
                for b in wallet.balances
            ],
            "wallet_rows": [
                {
                    "created_at": row.created_at,
                    "kind": row.get_kind_display(),
                    "state": row.get_state_display(),
                    "amount": human_amount(row.amount, signed=True),
                    "negative": row.amount < 0,
                    "currency": row.currency.code,
                    "why": row.reason or str(offers.get(row.reward_offer_id, "")),
                    "created_by": row.created_by or "",
                    "url": reverse("admin:loyalty_awardtransaction_change", args=[row.pk]),
                }
                for row in wallet.transactions
            ],
            "wallet_limit": CUSTOMER_LEDGER_LIMIT,
            "ledger_url": _changelist_for(customer, "admin:loyalty_awardtransaction_changelist"),
            "correction_url": correction_url,
        }


# The achievement page: its numbers, with the rewards its events were paid (only `events`
# can join achievement events to the ledger)
# ------------------------------------------------------------------------------
admin.site.unregister(Achievement)


@admin.register(Achievement)
class AchievementStatsAdmin(AchievementAdmin):
    def change_view(self, request, object_id, form_url="", extra_context=None):
        achievement = self.get_object(request, unquote(object_id))
        if achievement is not None and request.method == "GET":
            rewards = selectors.achievement_rewards_paid(achievement=achievement)
            extra_context = {**(extra_context or {}), "stats": achievement_stats_view(
                achievement, now=timezone.now(), rewards=rewards)}
        return super().change_view(request, object_id, form_url, extra_context)
