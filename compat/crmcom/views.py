"""CRM.COM achievement customer events: create, show, cancel, list.

Thin views: the request is mapped onto `events.services.event_ingest` / `event_cancel` (an
ACHIEVEMENT customer event, paid by the reward offers on its classification) and the result
onto CRM.COM's envelope. Every answer is HTTP 200; `status.code` tells success from failure.
"""

from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from compat.auth import CrmcomAuthentication
from compat.crmcom import identifiers
from compat.crmcom.bodies import event_body, fields_trim
from compat.crmcom.errors import CrmError, crm_error, crm_exception_handler, envelope
from compat.crmcom.serializers import (
    CrmAchievementBulkEnvelopeSerializer,
    CrmAchievementBulkInputSerializer,
    CrmAchievementCancelInputSerializer,
    CrmAchievementCreateInputSerializer,
    CrmAchievementEnvelopeSerializer,
    CrmAchievementListEnvelopeSerializer,
    CrmAchievementListInputSerializer,
    CrmAchievementPreviewEnvelopeSerializer,
    CrmAchievementShowInputSerializer,
)
from events import services
from events.models import CustomerEvent
from events.selectors import awards_by_event, event_list
from loyalty.api.mixins import request_api_key
from loyalty.models import ApiKey, AwardTransaction, Currency, Program
from loyalty.selectors import customer_list, reward_offer_list, wallet_get

TAG = "CRM.COM"


class IsIntegrationKey(permissions.BasePermission):
    """A program's integration-scope key."""

    def has_permission(self, request, view) -> bool:
        api_key = request_api_key(request)
        return bool(api_key and api_key.scope == ApiKey.Scope.INTEGRATION and api_key.program_id)


class CrmApiView(APIView):
    authentication_classes = [CrmcomAuthentication]
    permission_classes = [IsIntegrationKey]
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer]

    def get_exception_handler(self):
        return crm_exception_handler

    @property
    def program(self) -> Program:
        return request_api_key(self.request).program

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.program.time_zone)

    def validated(self, serializer_class, data) -> dict:
        serializer = serializer_class(data=data, context={"tz": self.tz})
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def render(self, events: list[CustomerEvent], fields_set: str | None) -> list[dict]:
        awards = awards_by_event(event_ids=[e.pk for e in events])
        offer_ids = {a.reward_offer_id for rows in awards.values() for a in rows}
        offers = reward_offer_list(program=self.program).in_bulk(offer_ids) if offer_ids else {}
        return [fields_trim(event_body(e, awards=awards.get(e.pk, []), offers=offers,
                                       tz=self.tz), fields_set) for e in events]

    def answer(self, event: CustomerEvent, fields_set: str | None) -> Response:
        return Response(envelope(self.render([event], fields_set)[0]))


def event_data(*, program: Program, data: dict) -> dict:
    """A validated create request as the data of a Laurel ACHIEVEMENT customer event."""
    if data.get("accounts_receivable_identifier") is not None:
        _, integration_id = identifiers.customer_resolve(
            program=program, value=data["accounts_receivable_identifier"],
            parameter="accounts_receivable_identifier", create=True)
    elif data.get("rewards_participant_identifier") is not None:
        _, integration_id = identifiers.customer_resolve(
            program=program, value=data["rewards_participant_identifier"],
            parameter="rewards_participant_identifier", create=True)
    else:
        raise CrmError("MISSING_PARAMETER", "accounts_receivable_identifier is mandatory.",
                       "accounts_receivable_identifier")
    classification = identifiers.classification_resolve(
        program=program, value=data["classification_identifier"])
    if classification.event_type.upper() != CustomerEvent.Type.ACHIEVEMENT:
        raise CrmError("INVALID_CLASSIFICATION",
                       f"The classification {classification.code!r} is not of type "
                       "ACHIEVEMENT.", "classification_identifier")
    event = {
        "customer": integration_id,
        "type": CustomerEvent.Type.ACHIEVEMENT,
        "classification": classification.code,
        "performed_on": data["performed_on"],
        "product": identifiers.text_resolve(data=data, parameter="product_identifier"),
        "payment_medium_type": identifiers.text_resolve(
            data=data, parameter="payment_medium_type_identifier"),
        "payment_medium_brand": identifiers.text_resolve(
            data=data, parameter="payment_medium_brand_identifier"),
        "performed_by_business_unit": identifiers.text_resolve(
            data=data, parameter="performed_by_business_unit_identifier"),
        "performed_by_unit": identifiers.text_resolve(
            data=data, parameter="performed_by_unit_identifier"),
        "performed_by_tap": identifiers.text_resolve(
            data=data, parameter="performed_by_tap_identifier"),
    }
    for name in ("payment_medium_identifier", "description", "external_system",
                 "external_system_reference_number", "promo_code"):
        event[name] = data.get(name) or ""
    if data.get("amount") is not None:
        event["amount"] = data["amount"]
    for i in range(1, 9):
        event[f"udf_string{i}"] = data.get(f"udf_string_{i}") or ""
    for kind in ("float", "date"):
        for i in range(1, 5):
            if data.get(f"udf_{kind}_{i}") is not None:
                event[f"udf_{kind}{i}"] = data[f"udf_{kind}_{i}"]
    return {key: value for key, value in event.items() if value != ""}


class CrmAchievementCreateApi(CrmApiView):
    @extend_schema(tags=[TAG], request=CrmAchievementCreateInputSerializer,
                   responses={200: CrmAchievementEnvelopeSerializer},
                   operation_id="crmcom_customer_events_achievements_create",
                   summary="Create an achievement customer event (reward offers pay it)")
    def post(self, request):
        data = self.validated(CrmAchievementCreateInputSerializer, request.data)
        result = services.event_ingest(
            program=self.program, data=event_data(program=self.program, data=data),
            now=timezone.now(), idempotency_key=request.headers.get("Idempotency-Key", ""))
        return self.answer(result.event, data.get("fields_set"))


def _sum(amounts: list[tuple[Currency, Decimal]], *, points: bool) -> float:
    return float(sum((amount for currency, amount in amounts
                      if (currency.kind == Currency.Kind.POINTS) == points), start=Decimal(0)))


class CrmAchievementPreviewApi(CrmApiView):
    """What a create would award, from the same services: the event is processed in a
    transaction that is rolled back, so nothing stays."""

    @extend_schema(tags=[TAG], request=CrmAchievementCreateInputSerializer,
                   responses={200: CrmAchievementPreviewEnvelopeSerializer},
                   operation_id="crmcom_customer_events_achievements_preview",
                   summary="Preview the awards of an achievement customer event; nothing is "
                   "stored")
    def post(self, request):
        data = self.validated(CrmAchievementCreateInputSerializer, request.data)
        program = self.program
        with transaction.atomic():
            event = event_data(program=program, data=data)
            customer = customer_list(program=program).filter(
                integration_id=event["customer"]).first()
            balances = ([(b.currency, b.balance) for b in
                         wallet_get(customer=customer, limit=0).balances] if customer else [])
            result = services.event_ingest(program=program, data=event, now=timezone.now())
            awards = [(a.currency, a.amount)
                      for a in awards_by_event(event_ids=[result.event.pk]).get(
                          result.event.pk, []) if a.kind == AwardTransaction.Kind.AWARD]
            transaction.set_rollback(True)
        name = f"{event['customer']} {customer.name if customer else ''}".strip()
        return Response(envelope({
            "total_award_amount": _sum(awards, points=True),
            "total_award_alternative_amount": _sum(awards, points=False),
            "rewards_participant_id": str(customer.pk) if customer else None,
            "rewards_participant_name": name,
            "wallet_balance": _sum(balances, points=True),
            "wallet_alternative_balance": _sum(balances, points=False),
            "voucher_types_set": [],
        }))


BULK_LIMIT = 1000


class CrmAchievementBulkCreateApi(CrmApiView):
    """Each item succeeds or fails on its own, in one batch (events.services.event_bulk_ingest:
    the customers locked in id order, one commit)."""

    @extend_schema(tags=[TAG], request=CrmAchievementBulkInputSerializer,
                   responses={200: CrmAchievementBulkEnvelopeSerializer},
                   operation_id="crmcom_customer_events_bulk_achievements_create",
                   summary="Create up to 1000 achievement customer events")
    def post(self, request):
        body = self.validated(CrmAchievementBulkInputSerializer, request.data)
        rows = body["achievement_customer_events_set"]
        if len(rows) > BULK_LIMIT:
            raise CrmError("LIMIT_EXCEEDED", f"At most {BULK_LIMIT} events per call.",
                           "achievement_customer_events_set")
        program = self.program
        references: list[str | None] = []
        items: list[dict | Exception] = []
        seen: set[str] = set()
        for row in rows:
            reference = row.get("request_unique_identifier") if isinstance(row, dict) else None
            references.append(None if reference is None else str(reference))
            try:
                if reference in (None, ""):
                    raise CrmError("MISSING_PARAMETER", "request_unique_identifier is "
                                   "mandatory.", "request_unique_identifier")
                if str(reference) in seen:
                    raise CrmError("INVALID_VALUE", "request_unique_identifier is repeated.",
                                   "request_unique_identifier")
                seen.add(str(reference))
                data = self.validated(CrmAchievementCreateInputSerializer, row)
                items.append(event_data(program=program, data=data))
            except Exception as exc:  # a refused item becomes its error below
                if crm_error(exc) is None:
                    raise
                items.append(exc)
        outcomes = services.event_bulk_ingest(program=program, items=items,
                                              now=timezone.now())
        processed, unprocessed = [], []
        for reference, outcome in zip(references, outcomes, strict=True):
            if isinstance(outcome, services.IngestResult):
                processed.append({"request_unique_identifier": reference,
                                  "id": str(outcome.event.pk),
                                  "number": str(outcome.event.number)})
            else:
                error = crm_error(outcome) or CrmError("ERROR", str(outcome))
                unprocessed.append({"request_unique_identifier": reference,
                                    "error_code": error.code,
                                    "error_description": error.message})
        return Response(envelope({"processed_customer_events_set": processed,
                                  "unprocessed_customer_events_set": unprocessed}))


class CrmAchievementCancelApi(CrmApiView):
    @extend_schema(tags=[TAG], request=CrmAchievementCancelInputSerializer,
                   responses={200: CrmAchievementEnvelopeSerializer},
                   operation_id="crmcom_customer_events_achievements_cancel",
                   summary="Cancel an achievement customer event and take its awards back")
    def post(self, request):
        data = self.validated(CrmAchievementCancelInputSerializer, request.data)
        event = identifiers.event_resolve(program=self.program,
                                          value=data["customer_event_identifier"])
        if event.life_cycle_state != CustomerEvent.LifeCycleState.POSTED:
            raise CrmError("INVALID_LIFE_CYCLE_STATE",
                           f"The customer event {event.number} is {event.life_cycle_state}, "
                           "not POSTED.", "customer_event_identifier")
        if event.triggered_by_id is not None:
            raise CrmError("INVALID_LIFE_CYCLE_STATE",
                           "Laurel posted this achievement event for a goal; cancel the event "
                           "that completed the goal instead.", "customer_event_identifier")
        result = services.event_cancel(event=event, now=timezone.now(),
                                       reason="Cancelled through the CRM.COM API")
        return self.answer(result.event, data.get("fields_set"))


SHOW_PARAMETERS = [
    OpenApiParameter("token", str, description="Accepted and ignored."),
    OpenApiParameter("customer_event_identifier", str, required=True,
                     description="`number=306` or `id=12`."),
    OpenApiParameter("fields_set", str, description="Comma-separated fields to return."),
]


class CrmAchievementShowApi(CrmApiView):
    @extend_schema(tags=[TAG], parameters=SHOW_PARAMETERS,
                   responses={200: CrmAchievementEnvelopeSerializer},
                   operation_id="crmcom_customer_events_achievements_show",
                   summary="Show an achievement customer event")
    def get(self, request):
        data = self.validated(CrmAchievementShowInputSerializer, request.query_params.dict())
        event = identifiers.event_resolve(program=self.program,
                                          value=data["customer_event_identifier"])
        return self.answer(event, data.get("fields_set"))


LIST_FILTERS = ("accounts_receivable_identifier", "rewards_participant_identifier",
                "classification_identifier")
LIST_PARAMETERS = [
    OpenApiParameter("token", str, description="Accepted and ignored."),
    *(OpenApiParameter(name, str, description="key=value (exactly one of the three filters)")
      for name in LIST_FILTERS),
    OpenApiParameter("submitted_after_date", str),
    OpenApiParameter("submitted_before_date", str),
    OpenApiParameter("number_of_results", int, description="1 to 1000, default 50."),
    OpenApiParameter("offset", int),
    OpenApiParameter("fields_set", str),
]


class CrmAchievementListApi(CrmApiView):
    def _list(self, raw) -> Response:
        data = self.validated(CrmAchievementListInputSerializer, raw)
        given = [name for name in LIST_FILTERS if data.get(name) not in (None, "", {})]
        if len(given) != 1:
            raise CrmError("MISSING_PARAMETER" if not given else "INVALID_VALUE",
                           f"Give exactly one of: {', '.join(LIST_FILTERS)}.", ", ".join(
                               given or LIST_FILTERS))
        events = event_list(program=self.program).filter(type=CustomerEvent.Type.ACHIEVEMENT)
        name = given[0]
        if name == "classification_identifier":
            classification = identifiers.classification_resolve(program=self.program,
                                                                value=data[name])
            events = events.filter(classification=classification)
        else:
            customer, _ = identifiers.customer_resolve(program=self.program, value=data[name],
                                                       parameter=name)
            events = events.filter(customer=customer)
        if data.get("submitted_after_date"):
            events = events.filter(received_at__gte=data["submitted_after_date"])
        if data.get("submitted_before_date"):
            events = events.filter(received_at__lte=data["submitted_before_date"])
        offset = data["offset"]
        page = list(events.order_by("received_at", "pk")[offset:offset + data["number_of_results"]])
        return Response(envelope(self.render(page, data.get("fields_set"))))

    @extend_schema(tags=[TAG], parameters=LIST_PARAMETERS,
                   responses={200: CrmAchievementListEnvelopeSerializer},
                   operation_id="crmcom_customer_events_achievements_list_get",
                   summary="List achievement customer events (query parameters)")
    def get(self, request):
        return self._list(request.query_params.dict())

    @extend_schema(tags=[TAG], request=CrmAchievementListInputSerializer,
                   responses={200: CrmAchievementListEnvelopeSerializer},
                   operation_id="crmcom_customer_events_achievements_list",
                   summary="List achievement customer events of one customer or classification")
    def post(self, request):
        return self._list(request.data)
