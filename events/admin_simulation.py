"""The admin's "Simulate before you launch": the achievement form as typed (saved or not)
run over the program's stored events with the same fold as ingestion, writing nothing.

The answer streams NDJSON so the page can show progress while a large program is folded:
`{"progress": customers done, "total": customers of the program}` lines, then one
`{"result": ...}` line (or `{"error": ...}`). It lives in `events` because the events it reads
are this app's; the form it parses is the achievement admin's own.
"""

import json
from datetime import datetime, timedelta

from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_POST

from achievements.forms import achievement_candidate
from achievements.models import Achievement
from achievements.services import EDITABLE_FIELDS
from events.api.serializers import AchievementSimulationSerializer
from events.simulation import achievement_simulate_steps
from loyalty.formatting import zone
from loyalty.models import Customer

DEFAULT_DAYS = 90


def _candidate(request, obj: Achievement | None) -> tuple[Achievement | None, list[str]]:
    """The definition the form describes, unsaved, read in the form's time zone as the
    achievement admin reads it (its preview uses the same function)."""
    model_admin = admin.site.get_model_admin(Achievement)
    with timezone.override(zone(model_admin.form_time_zone(request, obj))):
        candidate, errors = achievement_candidate(
            data=request.POST, obj=obj, fields=(*EDITABLE_FIELDS, "campaign"))
    if obj is None:
        candidate.name = candidate.title = "Simulation"
    if getattr(candidate, "campaign_id", None) is None:
        errors.append("Campaign: choose the campaign the achievement belongs to.")
    if not errors:
        try:
            candidate.clean()
        except ValidationError as exc:
            errors.extend(f"{field}: {'; '.join(messages)}"
                          for field, messages in exc.message_dict.items())
    return (None if errors else candidate), errors


def _instant(value: str, default: datetime) -> datetime:
    parsed = parse_datetime(value) if value else None
    if parsed is None:
        return default
    return parsed if parsed.tzinfo else timezone.make_aware(parsed)


@require_POST
def simulate_view(request):
    object_id = request.POST.get("object_id")
    obj = None
    if object_id and object_id.isdigit():
        obj = Achievement.objects.select_related("campaign__program",
                                                 "classification").filter(pk=object_id).first()
    if not request.user.has_perm("achievements.view_achievement"):
        raise PermissionDenied
    now = timezone.now()
    start = _instant(request.POST.get("simulate_from", ""), now - timedelta(days=DEFAULT_DAYS))
    end = _instant(request.POST.get("simulate_to", ""), now)
    candidate, errors = _candidate(request, obj)
    if candidate is not None and start >= end:
        errors, candidate = ["The range must end after it starts."], None

    def lines():
        if candidate is None:
            yield json.dumps({"error": "Cannot simulate: " + "; ".join(errors)}) + "\n"
            return
        program = candidate.campaign.program
        total = Customer.objects.filter(program=program).count()
        done = 0
        yield json.dumps({"progress": 0, "total": total}) + "\n"
        try:
            for step in achievement_simulate_steps(program=program, achievement=candidate,
                                                   start=start, end=end, at=min(end, now)):
                if isinstance(step, int):
                    done += step
                    yield json.dumps({"progress": done, "total": total}) + "\n"
                    continue
                body = AchievementSimulationSerializer(step).data
                yield json.dumps({"result": body, "from": start.isoformat(),
                                  "to": end.isoformat()}, default=str) + "\n"
        except Exception as exc:  # shown on the page, not a broken stream
            yield json.dumps({"error": "The simulation failed: "
                                       f"{type(exc).__name__}: {exc}"}) + "\n"

    return StreamingHttpResponse(lines(), content_type="application/x-ndjson")
