"""Talon.One achievements over Laurel's services.

Management API (`ManagementKey-v1 <management key>`): campaign achievements CRUD, the CSV
export and a customer's progress. Integration API (`ApiKey-v1 <integration key>`):
`POST /v2/events` (track_event_v2), a customer's achievements and an achievement's history.
An application is a Laurel program, a campaign a Laurel campaign, an integration id a
customer's integration id.
"""

import csv
import io
from datetime import datetime

from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from djangorestframework_camel_case.parser import CamelCaseJSONParser
from djangorestframework_camel_case.render import CamelCaseJSONRenderer
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions, renderers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from achievements import selectors as achievement_selectors
from achievements import services as achievement_services
from achievements.api.serializers import AchievementSerializer
from achievements.api.views import progress_with_definition
from achievements.models import Achievement
from compat.auth import TalonOneAuthentication
from compat.talon_one.errors import QueryParameterError, talon_exception_handler
from compat.talon_one.serializers import (
    TalonOneAchievementHistorySerializer,
    TalonOneCreateAchievementSerializer,
    TalonOneCustomerAchievementsSerializer,
    TalonOneCustomerInventorySerializer,
    TalonOneCustomerProgressSerializer,
    TalonOneErrorResponseSerializer,
    TalonOneEventV2RequestSerializer,
    TalonOneListAchievementsSerializer,
    TalonOneTrackEventV2ResponseSerializer,
)
from config.api.fields import NumberField, plain_number
from events import services as event_services
from events.models import CustomerEvent
from events.selectors import event_list
from loyalty.api.mixins import request_api_key
from loyalty.models import ApiKey, Campaign, Program
from loyalty.selectors import campaign_list, customer_list

# One tag for the adapter; the summaries name the SDK methods (Management or Integration API).
TAG_MANAGEMENT = TAG_INTEGRATION = "Talon.One"
NUMBER = NumberField()
ACHIEVEMENT_EFFECTS = ("increaseAchievementProgress", "rollbackIncreasedAchievementProgress")
ERRORS = {code: OpenApiResponse(TalonOneErrorResponseSerializer) for code in (400, 401, 404)}


def _instant(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


class HasTalonScope(permissions.BasePermission):
    """The Management API takes a management key, the Integration API an integration key
    (whatever the header's prefix: SDK 26.2 may send a management key as ApiKey-v1)."""

    def has_permission(self, request, view) -> bool:
        api_key = request_api_key(request)
        return bool(api_key and api_key.program_id and api_key.scope == view.key_scope)


class CSVOrJSONRenderer(renderers.BaseRenderer):
    """Lets `Accept: application/csv` (the SDK's export call) through negotiation; the view
    answers `text/csv` itself, the type the SDK can read."""

    media_type = "application/csv"
    format = "csv"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return b""


class TalonApiView(APIView):
    authentication_classes = [TalonOneAuthentication]
    permission_classes = [HasTalonScope]
    parser_classes = [CamelCaseJSONParser]
    renderer_classes = [CamelCaseJSONRenderer]
    key_scope = ApiKey.Scope.MANAGEMENT

    def get_exception_handler(self):
        return talon_exception_handler

    @property
    def program(self) -> Program:
        return request_api_key(self.request).program

    def query_int(self, name: str, *, default: int, low: int, high: int | None) -> int:
        raw = self.request.query_params.get(name)
        if raw in (None, ""):
            return default
        try:
            value = int(raw)
        except ValueError:
            raise QueryParameterError(name, "Must be an integer.") from None
        if value < low or (high is not None and value > high):
            bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise QueryParameterError(name, f"Must be {bounds}.")
        return value

    def query_list(self, name: str, *, allowed: set[str] | None = None) -> list[str] | None:
        raw = self.request.query_params.get(name)
        if raw in (None, ""):
            return None
        values = [v.strip() for v in raw.split(",") if v.strip()]
        if allowed is not None:
            unknown = sorted(set(values) - allowed)
            if unknown:
                raise QueryParameterError(
                    name, f"Unknown value {', '.join(unknown)}; use {', '.join(sorted(allowed))}.")
        return values

    def query_ids(self, name: str) -> set[int] | None:
        values = self.query_list(name)
        if values is None:
            return None
        if not all(v.isdigit() for v in values):
            raise QueryParameterError(name, "Use comma-separated numeric ids.")
        return {int(v) for v in values}

    def query_datetime(self, name: str) -> datetime | None:
        raw = self.request.query_params.get(name)
        if raw in (None, ""):
            return None
        try:
            value = parse_datetime(raw)
        except ValueError:
            value = None
        if value is None:
            raise QueryParameterError(name, "Use an RFC 3339 date-time.")
        return value if value.tzinfo else timezone.make_aware(value, timezone.UTC)


# Management API ---------------------------------------------------------------------------------
class ManagementApiView(TalonApiView):
    key_scope = ApiKey.Scope.MANAGEMENT

    def application(self, application_id: int) -> Program:
        """Another application (program) than the key's is a 404."""
        program = self.program
        if program.pk != int(application_id):
            raise Http404("No application with this id.")
        return program

    def campaign(self, application_id: int, campaign_id: int) -> Campaign:
        program = self.application(application_id)
        return get_object_or_404(campaign_list(program=program), pk=campaign_id)

    def achievement(self, application_id: int, campaign_id: int,
                    achievement_id: int) -> Achievement:
        campaign = self.campaign(application_id, campaign_id)
        return get_object_or_404(
            achievement_selectors.achievement_list(program=campaign.program),
            campaign=campaign, pk=achievement_id)

    def achievement_answer(self, achievement: Achievement, *, status_code=200) -> Response:
        # Re-read through the selector: has_progress and created_by come annotated.
        achievement = achievement_selectors.achievement_list(
            program=self.program).get(pk=achievement.pk)
        data = AchievementSerializer(achievement, context={"now": timezone.now()}).data
        return Response(data, status=status_code)

    def creator(self):
        return request_api_key(self.request).created_by


class AchievementListApi(ManagementApiView):
    @extend_schema(
        tags=[TAG_MANAGEMENT], operation_id="talon_one_list_achievements",
        summary="listAchievements", responses={200: TalonOneListAchievementsSerializer, **ERRORS},
        parameters=[OpenApiParameter("pageSize", int, description="1 to 50, default 50."),
                    OpenApiParameter("skip", int),
                    OpenApiParameter("title", str, description="Titles containing this text "
                                     "(case-insensitive).")])
    def get(self, request, applicationId: int, campaignId: int):
        campaign = self.campaign(applicationId, campaignId)
        page_size = self.query_int("page_size", default=50, low=1, high=50)
        skip = self.query_int("skip", default=0, low=0, high=None)
        achievements = achievement_selectors.achievement_list(
            program=campaign.program).filter(campaign=campaign).order_by("pk")
        title = request.query_params.get("title")
        if title:
            achievements = achievements.filter(title__icontains=title)
        page = list(achievements[skip:skip + page_size + 1])
        context = {"now": timezone.now()}
        return Response({
            "has_more": len(page) > page_size,
            "data": AchievementSerializer(page[:page_size], many=True, context=context).data,
        })

    @extend_schema(
        tags=[TAG_MANAGEMENT], operation_id="talon_one_create_achievement",
        summary="createAchievement", request=TalonOneCreateAchievementSerializer,
        responses={201: AchievementSerializer, 409: TalonOneErrorResponseSerializer, **ERRORS})
    def post(self, request, applicationId: int, campaignId: int):
        campaign = self.campaign(applicationId, campaignId)
        body = TalonOneCreateAchievementSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        achievement = achievement_services.achievement_create(
            campaign=campaign, created_by=self.creator(), **body.validated_data)
        return self.achievement_answer(achievement, status_code=status.HTTP_201_CREATED)


class AchievementDetailApi(ManagementApiView):
    @extend_schema(tags=[TAG_MANAGEMENT], operation_id="talon_one_get_achievement",
                   summary="getAchievement", responses={200: AchievementSerializer, **ERRORS})
    def get(self, request, applicationId: int, campaignId: int, achievementId: int):
        return self.achievement_answer(self.achievement(applicationId, campaignId,
                                                        achievementId))

    @extend_schema(tags=[TAG_MANAGEMENT], operation_id="talon_one_update_achievement",
                   summary="updateAchievement (absent fields stay; once customers have "
                   "progress or the campaign runs, only title and description change)",
                   request=TalonOneCreateAchievementSerializer,
                   responses={200: AchievementSerializer, **ERRORS})
    def put(self, request, applicationId: int, campaignId: int, achievementId: int):
        achievement = self.achievement(applicationId, campaignId, achievementId)
        body = TalonOneCreateAchievementSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        achievement = achievement_services.achievement_update(
            achievement=achievement, data=dict(body.validated_data))
        return self.achievement_answer(achievement)

    @extend_schema(tags=[TAG_MANAGEMENT], operation_id="talon_one_delete_achievement",
                   summary="deleteAchievement", responses={204: None, **ERRORS})
    def delete(self, request, applicationId: int, campaignId: int, achievementId: int):
        achievement_services.achievement_delete(
            achievement=self.achievement(applicationId, campaignId, achievementId))
        return Response(status=status.HTTP_204_NO_CONTENT)


CSV_COLUMNS = ("profileIntegrationID", "title", "target", "progress", "status", "startDate",
               "endDate", "completionDate")


class AchievementExportApi(ManagementApiView):
    renderer_classes = [CamelCaseJSONRenderer, CSVOrJSONRenderer]

    def handle_exception(self, exc):
        # Errors are JSON (ErrorResponseWithStatus) even when the SDK asked for CSV.
        self.request.accepted_renderer = CamelCaseJSONRenderer()
        self.request.accepted_media_type = CamelCaseJSONRenderer.media_type
        return super().handle_exception(exc)

    @extend_schema(tags=[TAG_MANAGEMENT], operation_id="talon_one_export_achievements",
                   summary="exportAchievements: every customer's current progress as CSV",
                   responses={(200, "text/csv"): OpenApiTypes.STR, **ERRORS})
    def get(self, request, applicationId: int, campaignId: int, achievementId: int):
        achievement = self.achievement(applicationId, campaignId, achievementId)
        tz = achievement_selectors.achievement_time_zone(achievement=achievement)
        rows = achievement_selectors.achievement_progress_list(achievement=achievement,
                                                               now=timezone.now())

        def local(value):
            return value.astimezone(tz).isoformat(timespec="seconds") if value else ""

        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for record in rows.iterator(chunk_size=2000):
            writer.writerow([record.customer.integration_id, achievement.title,
                             plain_number(achievement.target), plain_number(record.progress),
                             record.current_status, local(record.start_date),
                             local(record.end_date), local(record.completion_date)])
        return HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")


class CustomerProgressApi(ManagementApiView):
    @extend_schema(
        tags=[TAG_MANAGEMENT], operation_id="talon_one_get_customer_profile_achievement_progress",
        summary="getCustomerProfileAchievementProgress",
        responses={200: TalonOneCustomerProgressSerializer, **ERRORS},
        parameters=[OpenApiParameter("pageSize", int, description="1 to 50, default 50."),
                    OpenApiParameter("skip", int), OpenApiParameter("achievementId", int),
                    OpenApiParameter("title", str)])
    def get(self, request, applicationId: int, integrationId: str):
        program = self.application(applicationId)
        page_size = self.query_int("page_size", default=50, low=1, high=50)
        skip = self.query_int("skip", default=0, low=0, high=None)
        achievement_id = self.query_int("achievement_id", default=0, low=1, high=None)
        standings = achievement_selectors.customer_achievement_list_by_integration_id(
            program=program, integration_id=integrationId, now=timezone.now())
        if standings is None:
            raise Http404("No customer profile with this integration id.")
        if achievement_id:
            standings = [s for s in standings if s.achievement.pk == achievement_id]
        title = request.query_params.get("title")
        if title:
            standings = [s for s in standings if title.lower() in s.achievement.title.lower()]
        page = standings[skip:skip + page_size]
        return Response({"has_more": len(standings) > skip + page_size,
                         "data": [progress_with_definition(s) for s in page]})


# Integration API --------------------------------------------------------------------------------
class IntegrationApiView(TalonApiView):
    key_scope = ApiKey.Scope.INTEGRATION


def _record_body(record, status_value: str) -> dict:
    """Talon.One's AchievementProgress (absent dates are left out, as Talon.One does)."""
    body = {"status": status_value, "progress": NUMBER.to_representation(record.progress)}
    for key, value in (("start_date", record.start_date),
                       ("completion_date", record.completion_date),
                       ("end_date", record.end_date)):
        if value is not None:
            body[key] = _instant(value)
    return body


def _progress_body(standing) -> dict:
    if standing.record is None:
        return {"status": standing.status,
                "progress": NUMBER.to_representation(standing.progress)}
    return {**_record_body(standing.record, standing.status),
            "progress": NUMBER.to_representation(standing.progress)}


STATUS_ENTRY_FIELDS = ("id", "created", "name", "title", "description", "target", "period",
                       "period_end_override", "recurrence_policy", "activation_policy",
                       "fixed_start_date", "end_date", "allow_rollback_after_completion",
                       "campaign_id")


def achievement_availability(achievement: Achievement, now: datetime) -> str | None:
    """`active`, `scheduled` (a fixed start in the future) or None (ended: not listed)."""
    if achievement.end_date and now >= achievement.end_date:
        return None
    if achievement.fixed_start_date and now < achievement.fixed_start_date:
        return "scheduled"
    return "active"


class CustomerAchievementListApi(IntegrationApiView):
    @extend_schema(
        tags=[TAG_INTEGRATION], operation_id="talon_one_get_customer_achievements",
        summary="getCustomerAchievements",
        responses={200: TalonOneCustomerAchievementsSerializer, **ERRORS},
        parameters=[
            OpenApiParameter("campaignIds", str, description="Comma-separated campaign ids."),
            OpenApiParameter("achievementIds", str, description="Comma-separated ids."),
            OpenApiParameter("achievementStatus", str,
                             description="active, scheduled (default: active)."),
            OpenApiParameter("currentProgressStatus", str,
                             description="inprogress, completed, not_started."),
            OpenApiParameter("pageSize", int, description="1 to 1000, default 1000."),
            OpenApiParameter("skip", int)])
    def get(self, request, integrationId: str):
        campaign_ids = self.query_ids("campaign_ids")
        achievement_ids = self.query_ids("achievement_ids")
        availability = set(self.query_list("achievement_status",
                                           allowed={"active", "scheduled"}) or ["active"])
        progress_statuses = self.query_list("current_progress_status",
                                            allowed={"inprogress", "completed", "not_started"})
        page_size = self.query_int("page_size", default=1000, low=1, high=1000)
        skip = self.query_int("skip", default=0, low=0, high=None)
        now = timezone.now()
        standings = achievement_selectors.customer_achievement_list_by_integration_id(
            program=self.program, integration_id=integrationId, now=now,
            campaign_ids=campaign_ids, statuses=progress_statuses)
        if standings is None:
            raise Http404("No customer profile with this integration id.")
        entries = []
        for standing in standings:
            achievement = standing.achievement
            state = achievement_availability(achievement, now)
            if state not in availability:
                continue
            if achievement_ids is not None and achievement.pk not in achievement_ids:
                continue
            entries.append((standing, state))
        page = entries[skip:skip + page_size]
        definitions = AchievementSerializer([s.achievement for s, _ in page], many=True,
                                            context={"now": now}).data
        data = []
        for (standing, state), definition in zip(page, definitions, strict=True):
            entry = {key: definition[key] for key in STATUS_ENTRY_FIELDS
                     if definition.get(key) not in (None, "")}
            entry["status"] = state
            entry["current_progress"] = _progress_body(standing)
            data.append(entry)
        return Response({"total_result_size": len(entries), "data": data})


class CustomerAchievementHistoryApi(IntegrationApiView):
    @extend_schema(
        tags=[TAG_INTEGRATION], operation_id="talon_one_get_customer_achievement_history",
        summary="getCustomerAchievementHistory: every iteration, newest first",
        responses={200: TalonOneAchievementHistorySerializer, **ERRORS},
        parameters=[
            OpenApiParameter("progressStatus", str,
                             description="Comma-separated: inprogress, completed, expired."),
            OpenApiParameter("startDate", OpenApiTypes.DATETIME,
                             description="Iterations started on or after."),
            OpenApiParameter("endDate", OpenApiTypes.DATETIME,
                             description="Iterations started on or before."),
            OpenApiParameter("pageSize", int, description="1 to 1000, default 1000."),
            OpenApiParameter("skip", int)])
    def get(self, request, integrationId: str, achievementId: int):
        statuses = self.query_list("progress_status",
                                   allowed={"inprogress", "completed", "expired"})
        start = self.query_datetime("start_date")
        end = self.query_datetime("end_date")
        page_size = self.query_int("page_size", default=1000, low=1, high=1000)
        skip = self.query_int("skip", default=0, low=0, high=None)
        program = self.program
        customer = get_object_or_404(customer_list(program=program),
                                     integration_id=integrationId)
        achievement = get_object_or_404(
            achievement_selectors.achievement_list(program=program), pk=achievementId)
        rows = achievement_selectors.customer_achievement_history(
            customer=customer, achievement=achievement, statuses=statuses, now=timezone.now())
        rows = [(r, s) for r, s in rows
                if (start is None or r.start_date >= start)
                and (end is None or r.start_date <= end)]
        return Response({"total_result_size": len(rows),
                         "data": [_record_body(r, s) for r, s in rows[skip:skip + page_size]]})


class CustomerInventoryApi(IntegrationApiView):
    @extend_schema(
        tags=[TAG_INTEGRATION], operation_id="talon_one_get_customer_inventory",
        summary="getCustomerInventory: with achievements=true, the customer's progress in "
        "every achievement (coupons, referrals, loyalty and giveaways are not Laurel's)",
        responses={200: TalonOneCustomerInventorySerializer, **ERRORS},
        parameters=[OpenApiParameter("achievements", bool)])
    def get(self, request, integrationId: str):
        standings = achievement_selectors.customer_achievement_list_by_integration_id(
            program=self.program, integration_id=integrationId, now=timezone.now())
        if standings is None:
            raise Http404("No customer profile with this integration id.")
        if _flag(request, "achievements"):
            return Response({"achievements": [progress_with_definition(s) for s in standings]})
        return Response({})


def _flag(request, name: str) -> bool:
    raw = (request.query_params.get(name) or "false").lower()
    if raw not in ("true", "false"):
        raise QueryParameterError(name, "Use true or false.")
    return raw == "true"


class TrackEventV2Api(IntegrationApiView):
    """A custom event of a customer: Laurel stores it as a CUSTOM event (the Talon.One event
    type kept as its description) and counts it toward the program's achievements."""

    @extend_schema(
        tags=[TAG_INTEGRATION], operation_id="talon_one_track_event_v2",
        summary="trackEventV2: a custom event; the effects show the achievement progress",
        request=TalonOneEventV2RequestSerializer,
        responses={200: TalonOneTrackEventV2ResponseSerializer, 204: None, **ERRORS},
        parameters=[
            OpenApiParameter("silent", str, enum=["yes", "no"],
                             description="yes: answer 204 without a body. Default no."),
            OpenApiParameter("dry", bool, description="Evaluate without storing anything."),
            OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER,
                             description="A retry with the same key returns the original "
                             "result and counts once.")])
    def post(self, request):
        body = TalonOneEventV2RequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        silent = (request.query_params.get("silent") or "no").lower()
        if silent not in ("yes", "no"):
            raise QueryParameterError("silent", "Use yes or no.")
        dry = (request.query_params.get("dry") or "false").lower()
        if dry not in ("true", "false"):
            raise QueryParameterError("dry", "Use true or false.")
        program = self.program
        now = timezone.now()
        idempotency_key = request.headers.get("Idempotency-Key", "")
        if idempotency_key:  # a retry names the moment of the original
            original = event_list(program=program).filter(
                idempotency_key=idempotency_key).first()
            now = original.performed_on if original else now
        data = body.validated_data
        event = {"customer": data["profile_id"], "type": CustomerEvent.Type.CUSTOM,
                 "description": data["type"], "performed_on": now,
                 "attributes": data.get("attributes") or {}}
        if data.get("store_integration_id"):
            event["performed_by_unit"] = data["store_integration_id"]
        if dry == "true":
            with transaction.atomic():
                result = event_services.event_ingest(program=program, data=event, now=now,
                                                     idempotency_key="")
                answer = self.answer(result)
                transaction.set_rollback(True)
        else:
            result = event_services.event_ingest(program=program, data=event, now=now,
                                                 idempotency_key=idempotency_key)
            answer = self.answer(result)
        if silent == "yes":
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(answer)

    def answer(self, result) -> dict:
        event = result.event
        effects = [e for e in result.effects if e.get("effectType") in ACHIEVEMENT_EFFECTS]
        campaigns = dict(achievement_selectors.achievement_list(program=self.program).filter(
            pk__in={e["achievementId"] for e in effects}).values_list("pk", "campaign_id"))
        talon_effects = [{
            "campaign_id": campaigns.get(e["achievementId"], 0),
            "ruleset_id": 0, "rule_index": 0,
            "rule_name": f"Count toward {e['achievementName']}",
            "effect_type": e["effectType"],
            "props": {k: v for k, v in e.items() if k != "effectType"},
        } for e in effects]
        body = {"id": event.pk, "created": _instant(event.received_at),
                "application_id": self.program.pk,
                "profile_id": event.customer.integration_id, "type": event.description,
                "attributes": event.attributes, "effects": talon_effects}
        if event.performed_by_unit:
            body["store_integration_id"] = event.performed_by_unit
        return {"event": body, "effects": talon_effects, "created_coupons": [],
                "created_referrals": []}
