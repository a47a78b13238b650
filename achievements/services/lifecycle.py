"""Disabling an achievement on its own, while its campaign runs on.

A running campaign's achievement cannot change its rules (customers are counted by them),
but it can stop: disabled, no event counts for it any more (the hot path's definitions leave
it out; saving it bumps the program's definitions version, so every process reloads them);
the progress, completions and rewards made so far stay. Enabling it again counts events from
then on.
"""

from datetime import datetime

from django.db import transaction

from achievements.models import Achievement


@transaction.atomic
def achievement_disable(*, achievement: Achievement, now: datetime) -> bool:
    """Disable; False when it already was."""
    achievement = Achievement.objects.select_for_update().get(pk=achievement.pk)
    if achievement.disabled_at is not None:
        return False
    achievement.disabled_at = now
    achievement.save(update_fields=["disabled_at", "updated_at"])
    return True


@transaction.atomic
def achievement_enable(*, achievement: Achievement) -> bool:
    """Enable again; False when it was not disabled."""
    achievement = Achievement.objects.select_for_update().get(pk=achievement.pk)
    if achievement.disabled_at is None:
        return False
    achievement.disabled_at = None
    achievement.save(update_fields=["disabled_at", "updated_at"])
    return True
