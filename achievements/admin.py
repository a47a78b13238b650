"""Admin for achievement definitions and progress. Writes go through services."""

from django.contrib import admin
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.html import format_html

from achievements import selectors, services
from achievements.models import Achievement, AchievementProgress
from config.admin import ServiceErrorsAsFormErrors
from config.api.fields import plain_number
from loyalty.admin import stored


@admin.register(Achievement)
class AchievementAdmin(ServiceErrorsAsFormErrors, admin.ModelAdmin):
    list_display = (
        "title", "name", "campaign", "target", "period", "recurrence_policy",
        "activation_policy", "end_date", "has_progress",
    )
    list_filter = ("recurrence_policy", "activation_policy", "campaign__state",
                   "campaign__program", "campaign")
    search_fields = ("name", "title", "description")
    list_select_related = ("campaign__program",)
    ordering = ("campaign__program__name", "campaign__name", "title")
    date_hierarchy = "created_at"
    show_facets = admin.ShowFacets.ALWAYS
    fieldsets = (
        (None, {"fields": ("campaign", "name", "title", "description")}),
        ("Goal", {
            "fields": ("target", "event_types", "progress_condition", "progress_increment",
                       "is_capped_by_target"),
            "description": "Which events count and how much each adds. Conditions and "
            "increments are CEL expressions over the event, e.g. "
            "<code>event.amount &gt;= 20.0</code> or <code>event.attributes.minutes</code>.",
        }),
        ("Schedule", {
            "fields": ("activation_policy", "recurrence_policy", "period",
                       "period_end_override", "fixed_start_date", "end_date", "time_zone",
                       "schedule_preview"),
        }),
        ("Rollback", {"fields": ("allow_rollback_after_completion",)}),
        ("History", {"fields": ("created_by", "created_at", "updated_at"),
                     "classes": ("collapse",)}),
    )
    readonly_fields = ("schedule_preview", "created_by", "created_at", "updated_at")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            has_progress=Exists(AchievementProgress.objects.filter(achievement=OuterRef("pk")))
        )

    @admin.display(boolean=True, description="Has progress", ordering="has_progress")
    def has_progress(self, obj: Achievement) -> bool:
        return obj.has_progress

    @admin.display(description="Preview")
    def schedule_preview(self, obj: Achievement | None) -> str:
        if obj is None or obj.pk is None:
            return "Save to see when a customer starting now would finish."
        now = timezone.now()
        tz = selectors.achievement_time_zone(achievement=obj)
        window = selectors.achievement_window_preview(achievement=obj, at=now)
        local_now = now.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
        if window is None:
            if obj.fixed_start_date and now < obj.fixed_start_date:
                start = obj.fixed_start_date.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
                return f"Not open yet: the fixed schedule starts {start} ({tz.key})."
            return "Closed: an event now would count for nothing."
        if window.end is None:
            return f"A customer starting now ({local_now} {tz.key}) has no time limit."
        end = window.end.astimezone(tz).strftime("%A %Y-%m-%d %H:%M:%S")
        return format_html(
            "A customer starting now ({} {}) would finish by <strong>{}</strong>.",
            local_now, tz.key, end,
        )

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return self.readonly_fields
        always = ("campaign", "name", *self.readonly_fields)
        if selectors.achievement_is_locked(achievement=obj):
            editable = set(Achievement.ALWAYS_EDITABLE)
            locked = [f for f in services.EDITABLE_FIELDS if f not in editable]
            return (*always, *locked)
        return always

    def save_model(self, request, obj, form, change):
        if change:
            data = {f: form.cleaned_data[f] for f in form.changed_data}
            services.achievement_update(achievement=stored(obj), data=data)
            return
        fields = {f: form.cleaned_data[f] for f in services.EDITABLE_FIELDS
                  if f in form.cleaned_data and f not in ("title",)}
        fields.pop("target", None)
        obj.pk = services.achievement_create(
            campaign=form.cleaned_data["campaign"],
            name=form.cleaned_data["name"],
            title=form.cleaned_data["title"],
            target=form.cleaned_data["target"],
            created_by=request.user,
            **fields,
        ).pk

    def has_delete_permission(self, request, obj=None):
        if obj is None:
            return super().has_delete_permission(request)
        return not selectors.achievement_is_locked(achievement=obj)


@admin.register(AchievementProgress)
class AchievementProgressAdmin(admin.ModelAdmin):
    list_display = ("achievement", "customer", "status", "progress_bar", "start_date",
                    "end_date", "completion_date")
    list_filter = ("status", "achievement__campaign__program", "achievement")
    search_fields = ("=customer__integration_id", "achievement__name", "achievement__title")
    list_select_related = ("achievement", "customer")
    date_hierarchy = "start_date"
    show_full_result_count = False
    readonly_fields = [f.name for f in AchievementProgress._meta.fields]

    @admin.display(description="Progress")
    def progress_bar(self, obj: AchievementProgress) -> str:
        target = obj.achievement.target or 1
        percent = min(100, int(obj.progress * 100 / target))
        return format_html(
            '<div style="width:120px;background:#eee;border-radius:3px" title="{} / {}">'
            '<div style="width:{}%;background:#417690;height:10px;border-radius:3px"></div>'
            "</div>",
            plain_number(obj.progress), plain_number(target), percent,
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
