"""Achievement definitions and customer progress: data and invariants only.

Rules that need more than one field (the period grammar, schedules, CEL expressions) are
checked in `Achievement.clean()` with the pure period engine and rule evaluation, so the
admin and the services validate the same way.
"""

from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from achievements import periods, rules
from loyalty.event_types import event_type_problem
from loyalty.models import Campaign, Classification, Customer, TimeStampedModel
from loyalty.validators import validate_time_zone

validate_achievement_name = RegexValidator(
    r"^[a-zA-Z][a-zA-Z0-9_]+$",
    "The name must start with a letter and continue with letters, digits or underscores "
    "(at least 2 characters, e.g. Order50Discount).",
    code="invalid_name",
)

# The largest value a DecimalField(max_digits=20, decimal_places=6) column holds.
MAX_AMOUNT = Decimal("99999999999999.999999")


class Achievement(TimeStampedModel):
    class RecurrencePolicy(models.TextChoices):
        NO_RECURRENCE = "no_recurrence", "One-time"
        ON_EXPIRATION = "on_expiration", "Recurring on expiration"
        ON_COMPLETION = "on_completion", "Recurring on completion"

    class ActivationPolicy(models.TextChoices):
        USER_ACTION = "user_action", "User action"
        FIXED_SCHEDULE = "fixed_schedule", "Fixed schedule"

    # Fields that stay editable when the campaign runs or a customer has progress.
    ALWAYS_EDITABLE = ("title", "description")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="achievements")
    name = models.CharField(
        "API name",
        max_length=1000,
        validators=[validate_achievement_name],
        help_text="Identifier used in API requests. Cannot be changed after creation.",
    )
    title = models.CharField(max_length=1000, help_text="Display name shown to customers.")
    description = models.TextField(blank=True)
    target = models.DecimalField(
        max_digits=20, decimal_places=6, help_text="Progress needed to complete an iteration."
    )
    period = models.CharField(
        max_length=32,
        blank=True,
        help_text="How long an iteration lasts: a number and s, m, h, D, W, M or Y; _D rounds "
        "down to the start of the day, _U up to the end of the day/week/month/year "
        "(1D, 30D_D, 3M_U). Empty: no time limit.",
    )
    period_end_override = models.JSONField(
        null=True,
        blank=True,
        help_text='Pins the iteration end, e.g. {"day_of_month": 1, "hour": 0, "minute": 0, '
        '"second": 0}; keys month, day_of_month, day_of_week (1 = Monday), hour, minute, second.',
    )
    recurrence_policy = models.CharField(
        max_length=16, choices=RecurrencePolicy.choices, default=RecurrencePolicy.NO_RECURRENCE
    )
    activation_policy = models.CharField(
        max_length=16, choices=ActivationPolicy.choices, default=ActivationPolicy.USER_ACTION
    )
    fixed_start_date = models.DateTimeField(
        null=True, blank=True, help_text="Start of the first window of a fixed schedule."
    )
    end_date = models.DateTimeField(
        null=True, blank=True, help_text="No progress counts after this moment."
    )
    enabled = models.BooleanField(
        default=True,
        help_text="Counts events. Switch it off to stop this achievement on its own while its "
        "campaign runs (existing progress stays); switch it on again to resume.",
    )
    allow_rollback_after_completion = models.BooleanField(
        default=False, help_text="A cancelled event may take back a completed iteration."
    )
    is_capped_by_target = models.BooleanField(
        default=False, help_text="Stop counting once the target is reached."
    )
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        validators=[validate_time_zone],
        help_text="IANA time zone for calendar periods; empty means the program's.",
    )
    event_types = models.JSONField(
        default=list,
        blank=True,
        help_text='Activity types that count, e.g. ["PURCHASE"]; empty means every type.',
    )
    progress_condition = models.TextField(
        default=rules.DEFAULT_CONDITION,
        help_text="CEL expression over the event that must be true, e.g. event.amount >= 20.0",
    )
    progress_increment = models.TextField(
        default=rules.DEFAULT_INCREMENT,
        help_text="CEL expression giving the amount added, e.g. 1 or event.amount",
    )
    failing_since = models.DateTimeField(
        null=True, blank=True, editable=False,
        help_text="Since when counting an event fails for this definition (it is skipped; "
        "every other goal counts). Cleared when the definition is changed.",
    )
    last_failure = models.TextField(blank=True, editable=False)
    schedule_started_at = models.DateTimeField(
        null=True, blank=True, editable=False,
        help_text="When the scheduled-start job saw the fixed start pass.",
    )
    classification = models.OneToOneField(
        Classification,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="achievement",
        help_text="Classifies the ACHIEVEMENT events this achievement posts.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["campaign_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "name"], name="achievement_name_unique_per_campaign"
            ),
            models.UniqueConstraint(
                fields=["campaign", "title"], name="achievement_title_unique_per_campaign"
            ),
            models.CheckConstraint(
                condition=Q(target__gt=0),
                name="achievement_target_positive",
                violation_error_message="The target must be greater than 0.",
            ),
            models.CheckConstraint(
                condition=~Q(activation_policy="fixed_schedule")
                | Q(fixed_start_date__isnull=False),
                name="achievement_fixed_schedule_has_start",
                violation_error_message="A fixed schedule needs a fixed start date.",
            ),
            models.CheckConstraint(
                condition=Q(fixed_start_date__isnull=True)
                | Q(end_date__isnull=True)
                | Q(end_date__gt=models.F("fixed_start_date")),
                name="achievement_end_after_start",
                violation_error_message="The end date must be after the fixed start date.",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def campaign_time_zone(self) -> str:
        """The program's time zone (calendar periods count in it unless timeZone is set)."""
        campaign = getattr(self, "campaign", None) if self.campaign_id else None
        return campaign.program.time_zone if campaign is not None else "UTC"

    @property
    def period_spec(self) -> periods.PeriodSpec | None:
        return periods.parse_period(self.period) if self.period else None

    @property
    def end_override(self) -> periods.TimePoint | None:
        return periods.TimePoint(**self.period_end_override) if self.period_end_override else None

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}

        def error(field: str, message: str) -> None:
            errors.setdefault(field, []).append(message)

        spec = None
        if self.period:
            try:
                spec = periods.parse_period(self.period)
                periods.validate_period_bounds(spec)
            except periods.PeriodError as exc:
                error("period", str(exc))
                spec = None
        if self.period_end_override:
            if not self.period:
                error("period_end_override", "periodEndOverride needs a period.")
            elif spec is not None:
                try:
                    point = periods.TimePoint(**self.period_end_override)
                    periods.validate_time_point(spec=spec, point=point)
                except TypeError:
                    error(
                        "period_end_override",
                        "Use the keys month, day_of_month, day_of_week, hour, minute, second; "
                        "hour, minute and second are required.",
                    )
                except periods.PeriodError as exc:
                    error("period_end_override", str(exc))
        fixed = self.activation_policy == self.ActivationPolicy.FIXED_SCHEDULE
        if fixed and self.fixed_start_date is None:
            error("fixed_start_date", "A fixed_schedule achievement needs a fixedStartDate.")
        if not fixed and self.fixed_start_date is not None:
            error("fixed_start_date", "fixedStartDate applies only to the fixed_schedule policy.")
        if self.fixed_start_date and self.end_date and self.end_date <= self.fixed_start_date:
            error("end_date", "The endDate must be after the fixedStartDate.")
        if self.target is not None and self.target <= 0:
            error("target", "The target must be greater than 0.")
        if self.target is not None and self.target > MAX_AMOUNT:
            error("target", f"The target is at most {MAX_AMOUNT} (progress is stored with 14 "
                  "digits before the decimal point and 6 after).")
        if spec is not None and self.fixed_start_date is not None and "period" not in errors:
            try:
                tz = ZoneInfo(self.time_zone or self.campaign_time_zone())
            except (ZoneInfoNotFoundError, ValueError):
                tz = ZoneInfo("UTC")  # the time zone's own error is reported by its field
            try:
                periods.add_period(at=self.fixed_start_date, spec=spec, tz=tz,
                                   end_override=self.end_override)
            except (periods.PeriodError, OverflowError, TypeError, ValueError):
                error("fixed_start_date", "The first window (fixedStartDate plus the period) "
                      "falls outside the supported dates (years 1-9999).")
        if (
            self.is_capped_by_target
            and self.recurrence_policy == self.RecurrencePolicy.ON_COMPLETION
        ):
            error(
                "is_capped_by_target",
                "isCappedByTarget applies to no_recurrence and on_expiration; on_completion "
                "carries the excess into the next iteration.",
            )
        if not isinstance(self.event_types, list):
            error("event_types", "eventTypes must be a list of event types.")
        else:
            for event_type in self.event_types:
                problem = event_type_problem(event_type)
                if problem:
                    error("event_types", problem)
        for field, kind in (("progress_condition", "condition"),
                            ("progress_increment", "increment")):
            try:
                rules.expression_validate(source=getattr(self, field), kind=kind)
            except rules.ExpressionError as exc:
                error(field, exc.message)
        if "progress_increment" not in errors:
            try:
                sample = rules.increment_on_sample(source=self.progress_increment)
            except rules.ExpressionError:
                sample = None
            if sample is not None and sample > MAX_AMOUNT:
                error("progress_increment", f"progressIncrement adds {sample.normalize():f} per "
                      f"event; an increment is at most {MAX_AMOUNT} (the progress column holds "
                      "14 digits before the decimal point and 6 after).")
        if errors:
            raise ValidationError(errors)


class AchievementProgress(models.Model):
    """One customer's iteration of one achievement (Talon.One's progress tracker).

    `sequence` numbers a customer's iterations of an achievement 1, 2, 3, ...; `window_start`
    and `end_date` are the iteration's window (half-open), `start_date` the customer's first
    progress in it. The stored `status` is what the last write or job decided; reads compute
    the status for "now" (an `inprogress` row whose end has passed reads as expired).
    """

    class Status(models.TextChoices):
        INPROGRESS = "inprogress", "In progress"
        COMPLETED = "completed", "Completed"
        EXPIRED = "expired", "Expired"

    # No single-column indexes on the two foreign keys: the unique (achievement, customer,
    # sequence) and (customer, achievement, ...) indexes below lead with them, and every
    # index is one more write per new iteration and per expiry.
    achievement = models.ForeignKey(
        Achievement, on_delete=models.CASCADE, related_name="progress_records", db_index=False
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, db_index=False, related_name="achievement_progress"
    )
    sequence = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.INPROGRESS)
    progress = models.DecimalField(max_digits=20, decimal_places=6, default=0)
    window_start = models.DateTimeField()
    start_date = models.DateTimeField()
    end_date = models.DateTimeField(null=True, blank=True)
    completion_date = models.DateTimeField(null=True, blank=True)
    completion_value = models.DecimalField(
        max_digits=20, decimal_places=6, null=True, blank=True,
        help_text="The progress when the iteration completed: the amount of its ACHIEVEMENT "
        "event, on which percentage rewards pay.",
    )
    window_index = models.IntegerField(default=0)
    last_counted_on = models.DateTimeField(
        null=True, blank=True,
        help_text="performedOn of the latest event counted in this iteration: an event earlier "
        "than the latest iteration's is late and re-folds the achievement for the customer.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["achievement_id", "customer_id", "-sequence"]
        verbose_name_plural = "achievement progress"
        constraints = [
            # Deferred: a re-fold renumbers a customer's iterations in one statement.
            models.UniqueConstraint(
                fields=["achievement", "customer", "sequence"],
                name="achievement_progress_sequence_unique",
                deferrable=models.Deferrable.DEFERRED,
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gt=models.F("window_start")),
                name="achievement_progress_end_after_start",
            ),
            models.CheckConstraint(
                condition=Q(progress__gte=0), name="achievement_progress_not_negative"
            ),
        ]
        indexes = [
            models.Index(
                fields=["customer", "achievement", "-window_start", "-sequence"],
                name="achievement_progress_current",
            ),
            models.Index(
                fields=["achievement", "status"], name="achievement_progress_by_status"
            ),
            # The expiry job reads only due rows, through this partial index.
            models.Index(
                fields=["end_date"], name="achievement_progress_open_end",
                condition=Q(status="inprogress"),
            ),
            # Completions per day (the dashboard, an achievement's page): only completed
            # iterations are in it, so it costs a write on completion, not on every event.
            models.Index(
                fields=["achievement", "completion_date"],
                name="achievement_progress_completed", include=["status"],
                condition=Q(completion_date__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.achievement} / {self.customer}: {self.progress} ({self.status})"


class ProgressContribution(models.Model):
    """What one customer event added to one iteration, so a cancellation can take it back."""

    progress_record = models.ForeignKey(  # the unique (iteration, event) index leads with it
        AchievementProgress, on_delete=models.CASCADE, related_name="contributions",
        db_index=False,
    )
    # A plain id: events import achievements, never the other way round.
    customer_event_id = models.BigIntegerField(db_index=True)
    delta = models.DecimalField(max_digits=20, decimal_places=6)
    completed_iteration = models.BooleanField(
        default=False, help_text="This contribution reached the target."
    )
    reversed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["progress_record", "customer_event_id"],
                name="contribution_once_per_event_and_iteration",
            ),
        ]

    def __str__(self) -> str:
        return f"event {self.customer_event_id}: +{self.delta}"


# Streak targets (Capillary's target groups)
# ------------------------------------------------------------------------------
class TargetGroup(TimeStampedModel):
    """A goal tracked per cycle: milestones (DEFAULT), streaks across cycles (STREAKS,
    NON_CONTINUOUS_STREAKS). Capillary's target group."""

    class TrackingType(models.TextChoices):
        DEFAULT = "DEFAULT", "Milestone per cycle"
        UNIFIED = "UNIFIED", "Unified targets"
        STREAKS = "STREAKS", "Continuous streak"
        NON_CONTINUOUS_STREAKS = "NON_CONTINUOUS_STREAKS", "Non-continuous streak"
        CAPPING = "CAPPING", "Capping"

    class EvaluationType(models.TextChoices):
        FIXED_CALENDAR_WINDOW = "FIXED_CALENDAR_WINDOW", "Fixed calendar window"
        CYCLIC_WINDOW = "CYCLIC_WINDOW", "Cyclic window"
        PERIOD_AGNOSTIC_WINDOW = "PERIOD_AGNOSTIC_WINDOW", "Period-agnostic window"

    class FrequencyType(models.TextChoices):
        DAILY = "DAILY", "Daily"
        WEEKLY = "WEEKLY", "Weekly"
        MONTHLY = "MONTHLY", "Monthly"
        QUARTERLY = "QUARTERLY", "Quarterly"
        HALF_YEARLY = "HALF_YEARLY", "Half-yearly"
        YEARLY = "YEARLY", "Yearly"
        CUSTOM = "CUSTOM", "Custom periods"

    STREAK_TYPES = (TrackingType.STREAKS, TrackingType.NON_CONTINUOUS_STREAKS)
    MAX_PERIODS = 100
    MAX_LEVELS = 10

    program = models.ForeignKey("loyalty.Program", on_delete=models.CASCADE,
                                related_name="target_groups")
    name = models.CharField(max_length=200)
    description = models.CharField(max_length=255, blank=True)
    active = models.BooleanField(default=True)
    preferred_till_id = models.BigIntegerField(null=True, blank=True)
    tracking_type = models.CharField(max_length=32, choices=TrackingType.choices)
    target_evaluation_type = models.CharField(
        max_length=32, choices=EvaluationType.choices,
        default=EvaluationType.FIXED_CALENDAR_WINDOW,
    )
    frequency_type = models.CharField(max_length=16, choices=FrequencyType.choices)
    frequency = models.PositiveIntegerField(default=1)
    recurring_cycles = models.PositiveIntegerField(default=0)
    total_periods = models.PositiveIntegerField(default=0)
    time_zone = models.CharField(max_length=64, blank=True, validators=[validate_time_zone],
                                 help_text="IANA time zone; empty means the program's.")
    grace_period = models.DurationField(
        default=timedelta(0),
        help_text="How long a closed cycle still accepts late events before it is final.",
    )
    reminder_window = models.DurationField(
        default=timedelta(0),
        help_text="Warn customers this long before a running cycle ends unmet (0: never).",
    )

    class Meta:
        ordering = ["program_id", "name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), "program",
                                    name="target_group_name_unique_per_program_ci"),
            models.CheckConstraint(condition=Q(recurring_cycles__lte=100),
                                   name="target_group_at_most_100_cycles"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_streak(self) -> bool:
        return self.tracking_type in self.STREAK_TYPES


class TargetPeriod(models.Model):
    """One cycle of a target group: [start_date, end_date)."""

    group = models.ForeignKey(TargetGroup, on_delete=models.CASCADE, related_name="periods")
    ref_code = models.CharField(max_length=100)
    position = models.PositiveIntegerField(help_text="0, 1, 2, ... in time order.")
    start_date = models.DateTimeField()
    end_date = models.DateTimeField()
    description = models.CharField(max_length=255, blank=True)
    active = models.BooleanField(default=True)
    # Watermarks of the scheduled jobs (see achievements.services.jobs).
    opened_at = models.DateTimeField(null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(null=True, blank=True, editable=False,
                                     help_text="Every enrolled customer's cycle is final.")
    closed_through_enrolment = models.BigIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["group_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["group", "ref_code"],
                                    name="target_period_ref_code_unique_in_group"),
            models.UniqueConstraint(fields=["group", "position"],
                                    name="target_period_position_unique_in_group"),
            models.CheckConstraint(condition=Q(end_date__gt=models.F("start_date")),
                                   name="target_period_end_after_start"),
        ]
        indexes = [
            models.Index(fields=["end_date"], name="target_period_to_close",
                         condition=Q(closed_at__isnull=True)),
            models.Index(fields=["start_date"], name="target_period_to_open",
                         condition=Q(opened_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return self.ref_code


class Target(models.Model):
    """What a customer must reach in each cycle of a group."""

    class Entity(models.TextChoices):
        TRANSACTION = "TRANSACTION", "Transaction"
        LINEITEM = "LINEITEM", "Line item"
        EVENT = "EVENT", "Event"
        POINTS = "POINTS", "Points"
        ALTERNATE_CURRENCIES = "ALTERNATE_CURRENCIES", "Alternative currencies"

    class Kpi(models.TextChoices):
        COUNT = "COUNT", "Number of events"
        SALES = "SALES", "Sales amount"
        GROSS_SALES = "GROSS_SALES", "Gross sales amount"
        QUANTITY = "QUANTITY", "Quantity (attributes.quantity, default 1)"
        VISIT = "VISIT", "Visits (one per local day)"
        EVENT_ATTRIBUTE = "EVENT_ATTRIBUTE", "Sum of an event attribute"
        ALL = "ALL", "Currency earned"

    class EnrolmentMethod(models.TextChoices):
        TRANSACTION = "TRANSACTION", "Implicit, on the first matching event"
        IMPORT = "IMPORT", "Explicit, over the API"

    group = models.ForeignKey(TargetGroup, on_delete=models.CASCADE, related_name="targets")
    name = models.CharField(max_length=200)
    description = models.CharField(max_length=255, blank=True)
    active = models.BooleanField(default=True)
    target_entity = models.CharField(max_length=32, choices=Entity.choices)
    target_type = models.CharField(max_length=32, choices=Kpi.choices)
    event_name = models.CharField(
        max_length=64, blank=True,
        help_text="The event type that counts (PURCHASE, CUSTOM, ...); empty: any activity.",
    )
    expression = models.TextField(default=rules.DEFAULT_CONDITION,
                                  help_text="CEL condition; `currentEvent.x` works too.")
    attribute_name = models.CharField(max_length=200, blank=True,
                                      help_text="For EVENT_ATTRIBUTE: the attribute summed.")
    enrolment_method = models.CharField(max_length=16, choices=EnrolmentMethod.choices,
                                        default=EnrolmentMethod.TRANSACTION)
    alternate_currency_identifier = models.CharField(max_length=20, blank=True)
    alternate_program_id = models.BigIntegerField(null=True, blank=True)
    filters = models.JSONField(default=list, blank=True)
    classification = models.OneToOneField(
        Classification, on_delete=models.PROTECT, null=True, blank=True, editable=False,
        related_name="target",
        help_text="Classifies the ACHIEVEMENT events of DEFAULT milestones.",
    )

    class Meta:
        ordering = ["group_id", "id"]

    def __str__(self) -> str:
        return self.name


class TargetValue(models.Model):
    """The target (Capillary's defaultValue) of one target in one period."""

    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="values")
    period = models.ForeignKey(TargetPeriod, on_delete=models.CASCADE, related_name="+")
    value = models.DecimalField(max_digits=20, decimal_places=6)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["target", "period"],
                                    name="target_value_one_per_period"),
            models.CheckConstraint(condition=Q(value__gt=0), name="target_value_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.target_id}@{self.period_id}: {self.value}"


class StreakLevel(models.Model):
    group = models.ForeignKey(TargetGroup, on_delete=models.CASCADE, related_name="levels")
    name = models.CharField(max_length=200)
    target_count_of_sequence = models.PositiveIntegerField()
    classification = models.OneToOneField(
        Classification, on_delete=models.PROTECT, null=True, blank=True, editable=False,
        related_name="streak_level",
    )

    class Meta:
        ordering = ["group_id", "target_count_of_sequence"]
        constraints = [
            models.UniqueConstraint(fields=["group", "target_count_of_sequence"],
                                    name="streak_level_count_unique_in_group"),
            models.CheckConstraint(condition=Q(target_count_of_sequence__gte=1),
                                   name="streak_level_count_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class Enrolment(models.Model):
    """A customer taking part in a target group. `epoch` grows with every reset, so levels
    reached before a `resetStreakStatus` re-enrolment can be reached (and paid) again."""

    # The unique (group, customer) index serves lookups by group.
    group = models.ForeignKey(TargetGroup, on_delete=models.CASCADE, related_name="enrolments",
                              db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE,
                                 related_name="enrolments")
    active = models.BooleanField(default=True)
    epoch = models.PositiveIntegerField(default=1)
    counting_from = models.DateTimeField(
        help_text="Cycles starting before this moment do not count: the running cycle's start "
        "on enrolment, the moment of a reset (the streak starts over with the next cycle)."
    )
    current_count = models.PositiveIntegerField(default=0)
    longest_count = models.PositiveIntegerField(default=0)
    enrolled_at = models.DateTimeField()
    unenrolled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group", "customer"],
                                    name="enrolment_one_per_customer_and_group"),
        ]
        indexes = [
            # Streak length distributions and running streaks (the dashboard), index-only.
            # Enrolments change once per cycle, not per event, so the write cost is small.
            models.Index(fields=["group", "active", "current_count", "longest_count"],
                         name="enrolment_streak_lengths"),
        ]

    def __str__(self) -> str:
        return f"{self.customer} in {self.group}"


class CycleProgress(models.Model):
    """A customer's value for one target in one period: the per-cycle ledger."""

    # The unique (enrolment, target, period) index serves lookups by enrolment.
    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="cycles",
                                  db_index=False)
    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="+")
    period = models.ForeignKey(TargetPeriod, on_delete=models.CASCADE, related_name="+")
    value = models.DecimalField(max_digits=20, decimal_places=6, default=0)
    met_at = models.DateTimeField(null=True, blank=True)
    final = models.BooleanField(default=False, help_text="Closed for good (grace over).")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["enrolment", "target", "period"],
                                    name="cycle_progress_one_per_period"),
        ]

    def __str__(self) -> str:
        return f"{self.enrolment} {self.period}: {self.value}"


class CycleContribution(models.Model):
    """What one customer event added to one cycle (negative for returns)."""

    cycle = models.ForeignKey(CycleProgress, on_delete=models.CASCADE, db_index=False,
                              related_name="contributions")  # see the unique index below
    customer_event_id = models.BigIntegerField(db_index=True)
    delta = models.DecimalField(max_digits=20, decimal_places=6)
    visit_day = models.DateField(null=True, blank=True)
    reversed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cycle", "customer_event_id"],
                                    name="cycle_contribution_once_per_event"),
        ]

    def __str__(self) -> str:
        return f"event {self.customer_event_id}: {self.delta:+}"


class StreakLevelAchievement(models.Model):
    """A level reached by a customer: once per enrolment epoch (a database constraint)."""

    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE,
                                  related_name="level_achievements")
    level = models.ForeignKey(StreakLevel, on_delete=models.CASCADE, related_name="+")
    epoch = models.PositiveIntegerField()
    achieved_at = models.DateTimeField()
    cycle = models.ForeignKey(CycleProgress, on_delete=models.SET_NULL, null=True,
                              related_name="+", help_text="The cycle whose meeting did it.")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["enrolment", "level", "epoch"],
                                    condition=Q(revoked_at__isnull=True),
                                    name="streak_level_reached_once_per_epoch"),
        ]

    def __str__(self) -> str:
        return f"{self.level} for {self.enrolment.customer_id} (epoch {self.epoch})"
