"""Admin for achievement definitions and progress, and for streak targets (target groups and
enrolments). Writes go through services."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import widgets
from django.contrib.auth import get_permission_codename
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db.models import Count, Exists, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import JsonResponse
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import ngettext

from achievements import periods, rules, selectors, services, streaks
from achievements.forms import TIME_POINT_PARTS, AchievementForm, achievement_candidate
from achievements.models import (
    Achievement,
    AchievementProgress,
    CycleContribution,
    CycleProgress,
    Enrolment,
    ProgressContribution,
    StreakLevel,
    StreakLevelAchievement,
    Target,
    TargetGroup,
    TargetPeriod,
    TargetValue,
)
from achievements.services.streaks import GROUP_EDITABLE, group_time_zone
from config.admin import ServiceErrorsAsFormErrors
from config.exceptions import ApplicationError
from loyalty.admin import (
    ProgramColumnWhenSeveral,
    ReadOnlyAdmin,
    ReadOnlyInline,
    TimeZoneChoice,
    compact_datetime,
    nowrap,
    plain_amount,
    stored,
)
from loyalty.formatting import human_amount, human_number, local_datetime, zone
from loyalty.models import Campaign, Program

# The schedule fields the live preview reads from the form.
PREVIEW_FIELDS = ("campaign", "activation_policy", "recurrence_policy", "period",
                  "period_end_override", "fixed_start_date", "end_date", "time_zone")


def schedule_preview_html(achievement: Achievement, *, now: datetime) -> str:
    """When a customer whose first contributing event happens now would finish, computed by
    the pure period engine (nothing is read but the campaign's program time zone)."""
    try:
        spec = periods.parse_period(achievement.period) if achievement.period else None
        if achievement.period_end_override and spec is not None:
            periods.validate_time_point(spec=spec, point=achievement.end_override)
    except (periods.PeriodError, TypeError) as exc:
        return format_html('<span class="errornote" style="display:inline">{}</span>',
                           f"Cannot preview: {exc}")
    if not achievement.time_zone and achievement.campaign_id is None:
        return "Choose a campaign (its program's time zone applies) or a time zone to preview."
    fixed = achievement.activation_policy == Achievement.ActivationPolicy.FIXED_SCHEDULE
    if fixed and achievement.fixed_start_date is None:
        return "A fixed schedule needs its fixed start date to preview."
    tz = selectors.achievement_time_zone(achievement=achievement)
    window = selectors.achievement_window_preview(achievement=achievement, at=now)
    local_now = local_datetime(now, tz.key, seconds=True)
    if window is None:
        if achievement.fixed_start_date and now < achievement.fixed_start_date:
            start = local_datetime(achievement.fixed_start_date, tz.key, seconds=True)
            return f"Not open yet: the fixed schedule starts {start} ({tz.key})."
        return "Closed: an event now would count for nothing."
    if window.end is None:
        return f"A customer starting now ({local_now}, {tz.key}) has no time limit."
    end = window.end.astimezone(tz)
    return format_html(
        "A customer starting now ({}, {}) would finish by <strong>{}</strong>.",
        local_now, tz.key, f"{end:%A} {local_datetime(window.end, tz.key, seconds=True)}",
    )


def human_duration(value: timedelta | None) -> str:
    """3 days 4 h, 5 h 20 min, 12 min, 40 s."""
    if value is None:
        return "-"
    seconds = int(value.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} day{'s' if days != 1 else ''}" + (f" {hours} h" if hours else "")
    if hours:
        return f"{hours} h" + (f" {minutes} min" if minutes else "")
    return f"{minutes} min" if minutes else f"{seconds} s"


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def achievement_stats_view(achievement: Achievement, *, now: datetime,
                           rewards: dict[str, Decimal]) -> dict:
    """The numbers panel of an achievement's page (admin/laurel/stats_panel.html)."""
    stats = selectors.achievement_stats(achievement=achievement, now=now)
    tz = selectors.achievement_time_zone(achievement=achievement)
    today = now.astimezone(tz).date()
    days = [today - timedelta(days=i) for i in range(29, -1, -1)]
    start = datetime.combine(days[0], datetime.min.time(), tzinfo=tz)
    counts = selectors.completion_counts_by_day(
        program=achievement.campaign.program, start=start, end=now, tz=tz,
        achievement_ids=[achievement.pk])
    paid = ", ".join(human_amount(v, code) for code, v in sorted(rewards.items())) or "none"
    return {
        "title": "How it is going",
        "figures": [
            ("Participants", human_number(stats.participants),
             "Customers with at least one iteration."),
            ("In progress", human_number(stats.in_progress), "Iterations running now."),
            ("Completed", human_number(stats.completed), "Iterations completed."),
            ("Expired", human_number(stats.expired),
             "Iterations that ended without reaching the target."),
            ("Completion rate", percent(stats.completion_rate),
             "Participants who completed at least once."),
            ("Median time to complete", human_duration(stats.median_time_to_complete),
             "From an iteration's first progress to its completion."),
            ("Rewards paid", paid, "What reward offers paid on its achievement events "
             "(awards not cancelled)."),
        ],
        "charts": [{"key": "completions", "title": f"Completions per day ({tz.key})",
                    "kind": "line"}],
        "tables": [],
        "data": {"completions": {
            "labels": [d.isoformat() for d in days],
            "series": [{"label": "Completions", "data": [counts.get(d, 0) for d in days]}],
        }},
    }


def target_group_stats_view(group: TargetGroup, *, now: datetime) -> dict:
    """The numbers panel of a target group's page (admin/laurel/stats_panel.html)."""
    (distribution,) = selectors.streak_distributions(program=group.program,
                                                     group_ids=[group.pk])
    levels = selectors.level_reached_counts(group=group)
    shares = selectors.cycle_shares(group=group, now=now)
    tz = group_time_zone(group)
    longest = max([0, *distribution.current, *distribution.longest])
    lengths = list(range(0, longest + 1))
    ended = [s for s in shares if s.state == "ENDED"]
    met_share = (sum(s.met for s in ended) / sum(s.enrolled for s in ended)
                 if ended and sum(s.enrolled for s in ended) else None)
    return {
        "title": "How it is going",
        "figures": [
            ("Enrolled", human_number(distribution.enrolled), "Active enrolments."),
            ("In a running streak", human_number(sum(
                n for length, n in distribution.current.items() if length >= 1)),
             "Enrolled customers whose current streak is at least one met cycle."),
            ("Longest streak", human_number(max(distribution.longest or [0])),
             "The longest streak of any enrolled customer, in cycles."),
            ("Met share of ended cycles", percent(met_share),
             "Of the customers enrolled during the cycles that ended, the share that met "
             "them."),
        ],
        "charts": [
            {"key": "lengths", "title": "Customers per streak length (cycles)", "kind": "bar"},
            {"key": "cycles", "title": f"Met and missed, cycle by cycle ({tz.key})",
             "kind": "bar"},
        ],
        "tables": [
            {"title": "Levels reached", "head": ["Level", "Met cycles needed", "Times reached"],
             "rows": [(level.name, level.target_count_of_sequence, human_number(n))
                      for level, n in levels]},
            {"title": "Cycles", "head": ["Cycle", "Status", "Enrolled", "Met", "Missed",
                                         "Met share"],
             "rows": [(s.period.ref_code, s.state.capitalize(), human_number(s.enrolled),
                       human_number(s.met), human_number(s.missed) if s.state == "ENDED"
                       else "-", percent(s.met_share) if s.state != "UPCOMING" else "-")
                      for s in shares]},
        ],
        "data": {
            "lengths": {
                "labels": [str(n) for n in lengths],
                "series": [
                    {"label": "Current streak",
                     "data": [distribution.current.get(n, 0) for n in lengths]},
                    {"label": "Longest streak",
                     "data": [distribution.longest.get(n, 0) for n in lengths]},
                ],
            },
            "cycles": {
                "labels": [s.period.start_date.astimezone(tz).strftime("%d %b") for s in shares],
                "series": [
                    {"label": "Met", "data": [s.met for s in shares]},
                    {"label": "Missed", "data": [s.missed for s in shares]},
                ],
                "options": {"scales": {"x": {"stacked": True},
                                       "y": {"stacked": True, "beginAtZero": True}}},
            },
        },
    }


@admin.register(Achievement)
class AchievementAdmin(ServiceErrorsAsFormErrors, admin.ModelAdmin):
    form = AchievementForm
    change_form_template = "admin/achievements/achievement/change_form.html"
    list_display = (
        "title", "name", "campaign", "target_display", "period", "recurrence_policy",
        "activation_policy", "ends", "enabled", "has_progress",
    )
    actions = ("disable_selected", "enable_selected")
    list_filter = ("enabled", "recurrence_policy", "activation_policy", "campaign__state",
                   "campaign__program", "campaign")
    search_fields = ("name", "title", "description")
    list_select_related = ("campaign__program",)
    ordering = ("campaign__program__name", "campaign__name", "title")
    date_hierarchy = "created_at"
    show_facets = admin.ShowFacets.ALWAYS
    fieldsets = (
        (None, {"fields": ("campaign", "name", "title", "description", "enabled")}),
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

    class Media:
        js = ("laurel/achievement_preview.js", "laurel/achievement_simulate.js")

    @admin.action(description="Disable selected achievements (their campaign runs on)",
                  permissions=["change"])
    def disable_selected(self, request, queryset):
        done = sum(services.achievement_switch(achievement=a, enabled=False)
                   for a in queryset)
        self.message_user(request, ngettext(
            "Disabled %d achievement: no event counts for it from now on; progress and "
            "rewards so far stay.",
            "Disabled %d achievements: no event counts for them from now on; progress and "
            "rewards so far stay.", done) % done, messages.SUCCESS)

    @admin.action(description="Enable selected achievements again", permissions=["change"])
    def enable_selected(self, request, queryset):
        done = sum(services.achievement_switch(achievement=a, enabled=True) for a in queryset)
        self.message_user(request, ngettext(
            "Enabled %d achievement: events count for it again from now on.",
            "Enabled %d achievements: events count for them again from now on.", done)
            % done, messages.SUCCESS)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            has_progress=Exists(AchievementProgress.objects.filter(achievement=OuterRef("pk")))
        )

    @admin.display(boolean=True, description="Has progress", ordering="has_progress")
    def has_progress(self, obj: Achievement) -> bool:
        return obj.has_progress

    @admin.display(description="Target", ordering="target")
    def target_display(self, obj: Achievement) -> str:
        return human_number(obj.target)

    @admin.display(description="Ends", ordering="end_date")
    def ends(self, obj: Achievement) -> str:
        if obj.end_date is None:
            return "-"
        tz = obj.time_zone or obj.campaign.program.time_zone
        return nowrap(local_datetime(obj.end_date, tz))

    @admin.display(description="Preview")
    def schedule_preview(self, obj: Achievement | None) -> str:
        """Updated while the form is edited (laurel/achievement_preview.js asks
        `preview_view`), so the manager sees the effect before saving."""
        url = reverse("admin:achievements_achievement_preview")
        if obj is not None and obj.pk is not None:
            url += f"?object_id={obj.pk}"
            text = schedule_preview_html(obj, now=timezone.now())
        else:
            text = "Fill in the schedule to see when a customer starting now would finish."
        return format_html('<div id="laurel-schedule-preview" data-url="{}" '
                           'aria-live="polite">{}</div>', url, text)

    def get_urls(self):
        return [
            path("preview/", self.admin_site.admin_view(self.preview_view),
                 name="achievements_achievement_preview"),
            *super().get_urls(),
        ]

    def form_time_zone(self, request, obj: Achievement | None) -> str:
        """The zone the form's dates are typed and shown in: the achievement's own, else
        its program's; on a new one, what the form posts (time zone, else campaign)."""
        data = request.POST if request.method == "POST" else request.GET
        typed = data.get("time_zone")
        if typed is not None and "time_zone" not in self.get_readonly_fields(request, obj):
            if typed:
                return typed
            campaign_id = data.get("campaign")
            if campaign_id and campaign_id.isdigit():
                program = Program.objects.filter(campaigns=int(campaign_id)).first()
                if program is not None:
                    return program.time_zone
        if obj is not None:
            return obj.time_zone or obj.campaign.program.time_zone
        return timezone.get_current_timezone_name()

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        """Dates in the form are the program's wall time (fixed start, end date), like every
        time Laurel shows: Django parses and renders them in the active zone."""
        obj = self.get_object(request, object_id) if object_id else None
        with timezone.override(zone(self.form_time_zone(request, obj))):
            response = super().changeform_view(request, object_id, form_url, extra_context)
            if hasattr(response, "render"):
                response.render()  # here, while the zone is active
            return response

    def preview_view(self, request):
        """JSON `{"html": ...}`: the schedule preview for the form as typed, unsaved. Fields
        the form does not post (locked ones) keep their stored values."""
        obj = None
        if request.GET.get("object_id"):
            obj = self.get_object(request, request.GET["object_id"])
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        with timezone.override(zone(self.form_time_zone(request, obj))):
            candidate, errors = achievement_candidate(data=request.GET, obj=obj,
                                                      fields=PREVIEW_FIELDS)
        if errors:
            html = format_html('<span class="errornote" style="display:inline">{}</span>',
                               "Cannot preview: " + "; ".join(errors))
        else:
            html = schedule_preview_html(candidate, now=timezone.now())
        return JsonResponse({"html": str(html)})

    def lock_reasons(self, obj: Achievement) -> list[str]:
        reasons = []
        if obj.campaign.state == Campaign.State.RUNNING:
            reasons.append(f"its campaign “{obj.campaign.name}” is running")
        customers = selectors.achievement_participant_count(achievement=obj)
        if customers:
            reasons.append(ngettext("%d customer has progress in it",
                                    "%d customers have progress in it", customers) % customers)
        return reasons

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or not selectors.achievement_is_locked(achievement=obj):
            return fieldsets
        reasons = " and ".join(self.lock_reasons(obj)) or "customers have progress in it"
        notice = format_html(
            '<p class="laurel-locked"><strong>Locked because {}.</strong> Only the title and '
            "description change now, so that every customer is counted by the same rules. "
            "What you can do instead: to count differently, add a new achievement (a new "
            "version) and start it when ready; to stop this one on its own, disable it (the "
            "list's action <em>Disable selected achievements</em>): its campaign runs on and "
            "progress made so far stays.</p>", reasons,
        )
        locked = []
        for name, options in fieldsets:
            if name in ("Goal", "Schedule"):
                description = options.get("description", "")
                fields = tuple(self.LOCKED_DISPLAYS.get(f, f) for f in options["fields"])
                options = {**options, "fields": fields,
                           "description": notice + mark_safe(description)}
            locked.append((name, options))
        return locked

    # A locked field shown for people rather than as stored (10.000000, ["PURCHASE"]).
    LOCKED_DISPLAYS = {"target": "target_locked", "event_types": "event_types_locked",
                       "period_end_override": "period_end_override_locked"}

    @admin.display(description="Target")
    def target_locked(self, obj: Achievement) -> str:
        return human_number(obj.target)

    @admin.display(description="Event types")
    def event_types_locked(self, obj: Achievement) -> str:
        labels = dict(AchievementForm.base_fields["event_types"].choices)
        return ", ".join(labels.get(t, t) for t in obj.event_types) or "Every activity type"

    @admin.display(description="Period end override")
    def period_end_override_locked(self, obj: Achievement) -> str:
        point = obj.period_end_override
        if not point:
            return "-"
        parts = [f"{label.lower()} {point[key]}" for key, label in TIME_POINT_PARTS[:3]
                 if point.get(key) is not None]
        clock = f"{point['hour']:02d}:{point['minute']:02d}:{point['second']:02d}"
        return ", ".join([*parts, f"at {clock}"])

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return self.readonly_fields
        always = ("campaign", "name", *self.readonly_fields)
        if selectors.achievement_is_locked(achievement=obj):
            editable = set(Achievement.ALWAYS_EDITABLE)
            locked = [f for f in services.EDITABLE_FIELDS if f not in editable]
            return (*always, *locked, *self.LOCKED_DISPLAYS.values())
        return always

    def save_model(self, request, obj, form, change):
        enabled = form.cleaned_data.get("enabled", True)
        if change:
            data = {f: form.cleaned_data[f] for f in form.changed_data if f != "enabled"}
            achievement = services.achievement_update(achievement=stored(obj), data=data)
            services.achievement_enable(achievement=achievement, enabled=enabled)
            return
        fields = {f: form.cleaned_data[f] for f in services.EDITABLE_FIELDS
                  if f in form.cleaned_data and f not in ("title",)}
        fields.pop("target", None)
        achievement = services.achievement_create(
            campaign=form.cleaned_data["campaign"],
            name=form.cleaned_data["name"],
            title=form.cleaned_data["title"],
            target=form.cleaned_data["target"],
            created_by=request.user,
            **fields,
        )
        obj.pk = services.achievement_enable(achievement=achievement, enabled=enabled).pk

    def has_delete_permission(self, request, obj=None):
        if obj is None:
            return super().has_delete_permission(request)
        return not selectors.achievement_is_locked(achievement=obj)


class ProgressContributionInline(ReadOnlyInline, admin.TabularInline):
    model = ProgressContribution
    fields = ("customer_event_id", "delta_display", "completed_iteration", "reversed_at",
              "created_at")
    readonly_fields = fields
    verbose_name_plural = "contributions (which event added what)"

    @admin.display(description="Added")
    def delta_display(self, obj: ProgressContribution) -> str:
        return human_number(obj.delta, signed=True)


@admin.register(AchievementProgress)
class AchievementProgressAdmin(ReadOnlyAdmin):
    """Iterations are written by event processing and the jobs only: deleting one would let a
    one-time achievement complete (and pay) a second time. A cancelled event takes its
    contribution back; a wallet correction fixes money."""

    list_display = ("achievement", "customer", "status", "progress_bar", "starts", "ends",
                    "completed")
    list_filter = ("status", "achievement__campaign__program", "achievement")
    search_fields = ("=customer__integration_id", "achievement__name", "achievement__title")
    list_select_related = ("achievement__campaign__program", "customer")
    date_hierarchy = "start_date"
    show_full_result_count = False
    readonly_fields = [f.name for f in AchievementProgress._meta.fields]
    inlines = (ProgressContributionInline,)

    def _local(self, obj: AchievementProgress, value) -> str:
        achievement = obj.achievement
        return nowrap(compact_datetime(value, achievement.time_zone
                                       or achievement.campaign.program.time_zone)) if value else "-"

    @admin.display(description="Started", ordering="start_date")
    def starts(self, obj: AchievementProgress) -> str:
        return self._local(obj, obj.start_date)

    @admin.display(description="Ends", ordering="end_date")
    def ends(self, obj: AchievementProgress) -> str:
        return self._local(obj, obj.end_date)

    @admin.display(description="Completed", ordering="completion_date")
    def completed(self, obj: AchievementProgress) -> str:
        return self._local(obj, obj.completion_date)

    @admin.display(description="Progress")
    def progress_bar(self, obj: AchievementProgress) -> str:
        target = obj.achievement.target or 1
        percent = min(100, int(obj.progress * 100 / target))
        return format_html(
            '<div style="width:120px;background:#eee;border-radius:3px" title="{} / {}">'
            '<div style="width:{}%;background:#417690;height:10px;border-radius:3px"></div>'
            "</div>",
            human_number(obj.progress), human_number(target), percent,
        )


class CycleContributionInline(ReadOnlyInline, admin.TabularInline):
    model = CycleContribution
    fields = ("customer_event_id", "delta", "visit_day", "reversed_at")
    readonly_fields = fields


@admin.register(CycleProgress)
class CycleProgressAdmin(ReadOnlyAdmin):
    """A customer's value in one cycle: written by event processing and the cycle jobs."""

    list_display = ("enrolment", "target", "period", "value_display", "met_at", "final")
    list_filter = ("final", "target__group__program", "target__group")
    search_fields = ("=enrolment__customer__integration_id",)
    list_select_related = ("enrolment__customer", "enrolment__group", "target", "period")
    show_full_result_count = False
    readonly_fields = ("enrolment", "target", "period", "value", "met_at", "final",
                       "updated_at")
    inlines = (CycleContributionInline,)

    @admin.display(description="Value", ordering="value")
    def value_display(self, obj: CycleProgress) -> str:
        return human_number(obj.value)


@admin.register(StreakLevelAchievement)
class StreakLevelAchievementAdmin(ReadOnlyAdmin):
    """Levels reached: once per enrolment epoch (a database constraint), never edited."""

    list_display = ("level", "enrolment", "epoch", "achieved_at", "revoked_at")
    list_filter = ("level__group__program", "level__group")
    search_fields = ("=enrolment__customer__integration_id",)
    list_select_related = ("level", "enrolment__customer", "enrolment__group")
    show_full_result_count = False
    readonly_fields = ("enrolment", "level", "epoch", "achieved_at", "cycle", "revoked_at")


# Streak targets (Capillary's target groups)
# ------------------------------------------------------------------------------
STATE_LABELS = {
    streaks.MET: "Met",
    streaks.MISSED: "Missed",
    streaks.OPEN: "Open (running)",
    streaks.PENDING_GRACE: "Pending (grace period)",
    streaks.UPCOMING: "Upcoming",
}
# How a cycle is captioned under its cell, by the group's frequency.
CAPTION_FORMATS = {
    TargetGroup.FrequencyType.MONTHLY: "%b %y",
    TargetGroup.FrequencyType.QUARTERLY: "%b %y",
    TargetGroup.FrequencyType.HALF_YEARLY: "%b %y",
    TargetGroup.FrequencyType.YEARLY: "%Y",
}
# The unit of "every N ..." in the frequency column.
FREQUENCY_UNITS = {
    TargetGroup.FrequencyType.DAILY: "days",
    TargetGroup.FrequencyType.WEEKLY: "weeks",
    TargetGroup.FrequencyType.MONTHLY: "months",
    TargetGroup.FrequencyType.QUARTERLY: "quarters",
    TargetGroup.FrequencyType.HALF_YEARLY: "half-years",
    TargetGroup.FrequencyType.YEARLY: "years",
}


def _admin_link(url_name: str, pk: int, text: str) -> str:
    return format_html('<a href="{}">{}</a>', reverse(url_name, args=[pk]), text)


def frequency_label(group: TargetGroup) -> str:
    """WEEKLY with frequency 1 as "Weekly", DAILY with 10 as "Every 10 days"."""
    if group.frequency == 1 or group.frequency_type not in FREQUENCY_UNITS:
        return group.get_frequency_type_display()
    return f"Every {group.frequency} {FREQUENCY_UNITS[group.frequency_type]}"


def streak_view(streak: selectors.CustomerStreak, *, now: datetime) -> dict:
    """What the admin shows of one customer's standing in a target group: counts, level
    badges and one cell per cycle (rendered by admin/achievements/includes/streak.html)."""
    enrolment = streak.enrolment
    group = enrolment.group
    tz = group_time_zone(group)
    caption = CAPTION_FORMATS.get(group.frequency_type, "%d %b")
    cells = []
    for row in streak.cycles:
        period = row.period
        first = period.start_date.astimezone(tz)
        last = (period.end_date - timedelta(microseconds=1)).astimezone(tz)
        value, target = human_number(row.value), human_number(row.target)
        title = (f"{period.ref_code} · {first:%a %d %b %Y} to {last:%a %d %b %Y} · "
                 f"{value} / {target} · {STATE_LABELS.get(row.state, row.state)}")
        if not row.counted:
            title += " · not counted: before the customer's (re-)enrolment"
        cells.append({
            "ref_code": period.ref_code,
            "state": row.state,
            "counted": row.counted,
            "current": period.start_date <= now < period.end_date,
            "value": value,
            "target": target,
            "caption": first.strftime(caption),
            "title": title,
        })
    current = streak.current_count
    levels = [
        {
            "name": level["name"],
            "count": level["target_count_of_sequence"],
            "achieved": level["status"] == "ACHIEVED",
            "achieved_at": level["achieved_at"],
            "progress": min(current, level["target_count_of_sequence"]),
        }
        for level in streak.levels
    ]
    return {
        "name": group.name,
        "url": reverse("admin:achievements_targetgroup_change", args=[group.pk]),
        "enrolment_url": reverse("admin:achievements_enrolment_change", args=[enrolment.pk]),
        "tracking": group.get_tracking_type_display(),
        "continuous": group.tracking_type == TargetGroup.TrackingType.STREAKS,
        "is_streak": group.is_streak,
        "frequency": frequency_label(group),
        "time_zone": tz.key,
        "active": enrolment.active,
        "epoch": enrolment.epoch,
        "enrolled_at": enrolment.enrolled_at,
        "unenrolled_at": enrolment.unenrolled_at,
        "counting_from": enrolment.counting_from,
        "current_count": current,
        "longest_count": streak.longest_count,
        "met_count": sum(1 for row in streak.cycles if row.state == streaks.MET and row.counted),
        "levels": levels,
        "cells": cells,
    }


class ServiceValidationAsFormErrors(ServiceErrorsAsFormErrors):
    """Like `ServiceErrorsAsFormErrors`, for the `ValidationError` a service raises with
    several keys at once (`streaks`, `targets.0.default_values`, ...): nothing is written and
    each message lands on the form field `service_error_field` names (else on top)."""

    def service_error_field(self, key: str) -> str | None:
        return key

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as exc:
            if request.method != "POST" or hasattr(request, "_service_validation_error"):
                raise
            request._service_validation_error = exc
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        error = getattr(request, "_service_validation_error", None)
        if error is None:
            return form_class
        if hasattr(error, "error_dict"):
            refusals = error.message_dict
        else:
            refusals = {NON_FIELD_ERRORS: error.messages}
        field_for = self.service_error_field

        class RefusedForm(form_class):
            def clean(self):
                cleaned_data = super().clean()
                for key, texts in refusals.items():
                    field = field_for(key)
                    self.add_error(field if field in self.fields else None, texts)
                return cleaned_data

        return RefusedForm


def _positive(value: Decimal | None) -> None:
    if value is not None and value <= 0:
        raise ValidationError("Must be greater than 0.", code="min_value")


def _level_fields() -> dict[str, forms.Field]:
    fields: dict[str, forms.Field] = {}
    for i in range(1, TargetGroup.MAX_LEVELS + 1):
        fields[f"level_{i}_name"] = forms.CharField(
            label=f"Level {i}", max_length=200, required=False,
            widget=forms.TextInput(attrs={"placeholder": "e.g. Two weeks"}),
        )
        fields[f"level_{i}_count"] = forms.IntegerField(
            label="Cycles", min_value=1, max_value=TargetGroup.MAX_PERIODS, required=False,
            widget=forms.NumberInput(attrs={"style": "width: 6em"}),
        )
    return fields


class _TargetGroupAddForm(forms.ModelForm):
    """The group's own fields, the start the periods are generated from, its one target and
    up to ten streak levels: everything `target_group_create` needs, in one page."""

    frequency_type = forms.ChoiceField(
        choices=[c for c in TargetGroup.FrequencyType.choices
                 if c[0] != TargetGroup.FrequencyType.CUSTOM],
        initial=TargetGroup.FrequencyType.WEEKLY,
        help_text="Custom periods (listed one by one) are created over the API.",
    )
    frequency = forms.IntegerField(
        min_value=1, initial=1, widget=forms.NumberInput(attrs={"style": "width: 6em"}),
        help_text="Cycle length in frequency units: Weekly with 2 makes two-week cycles.",
    )
    recurring_cycles = forms.IntegerField(
        label="Cycles", min_value=1, max_value=TargetGroup.MAX_PERIODS, initial=4,
        widget=forms.NumberInput(attrs={"style": "width: 6em"}),
        help_text=f"How many cycles to generate (1 to {TargetGroup.MAX_PERIODS}).",
    )
    start_date = forms.SplitDateTimeField(
        widget=widgets.AdminSplitDateTime,
        help_text="Start of the first cycle, in the group's time zone (the program's when "
        "the time zone is empty). The next cycles follow back to back.",
    )
    target_name = forms.CharField(label="Name", max_length=200,
                                  widget=forms.TextInput(attrs={"class": "vTextField"}))
    target_description = forms.CharField(label="Description", max_length=255, required=False,
                                         widget=forms.TextInput(attrs={"class": "vTextField"}))
    target_entity = forms.ChoiceField(label="Entity", choices=Target.Entity.choices,
                                      initial=Target.Entity.TRANSACTION)
    target_type = forms.ChoiceField(label="KPI", choices=Target.Kpi.choices,
                                    initial=Target.Kpi.SALES)
    target_event_name = forms.CharField(
        label="Event name", max_length=64, required=False, initial="PURCHASE",
        help_text="The event type that counts (PURCHASE, CUSTOM, ...); empty: any activity.",
    )
    target_expression = forms.CharField(
        label="Condition", initial=rules.DEFAULT_CONDITION,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text="CEL condition over the event, e.g. <code>currentEvent.amount &gt;= 20.0</code>",
    )
    target_value = forms.DecimalField(
        label="Target per cycle", max_digits=20, decimal_places=6, validators=[_positive],
        help_text="What a customer must reach in each cycle (the same for every cycle; "
        "change single cycles after saving).",
    )
    target_attribute_name = forms.CharField(
        label="Attribute name", max_length=200, required=False,
        help_text="For the KPI “Sum of an event attribute”: the attribute summed.",
    )
    target_enrolment_method = forms.ChoiceField(
        label="Enrolment", choices=Target.EnrolmentMethod.choices,
        initial=Target.EnrolmentMethod.TRANSACTION,
    )
    target_alternate_currency_identifier = forms.CharField(
        label="Alternative currency", max_length=20, required=False,
        help_text="For the entity “Alternative currencies”: the currency code.",
    )

    TARGET_FIELDS = ("name", "description", "target_entity", "target_type", "event_name",
                     "expression", "attribute_name", "enrolment_method",
                     "alternate_currency_identifier")

    class Meta:
        model = TargetGroup
        fields = ("program", "name", "description", "active", "tracking_type",
                  "target_evaluation_type", "frequency_type", "frequency", "recurring_cycles",
                  "time_zone", "grace_period", "reminder_window")

    def _get_validation_exclusions(self):
        # Leaving `program` out of the model checks skips the case-insensitive unique-name
        # constraint, whose bare message says nothing useful: the service refuses a taken
        # name itself (a ConflictError on `name`).
        return {*super()._get_validation_exclusions(), "program"}

    def clean(self):
        cleaned_data = super().clean()
        for i in range(1, TargetGroup.MAX_LEVELS + 1):
            name, count = cleaned_data.get(f"level_{i}_name"), cleaned_data.get(f"level_{i}_count")
            if name and count is None and f"level_{i}_count" not in self.errors:
                self.add_error(f"level_{i}_count", "Give the number of cycles for this level.")
            if count is not None and not name:
                self.add_error(f"level_{i}_name", "Give this level a name.")
        return cleaned_data

    def start(self) -> datetime:
        """The typed start as a moment in the group's time zone, not the admin's."""
        typed = self.cleaned_data["start_date"]
        name = self.cleaned_data.get("time_zone") or self.cleaned_data["program"].time_zone
        try:
            tz = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            return typed
        return timezone.make_naive(typed).replace(tzinfo=tz)

    def target_row(self) -> dict:
        data = self.cleaned_data
        row = {key: data[f"target_{key}"] if not key.startswith("target_") else data[key]
               for key in self.TARGET_FIELDS}
        row["default_values"] = [data["target_value"]] * data["recurring_cycles"]
        return row

    def level_rows(self) -> list[dict]:
        data = self.cleaned_data
        return [
            {"name": data[f"level_{i}_name"],
             "target_count_of_sequence": data[f"level_{i}_count"]}
            for i in range(1, TargetGroup.MAX_LEVELS + 1)
            if data.get(f"level_{i}_name")
        ]



TargetGroupAddForm = type(_TargetGroupAddForm)(
    "TargetGroupAddForm", (_TargetGroupAddForm,), {"__module__": __name__, **_level_fields()}
)


class TargetGroupChangeForm(forms.ModelForm):
    class Meta:
        model = TargetGroup
        fields = GROUP_EDITABLE


class TargetEditForm(forms.ModelForm):
    class Meta:
        model = Target
        fields = ("name", "description", "expression")
        widgets = {"expression": forms.Textarea(attrs={"rows": 2, "cols": 60})}

    def clean_expression(self):
        source = self.cleaned_data["expression"]
        try:
            rules.expression_validate(source=source, kind="condition")
        except rules.ExpressionError as exc:
            raise ValidationError(exc.message, code="invalid_expression") from exc
        return source


def _value_field(target: Target) -> str:
    return f"value_{target.pk}"


class PeriodValuesForm(forms.ModelForm):
    """A period row with one editable target value per target of the group (declared per
    group in `TargetPeriodInline.get_formset`)."""

    stored_values: dict[tuple[int, int], Decimal] = {}

    class Meta:
        model = TargetPeriod
        fields = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.fields:
            if name.startswith("value_"):
                value = self.stored_values.get((int(name[6:]), self.instance.pk))
                # 100.000000 shows as 100 and still compares equal, so has_changed() holds.
                self.initial[name] = Decimal(plain_amount(value)) if value is not None else None


def _editable_words() -> str:
    """GROUP_EDITABLE in words: "name, description and active flag"."""
    words = [{"active": "active flag"}.get(f, str(TargetGroup._meta.get_field(f).verbose_name))
             for f in GROUP_EDITABLE]
    return " and ".join([", ".join(words[:-1]), words[-1]] if len(words) > 1 else words)


class GroupPartInline:
    """Periods, targets and levels are parts of their group, changed only through
    target_group_update: the group's permissions apply, and none is added or deleted here."""

    def _group_admin(self):
        return self.admin_site.get_model_admin(TargetGroup)

    def has_view_permission(self, request, obj=None):
        return self._group_admin().has_view_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._group_admin().has_change_permission(request, obj)

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class TargetPeriodInline(GroupPartInline, admin.TabularInline):
    model = TargetPeriod
    form = PeriodValuesForm
    extra = 0
    can_delete = False
    readonly_fields = ("ref_code", "starts", "ends", "status")
    verbose_name_plural = "periods (cycles)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("group__program")

    def _targets(self, obj: TargetGroup | None) -> list[Target]:
        return list(obj.targets.order_by("pk")) if obj is not None else []

    def get_fields(self, request, obj=None):
        return (*self.readonly_fields, *(_value_field(t) for t in self._targets(obj)))

    def get_formset(self, request, obj=None, **kwargs):
        targets = self._targets(obj)
        several = len(targets) > 1
        attrs = {
            _value_field(t): forms.DecimalField(
                label=f"Target: {t.name}" if several else "Target", max_digits=20,
                decimal_places=6, validators=[_positive],
                widget=forms.NumberInput(attrs={"style": "width: 8em"}),
            )
            for t in targets
        }
        attrs["stored_values"] = {
            (v.target_id, v.period_id): v.value
            for v in TargetValue.objects.filter(target__in=targets)
        }
        kwargs["form"] = type(PeriodValuesForm)("PeriodValuesForm", (PeriodValuesForm,), attrs)
        return super().get_formset(request, obj, **kwargs)

    def _local(self, period: TargetPeriod, at: datetime) -> str:
        return nowrap(at.astimezone(group_time_zone(period.group)).strftime("%a %Y-%m-%d %H:%M"))

    @admin.display(description="Starts")
    def starts(self, obj: TargetPeriod) -> str:
        return self._local(obj, obj.start_date) if obj.pk else "-"

    @admin.display(description="Ends (exclusive)")
    def ends(self, obj: TargetPeriod) -> str:
        return self._local(obj, obj.end_date) if obj.pk else "-"

    @admin.display(description="Status")
    def status(self, obj: TargetPeriod) -> str:
        if not obj.pk:
            return "-"
        status = selectors.period_status(start=obj.start_date, end=obj.end_date,
                                         now=timezone.now())
        return format_html('<span class="laurel-period laurel-period-{}">{}</span>',
                           status.lower(), status)


class TargetInline(GroupPartInline, admin.StackedInline):
    model = Target
    form = TargetEditForm
    extra = 0
    can_delete = False
    readonly_fields = ("target_entity", "target_type", "event_name", "enrolment_method",
                       "attribute_name", "alternate_currency_identifier", "classification_link")
    fieldsets = (
        (None, {"fields": ("name", "description", "expression",
                           ("target_entity", "target_type", "event_name"),
                           ("enrolment_method", "attribute_name",
                            "alternate_currency_identifier"))}),
    )

    def get_fieldsets(self, request, obj=None):
        if obj is not None and not obj.is_streak:
            return (*self.fieldsets, ("Rewards", {"fields": ("classification_link",)}))
        return self.fieldsets

    @admin.display(description="Milestone classification")
    def classification_link(self, obj: Target) -> str:
        if not obj.classification_id:
            return "-"
        return _admin_link("admin:loyalty_classification_change", obj.classification_id,
                           str(obj.classification))


class StreakLevelInline(GroupPartInline, admin.TabularInline):
    model = StreakLevel
    extra = 0
    can_delete = False
    fields = ("name", "cycles_needed", "classification_link", "reached")
    readonly_fields = fields
    verbose_name_plural = "streak levels"

    def get_queryset(self, request):
        reached = (
            StreakLevelAchievement.objects.filter(level=OuterRef("pk"), revoked_at__isnull=True)
            .order_by().values("level").annotate(n=Count("pk")).values("n")
        )
        return (super().get_queryset(request).select_related("classification")
                .annotate(reached_count=Coalesce(Subquery(reached), 0)))

    @admin.display(description="Met cycles needed")
    def cycles_needed(self, obj: StreakLevel) -> int:
        return obj.target_count_of_sequence

    @admin.display(description="Reward classification")
    def classification_link(self, obj: StreakLevel) -> str:
        if not obj.classification_id:
            return "-"
        return _admin_link("admin:loyalty_classification_change", obj.classification_id,
                           obj.classification.code)

    @admin.display(description="Times reached")
    def reached(self, obj: StreakLevel) -> int:
        return getattr(obj, "reached_count", 0)

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(TargetGroup)
class TargetGroupAdmin(ProgramColumnWhenSeveral, TimeZoneChoice, ServiceValidationAsFormErrors,
                       admin.ModelAdmin):
    change_form_template = "admin/achievements/targetgroup/change_form.html"
    list_display = ("name", "program", "tracking_type", "frequency_display", "periods_count",
                    "levels_display", "active", "enrolled_count")
    list_filter = ("tracking_type", "active", "program")
    search_fields = ("name",)
    list_select_related = ("program",)
    ordering = ("program__name", "name")
    show_facets = admin.ShowFacets.ALWAYS
    # Everything but GROUP_EDITABLE is fixed after creation (target_group_update).
    STRUCTURAL = tuple(
        f for f in ("program", "tracking_type", "target_evaluation_type", "frequency_type",
                    "frequency", "recurring_cycles", "total_periods", "time_zone",
                    "grace_period", "reminder_window")
        if f not in GROUP_EDITABLE
    )
    readonly_fields = ("enrolled_customers", "created_at", "updated_at")
    fieldsets = (
        (None, {
            "fields": ("program", "name", "description", "active"),
            "description": f"After creation only the group's {_editable_words()}, the "
            "targets' name, description and condition, and the target of each period change; "
            "the rest is fixed, because customers' cycles and streaks are counted by it. To "
            "track differently, add a new group and set this one inactive.",
        }),
        ("Tracking", {"fields": ("tracking_type", "target_evaluation_type")}),
        ("Cycles", {"fields": (("frequency_type", "frequency"), "recurring_cycles",
                               "total_periods", "time_zone", "grace_period",
                               "reminder_window")}),
        ("Customers", {"fields": ("enrolled_customers",)}),
        ("History", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )
    add_fieldsets = (
        (None, {"fields": ("program", "name", "description", "active")}),
        ("Tracking", {
            "fields": ("tracking_type", "target_evaluation_type"),
            "description": "Streaks count met cycles in a row (continuous) or in total "
            "(non-continuous) and need the fixed calendar window.",
        }),
        ("Cycles", {
            "fields": (("frequency_type", "frequency"), "recurring_cycles", "start_date",
                       "time_zone", "grace_period", "reminder_window"),
            "description": "The periods are generated back to back from the start date: "
            "Weekly, frequency 1 and 4 cycles make four one-week cycles.",
        }),
        ("Target", {
            "fields": ("target_name", "target_description",
                       ("target_entity", "target_type"), "target_event_name",
                       "target_expression", "target_value",
                       ("target_attribute_name", "target_enrolment_method"),
                       "target_alternate_currency_identifier"),
            "description": "What a customer must reach in each cycle.",
        }),
        ("Streak levels", {
            "fields": tuple((f"level_{i}_name", f"level_{i}_count") for i in range(1, 4)),
            "description": "Streaks only. A level is reached after this many met cycles, "
            "in strictly ascending order; the highest at most the number of cycles. Each "
            "level gets a classification for reward offers to pay on.",
        }),
        ("More streak levels", {
            "fields": tuple((f"level_{i}_name", f"level_{i}_count")
                            for i in range(4, TargetGroup.MAX_LEVELS + 1)),
            "classes": ("collapse",),
        }),
    )

    def get_queryset(self, request):
        enrolled = (
            Enrolment.objects.filter(group=OuterRef("pk"), active=True)
            .order_by().values("group").annotate(n=Count("pk")).values("n")
        )
        return (
            super().get_queryset(request)
            .annotate(enrolled_count=Coalesce(Subquery(enrolled, output_field=IntegerField()),
                                              0))
            .prefetch_related("levels")
        )

    @admin.display(description="Frequency", ordering="frequency_type")
    def frequency_display(self, obj: TargetGroup) -> str:
        return frequency_label(obj)

    @admin.display(description="Periods", ordering="total_periods")
    def periods_count(self, obj: TargetGroup) -> int:
        return obj.total_periods

    @admin.display(description="Levels")
    def levels_display(self, obj: TargetGroup) -> str:
        levels = sorted(obj.levels.all(), key=lambda level: level.target_count_of_sequence)
        if not levels:
            return "-"
        return format_html_join(
            mark_safe("<br>"), "{}",
            ((nowrap(f"{lvl.name} ({lvl.target_count_of_sequence})"),) for lvl in levels),
        )

    @admin.display(description="Enrolled", ordering="enrolled_count")
    def enrolled_count(self, obj: TargetGroup) -> str:
        url = reverse("admin:achievements_enrolment_changelist")
        return format_html('<a href="{}?group__id__exact={}&active__exact=1">{}</a>',
                           url, obj.pk, obj.enrolled_count)

    @admin.display(description="Enrolled customers")
    def enrolled_customers(self, obj: TargetGroup) -> str:
        if not obj.pk:
            return "-"
        active = obj.enrolments.filter(active=True).count()
        total = obj.enrolments.count()
        url = reverse("admin:achievements_enrolment_changelist")
        return format_html('<a href="{}?group__id__exact={}">{} enrolled</a>{}', url, obj.pk,
                           active, f" ({total - active} unenrolled)" if total > active else "")

    # Add: one page, one service call. Change: only what target_group_update allows.
    def change_view(self, request, object_id, form_url="", extra_context=None):
        group = self.get_object(request, object_id)
        if group is not None and request.method == "GET":
            extra_context = {**(extra_context or {}),
                             "stats": target_group_stats_view(group, now=timezone.now())}
        return super().change_view(request, object_id, form_url, extra_context)

    def get_changeform_initial_data(self, request):
        initial = {"tracking_type": TargetGroup.TrackingType.STREAKS}
        programs = list(Program.objects.values_list("pk", flat=True)[:2])
        if len(programs) == 1:
            initial["program"] = programs[0]
        return {**initial, **super().get_changeform_initial_data(request)}

    def get_fieldsets(self, request, obj=None):
        return self.add_fieldsets if obj is None else self.fieldsets

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return (*self.STRUCTURAL, *self.readonly_fields)

    def get_inlines(self, request, obj):
        if obj is None:
            return ()
        return (TargetPeriodInline, TargetInline, StreakLevelInline)

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = TargetGroupChangeForm if obj is not None else TargetGroupAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def service_error_field(self, key: str) -> str | None:
        """`targets.0.default_values` → `target_value`, `streaks` → top of the form, ..."""
        if key.startswith("targets.0."):
            name = key.removeprefix("targets.0.")
            if name == "default_values":
                return "target_value"
            return name if name.startswith("target_") else f"target_{name}"
        return {"periods": "recurring_cycles", "streaks": None, "targets": None}.get(key, key)

    def save_model(self, request, obj, form, change):
        if change:
            return  # one target_group_update call with the inlines, in save_related
        data = form.cleaned_data
        group = services.target_group_create(
            program=data["program"], name=data["name"], tracking_type=data["tracking_type"],
            frequency_type=data["frequency_type"], start_date=form.start(),
            targets=[form.target_row()], streaks=form.level_rows(),
            **{f: data[f] for f in ("description", "active", "target_evaluation_type",
                                    "frequency", "recurring_cycles", "time_zone",
                                    "grace_period", "reminder_window")},
        )
        obj.pk = group.pk

    def save_related(self, request, form, formsets, change):
        if not change:
            return  # target_group_create made the periods, target and levels
        group = stored(form.instance)
        data = {f: form.cleaned_data[f] for f in form.changed_data if f in GROUP_EDITABLE}
        rows: dict[int, dict] = {}
        for formset in formsets:
            # Nothing saves the inline forms themselves; the change message reads these.
            formset.new_objects, formset.deleted_objects = [], []
            formset.changed_objects = [(f.instance, f.changed_data) for f in formset.forms
                                       if f.changed_data]
            if formset.model is Target:
                for target_form in formset.forms:
                    changed = [f for f in target_form.changed_data
                               if f in TargetEditForm.Meta.fields]
                    if changed:
                        row = rows.setdefault(target_form.instance.pk,
                                              {"id": target_form.instance.pk})
                        row.update({f: target_form.cleaned_data[f] for f in changed})
            elif formset.model is TargetPeriod:
                self._collect_values(group, formset, rows)
        if rows:
            data["targets"] = list(rows.values())
        if data:
            services.target_group_update(group=group, data=data)

    def _collect_values(self, group: TargetGroup, formset, rows: dict[int, dict]) -> None:
        """A target's values go to the service whole (one per period, in period order) as
        soon as one of them changed."""
        periods = list(group.periods.order_by("position"))
        for target in group.targets.order_by("pk"):
            name = _value_field(target)
            typed = {f.instance.pk: f.cleaned_data.get(name) for f in formset.forms}
            if not any(name in f.changed_data for f in formset.forms):
                continue
            stored_values = dict(TargetValue.objects.filter(target=target)
                                 .values_list("period_id", "value"))
            rows.setdefault(target.pk, {"id": target.pk})["default_values"] = [
                typed.get(p.pk) or stored_values[p.pk] for p in periods
            ]

    def has_delete_permission(self, request, obj=None):
        # target_group_delete refuses a group anybody is enrolled in: set it inactive.
        has_permission = super().has_delete_permission(request, obj)
        return has_permission and (obj is None or not obj.enrolments.exists())

    def delete_model(self, request, obj):
        services.target_group_delete(group=obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # one by one, where nobody is enrolled
        return actions

    def response_add(self, request, obj, post_url_continue=None):
        # Land on the new group, so the generated periods can be checked (and edited).
        if "_addanother" not in request.POST and "_popup" not in request.POST:
            request.POST = request.POST.copy()
            request.POST["_continue"] = "1"
        return super().response_add(request, obj, post_url_continue)


@admin.register(Enrolment)
class EnrolmentAdmin(admin.ModelAdmin):
    """Read-only: customers enrol over the API or with their first matching event; the
    action stops tracking, through the service. Re-enrolling (a streak reset) may reach a
    level that posts an achievement event and pays, which only `events` can do: events/admin.py
    registers the subclass with that action."""

    change_form_template = "admin/achievements/enrolment/change_form.html"
    list_display = ("customer_display", "group", "active", "current_count", "longest_count",
                    "epoch", "enrolled")
    list_filter = ("active", "group__tracking_type", "group__program", "group")
    search_fields = ("=customer__integration_id",)
    search_help_text = "A customer's integration id, exactly."
    list_select_related = ("customer", "group__program")
    ordering = ("-enrolled_at", "-id")
    date_hierarchy = "enrolled_at"
    show_full_result_count = False
    actions = ("unenrol",)
    fields = ("customer", "group", "active", "epoch", "current_count", "longest_count",
              "enrolled_at", "counting_from", "unenrolled_at", "ledger")
    readonly_fields = fields

    @admin.display(description="Customer", ordering="customer__integration_id")
    def customer_display(self, obj: Enrolment) -> str:
        return nowrap(_admin_link("admin:loyalty_customer_change", obj.customer_id,
                                  obj.customer.integration_id))

    @admin.display(description="Enrolled at", ordering="enrolled_at")
    def enrolled(self, obj: Enrolment) -> str:
        return nowrap(compact_datetime(obj.enrolled_at, obj.group.program.time_zone))

    @admin.display(description="Cycles")
    def ledger(self, obj: Enrolment) -> str:
        if not obj.pk:
            return "-"
        now = timezone.now()
        standing = selectors.customer_streak_list(customer=obj.customer, now=now,
                                                  group_id=obj.group_id)
        if not standing:
            return "-"
        return render_to_string("admin/achievements/includes/streak.html",
                                {"streak": streak_view(standing[0], now=now), "compact": True})

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_enrol_permission(self, request) -> bool:
        """Re-enrolling and unenrolling need `change enrolment`, though the rows stay
        read-only."""
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.{get_permission_codename('change', opts)}")

    @admin.action(description="Unenrol", permissions=["enrol"])
    def unenrol(self, request, queryset):
        now = timezone.now()
        done = already = 0
        for enrolment in queryset.select_related("group", "customer").order_by("pk"):
            if not enrolment.active:
                already += 1
                continue
            try:
                services.enrolment_unenrol(group=enrolment.group, customer=enrolment.customer,
                                           now=now)
            except ApplicationError as exc:
                self.message_user(request, f"{enrolment}: {exc.message}", messages.ERROR)
                continue
            done += 1
        if done:
            self.message_user(
                request,
                ngettext("Unenrolled %d customer; levels reached and rewards paid stay.",
                         "Unenrolled %d customers; levels reached and rewards paid stay.",
                         done) % done,
                messages.SUCCESS,
            )
        if already:
            self.message_user(
                request,
                ngettext("%d enrolment was already inactive.",
                         "%d enrolments were already inactive.", already) % already,
                messages.WARNING,
            )
