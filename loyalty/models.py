"""Programs, campaigns, customers, currencies and API keys: data and invariants only."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from loyalty.validators import validate_currency_code, validate_time_zone


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Program(TimeStampedModel):
    """A loyalty program: the tenant every other record belongs to."""

    name = models.CharField(max_length=200, unique=True)
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text="IANA time zone for calendar periods (days, weeks, months) of this program.",
    )
    late_event_window = models.DurationField(
        null=True, blank=True,
        help_text="Events performed longer ago than this are refused (ISO-8601 duration, e.g. "
        "P30D); empty: backdated events of any age count. Older history comes in through "
        "import_events.",
    )
    definitions_version = models.BigIntegerField(
        default=0, editable=False,
        help_text="Grows with every change to the program's goals; keys the definitions cache.",
    )
    webhook_url = models.URLField(
        blank=True, help_text="Notifications are POSTed here as signed JSON (optional)."
    )
    webhook_secret = models.CharField(
        max_length=64, blank=True,
        help_text="Signs webhook bodies: X-Laurel-Signature: sha256=HMAC(secret, body).",
    )
    currency_code = models.CharField(
        "points currency code",
        max_length=20,
        default="PTS",
        validators=[validate_currency_code],
        help_text="Code of the program's points currency, e.g. PTS.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Campaign(TimeStampedModel):
    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        RUNNING = "running", "Running"
        DISABLED = "disabled", "Disabled"
        ARCHIVED = "archived", "Archived"

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.DRAFT)
    start_time = models.DateTimeField(null=True, blank=True)
    end_time = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["program_id", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "name"], name="campaign_name_unique_per_program"
            ),
            models.CheckConstraint(
                condition=Q(start_time__isnull=True)
                | Q(end_time__isnull=True)
                | Q(end_time__gt=models.F("start_time")),
                name="campaign_end_after_start",
                violation_error_message="The end time must be after the start time.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.start_time and self.end_time and self.end_time <= self.start_time:
            raise ValidationError({"end_time": "The end time must be after the start time."})


class Customer(models.Model):
    """A loyalty customer, known to integrations by `integration_id`."""

    # The unique (program, integration id) index serves lookups by program.
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="customers",
                                db_index=False)
    integration_id = models.CharField(max_length=1000)
    name = models.CharField(max_length=200, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["program_id", "integration_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "integration_id"],
                name="customer_integration_id_unique_per_program",
                violation_error_message="A customer with this integration id already exists.",
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.integration_id


class Currency(TimeStampedModel):
    """The program's points (exactly one) and its alternative currencies."""

    class Kind(models.TextChoices):
        POINTS = "points", "Points"
        ALTERNATIVE = "alternative", "Alternative currency"

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="currencies")
    code = models.CharField(max_length=20, validators=[validate_currency_code])
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.ALTERNATIVE)

    class Meta:
        ordering = ["program_id", "-kind", "code"]
        verbose_name_plural = "currencies"
        constraints = [
            models.UniqueConstraint(
                fields=["program", "code"],
                name="currency_code_unique_per_program",
                violation_error_message="A currency with this code already exists in the program.",
            ),
            models.UniqueConstraint(
                fields=["program"],
                condition=Q(kind="points"),
                name="one_points_currency_per_program",
                violation_error_message="A program has exactly one points currency.",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class ApiKey(models.Model):
    """A bearer key. Only its SHA-256 is stored; the key itself is shown once, at creation."""

    class Scope(models.TextChoices):
        ACCOUNT = "account", "Account (every program, everything)"
        MANAGEMENT = "management", "Management (one program's definitions)"
        INTEGRATION = "integration", "Integration (one program's events and customer reads)"

    name = models.CharField(max_length=200)
    scope = models.CharField(max_length=16, choices=Scope.choices)
    program = models.ForeignKey(
        Program, on_delete=models.CASCADE, related_name="api_keys", null=True, blank=True
    )
    prefix = models.CharField(
        max_length=16, editable=False, help_text="The key's first characters."
    )
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"
        constraints = [
            models.CheckConstraint(
                condition=(Q(scope="account") & Q(program__isnull=True))
                | (~Q(scope="account") & Q(program__isnull=False)),
                name="api_key_program_matches_scope",
                violation_error_message=(
                    "An account key has no program; management and integration keys need one."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Classification(TimeStampedModel):
    """A label for customer events (CRM.COM's classification), per program and event type.

    Achievements and streak levels each own one, used by the ACHIEVEMENT events they post;
    reward offers match on them. It lives in `loyalty`, the bottom app, so that reward offers
    (here), achievements and events can all refer to it.
    """

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="classifications")
    code = models.CharField(max_length=200)
    name = models.CharField(max_length=200)
    event_type = models.CharField(
        max_length=32, help_text="The event type it classifies, e.g. PURCHASE or ACHIEVEMENT."
    )
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["program_id", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "code"], name="classification_code_unique_per_program"
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.code


class RewardOffer(TimeStampedModel):
    """Turns achievement customer events into awards (CRM.COM's reward offer)."""

    class State(models.TextChoices):
        EFFECTIVE = "effective", "Effective"
        NOT_EFFECTIVE = "not_effective", "Not effective"

    class NumberOfAwards(models.TextChoices):
        MULTIPLE = "MULTIPLE", "Every matching event"
        ONLY_ONE = "ONLY_ONE", "Once per customer"
        ONLY_ONE_PER_PERIOD = "ONLY_ONE_PER_PERIOD", "Once per customer and period"

    class AwardPeriod(models.TextChoices):
        DAY = "DAY", "Day"
        WEEK = "WEEK", "Week"
        MONTH = "MONTH", "Month"
        YEAR = "YEAR", "Year"

    class AwardType(models.TextChoices):
        FIXED = "FIXED", "Fixed amount"
        PERCENTAGE = "PERCENTAGE", "Percentage of the event amount"

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="reward_offers")
    name = models.CharField(max_length=200)
    code = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.EFFECTIVE)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_to = models.DateTimeField(null=True, blank=True)
    classifications = models.ManyToManyField(
        Classification,
        related_name="reward_offers",
        help_text="Achievement classifications that trigger the offer.",
    )
    all_achievements_should_exist = models.BooleanField(
        default=False,
        help_text="Award only when the customer has achieved every listed classification "
        "(otherwise any one of them).",
    )
    number_of_awards = models.CharField(
        max_length=24, choices=NumberOfAwards.choices, default=NumberOfAwards.MULTIPLE
    )
    award_period = models.CharField(
        max_length=8, choices=AwardPeriod.choices, blank=True,
        help_text="For ONLY_ONE_PER_PERIOD: the calendar period, in the program's time zone.",
    )
    award_type = models.CharField(max_length=16, choices=AwardType.choices,
                                  default=AwardType.FIXED)
    award_value = models.DecimalField(
        max_digits=20, decimal_places=6,
        help_text="The amount (FIXED) or the percentage of the event amount (PERCENTAGE).",
    )
    currency = models.ForeignKey(Currency, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["program_id", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "code"], name="reward_offer_code_unique_per_program"
            ),
            models.CheckConstraint(
                condition=Q(award_value__gt=0), name="reward_offer_award_value_positive",
                violation_error_message="The award value must be greater than 0.",
            ),
            models.CheckConstraint(
                condition=~Q(number_of_awards="ONLY_ONE_PER_PERIOD") | ~Q(award_period=""),
                name="reward_offer_period_when_once_per_period",
                violation_error_message="ONLY_ONE_PER_PERIOD needs an award period.",
            ),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True) | Q(valid_to__isnull=True)
                | Q(valid_to__gt=models.F("valid_from")),
                name="reward_offer_valid_to_after_from",
                violation_error_message="validTo must be after validFrom.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = {}
        if self.award_value is not None and self.award_value <= 0:
            errors["award_value"] = "The award value must be greater than 0."
        if self.number_of_awards == self.NumberOfAwards.ONLY_ONE_PER_PERIOD:
            if not self.award_period:
                errors["award_period"] = "ONLY_ONE_PER_PERIOD needs an award period."
        elif self.award_period:
            errors["award_period"] = "An award period applies only to ONLY_ONE_PER_PERIOD."
        if self.valid_from and self.valid_to and self.valid_to <= self.valid_from:
            errors["valid_to"] = "validTo must be after validFrom."
        if errors:
            raise ValidationError(errors)


class AwardTransaction(models.Model):
    """The wallet ledger: append-only. Cancelling an award adds a compensating row."""

    class Kind(models.TextChoices):
        AWARD = "award", "Award"
        CANCELLATION = "cancellation", "Cancellation of an award"
        CORRECTION = "correction", "Manual correction"

    class State(models.TextChoices):
        POSTED = "POSTED", "Posted"
        CANCELLED = "CANCELLED", "Cancelled"

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, db_index=False,
                                 related_name="award_transactions")  # award_customer_currency
    currency = models.ForeignKey(Currency, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.AWARD)
    state = models.CharField(max_length=16, choices=State.choices, default=State.POSTED)
    amount = models.DecimalField(max_digits=20, decimal_places=6,
                                 help_text="Signed: credits are positive.")
    reward_offer = models.ForeignKey(RewardOffer, on_delete=models.PROTECT, null=True,
                                     blank=True, related_name="award_transactions")
    # The customer event behind the row. A plain id, not a foreign key: events sit above
    # loyalty in the import order, and the ledger must not depend on them.
    customer_event_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    # What makes an award unique for its offer: the event (MULTIPLE), "once" (ONLY_ONE) or the
    # period key (ONLY_ONE_PER_PERIOD, e.g. 2026-11).
    award_key = models.CharField(max_length=64, blank=True)
    reverses = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="reversed_by")
    reason = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["reward_offer", "customer", "award_key"],
                condition=Q(kind="award", state="POSTED"),
                name="award_once_per_offer_customer_key",
            ),
            models.UniqueConstraint(
                fields=["reward_offer", "customer_event_id"],
                condition=Q(kind="award"),
                name="award_once_per_offer_and_event",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "currency"], name="award_customer_currency"),
            # Rewards paid per day and currency (the dashboard), index-only.
            models.Index(fields=["program", "created_at"], name="award_program_day",
                         include=["currency", "kind", "state", "amount"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.currency_id} for {self.customer_id}"


class WalletBalance(models.Model):
    """A customer's balance per currency: the sum of its ledger rows, kept under the row lock."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="balances",
                                 db_index=False)  # the unique (customer, currency) index
    currency = models.ForeignKey(Currency, on_delete=models.PROTECT, related_name="+")
    balance = models.DecimalField(max_digits=20, decimal_places=6, default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "currency"],
                                    name="wallet_balance_one_per_currency"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.balance} {self.currency_id}"


class Notification(models.Model):
    """Something time did to a customer or a program (an iteration expired, a streak broke or
    is at risk, a period started). Kept for the API and the admin, and delivered to the
    program's webhook when it has one."""

    class Kind(models.TextChoices):
        ACHIEVEMENT_EXPIRED = "achievementExpired", "Achievement expired"
        ACHIEVEMENT_STARTED = "achievementStarted", "Scheduled achievement started"
        STREAK_BROKEN = "streakBroken", "Streak broken"
        STREAK_AT_RISK = "streakAtRisk", "Streak at risk"
        PERIOD_STARTED = "periodStarted", "Target period started"
        GOAL_FAILED = "goalFailed", "A goal failed while counting an event"

    class Delivery(models.TextChoices):
        PENDING = "pending", "Waiting to be delivered"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Gave up after retries"
        NO_WEBHOOK = "no_webhook", "No webhook configured"

    # No index of its own: the unique (program, key) and (program, kind, ...) indexes lead
    # with it, and the expiry job writes a notification per iteration.
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="notifications",
                                db_index=False)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, null=True, blank=True,
                                 related_name="notifications")
    key = models.CharField(max_length=200, help_text="Makes a notification unique: a job "
                           "that runs twice records it once.")
    payload = models.JSONField(default=dict)
    occurred_at = models.DateTimeField(help_text="The moment (the job's `now`) it happened.")
    created_at = models.DateTimeField(auto_now_add=True)
    delivery = models.CharField(max_length=16, choices=Delivery.choices,
                                default=Delivery.NO_WEBHOOK)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["program", "key"], name="notification_once_per_key"),
        ]
        indexes = [
            models.Index(fields=["next_attempt_at"], name="notification_due_delivery",
                         condition=Q(delivery="pending")),
            models.Index(fields=["program", "kind", "-occurred_at"], name="notification_by_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} ({self.key})"


class JobRun(models.Model):
    """One run of a scheduled job: what it was asked to do and what it did."""

    class Outcome(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    class StartedBy(models.TextChoices):
        BEAT = "beat", "Celery beat (the schedule)"
        COMMAND = "command", "Management command"
        TASK = "task", "Celery task sent by hand"
        OTHER = "other", "Other (code or tests)"

    job = models.CharField(max_length=100)
    now = models.DateTimeField(help_text="The instant the job ran as of.")
    started_by = models.CharField(max_length=16, choices=StartedBy.choices,
                                  default=StartedBy.OTHER)
    started_from = models.CharField(
        max_length=500, blank=True,
        help_text="Where it was started: the command line, or the beat entry and worker.",
    )
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    rows = models.PositiveIntegerField(default=0, help_text="Rows the job changed.")
    batches = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.RUNNING)
    error = models.TextField(blank=True, help_text="The exception: its type and message.")
    traceback = models.TextField(blank=True, help_text="Where it was raised, in full.")

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["job", "-started_at"], name="job_run_by_job")]

    def __str__(self) -> str:
        return f"{self.job} @ {self.now:%Y-%m-%d %H:%M:%S}: {self.outcome}"
