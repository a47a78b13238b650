"""The admin's "Simulate before you launch": the achievement form as typed (saved or not)
run over the program's stored events with the same fold as ingestion, writing nothing.

The answer streams NDJSON so the page can show progress while a large program is folded:
`{"progress": customers done, "total": customers of the program}` lines, then one
`{"result": ...}` line (or `{"error": ...}`). It lives in `events` because the events it reads
are this app's; the form it parses is the achievement admin's own.
"""

import copy
import json
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_POST

from achievements.forms import AchievementForm
from achievements.models import Achievement
from achievements.services import EDITABLE_FIELDS
from events.api.serializers import AchievementSimulationSerializer
from events.simulation import achievement_simulate_steps
from loyalty.models import Customer

DEFAULT_DAYS = 90


def _candidate(data, obj: Achievement | None) -> tuple[Achievement | None, list[str]]:
    """The definition the form describes, unsaved: the stored one with what the form posts
    changed (locked fields are not posted and keep their values), or a new one."""
    candidate = copy.copy(obj) if obj is not None else Achievement(name="Simulation",
                                                                   title="Simulation")
    form = AchievementForm(data=data, instance=Achievement())
    form.is_valid()  # partial input is fine: only what is posted is read
    errors = []
    names = [name for name in (*EDITABLE_FIELDS, "campaign") if name in form.fields]
    for name in names:
        posted = name in data or any(key.startswith(f"{name}_") for key in data)
        if not posted:
            continue
        if name in form.errors:
            errors.append(f"{form.fields[name].label or name}: {form.errors[name][0]}")
        elif name in form.cleaned_data:
            value = form.cleaned_data[name]
            if value is None and name in ("period", "time_zone", "description"):
                value = ""
            setattr(candidate, name, value)
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
    if parsed is None and value:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
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
    candidate, errors = _candidate(request.POST, obj)
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
