"""Admin for programs, campaigns, customers, currencies, API keys, classifications, reward
offers and the wallet ledger. Writes go through services."""

from decimal import Decimal
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import ngettext

from config.admin import ServiceErrorsAsFormErrors
from config.exceptions import ApplicationError
from loyalty import selectors, services
from loyalty.formatting import human_amount, human_number, local_datetime
from loyalty.models import (
    ApiKey,
    AwardTransaction,
    Campaign,
    Classification,
    Currency,
    Customer,
    JobRun,
    Notification,
    Program,
    RewardOffer,
    WalletBalance,
)
from loyalty.validators import time_zone_choices


def stored(obj):
    """The row as stored: the admin form has already copied its input onto `obj`, and the
    services compare against what is stored."""
    return type(obj)._default_manager.get(pk=obj.pk)


def plain_amount(amount: Decimal | None, *, signed: bool = False) -> str:
    """50.000000 as 50 and 12.500000 as 12.5 (`normalize()` alone would print 5E+1)."""
    if amount is None:
        return "-"
    return format(Decimal(amount).normalize(), "+f" if signed else "f")


def compact_datetime(value, time_zone: str | None = None) -> str:
    """`2026-11-22 03:21 CET`: in the program's time zone where one is given (else the
    admin's), with the zone named, so list columns stay on one line and never mix zones
    silently."""
    return local_datetime(value, time_zone or timezone.get_current_timezone_name())


def nowrap(text: str) -> str:
    return format_html('<span style="white-space:nowrap">{}</span>', text)


class ProgramColumnWhenSeveral:
    """Show the `program` column only when there is more than one program to tell apart
    (the program filter hides itself the same way)."""

    def get_list_display(self, request):
        columns = super().get_list_display(request)
        if Program.objects.count() > 1:
            return columns
        return tuple(c for c in columns if c != "program")


class TimeZoneChoice:
    """A `time_zone` field as a choice of the IANA zones (empty: the program's, where the
    field may be empty) instead of free text."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "time_zone":
            empty = "The program's time zone" if db_field.blank else None
            return forms.ChoiceField(
                choices=time_zone_choices(empty_label=empty), required=not db_field.blank,
                initial=db_field.default if db_field.has_default() else "",
                label=db_field.verbose_name.capitalize(), help_text=db_field.help_text,
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)


class ProgramCurrencyFilter(admin.RelatedFieldListFilter):
    """Currencies named with their program: every program has its own PTS."""

    def field_choices(self, field, request, model_admin):
        return [
            (c.pk, f"{c.code} ({c.program})")
            for c in Currency.objects.select_related("program").order_by("program__name", "code")
        ]


def currency_label(currency: Currency) -> str:
    return f"{currency.code} ({currency.program})"


class CurrencyInline(admin.TabularInline):
    model = Currency
    extra = 0
    fields = ("code", "name", "kind")
    readonly_fields = ("code", "name", "kind")  # changed on the currency page, via services
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False  # alternative currencies are added on the currency page


@admin.register(Program)
class ProgramAdmin(TimeZoneChoice, ServiceErrorsAsFormErrors, admin.ModelAdmin):
    list_display = ("name", "time_zone", "currency_code", "campaign_count", "created_at")
    search_fields = ("name",)
    ordering = ("name",)
    readonly_fields = ("webhook_secret", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("name",)}),
        ("Calendar and points", {"fields": ("time_zone", "currency_code")}),
        ("Webhook", {"fields": ("webhook_url", "webhook_secret"),
                     "description": "Notifications (expired iterations, broken or at-risk "
                     "streaks, started periods) are POSTed here as JSON signed with the "
                     "secret: X-Laurel-Signature: sha256=HMAC-SHA256(secret, body)."}),
        ("History", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )
    inlines = (CurrencyInline,)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(campaign_count=Count("campaigns"))

    @admin.display(description="Campaigns", ordering="campaign_count")
    def campaign_count(self, obj: Program) -> int:
        return obj.campaign_count

    def save_model(self, request, obj, form, change):
        if change:
            services.program_update(program=stored(obj), data=form.cleaned_data)
        else:
            created = services.program_create(**{f: form.cleaned_data[f] for f in
                                                 ("name", "time_zone", "currency_code")})
            obj.pk = created.pk


@admin.register(Campaign)
class CampaignAdmin(ServiceErrorsAsFormErrors, admin.ModelAdmin):
    list_display = ("name", "program", "state", "start_time", "end_time", "achievement_count")
    list_filter = ("state", "program")
    search_fields = ("name", "description")
    list_select_related = ("program",)
    ordering = ("program__name", "name")
    date_hierarchy = "created_at"
    readonly_fields = ("created_at", "updated_at")
    show_facets = admin.ShowFacets.ALWAYS
    fieldsets = (
        (None, {"fields": ("program", "name", "description")}),
        ("Lifecycle", {"fields": ("state", "start_time", "end_time"),
                       "description": "Only a running campaign counts customer activity."}),
        ("History", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(achievement_count=Count("achievements"))

    @admin.display(description="Achievements", ordering="achievement_count")
    def achievement_count(self, obj: Campaign) -> int:
        return obj.achievement_count

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "program") if obj else self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        # Only a draft campaign can be deleted (campaign_delete); archive the others.
        has_permission = super().has_delete_permission(request, obj)
        return has_permission and (obj is None or obj.state == Campaign.State.DRAFT)

    def delete_model(self, request, obj):
        services.campaign_delete(campaign=obj)

    def delete_queryset(self, request, queryset):
        refused = queryset.exclude(state=Campaign.State.DRAFT).count()
        for campaign in queryset.filter(state=Campaign.State.DRAFT):
            services.campaign_delete(campaign=campaign)
        if refused:
            self.message_user(
                request,
                f"{refused} campaign(s) kept: only drafts can be deleted; archive the others.",
                messages.WARNING,
            )

    def save_model(self, request, obj, form, change):
        data = {f: form.cleaned_data[f] for f in form.changed_data if f != "program"}
        if change:
            services.campaign_update(campaign=stored(obj), data=data)
        else:
            fields = ("name", "description", "state", "start_time", "end_time")
            obj.pk = services.campaign_create(
                program=form.cleaned_data["program"],
                **{f: form.cleaned_data[f] for f in fields},
            ).pk


@admin.register(Customer)
class CustomerAdmin(ServiceErrorsAsFormErrors, admin.ModelAdmin):
    list_display = ("integration_id", "name", "program", "created_at")
    list_filter = ("program",)
    search_fields = ("=integration_id", "name")
    list_select_related = ("program",)
    ordering = ("-created_at",)
    date_hierarchy = "created_at"
    readonly_fields = ("created_at",)
    show_full_result_count = False
    fields = ("program", "integration_id", "name", "attributes", "created_at")

    def get_readonly_fields(self, request, obj=None):
        if obj:
            return (*self.readonly_fields, "program", "integration_id")
        return self.readonly_fields


@admin.register(Currency)
class CurrencyAdmin(ServiceErrorsAsFormErrors, admin.ModelAdmin):
    list_display = ("code", "name", "kind", "program")
    list_filter = ("kind", "program")
    search_fields = ("code", "name")
    list_select_related = ("program",)
    readonly_fields = ("kind",)

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "program") if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            services.currency_update(
                currency=stored(obj), data={f: form.cleaned_data[f] for f in ("code", "name")}
            )
        else:
            obj.pk = services.currency_create(
                program=form.cleaned_data["program"],
                code=form.cleaned_data["code"],
                name=form.cleaned_data["name"],
            ).pk

    def has_delete_permission(self, request, obj=None):
        return obj is None or obj.kind != Currency.Kind.POINTS


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "scope", "program", "created_by", "last_used_at", "active")
    list_filter = ("scope", "program", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "prefix")
    list_select_related = ("program", "created_by")
    readonly_fields = ("prefix", "created_by", "created_at", "last_used_at", "revoked_at")
    actions = ("revoke_selected",)

    @admin.display(boolean=True, description="Active")
    def active(self, obj: ApiKey) -> bool:
        return obj.is_active

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("name", "scope", "program")
        return ("name", "scope", "program", *self.readonly_fields)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return ("scope", "program", *self.readonly_fields)

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["name"])
            return
        api_key, raw_key = services.api_key_create(
            name=form.cleaned_data["name"],
            scope=form.cleaned_data["scope"],
            program=form.cleaned_data["program"],
            created_by=request.user,
        )
        obj.pk = api_key.pk
        self.message_user(
            request,
            f"The new key is {raw_key} — copy it now, it will not be shown again.",
            messages.WARNING,
        )

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead, so the audit trail stays

    @admin.action(description="Revoke selected API keys", permissions=["change"])
    def revoke_selected(self, request, queryset):
        now = timezone.now()
        keys = list(queryset.filter(revoked_at__isnull=True))
        for api_key in keys:
            services.api_key_revoke(api_key=api_key, now=now)
        self.message_user(
            request,
            ngettext("Revoked %d key.", "Revoked %d keys.", len(keys)) % len(keys),
            messages.SUCCESS,
        )


# Classifications and reward offers
# ------------------------------------------------------------------------------
def _admin_link(url_name: str, pk: int, text: str) -> str:
    """A link to another admin page; the plain text where that page is not registered."""
    try:
        return format_html('<a href="{}">{}</a>', reverse(url_name, args=[pk]), text)
    except NoReverseMatch:
        return text


@admin.register(Classification)
class ClassificationAdmin(ProgramColumnWhenSeveral, ServiceErrorsAsFormErrors, admin.ModelAdmin):
    list_display = ("code", "name", "event_type", "program", "owner", "offer_count")
    list_filter = ("event_type", "program")
    search_fields = ("code", "name")
    list_select_related = ("program", "achievement")
    ordering = ("program__name", "code")
    show_facets = admin.ShowFacets.ALWAYS
    readonly_fields = ("owner", "offers", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("program", "code", "name", "event_type", "description")}),
        ("Used by", {
            "fields": ("owner", "offers"),
            "description": "Every achievement owns a classification for the ACHIEVEMENT events "
            "it posts; reward offers pay on those.",
        }),
        ("History", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(offer_count=Count("reward_offers"))

    @admin.display(description="Reward offers", ordering="offer_count")
    def offer_count(self, obj: Classification) -> int:
        return obj.offer_count

    @admin.display(description="Owned by achievement")
    def owner(self, obj: Classification) -> str:
        achievement = getattr(obj, "achievement", None) if obj.pk else None
        if achievement is None:
            return "-"
        return _admin_link("admin:achievements_achievement_change", achievement.pk,
                           str(achievement))

    @admin.display(description="Reward offers")
    def offers(self, obj: Classification) -> str:
        if not obj.pk:
            return "-"
        links = [_admin_link("admin:loyalty_rewardoffer_change", offer.pk, str(offer))
                 for offer in obj.reward_offers.all()]
        return format_html("<br>".join(["{}"] * len(links)), *links) if links else "-"

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return self.readonly_fields
        frozen = ("program", "event_type")  # classification_update changes neither
        if getattr(obj, "achievement", None) is not None:
            frozen = (*frozen, "code", "name")  # kept in step with the achievement
        return (*self.readonly_fields, *frozen)

    def save_model(self, request, obj, form, change):
        if change:
            data = {f: form.cleaned_data[f] for f in form.changed_data
                    if f in ("code", "name", "description")}
            services.classification_update(classification=stored(obj), data=data)
        else:
            obj.pk = services.classification_create(
                **{f: form.cleaned_data[f] for f in
                   ("program", "code", "name", "event_type", "description")}
            ).pk

    def has_delete_permission(self, request, obj=None):
        if obj is None:
            return super().has_delete_permission(request)
        in_use = getattr(obj, "achievement", None) is not None or obj.reward_offers.exists()
        return not in_use and super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # delete one by one, where nothing uses it
        return actions


@admin.register(RewardOffer)
class RewardOfferAdmin(ProgramColumnWhenSeveral, ServiceErrorsAsFormErrors, admin.ModelAdmin):
    list_display = ("name", "code", "program", "state", "trigger", "award", "number_of_awards",
                    "validity", "award_count")
    list_filter = ("state", "number_of_awards", "award_type", "program")
    search_fields = ("name", "code", "description")
    list_select_related = ("program", "currency")
    ordering = ("program__name", "code")
    show_facets = admin.ShowFacets.ALWAYS
    filter_horizontal = ("classifications",)
    readonly_fields = ("award_count", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("program", "name", "code", "description", "state")}),
        ("What triggers it", {
            "fields": ("classifications", "all_achievements_should_exist"),
            "description": "The offer pays when a customer completes one of these "
            "achievements (each achievement has its own classification, named after it).",
        }),
        ("What it awards", {
            "fields": ("award_type", "award_value", "currency"),
            "description": "A fixed amount, or a percentage of the amount of the event that "
            "completed the achievement, credited to the customer's wallet in this currency.",
        }),
        ("When", {
            "fields": ("valid_from", "valid_to", "number_of_awards", "award_period"),
            "description": "Completions from 'valid from' up to (not including) 'valid to' "
            "count; leave either empty for no limit. Periods follow the program's time zone.",
        }),
        ("History", {"fields": ("award_count", "created_at", "updated_at"),
                     "classes": ("collapse",)}),
    )

    def get_queryset(self, request):
        posted_awards = Q(award_transactions__kind=AwardTransaction.Kind.AWARD,
                          award_transactions__state=AwardTransaction.State.POSTED)
        return (
            super().get_queryset(request)
            .annotate(award_count=Count("award_transactions", filter=posted_awards))
            .prefetch_related("classifications")
        )

    @admin.display(description="Awards paid", ordering="award_count")
    def award_count(self, obj: RewardOffer) -> int:
        return getattr(obj, "award_count", 0)

    @admin.display(description="Triggered by")
    def trigger(self, obj: RewardOffer) -> str:
        names = [c.name.removeprefix("Achievement: ") for c in obj.classifications.all()]
        joiner = " and " if obj.all_achievements_should_exist else " or "
        return joiner.join(names) or "-"

    @admin.display(description="Valid", ordering="valid_from")
    def validity(self, obj: RewardOffer) -> str:
        if obj.valid_from is None and obj.valid_to is None:
            return "Always"
        if obj.valid_to is None:
            return nowrap(f"from {compact_datetime(obj.valid_from, obj.program.time_zone)}")
        if obj.valid_from is None:
            return nowrap(f"until {compact_datetime(obj.valid_to, obj.program.time_zone)}")
        tz = obj.program.time_zone
        return format_html("{}<br>{}", nowrap(f"from {compact_datetime(obj.valid_from, tz)}"),
                           nowrap(f"until {compact_datetime(obj.valid_to, tz)}"))

    @admin.display(description="Award")
    def award(self, obj: RewardOffer) -> str:
        if obj.award_type == RewardOffer.AwardType.PERCENTAGE:
            return f"{human_number(obj.award_value)}% of the amount, in {obj.currency.code}"
        return human_amount(obj.award_value, obj.currency.code)

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "program") if obj else self.readonly_fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        fields = form_class.base_fields
        if "classifications" in fields:
            # Offers pay on ACHIEVEMENT events only; keep whatever the offer already has.
            usable = Q(event_type="ACHIEVEMENT")
            if obj is not None:
                usable = (usable & Q(program=obj.program_id)) | Q(reward_offers=obj)
            fields["classifications"].queryset = (
                Classification.objects.filter(usable).select_related("program").distinct()
                .order_by("program__name", "name")
            )
            if obj is None:
                fields["classifications"].label_from_instance = (
                    lambda c: f"{c.program} · {c.name}"
                )
        if "currency" in fields:
            currencies = Currency.objects.select_related("program")
            if obj is not None:
                fields["currency"].queryset = currencies.filter(program=obj.program_id)
            else:
                fields["currency"].queryset = currencies.order_by("program__name", "code")
                fields["currency"].label_from_instance = currency_label
        return form_class

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            editable = (*services.REWARD_OFFER_FIELDS, "classifications")
            services.reward_offer_update(
                offer=stored(obj), data={f: data[f] for f in form.changed_data if f in editable}
            )
        else:
            obj.pk = services.reward_offer_create(
                program=data["program"], classifications=data["classifications"],
                **{f: data[f] for f in services.REWARD_OFFER_FIELDS},
            ).pk

    def save_related(self, request, form, formsets, change):
        # The services have already set the classifications: no form.save_m2m() here.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)


# The wallet: ledger, balances and manual corrections
# ------------------------------------------------------------------------------
def _customer_link(customer: Customer) -> str:
    return nowrap(_admin_link("admin:loyalty_customer_change", customer.pk,
                              customer.integration_id))


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by the services (progress, contributions, cycles, levels reached,
    events, the ledger): viewable, never added, changed or deleted here, one by one or in
    bulk (`delete_selected` needs the delete permission, so it is never offered). What
    changes them is an audited correction or a cancellation."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline:
    """The inline of a `ReadOnlyAdmin`'s rows: shown, never added, changed or deleted."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class WalletCorrectionForm(forms.Form):
    program = forms.ModelChoiceField(queryset=Program.objects.all())
    integration_id = forms.CharField(label="Customer integration id", max_length=1000)
    currency = forms.ModelChoiceField(
        queryset=Currency.objects.select_related("program").order_by("program__name", "code")
    )
    amount = forms.DecimalField(
        max_digits=20, decimal_places=6,
        help_text="Signed: 25 adds to the balance, -25 takes away.",
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        error_messages={"required": "Say why: a correction needs a reason."},
        help_text="Stored on the ledger row with your name.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].label_from_instance = currency_label

    def clean(self):
        cleaned_data = super().clean()
        program = cleaned_data.get("program")
        integration_id = cleaned_data.get("integration_id")
        if program is not None and integration_id:
            customer = selectors.customer_list(program=program).filter(
                integration_id=integration_id
            ).first()
            if customer is None:
                self.add_error("integration_id",
                               f"{program} has no customer with integration id "
                               f"'{integration_id}'.")
            cleaned_data["customer"] = customer
        return cleaned_data

    def add_service_error(self, exc: ApplicationError) -> None:
        self.add_error(exc.field if exc.field in self.fields else None, exc.message)


class CorrectionLinkMixin:
    """A "Make a manual correction" button on the changelist, for users who may add ledger
    rows (the `add award transaction` permission)."""

    change_list_template = "admin/loyalty/wallet_change_list.html"

    def has_correction_permission(self, request) -> bool:
        opts = AwardTransaction._meta
        return request.user.has_perm(
            f"{opts.app_label}.{get_permission_codename('add', opts)}"
        )

    def changelist_view(self, request, extra_context=None):
        extra_context = extra_context or {}
        if self.has_correction_permission(request):
            extra_context["correction_url"] = reverse(
                f"{self.admin_site.name}:loyalty_awardtransaction_correction"
            )
        return super().changelist_view(request, extra_context)


@admin.register(AwardTransaction)
class AwardTransactionAdmin(ProgramColumnWhenSeveral, CorrectionLinkMixin, ReadOnlyAdmin):
    """The ledger: append-only. Corrections are new rows, made through `correction_view`."""

    list_display = ("created", "customer_display", "kind", "state", "signed_amount", "why",
                    "event", "created_by")
    list_display_links = ("created",)
    list_filter = ("kind", "state", ("currency", ProgramCurrencyFilter), "program")
    search_fields = ("=customer__integration_id",)
    search_help_text = "The customer's integration id, exactly."
    list_select_related = ("program", "customer", "currency", "reward_offer", "created_by")
    ordering = ("-created_at", "-id")
    date_hierarchy = "created_at"
    show_full_result_count = False
    correction_template = "admin/loyalty/awardtransaction/correction.html"
    fieldsets = (
        (None, {"fields": ("program", "customer", "kind", "state", "signed_amount",
                           "currency")}),
        ("Why", {"fields": ("reward_offer", "event", "award_key", "reverses", "reversed_by",
                            "reason", "created_by", "created_at")}),
    )
    readonly_fields = ("program", "customer", "kind", "state", "signed_amount", "currency",
                       "reward_offer", "event", "award_key", "reverses", "reversed_by",
                       "reason", "created_by", "created_at")

    @admin.display(description="Created", ordering="created_at")
    def created(self, obj: AwardTransaction) -> str:
        return nowrap(compact_datetime(obj.created_at, obj.program.time_zone))

    @admin.display(description="Customer", ordering="customer__integration_id")
    def customer_display(self, obj: AwardTransaction) -> str:
        return _customer_link(obj.customer)

    @admin.display(description="Amount", ordering="amount")
    def signed_amount(self, obj: AwardTransaction) -> str:
        amount = nowrap(human_amount(obj.amount, obj.currency.code, signed=True))
        if obj.amount < 0:
            return format_html('<span style="color:var(--error-fg,#ba2121)">{}</span>', amount)
        return amount

    @admin.display(description="Customer event id")
    def event(self, obj: AwardTransaction) -> str:
        if obj.customer_event_id is None:
            return "-"
        return _admin_link("admin:events_customerevent_change", obj.customer_event_id,
                           str(obj.customer_event_id))

    @admin.display(description="Why")
    def why(self, obj: AwardTransaction) -> str:
        """The reward offer of an award, the reason of a cancellation or correction."""
        if obj.kind == AwardTransaction.Kind.AWARD and obj.reward_offer_id:
            return str(obj.reward_offer)
        return obj.reason if len(obj.reason) <= 60 else obj.reason[:59] + "…"

    @admin.display(description="Reversed by")
    def reversed_by(self, obj: AwardTransaction) -> str:
        row = getattr(obj, "reversed_by", None)
        if row is None:
            return "-"
        return _admin_link("admin:loyalty_awardtransaction_change", row.pk,
                           f"{row.get_kind_display()} of {row.created_at:%Y-%m-%d %H:%M}")

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_correction"
        return [
            path("correction/", self.admin_site.admin_view(self.correction_view), name=name),
            *super().get_urls(),
        ]

    def correction_view(self, request):
        """Add a manual correction through `wallet_adjust`, which records who and why."""
        if not self.has_correction_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            form = WalletCorrectionForm(request.POST)
            if form.is_valid():
                data = form.cleaned_data
                try:
                    row = services.wallet_adjust(
                        customer=data["customer"], currency=data["currency"],
                        amount=data["amount"], reason=data["reason"], acting_user=request.user,
                    )
                except ApplicationError as exc:
                    form.add_service_error(exc)
                else:
                    return self._correction_done(request, row)
        else:
            form = WalletCorrectionForm(initial={
                key: request.GET[key] for key in ("program", "integration_id", "currency")
                if key in request.GET
            })
        request.current_app = self.admin_site.name
        context = {
            **self.admin_site.each_context(request),
            "title": "Manual wallet correction",
            "opts": self.opts,
            "form": form,
            "has_view_permission": self.has_view_permission(request),
        }
        return TemplateResponse(request, self.correction_template, context)

    def _correction_done(self, request, row: AwardTransaction):
        customer, currency = row.customer, row.currency
        amount = human_amount(row.amount, signed=True)
        self.log_addition(request, row, f"Manual correction of {amount} {currency.code}: "
                                        f"{row.reason}")
        wallet = selectors.wallet_get(customer=customer, limit=0)
        balance = next((b.balance for b in wallet.balances if b.currency_id == currency.pk),
                       row.amount)
        self.message_user(
            request,
            f"Corrected {customer.integration_id}'s {currency.code} by {amount}. "
            f"New balance: {human_amount(balance, currency.code)}.",
            messages.SUCCESS,
        )
        query = urlencode({"q": customer.integration_id, "program__id__exact": customer.program_id})
        return redirect(f"{reverse('admin:loyalty_awardtransaction_changelist')}?{query}")


@admin.register(WalletBalance)
class WalletBalanceAdmin(ProgramColumnWhenSeveral, CorrectionLinkMixin, ReadOnlyAdmin):
    """Balances per customer and currency, kept by the services under the customer lock."""

    list_display = ("customer_display", "program", "currency", "balance_display", "updated")
    list_filter = (("currency", ProgramCurrencyFilter), "customer__program")
    search_fields = ("=customer__integration_id",)
    search_help_text = "The customer's integration id, exactly."
    list_select_related = ("customer__program", "currency")
    ordering = ("-updated_at",)
    show_full_result_count = False
    fields = ("customer_display", "program", "currency", "balance_display", "updated_at")

    @admin.display(description="Last change", ordering="updated_at")
    def updated(self, obj: WalletBalance) -> str:
        return nowrap(compact_datetime(obj.updated_at, obj.customer.program.time_zone))
    readonly_fields = fields

    @admin.display(description="Customer", ordering="customer__integration_id")
    def customer_display(self, obj: WalletBalance) -> str:
        return _customer_link(obj.customer)

    @admin.display(description="Program", ordering="customer__program__name")
    def program(self, obj: WalletBalance) -> Program:
        return obj.customer.program

    @admin.display(description="Balance", ordering="balance")
    def balance_display(self, obj: WalletBalance) -> str:
        return nowrap(human_amount(obj.balance, obj.currency.code))


@admin.register(Notification)
class NotificationAdmin(ProgramColumnWhenSeveral, ReadOnlyAdmin):
    list_display = ("occurred_at", "kind", "program", "customer", "delivery", "attempts",
                    "delivered_at")
    list_filter = ("kind", "delivery", "program")
    search_fields = ("=customer__integration_id", "key")
    list_select_related = ("program", "customer")
    date_hierarchy = "occurred_at"
    show_full_result_count = False
    readonly_fields = ("program", "kind", "customer", "key", "payload", "occurred_at",
                       "created_at", "delivery", "attempts", "next_attempt_at", "delivered_at",
                       "last_error")
    actions = ("deliver_again",)

    def has_change_permission(self, request, obj=None):
        return obj is None and super(ReadOnlyAdmin, self).has_change_permission(request)

    @admin.action(description="Deliver the selected notifications again", permissions=["change"])
    def deliver_again(self, request, queryset):
        count = services.notifications_retry(notification_ids=queryset.values_list("pk",
                                                                                 flat=True),
                                             now=timezone.now())
        self.message_user(request, ngettext(
            "%d notification will be delivered at the next run.",
            "%d notifications will be delivered at the next run.", count) % count,
            messages.SUCCESS)


@admin.register(JobRun)
class JobRunAdmin(ReadOnlyAdmin):
    """What each run of a scheduled job was asked, who started it, and how it ended."""

    list_display = ("job", "as_of", "started_by", "outcome_display", "rows_display",
                    "batches", "duration", "error_line")
    list_filter = ("job", "outcome", "started_by")
    search_fields = ("job", "started_from", "error")
    date_hierarchy = "started_at"
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("job", "now", "started_by", "started_from")}),
        ("Outcome", {"fields": ("outcome_display", "rows", "batches", "started_at",
                                "finished_at", "duration_ms", "error", "traceback_display")}),
    )
    readonly_fields = ("job", "now", "started_by", "started_from", "outcome_display", "rows",
                       "batches", "started_at", "finished_at", "duration_ms", "error",
                       "traceback_display")

    @admin.display(description="As of", ordering="now")
    def as_of(self, obj: JobRun) -> str:
        return nowrap(compact_datetime(obj.now))

    @admin.display(description="Outcome", ordering="outcome")
    def outcome_display(self, obj: JobRun) -> str:
        colours = {JobRun.Outcome.FAILED: "var(--error-fg,#ba2121)",
                   JobRun.Outcome.RUNNING: "var(--body-quiet-color,#666)"}
        return format_html('<strong style="color:{}">{}</strong>',
                           colours.get(obj.outcome, "var(--body-fg,#333)"),
                           obj.get_outcome_display())

    @admin.display(description="Rows", ordering="rows")
    def rows_display(self, obj: JobRun) -> str:
        return human_number(obj.rows)

    @admin.display(description="Took", ordering="duration_ms")
    def duration(self, obj: JobRun) -> str:
        if obj.duration_ms is None:
            return "-"
        return nowrap(f"{human_number(obj.duration_ms)} ms")

    @admin.display(description="Error")
    def error_line(self, obj: JobRun) -> str:
        return obj.error if len(obj.error) <= 80 else obj.error[:79] + "…"

    @admin.display(description="Traceback")
    def traceback_display(self, obj: JobRun) -> str:
        if not obj.traceback:
            return "-"
        return format_html('<pre style="margin:0;white-space:pre-wrap;max-height:40em;'
                           'overflow:auto">{}</pre>', obj.traceback)
