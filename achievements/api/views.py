"""Achievement definitions and progress per program, under /api/v1/programs/{programId}/."""

import csv
from datetime import UTC
from decimal import Decimal

from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from djangorestframework_camel_case.render import CamelCaseJSONRenderer
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings

from achievements import selectors, services
from achievements.api.filters import AchievementFilter
from achievements.api.serializers import (
    AchievementIterationSerializer,
    AchievementProgressWithDefinitionSerializer,
    AchievementSerializer,
    CustomerAchievementFilterSerializer,
    CustomerProgressSerializer,
    CustomerStreakSerializer,
    TargetGroupSerializer,
    TargetGroupUpdateSerializer,
)
from achievements.models import Achievement, TargetGroup
from config.api.fields import NumberField, plain_number
from config.api.renderers import CSVRenderer, csv_safe
from config.exceptions import ApplicationError
from loyalty.api.mixins import ProgramScopedMixin
from loyalty.api.permissions import DEFINITION_WRITERS
from loyalty.api.views import CrudViewSet
from loyalty.models import Campaign
from loyalty.selectors import customer_list


@extend_schema_view(
    list=extend_schema(summary="List achievements (filter by campaignId, name, title)"),
    create=extend_schema(summary="Create an achievement (409 on a duplicate name or title)"),
    update=extend_schema(summary="Replace an achievement (edit lock applies)"),
    partial_update=extend_schema(summary="Change some fields of an achievement"),
    destroy=extend_schema(summary="Delete an achievement nobody has progressed in"),
)
class AchievementViewSet(ProgramScopedMixin, CrudViewSet):
    serializer_class = AchievementSerializer
    filterset_class = AchievementFilter
    write_scopes = DEFINITION_WRITERS
    queryset = Achievement.objects.none()

    def get_queryset(self):
        return selectors.achievement_list(program=self.program)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}

    def _campaign(self, campaign_id: int) -> Campaign:
        campaign = self.program.campaigns.filter(pk=campaign_id).first()
        if campaign is None:
            raise ApplicationError(
                f"There is no campaign {campaign_id} in this program.", field="campaign_id"
            )
        return campaign

    def _user(self):
        """The staff user, or for an API key the user who issued it (Talon.One's userId)."""
        user = self.request.user
        if getattr(user, "pk", None):
            return user
        return getattr(self.request.auth, "created_by", None)

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        enabled = data.pop("enabled", True)
        campaign = self._campaign(data.pop("campaign_id"))
        achievement = services.achievement_create(
            campaign=campaign, created_by=self._user(), **data
        )
        serializer.instance = services.achievement_enable(achievement=achievement,
                                                          enabled=enabled)

    def perform_update(self, serializer):
        """`enabled` switches the achievement off or on even while its campaign runs; the
        other fields follow the edit lock."""
        data = dict(serializer.validated_data)
        enabled = data.pop("enabled", None)
        if "campaign_id" in data:
            data["campaign"] = self._campaign(data.pop("campaign_id"))
        achievement = services.achievement_update(achievement=serializer.instance, data=data)
        if enabled is not None:
            achievement = services.achievement_enable(achievement=achievement, enabled=enabled)
        serializer.instance = achievement

    def perform_destroy(self, instance):
        services.achievement_delete(achievement=instance)


class CustomerScopedMixin(ProgramScopedMixin):
    def get_customer(self):
        return get_object_or_404(customer_list(program=self.program),
                                 integration_id=self.kwargs["integrationId"])


def _instant(value):
    """An aware datetime as DRF writes it (UTC, `Z`), or None."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _definition_fields(achievement: Achievement) -> dict:
    """The definition half of AchievementProgressWithDefinition, built once per cached
    definition (the object is replaced when the program's definitions change)."""
    fields = achievement.__dict__.get("_api_definition_fields")
    if fields is None:
        body = {
            "achievementId": achievement.pk,
            "name": achievement.name,
            "title": achievement.title,
            "description": achievement.description,
            "campaignId": achievement.campaign_id,
            "target": NUMBER.to_representation(achievement.target),
            "achievementRecurrencePolicy": achievement.recurrence_policy,
            "achievementActivationPolicy": achievement.activation_policy,
            "achievementFixedStartDate": _instant(achievement.fixed_start_date),
            "achievementEndDate": _instant(achievement.end_date),
        }
        fields = {key: value for key, value in body.items() if value is not None}
        achievement.__dict__["_api_definition_fields"] = fields
    return fields


def progress_with_definition(standing: selectors.CustomerAchievement) -> dict:
    """AchievementProgressWithDefinition as plain camelCase JSON. The hot read path builds it
    directly: a DRF serializer and the camelCase renderer cost ten times as much for the same
    bytes (AchievementProgressWithDefinitionSerializer describes it in the schema and is
    kept equal by the tests)."""
    record = standing.record
    body = {"status": standing.status, "progress": NUMBER.to_representation(standing.progress)}
    if record is not None:
        for key, value in (("startDate", record.start_date),
                           ("completionDate", record.completion_date),
                           ("endDate", record.end_date)):
            if value is not None:
                body[key] = _instant(value)
    body.update(_definition_fields(standing.achievement))
    return body


NUMBER = NumberField()


@extend_schema(
    summary="A customer's progress in every achievement (AchievementProgressWithDefinition)",
    parameters=[
        OpenApiParameter("campaignIds", str, description="Comma-separated campaign ids, "
                         "e.g. 3,4."),
        OpenApiParameter("status", str, description="Comma-separated statuses: inprogress, "
                         "completed, expired, not_started."),
    ],
)
class CustomerAchievementListApi(CustomerScopedMixin, generics.ListAPIView):
    serializer_class = AchievementProgressWithDefinitionSerializer
    filter_backends = []
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer]  # the body is camelCase already

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([progress_with_definition(s) for s in page])

    def get_queryset(self):
        filters = CustomerAchievementFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        standings = selectors.customer_achievement_list_by_integration_id(
            program=self.program,
            integration_id=self.kwargs["integrationId"],
            now=timezone.now(),
            campaign_ids=filters.validated_data.get("campaign_ids"),
            statuses=filters.validated_data.get("status"),
        )
        if standings is None:
            raise Http404("No Customer matches the given query.")
        return standings


@extend_schema(summary="Every iteration of a customer in one achievement, newest first",
               parameters=[OpenApiParameter("status", str, description="Comma-separated.")])
class CustomerAchievementHistoryApi(CustomerScopedMixin, generics.ListAPIView):
    serializer_class = AchievementIterationSerializer
    filter_backends = []

    def get_queryset(self):
        filters = CustomerAchievementFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        achievement = get_object_or_404(selectors.achievement_list(program=self.program),
                                        pk=self.kwargs["achievementId"])
        rows = selectors.customer_achievement_history(
            customer=self.get_customer(), achievement=achievement,
            statuses=filters.validated_data.get("status"), now=timezone.now(),
        )
        return [{"record": record, "status": status} for record, status in rows]


CSV_COLUMNS = ("profileIntegrationID", "title", "target", "progress", "status", "startDate",
               "endDate", "completionDate")


class _Echo:
    def write(self, value):
        return value


@extend_schema(
    summary="Every customer's current progress in an achievement (?format=csv exports it)",
    parameters=[
        OpenApiParameter("status", str, enum=["inprogress", "completed", "expired"]),
        OpenApiParameter("format", str, enum=["json", "csv"],
                         description="csv: the whole list as a CSV download (text/csv, not "
                         "paged); cells a spreadsheet would run as formulas start with '."),
    ],
    responses={
        (200, "application/json"): CustomerProgressSerializer(many=True),
        (200, "text/csv"): OpenApiResponse(
            response=OpenApiTypes.STR,
            description="Columns: " + ", ".join(CSV_COLUMNS) + ".",
        ),
    },
)
class AchievementProgressListApi(ProgramScopedMixin, generics.ListAPIView):
    serializer_class = CustomerProgressSerializer
    filter_backends = []
    renderer_classes = [*api_settings.DEFAULT_RENDERER_CLASSES, CSVRenderer]

    def get_achievement(self) -> Achievement:
        return get_object_or_404(selectors.achievement_list(program=self.program),
                                 pk=self.kwargs["pk"])

    def handle_exception(self, exc):
        # Errors are JSON (the one error shape), also when the CSV export was asked for.
        self.request.accepted_renderer = CamelCaseJSONRenderer()
        self.request.accepted_media_type = CamelCaseJSONRenderer.media_type
        return super().handle_exception(exc)

    def get_queryset(self):
        status = self.request.query_params.get("status") or None
        if status not in (None, "inprogress", "completed", "expired"):
            raise ApplicationError("status must be inprogress, completed or expired.",
                                   field="status")
        return selectors.achievement_progress_list(
            achievement=self.get_achievement(), now=timezone.now(), status=status
        )

    def list(self, request, *args, **kwargs):
        if request.accepted_renderer.format != "csv":
            return super().list(request, *args, **kwargs)
        achievement = self.get_achievement()
        writer = csv.writer(_Echo())

        def rows():
            yield writer.writerow(CSV_COLUMNS)
            for record in self.get_queryset().iterator(chunk_size=2000):
                yield writer.writerow([
                    csv_safe(record.customer.integration_id), csv_safe(achievement.title),
                    plain_number(achievement.target), plain_number(record.progress),
                    record.current_status, record.start_date.isoformat(),
                    record.end_date.isoformat() if record.end_date else "",
                    record.completion_date.isoformat() if record.completion_date else "",
                ])

        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="achievement-{achievement.pk}-progress.csv"'
        )
        return response




def _default_values(rows: list) -> list[Decimal]:
    """`defaultValues` as Capillary sends them ({defaultValue: 500}) or as plain numbers."""
    values = []
    for row in rows:
        raw = row.get("default_value") if isinstance(row, dict) else row
        try:
            values.append(Decimal(str(raw)))
        except (ArithmeticError, ValueError) as exc:
            raise ApplicationError(f"'{raw}' is not a number.", field="default_values") from exc
    return values


@extend_schema_view(
    list=extend_schema(summary="List target groups (milestones and streaks)"),
    create=extend_schema(summary="Create a target group with its periods, targets and levels"),
    partial_update=extend_schema(
        request=TargetGroupUpdateSerializer,
        summary="Change name, description, activity, expressions, filters or target values",
    ),
)
class TargetGroupViewSet(ProgramScopedMixin, CrudViewSet):
    serializer_class = TargetGroupSerializer
    queryset = TargetGroup.objects.none()
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    write_scopes = DEFINITION_WRITERS

    def get_queryset(self):
        return selectors.target_group_list(program=self.program)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        targets = []
        for row in data.pop("targets"):
            row = dict(row)
            row.pop("id", None)
            row["default_values"] = _default_values(row.pop("values", []))
            targets.append(row)
        serializer.instance = services.target_group_create(
            program=self.program, targets=targets, streaks=data.pop("levels", None),
            periods=data.pop("periods", None), **data,
        )

    def partial_update(self, request, *args, **kwargs):
        group = self.get_object()
        serializer = TargetGroupUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        for key in request.data:  # fields that cannot change: the service names them
            if key not in serializer.fields:
                data[key] = request.data[key]
        for row in data.get("targets") or []:
            if "default_values" in row:
                row["default_values"] = _default_values(row["default_values"])
        services.target_group_update(group=group, data=data)
        return Response(self.get_serializer(self.get_queryset().get(pk=group.pk)).data)

    def perform_destroy(self, instance):
        services.target_group_delete(group=instance)

@extend_schema(
    summary="A customer's streaks: counts, levels and the per-cycle ledger",
    parameters=[OpenApiParameter("targetGroupId", int)],
)
class CustomerStreakListApi(CustomerScopedMixin, generics.ListAPIView):
    serializer_class = CustomerStreakSerializer
    filter_backends = []

    def get_queryset(self):
        group_id = self.request.query_params.get("target_group_id")
        if group_id is not None and not group_id.isdigit():
            raise ApplicationError("targetGroupId must be a number.", field="target_group_id")
        return selectors.customer_streak_list(
            customer=self.get_customer(), now=timezone.now(),
            group_id=int(group_id) if group_id else None,
        )
