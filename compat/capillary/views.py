"""Capillary target groups over Laurel's streak services.

A target group, its periods, targets and streak levels are Laurel's own (the native API was
built from Capillary's seed); these views map Capillary's spellings (eventName, extendedFieldInfo,
defaultValues, periodStatus, customerId) and envelope onto `achievements.services` and
`events.services.enrolment_enrol`.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils import timezone
from djangorestframework_camel_case.parser import CamelCaseJSONParser
from djangorestframework_camel_case.render import CamelCaseJSONRenderer
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from achievements import selectors as achievement_selectors
from achievements import services as achievement_services
from achievements.models import Target, TargetGroup
from compat.auth import CapillaryAuthentication
from compat.capillary import errors
from compat.capillary.errors import CapillaryError, capillary_exception_handler, envelope
from compat.capillary.serializers import (
    CapillaryBooleanEnvelopeSerializer,
    CapillaryCustomerIdEnvelopeSerializer,
    CapillaryEnrolSerializer,
    CapillaryIsValidNameSerializer,
    CapillaryPeriodListEnvelopeSerializer,
    CapillaryTargetEditSerializer,
    CapillaryTargetGroupEnvelopeSerializer,
    CapillaryTargetGroupInputSerializer,
    CapillaryTargetGroupListEnvelopeSerializer,
    CapillaryTargetListEnvelopeSerializer,
    CapillaryUserProgressEnvelopeSerializer,
)
from config.exceptions import ApplicationError, ConflictError
from events import services as event_services
from loyalty.api.mixins import request_api_key
from loyalty.models import ApiKey, Program
from loyalty.selectors import customer_list

TAG = "Capillary"
# Capillary's event names and Laurel's event types.
EVENT_NAMES_IN = {"TRANSACTIONADD": "PURCHASE", "ADD_TRANSACTION": "PURCHASE",
                  "RETURNBILL": "RETURN", "RETURN_BILL": "RETURN"}
EVENT_NAMES_OUT = {"PURCHASE": "TransactionAdd", "RETURN": "ReturnBill"}
LAUREL_EVENT_TYPES = {"PURCHASE", "RETURN", "CUSTOM", "VISIT", "REFERRAL", "SIGN_UP",
                      "ACHIEVEMENT"}
PERIOD_STATUS = {"UPCOMING": "NOT_STARTED", "RUNNING": "RUNNING", "ENDED": "ENDED"}


def _z(value: datetime | None) -> str | None:
    """Capillary's cycle bounds: 2023-11-17T00:00:00.000Z."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _attribution(value: datetime) -> str:
    """Capillary's attribution stamps: 2024-04-11T12:25:09.000+0000."""
    return _z(value).removesuffix("Z") + "+0000"


def _day(value: datetime, tz: ZoneInfo, *, end: bool = False) -> str:
    """A period bound as Capillary's date: the last day a half-open end still covers."""
    if end:
        value -= timedelta(microseconds=1)
    return value.astimezone(tz).date().isoformat()


def _number(value: Decimal) -> float | int:
    return int(value) if value == value.to_integral_value() else float(value)


def event_name_in(entity: str, name: str | None) -> str:
    if not name:
        return "PURCHASE" if entity in (Target.Entity.TRANSACTION, Target.Entity.LINEITEM) else ""
    if name.upper() in EVENT_NAMES_IN:
        return EVENT_NAMES_IN[name.upper()]
    return name.upper() if name.upper() in LAUREL_EVENT_TYPES else "CUSTOM"


def _default_values(rows: list, *, field: str) -> list[Decimal]:
    values = []
    for row in rows:
        raw = row.get("default_value") if isinstance(row, dict) else row
        try:
            values.append(Decimal(str(raw)))
        except (InvalidOperation, ValueError):
            raise CapillaryError(errors.INVALID_INPUT,
                                 f"{field}: '{raw}' is not a number.") from None
    return values


class IsManagementKey(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        api_key = request_api_key(request)
        return bool(api_key and api_key.program_id and api_key.scope == ApiKey.Scope.MANAGEMENT)


class CapillaryApiView(APIView):
    authentication_classes = [CapillaryAuthentication]
    permission_classes = [IsManagementKey]
    parser_classes = [CamelCaseJSONParser]
    renderer_classes = [CamelCaseJSONRenderer]

    def get_exception_handler(self):
        return capillary_exception_handler

    @property
    def program(self) -> Program:
        return request_api_key(self.request).program

    def group(self, group_id) -> TargetGroup:
        group = achievement_selectors.target_group_list(program=self.program).filter(
            pk=int(group_id)).first()
        if group is None:
            raise CapillaryError(errors.GROUP_NOT_FOUND,
                                 f"Target group {group_id} not found or deactivated.",
                                 status=status.HTTP_404_NOT_FOUND)
        return group

    def target(self, group: TargetGroup, target_id) -> Target:
        target = next((t for t in group.targets.all() if t.pk == int(target_id)), None)
        if target is None:
            raise CapillaryError(errors.TARGET_NOT_FOUND,
                                 f"Target rule {target_id} not found in group {group.pk}.",
                                 status=status.HTTP_404_NOT_FOUND)
        return target

    def group_body(self, group: TargetGroup, *, now: datetime, periods: bool = True) -> dict:
        tz = ZoneInfo(group.time_zone or group.program.time_zone)
        rows = list(group.periods.all())
        body = {
            "id": group.pk, "name": group.name, "description": group.description,
            "active": group.active, "preferred_till_id": group.preferred_till_id,
            "tracking_type": group.tracking_type,
            "target_evaluation_type": group.target_evaluation_type,
            "total_periods": group.total_periods, "frequency_type": group.frequency_type,
            "frequency": group.frequency, "recurring_cycles": group.recurring_cycles,
            "time_zone_name": group.time_zone or group.program.time_zone,
            "user_created": False, "leaderboard_enabled": False,
            "target_cycle_start_date": _z(rows[0].start_date) if rows else None,
            "target_cycle_end_date": _z(rows[-1].end_date) if rows else None,
        }
        if periods:
            body["periods"] = [{
                "id": p.pk, "ref_code": p.ref_code,
                "start_date": _day(p.start_date, tz), "end_date": _day(p.end_date, tz, end=True),
                "start_date_with_time_stamp": _z(p.start_date),
                "end_date_with_time_stamp": _z(p.end_date),
                "period_status": PERIOD_STATUS[achievement_selectors.period_status(
                    start=p.start_date, end=p.end_date, now=now)],
                "target_group_id": group.pk, "description": p.description, "active": p.active,
            } for p in rows]
        body["targets"] = [self.target_body(t) for t in group.targets.all()]
        body["streaks"] = [{"id": level.pk, "target_group_id": group.pk, "name": level.name,
                            "target_count_of_sequence": level.target_count_of_sequence}
                           for level in group.levels.all()]
        return body

    def target_body(self, target: Target) -> dict:
        extended = None
        if target.target_entity == Target.Entity.ALTERNATE_CURRENCIES:
            extended = {"alternate_currency_identifier": target.alternate_currency_identifier,
                        "program_id": target.alternate_program_id or self.program.pk}
        elif target.attribute_name:
            extended = {"name": target.attribute_name, "aggregate_function": "SUM"}
        return {
            "id": target.pk, "name": target.name, "target_type": target.target_type,
            "target_entity": target.target_entity,
            "event_name": EVENT_NAMES_OUT.get(target.event_name, target.event_name or None),
            "target_group_id": target.group_id, "description": target.description,
            "active": target.active, "expression": target.expression,
            "filters": target.filters, "enrolment_method": target.enrolment_method,
            "default_values": [{"id": v.pk, "period_id": v.period_id,
                                "default_value": _number(v.value)} for v in target.values.all()],
            "extended_field_info": extended,
        }

    def reread(self, group: TargetGroup) -> TargetGroup:
        return achievement_selectors.target_group_list(program=self.program).get(pk=group.pk)


def _time_zone(raw) -> ZoneInfo | None:
    try:
        return ZoneInfo(raw) if isinstance(raw, str) and raw else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _target_row(row: dict, *, index: int, program: Program) -> dict:
    entity = row["target_entity"]
    extended = row.get("extended_field_info") or {}
    target = {
        "name": row["name"], "description": row.get("description", ""),
        "active": row.get("active", True), "target_entity": entity,
        "target_type": row["target_type"],
        "event_name": event_name_in(entity, row.get("event_name")),
        "expression": row.get("expression") or "true",
        "filters": row.get("filters") or [],
        "default_values": _default_values(row.get("default_values") or [],
                                          field=f"targets.{index}.defaultValues"),
    }
    if row.get("enrolment_method"):
        target["enrolment_method"] = row["enrolment_method"]
    if entity == Target.Entity.ALTERNATE_CURRENCIES:
        if not extended:
            raise CapillaryError(errors.METADATA_REQUIRED,
                                 "Target rule metadata (extendedFieldInfo) is required in case "
                                 "of ALTERNATE_CURRENCIES target entity.")
        if not extended.get("alternate_currency_identifier"):
            raise CapillaryError(errors.INVALID_CURRENCY,
                                 "Invalid or null Alternate Currency Identifier for target rule.")
        if extended.get("program_id") not in (None, program.pk):
            raise CapillaryError(errors.INVALID_PROGRAM_ID, "Invalid program id.")
        target["alternate_currency_identifier"] = extended["alternate_currency_identifier"]
        target["alternate_program_id"] = extended.get("program_id")
    if row["target_type"] == Target.Kpi.EVENT_ATTRIBUTE:
        if not extended.get("name"):
            raise CapillaryError(errors.METADATA_REQUIRED,
                                 "Target rule metadata (extendedFieldInfo.name) is required in "
                                 "case of EVENT_ATTRIBUTE target type.")
        target["attribute_name"] = extended["name"]
    return target


GROUP_QUERY = [
    OpenApiParameter("includePeriods", bool, description="Default true."),
    OpenApiParameter("includeOnlyActive", bool, description="Default false."),
    OpenApiParameter("includeUserCreatedTargetGroups", bool,
                     description="Accepted; Laurel has no user-created groups."),
]


def _flag(request, name: str, default: bool) -> bool:
    raw = request.query_params.get(name)
    return default if raw is None else raw.lower() == "true"


class TargetGroupListApi(CapillaryApiView):
    @extend_schema(tags=[TAG], operation_id="capillary_target_groups_list",
                   summary="List target groups", parameters=GROUP_QUERY,
                   responses={200: CapillaryTargetGroupListEnvelopeSerializer})
    def get(self, request):
        groups = achievement_selectors.target_group_list(program=self.program)
        if _flag(request, "include_only_active", False):
            groups = groups.filter(active=True)
        periods = _flag(request, "include_periods", True)
        now = timezone.now()
        return Response(envelope([self.group_body(g, now=now, periods=periods)
                                  for g in groups]))

    @extend_schema(tags=[TAG], operation_id="capillary_target_groups_create",
                   summary="Create a target group (milestones or a streak) with its periods, "
                   "targets and streak levels", request=CapillaryTargetGroupInputSerializer,
                   responses={201: CapillaryTargetGroupEnvelopeSerializer,
                              400: CapillaryTargetGroupEnvelopeSerializer})
    def post(self, request):
        program = self.program
        raw = request.data if isinstance(request.data, dict) else {}
        tz = _time_zone(raw.get("time_zone_name")) or ZoneInfo(program.time_zone)
        body = CapillaryTargetGroupInputSerializer(data=request.data, context={"tz": tz})
        body.is_valid(raise_exception=True)
        data = body.validated_data
        if data["leaderboard_enabled"]:
            raise CapillaryError(errors.LEADERBOARD_NOT_ENABLED,
                                 "Leaderboard is not enabled for the org.")
        periods = [{"ref_code": p["ref_code"], "start_date": p["start_date"],
                    "end_date": p["end_date"], "description": p.get("description", ""),
                    "active": p.get("active", True)} for p in data.get("periods") or []]
        targets = [_target_row(row, index=i, program=program)
                   for i, row in enumerate(data["targets"])]
        fields = {
            "description": data.get("description", ""), "active": data["active"],
            "preferred_till_id": data.get("preferred_till_id"),
            "target_evaluation_type": data["target_evaluation_type"],
            "frequency": data["frequency"],
            "recurring_cycles": max(data["recurring_cycles"], 0),
        }
        if data.get("time_zone_name"):
            fields["time_zone"] = data["time_zone_name"]
        if not periods and data.get("from_date"):
            fields["start_date"] = data["from_date"]
        group = achievement_services.target_group_create(
            program=program, name=data["name"], tracking_type=data["tracking_type"],
            frequency_type=data["frequency_type"], targets=targets, periods=periods or None,
            streaks=[dict(level) for level in data.get("streaks") or []], **fields)
        return Response(envelope(self.group_body(self.reread(group), now=timezone.now())),
                        status=status.HTTP_201_CREATED)


class TargetGroupDetailApi(CapillaryApiView):
    @extend_schema(tags=[TAG], operation_id="capillary_target_groups_get",
                   summary="Get a target group", parameters=GROUP_QUERY,
                   responses={200: CapillaryTargetGroupEnvelopeSerializer,
                              404: CapillaryTargetGroupEnvelopeSerializer})
    def get(self, request, groupId):
        group = self.group(groupId)
        if _flag(request, "include_only_active", False) and not group.active:
            raise CapillaryError(errors.GROUP_NOT_FOUND,
                                 f"Target group {groupId} not found or deactivated.",
                                 status=status.HTTP_404_NOT_FOUND)
        return Response(envelope(self.group_body(
            group, now=timezone.now(), periods=_flag(request, "include_periods", True))))

    @extend_schema(tags=[TAG], operation_id="capillary_target_groups_delete",
                   summary="Delete a target group nobody is enrolled in",
                   responses={200: CapillaryBooleanEnvelopeSerializer})
    def delete(self, request, groupId):
        achievement_services.target_group_delete(group=self.group(groupId))
        return Response(envelope(True))


class TargetPeriodListApi(CapillaryApiView):
    @extend_schema(tags=[TAG], operation_id="capillary_target_periods_list",
                   summary="A target group's periods",
                   responses={200: CapillaryPeriodListEnvelopeSerializer})
    def get(self, request, groupId):
        body = self.group_body(self.group(groupId), now=timezone.now())
        return Response(envelope(body["periods"]))


class TargetListApi(CapillaryApiView):
    @extend_schema(tags=[TAG], operation_id="capillary_targets_list",
                   summary="A target group's target rules",
                   responses={200: CapillaryTargetListEnvelopeSerializer})
    def get(self, request, groupId):
        return Response(envelope([self.target_body(t)
                                  for t in self.group(groupId).targets.all()]))


NAME_TYPES = ("targetGroupName", "streakName", "targetName", "streakLevelName", "periodName")


class IsValidNameApi(CapillaryApiView):
    @extend_schema(tags=[TAG], operation_id="capillary_is_valid_name",
                   summary="Whether a name is free (case-insensitive) in this program",
                   request=CapillaryIsValidNameSerializer,
                   responses={200: CapillaryBooleanEnvelopeSerializer})
    def post(self, request):
        raw = request.data if isinstance(request.data, dict) else {}
        kind, value = raw.get("type"), raw.get("value")
        if kind not in NAME_TYPES:
            raise CapillaryError(errors.INVALID_KEY,
                                 f"Invalid key passed; type is one of {', '.join(NAME_TYPES)}.")
        if not isinstance(value, str) or not value.strip():
            raise CapillaryError(errors.INVALID_INPUT, "value: a name is required.")
        groups = achievement_selectors.target_group_list(program=self.program)
        taken = {
            "targetGroupName": groups.filter(name__iexact=value),
            "streakName": groups.filter(name__iexact=value),
            "targetName": groups.filter(targets__name__iexact=value),
            "streakLevelName": groups.filter(levels__name__iexact=value),
            "periodName": groups.filter(periods__ref_code__iexact=value),
        }[kind].exists()
        return Response(envelope(not taken))


class TargetGroupEditApi(CapillaryApiView):
    @extend_schema(tags=[TAG], operation_id="capillary_target_groups_edit",
                   summary="editTargetGroup: takes the name and the targets' expressions of "
                   "the group JSON; every other field is ignored",
                   request=CapillaryTargetGroupInputSerializer(partial=True),
                   responses={200: CapillaryTargetGroupEnvelopeSerializer})
    def put(self, request, groupId):
        group = self.group(groupId)
        raw = request.data if isinstance(request.data, dict) else {}
        update: dict = {}
        if "name" in raw:
            name = raw["name"]
            if not isinstance(name, str) or not name.strip() or len(name) > 200:
                raise CapillaryError(errors.INVALID_INPUT,
                                     "name: a name of 1 to 200 characters.")
            update["name"] = name
        existing = list(group.targets.all())
        rows = []
        for i, row in enumerate(raw.get("targets") or []):
            if not isinstance(row, dict) or "expression" not in row:
                continue
            target_id = row.get("id") or (existing[i].pk if i < len(existing) else None)
            expression = row["expression"]
            if isinstance(expression, bool):
                expression = "true" if expression else "false"
            rows.append({"id": target_id, "expression": str(expression)})
        if rows:
            update["targets"] = rows
        achievement_services.target_group_update(group=group, data=update)
        return Response(envelope(self.group_body(self.reread(group), now=timezone.now())))


class TargetEditApi(CapillaryApiView):
    @extend_schema(tags=[TAG], operation_id="capillary_target_edit",
                   summary="Edit a target (or a streak's target): expression, filters and "
                   "defaultValues", request=CapillaryTargetEditSerializer,
                   responses={200: CapillaryTargetGroupEnvelopeSerializer})
    def put(self, request, groupId, targetId):
        group = self.group(groupId)
        target = self.target(group, targetId)
        body = CapillaryTargetEditSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        row: dict = {"id": target.pk}
        for key in ("expression", "filters"):
            if key in body.validated_data:
                row[key] = body.validated_data[key]
        if "default_values" in body.validated_data:
            row["default_values"] = _default_values(body.validated_data["default_values"],
                                                    field="defaultValues")
        achievement_services.target_group_update(group=group, data={"targets": [row]})
        return Response(envelope(self.group_body(self.reread(group), now=timezone.now())))


def _one_customer(request) -> dict:
    rows = request.data
    if not isinstance(rows, list) or len(rows) != 1:
        raise CapillaryError(errors.INVALID_INPUT,
                             "Send an array with exactly one {customerId} record.")
    body = CapillaryEnrolSerializer(data=rows[0])
    body.is_valid(raise_exception=True)
    customer_id = body.validated_data["customer_id"]
    if isinstance(customer_id, bool) or not isinstance(customer_id, (int, str)) or (
            not str(customer_id).strip()) or (isinstance(customer_id, int) and customer_id <= 0):
        raise CapillaryError(errors.INVALID_USER, "Invalid userId / customerId.")
    return {**body.validated_data, "customer_id": customer_id}


class EnrolApi(CapillaryApiView):
    @extend_schema(tags=[TAG], operation_id="capillary_target_enroll",
                   summary="Enrol (or re-enrol) a customer in a target's group",
                   request=CapillaryEnrolSerializer(many=True),
                   responses={200: CapillaryCustomerIdEnvelopeSerializer})
    def post(self, request, groupId, targetId):
        group = self.group(groupId)
        self.target(group, targetId)
        data = _one_customer(request)
        period_name = data.get("period_name")
        if period_name and not any(p.ref_code == period_name for p in group.periods.all()):
            raise CapillaryError(errors.PERIOD_NOT_FOUND,
                                 f"Target period '{period_name}' not found.",
                                 status=status.HTTP_404_NOT_FOUND)
        try:
            event_services.enrolment_enrol(
                group=group, integration_id=str(data["customer_id"]), now=timezone.now(),
                reset_streak_status=data["reset_streak_status"])
        except ConflictError as exc:
            raise CapillaryError(errors.ALREADY_ENROLLED,
                                 "User already enrolled for the target.") from exc
        except ApplicationError as exc:
            if exc.field == "target_group":
                raise CapillaryError(errors.GROUP_NOT_FOUND,
                                     "Target group not found or deactivated.",
                                     status=status.HTTP_404_NOT_FOUND) from exc
            raise
        return Response(envelope(data["customer_id"]))


class UnenrolApi(CapillaryApiView):
    @extend_schema(tags=[TAG], operation_id="capillary_target_unenroll",
                   summary="Stop tracking a customer from now on (rewards paid stay)",
                   request=CapillaryEnrolSerializer(many=True),
                   responses={200: CapillaryCustomerIdEnvelopeSerializer})
    def post(self, request, groupId, targetId):
        group = self.group(groupId)
        self.target(group, targetId)
        data = _one_customer(request)
        customer = customer_list(program=self.program).filter(
            integration_id=str(data["customer_id"])).first()
        not_enrolled = CapillaryError(errors.NOT_ENROLLED, "User is not enrolled to this target.")
        if customer is None:
            raise not_enrolled
        try:
            achievement_services.enrolment_unenrol(group=group, customer=customer,
                                                   now=timezone.now())
        except ApplicationError as exc:
            raise not_enrolled from exc
        return Response(envelope(data["customer_id"]))


class UserTargetGroupsApi(CapillaryApiView):
    @extend_schema(
        tags=[TAG], operation_id="capillary_user_target_groups",
        summary="A customer's progress: per-period targets and streak levels",
        parameters=[
            OpenApiParameter("includeInactive", bool,
                             description="false (default): only the current period's row."),
            OpenApiParameter("targetRuleId", int)],
        responses={200: CapillaryUserProgressEnvelopeSerializer})
    def get(self, request, userId):
        customer = customer_list(program=self.program).filter(integration_id=userId).first()
        if customer is None:
            raise CapillaryError(errors.INVALID_USER, "Invalid userId / customerId.",
                                 status=status.HTTP_404_NOT_FOUND)
        include_inactive = _flag(request, "include_inactive", False)
        rule = request.query_params.get("target_rule_id")
        if rule is not None and not rule.isdigit():
            raise CapillaryError(errors.INVALID_INPUT, "targetRuleId must be a number.")
        now = timezone.now()
        groups = []
        for standing in achievement_selectors.customer_streak_list(customer=customer, now=now):
            enrolment = standing.enrolment
            group = enrolment.group
            target = next(iter(group.targets.filter(active=True).order_by("pk")), None)
            if target is None or (rule and int(rule) != target.pk):
                continue
            tz = ZoneInfo(group.time_zone or group.program.time_zone)
            rows = []
            for row in standing.cycles:
                period = row.period
                current = period.start_date <= now < period.end_date
                if not row.counted or not (include_inactive or current):
                    continue
                body = {
                    "target_id": row.cycle.pk if row.cycle else None,
                    "period_id": period.pk, "period_ref_code": period.ref_code,
                    "period_start_date": _day(period.start_date, tz),
                    "period_end_date": _day(period.end_date, tz, end=True),
                    "target_value": _number(row.target),
                    "target_achieved_value": _number(row.value),
                    "target_name": target.name, "target_type": target.target_type,
                    "target_entity": target.target_entity, "target_rule_id": target.pk,
                    "enrolled_on": _attribution(enrolment.enrolled_at),
                    "event_name": EVENT_NAMES_OUT.get(target.event_name,
                                                      target.event_name or None),
                    "period_start_date_with_time_stamp": _z(period.start_date),
                    "period_end_date_with_time_stamp": _z(period.end_date),
                    "current_period": current, "milestones": None,
                }
                if row.cycle is not None and row.cycle.met_at:
                    body["target_achieved_date_time"] = _attribution(row.cycle.met_at)
                rows.append(body)
            levels = {level.target_count_of_sequence: level for level in group.levels.all()}
            streak_rows = []
            for level in standing.levels:
                body = {"user_streak_id": enrolment.pk,
                        "streak_id": levels[level["target_count_of_sequence"]].pk,
                        "streak_name": level["name"], "status": level["status"],
                        "current_count": standing.current_count,
                        "total_target_count_of_sequence": level["target_count_of_sequence"]}
                if level["achieved_at"]:
                    body["streak_achieved_date_time"] = _attribution(level["achieved_at"])
                streak_rows.append(body)
            groups.append({"id": group.pk, "name": group.name,
                           "preferred_till_id": group.preferred_till_id, "targets": rows,
                           "streaks": streak_rows,
                           "target_evaluation_type": group.target_evaluation_type,
                           "tracking_type": group.tracking_type})
        user_id = int(userId) if userId.isdigit() else userId
        return Response(envelope({"user_id": user_id, "customer": {"id": user_id},
                                  "target_groups": groups}))
