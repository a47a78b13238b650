"""Switching one achievement off and on, while its campaign runs on (or whatever its state).

A running campaign's achievement cannot change its rules (customers are counted by them),
but it can stop: disabled, no event counts for it any more (the hot path's definitions leave
it out; saving it bumps the program's definitions version, so every process reloads them);
the progress, completions and rewards made so far stay. Enabling it again counts events from
then on.
"""

from django.db import transaction

from achievements.models import Achievement


@transaction.atomic
def achievement_switch(*, achievement: Achievement, enabled: bool) -> bool:
    """Enable or disable; True when that changed anything."""
    locked = Achievement.objects.select_for_update().get(pk=achievement.pk)
    if locked.enabled == enabled:
        achievement.enabled = enabled
        return False
    locked.enabled = achievement.enabled = enabled
    locked.save(update_fields=["enabled", "updated_at"])
    return True


def achievement_enable(*, achievement: Achievement, enabled: bool = True) -> Achievement:
    """Resume (`enabled=True`) or stop (`enabled=False`) counting events for one
    achievement."""
    achievement_switch(achievement=achievement, enabled=enabled)
    return achievement


def achievement_disable(*, achievement: Achievement) -> bool:
    """Stop counting events for one achievement; False when it already was disabled."""
    return achievement_switch(achievement=achievement, enabled=False)
