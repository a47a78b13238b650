"""Customer events per program: /api/v1/programs/{programId}/events."""

import logging

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import UnsupportedMediaType
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.response import Response

from achievements.api.serializers import EnrolmentInputSerializer, EnrolmentSerializer
from achievements.models import Achievement
from achievements.selectors import target_group_list
from achievements.services import enrolment_unenrol
from config.api.exception_handler import laurel_exception_handler
from config.exceptions import ApplicationError
from events import selectors, services
from events.api.filters import CustomerEventFilter
from events.api.serializers import (
    AchievementSimulationInputSerializer,
    AchievementSimulationSerializer,
    CustomerEventCancelResultSerializer,
    CustomerEventInputSerializer,
    CustomerEventResultSerializer,
    CustomerEventSerializer,
    EventBulkInputSerializer,
    EventCancelInputSerializer,
    event_body,
)
from events.imports import events_import
from events.models import CustomerEvent
from events.simulation import achievement_simulate
from loyalty.api.mixins import ProgramScopedMixin
from loyalty.api.permissions import DEFINITION_WRITERS, EVERY_SCOPE, INTEGRATION_WRITERS
from loyalty.selectors import customer_list

logger = logging.getLogger(__name__)

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key", {"type": "string", "maxLength": 200}, OpenApiParameter.HEADER,
    required=False,
    description="A retry with the same key and payload returns the original result (200).",
)
IMPORT_RESULT = inline_serializer("EventImportResult", {
    "imported": serializers.IntegerField(),
    "replayed": serializers.IntegerField(),
    "refused": serializers.IntegerField(),
    "refusals": serializers.ListField(child=inline_serializer("EventImportRefusal", {
        "line": serializers.IntegerField(),
        "field": serializers.CharField(allow_null=True),
        "message": serializers.CharField(),
    }), help_text="The first 1000 refused lines."),
})


class NdjsonParser(BaseParser):
    """Accepts NDJSON bodies; the import view reads the stream itself, line by line."""

    media_type = "application/x-ndjson"
    media_types = ("application/x-ndjson", "application/jsonl", "application/json-seq",
                   "text/plain")

    def parse(self, stream, media_type=None, parser_context=None):
        return {}


BULK_RESULT = inline_serializer("EventBulkResult", {
    "results": serializers.ListField(child=inline_serializer("EventBulkItem", {
        "index": serializers.IntegerField(),
        "status": serializers.IntegerField(),
        "event": CustomerEventResultSerializer(required=False),
        "errors": serializers.ListField(child=serializers.DictField(), required=False),
    })),
})


class CustomerEventViewSet(ProgramScopedMixin, mixins.ListModelMixin,
                           mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = CustomerEventSerializer
    filterset_class = CustomerEventFilter
    write_scopes = INTEGRATION_WRITERS
    queryset = CustomerEvent.objects.none()

    def get_queryset(self):
        return selectors.event_list(program=self.program)

    renderer_classes = [JSONRenderer, BrowsableAPIRenderer]  # bodies are camelCase already

    def _render(self, events, *, many: bool, effects=None):
        items = events if many else [events]
        # Reward offers pay ACHIEVEMENT events only: other events have no ledger rows to read.
        paid = [e.pk for e in items if e.type == CustomerEvent.Type.ACHIEVEMENT]
        awards = selectors.awards_by_event(event_ids=paid) if paid else {}
        bodies = [event_body(e, awards=awards.get(e.pk, []), effects=effects) for e in items]
        return bodies if many else bodies[0]

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self._render(page, many=True))

    def retrieve(self, request, *args, **kwargs):
        return Response(self._render(self.get_object(), many=False))

    def _ingest(self, data, idempotency_key: str):
        serializer = CustomerEventInputSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        return services.event_ingest(program=self.program, data=serializer.validated_data,
                                     idempotency_key=idempotency_key, now=timezone.now())

    @extend_schema(request=CustomerEventInputSerializer,
                   responses={201: CustomerEventResultSerializer,
                              200: CustomerEventResultSerializer},
                   parameters=[IDEMPOTENCY_KEY],
                   summary="Post a customer event; the answer lists its effects")
    def create(self, request, *args, **kwargs):
        result = self._ingest(request.data, request.headers.get("Idempotency-Key", ""))
        return Response(
            self._render(result.event, many=False, effects=result.effects),
            status=status.HTTP_200_OK if result.replayed else status.HTTP_201_CREATED,
        )

    @extend_schema(request=EventBulkInputSerializer, responses={200: BULK_RESULT},
                   summary="Post up to 1000 events; each succeeds or fails on its own")
    @action(detail=False, methods=["post"])
    def bulk(self, request, *args, **kwargs):
        envelope = EventBulkInputSerializer(data=request.data)
        envelope.is_valid(raise_exception=True)
        items: list = []
        for raw in envelope.validated_data["events"]:
            serializer = CustomerEventInputSerializer(data=raw)
            items.append(dict(serializer.validated_data) if serializer.is_valid()
                         else serializers.ValidationError(serializer.errors))
        outcomes = services.event_bulk_ingest(program=self.program, items=items,
                                              now=timezone.now())
        stored = [o.event for o in outcomes if isinstance(o, services.IngestResult)]
        awards = selectors.awards_by_event(event_ids=[e.pk for e in stored])
        results = []
        for index, outcome in enumerate(outcomes):
            if isinstance(outcome, services.IngestResult):
                event = event_body(outcome.event, awards=awards.get(outcome.event.pk, []),
                                   effects=outcome.effects)
                results.append({"index": index, "status": 200 if outcome.replayed else 201,
                                "event": event})
            else:
                error = laurel_exception_handler(outcome, {"view": self, "request": request})
                results.append({"index": index, "status": error.status_code,
                                "errors": error.data["errors"]})
        return Response({"results": results})

    @extend_schema(
        request={"application/x-ndjson": OpenApiTypes.STR},
        responses={200: IMPORT_RESULT},
        summary="Import history: NDJSON, one event body a line, any order and any age",
        description=(
            "Streams the body line by line (memory stays flat). Each line needs "
            "externalSystem + externalSystemReferenceNumber, so sending the same file again "
            "replays what was stored and imports the rest. The program's lateEventWindow "
            "does not apply. Answers a summary with the refused lines and why."),
    )
    @action(detail=False, methods=["post"], url_path="import",
            parser_classes=[NdjsonParser])
    def import_(self, request, *args, **kwargs):
        content_type = request.content_type.split(";")[0].strip()
        if content_type not in NdjsonParser.media_types:
            raise UnsupportedMediaType(content_type)
        lines = (line.decode("utf-8", errors="replace") for line in request._request)
        summary = events_import(program=self.program, lines=lines, now=timezone.now())
        return Response({
            "imported": summary.imported, "replayed": summary.replayed,
            "refused": summary.refused,
            "refusals": [{"line": r.line, "field": r.field, "message": r.message}
                         for r in summary.refusals],
        })

    @extend_schema(request=EventCancelInputSerializer,
                   responses={200: CustomerEventCancelResultSerializer},
                   summary="Cancel an event; the answer says what was taken back and what "
                   "was kept")
    @action(detail=True, methods=["post"])
    def cancel(self, request, *args, **kwargs):
        event = self.get_object()
        serializer = EventCancelInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if event.triggered_by_id is not None and event.life_cycle_state == "POSTED":
            raise ApplicationError(selectors.goal_event_cancel_refusal(event=event), field="id")
        result = services.event_cancel(event=event, now=timezone.now(),
                                       reason=serializer.validated_data.get("reason", ""))
        effects = list(result.effects)
        if result.changed:
            effects.extend(selectors.cancel_kept_effects(event=result.event,
                                                         effects_so_far=effects))
        body = self._render(result.event, many=False, effects=effects)
        body["message"] = selectors.cancel_summary(event=result.event, effects=effects,
                                                   changed=result.changed)
        return Response(body)


class TargetGroupEnrolmentApi(ProgramScopedMixin, generics.GenericAPIView):
    """Base of the enrol/unenrol commands on /target-groups/{id}/."""

    write_scopes = EVERY_SCOPE
    serializer_class = EnrolmentInputSerializer

    def group(self):
        return get_object_or_404(target_group_list(program=self.program), pk=self.kwargs["pk"])


@extend_schema(request=EnrolmentInputSerializer, responses={200: EnrolmentSerializer},
               summary="Enrol a customer (resetStreakStatus clears the count and levels)")
class TargetGroupEnrolApi(TargetGroupEnrolmentApi):
    def post(self, request, *args, **kwargs):
        group = self.group()
        body = EnrolmentInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        enrolment = services.enrolment_enrol(
            group=group, integration_id=body.validated_data["customer"], now=timezone.now(),
            reset_streak_status=body.validated_data["reset_streak_status"],
        )
        return Response(EnrolmentSerializer(enrolment).data)


@extend_schema(request=EnrolmentInputSerializer, responses={200: EnrolmentSerializer},
               summary="Stop tracking a customer from now on")
class TargetGroupUnenrolApi(TargetGroupEnrolmentApi):
    def post(self, request, *args, **kwargs):
        group = self.group()
        body = EnrolmentInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        customer = get_object_or_404(customer_list(program=self.program),
                                     integration_id=body.validated_data["customer"])
        enrolment = enrolment_unenrol(group=group, customer=customer, now=timezone.now())
        return Response(EnrolmentSerializer(enrolment).data)


class AchievementSimulateApi(ProgramScopedMixin, generics.GenericAPIView):
    """POST /achievements/simulate: run a definition over stored events, writing nothing."""

    serializer_class = AchievementSimulationInputSerializer
    write_scopes = DEFINITION_WRITERS

    def _definition(self, data: dict) -> Achievement:
        achievement_id = data.pop("achievement_id", None)
        campaign_id = data.pop("campaign_id", None)
        if achievement_id is not None:
            achievement = (Achievement.objects.select_related("campaign__program")
                           .filter(campaign__program=self.program, pk=achievement_id).first())
            if achievement is None:
                raise ApplicationError(f"There is no achievement {achievement_id} in this "
                                       "program.", field="achievement_id")
        else:
            achievement = Achievement(name="Simulation", title="Simulation")
        if campaign_id is not None:
            campaign = self.program.campaigns.filter(pk=campaign_id).first()
            if campaign is None:
                raise ApplicationError(f"There is no campaign {campaign_id} in this program.",
                                       field="campaign_id")
            achievement.campaign = campaign
        if "period_end_override" in data:
            point = data.pop("period_end_override")
            achievement.period_end_override = dict(point) if point else None
        for name, value in data.items():
            setattr(achievement, name, value)
        try:
            achievement.clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        return achievement

    @extend_schema(
        summary="Simulate an achievement over stored events",
        tags=["achievements"],
        request=AchievementSimulationInputSerializer,
        responses={200: AchievementSimulationSerializer},
    )
    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        start, end = data.pop("from"), data.pop("to")
        result = achievement_simulate(program=self.program,
                                      achievement=self._definition(data),
                                      start=start, end=end, at=min(end, timezone.now()))
        return Response(AchievementSimulationSerializer(result).data)
