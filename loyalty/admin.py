"""Admin for programs, campaigns, customers, currencies and API keys. Writes go through services."""

from django.contrib import admin, messages
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import ngettext

from loyalty import services
from loyalty.models import ApiKey, Campaign, Currency, Customer, Program


def stored(obj):
    """The row as stored: the admin form has already copied its input onto `obj`, and the
    services compare against what is stored."""
    return type(obj)._default_manager.get(pk=obj.pk)


class CurrencyInline(admin.TabularInline):
    model = Currency
    extra = 0
    fields = ("code", "name", "kind")
    readonly_fields = ("kind",)
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False  # alternative currencies are added on the currency page


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    list_display = ("name", "time_zone", "currency_code", "campaign_count", "created_at")
    search_fields = ("name",)
    ordering = ("name",)
    readonly_fields = ("created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("name",)}),
        ("Calendar and points", {"fields": ("time_zone", "currency_code")}),
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
class CampaignAdmin(admin.ModelAdmin):
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
class CustomerAdmin(admin.ModelAdmin):
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
class CurrencyAdmin(admin.ModelAdmin):
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
