"""Switching one achievement off and on, whatever state its campaign is in."""

from django.db import transaction

from achievements.models import Achievement


@transaction.atomic
def achievement_enable(*, achievement: Achievement, enabled: bool) -> Achievement:
    """Stop (`enabled=False`) or resume counting events for one achievement. Progress,
    completions and awards stay as they are; the definitions cache reloads (post_save)."""
    if achievement.enabled == enabled:
        return achievement
    achievement.enabled = enabled
    achievement.save(update_fields=["enabled", "updated_at"])
    return achievement
