"""Customer events (CRM.COM's fields): activity and achievement events. Data and invariants."""

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from loyalty.event_types import EventType
from loyalty.models import Classification, Customer, Program


class CustomerEvent(models.Model):
    Type = EventType  # the one list of known types (achievements validate eventTypes by it)

    class LifeCycleState(models.TextChoices):
        POSTED = "POSTED", "Posted"
        CANCELLED = "CANCELLED", "Cancelled"

    # Laurel posts the ACHIEVEMENT events of completions under this external system.
    LAUREL_SYSTEM = "LAUREL"

    # No single-column indexes: event_program_activity / event_by_customer (below) lead with these,
    # and an event is written with every index it has.
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="+",
                                db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="events",
                                 db_index=False)
    number = models.BigIntegerField(null=True, blank=True, help_text="Sequential per program.")
    type = models.CharField(max_length=16, choices=Type.choices)
    classification = models.ForeignKey(Classification, on_delete=models.PROTECT, null=True,
                                       blank=True, related_name="+")
    product = models.CharField(max_length=200, blank=True)
    payment_medium_type = models.CharField(max_length=50, blank=True)
    payment_medium_brand = models.CharField(max_length=100, blank=True)
    payment_medium_identifier = models.CharField(max_length=200, blank=True)
    amount = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True,
                                 validators=[MinValueValidator(0)])
    performed_by_business_unit = models.CharField(max_length=200, blank=True)
    performed_by_unit = models.CharField(max_length=200, blank=True)
    performed_by_tap = models.CharField(max_length=200, blank=True)
    performed_on = models.DateTimeField()
    description = models.TextField(blank=True)
    external_system = models.CharField(max_length=100, blank=True)
    external_system_reference_number = models.CharField(max_length=200, blank=True)
    promo_code = models.CharField(max_length=100, blank=True)
    udf_string1 = models.CharField(max_length=255, blank=True)
    udf_string2 = models.CharField(max_length=255, blank=True)
    udf_string3 = models.CharField(max_length=255, blank=True)
    udf_string4 = models.CharField(max_length=255, blank=True)
    udf_string5 = models.CharField(max_length=255, blank=True)
    udf_string6 = models.CharField(max_length=255, blank=True)
    udf_string7 = models.CharField(max_length=255, blank=True)
    udf_string8 = models.CharField(max_length=255, blank=True)
    udf_float1 = models.FloatField(null=True, blank=True)
    udf_float2 = models.FloatField(null=True, blank=True)
    udf_float3 = models.FloatField(null=True, blank=True)
    udf_float4 = models.FloatField(null=True, blank=True)
    udf_date1 = models.DateTimeField(null=True, blank=True)
    udf_date2 = models.DateTimeField(null=True, blank=True)
    udf_date3 = models.DateTimeField(null=True, blank=True)
    udf_date4 = models.DateTimeField(null=True, blank=True)
    attributes = models.JSONField(default=dict, blank=True)

    life_cycle_state = models.CharField(max_length=16, choices=LifeCycleState.choices,
                                        default=LifeCycleState.POSTED)
    received_at = models.DateTimeField()
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancellation_reason = models.TextField(blank=True)
    # For ACHIEVEMENT events Laurel posts: the event whose progress completed the goal.
    triggered_by = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True,
                                     related_name="achievement_events")
    idempotency_key = models.CharField(max_length=200, blank=True)
    payload_hash = models.CharField(max_length=64, blank=True, editable=False)
    effects = models.JSONField(default=list, blank=True, editable=False,
                               help_text="What processing the event did, replayed on retries.")

    class Meta:
        ordering = ["-performed_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "external_system", "external_system_reference_number"],
                condition=~Q(external_system="") & ~Q(external_system_reference_number=""),
                name="event_external_reference_unique_per_program",
            ),
            models.UniqueConstraint(
                fields=["program", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="event_idempotency_key_unique_per_program",
            ),
            models.UniqueConstraint(
                fields=["program", "number"], name="event_number_unique_per_program"
            ),
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gte=0),
                name="event_amount_not_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-performed_on"], name="event_by_customer"),
            # The program's events by time: lists (scanned backwards for newest first) and
            # the dashboard's windows (events per day, active customers), index-only thanks
            # to the included columns. It replaces (program, -performed_on): one index
            # written per event, as before.
            models.Index(fields=["program", "performed_on"], name="event_program_activity",
                         include=["type", "life_cycle_state", "customer"]),
            models.Index(fields=["program", "type", "-performed_on"], name="event_by_type"),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()} #{self.number or self.pk}"
