"""Programs, campaigns, customers, currencies and API keys: data and invariants only."""

from django.conf import settings
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


class Customer(models.Model):
    """A loyalty customer, known to integrations by `integration_id`."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="customers")
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
