from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


def _program_id(instance) -> int | None:
    """The program a definition row belongs to."""
    from achievements.models import (
        Achievement,
        StreakLevel,
        Target,
        TargetGroup,
        TargetPeriod,
        TargetValue,
    )

    if isinstance(instance, TargetGroup):
        return instance.program_id
    if isinstance(instance, Achievement):
        return instance.campaign.program_id
    if isinstance(instance, (Target, StreakLevel, TargetPeriod)):
        return instance.group.program_id
    if isinstance(instance, TargetValue):
        return instance.target.group.program_id
    return getattr(instance, "program_id", None)  # loyalty.Campaign


def _definitions_changed(sender, instance, **kwargs) -> None:
    """Cache invalidation, not domain flow: any saved or deleted definition row makes every
    process reload the program's definitions (achievements.selectors.program_definitions)."""
    from loyalty.services import program_definitions_changed

    program_id = _program_id(instance)
    if program_id is not None:
        program_definitions_changed(program_id=program_id)


class AchievementsConfig(AppConfig):
    name = "achievements"
    verbose_name = "Achievements"

    def ready(self) -> None:
        from achievements.models import (
            Achievement,
            StreakLevel,
            Target,
            TargetGroup,
            TargetPeriod,
            TargetValue,
        )
        from loyalty.models import Campaign

        for model in (Achievement, Campaign, TargetGroup, Target, TargetPeriod, TargetValue,
                      StreakLevel):
            uid = f"laurel-definitions-{model._meta.label_lower}"
            post_save.connect(_definitions_changed, sender=model, dispatch_uid=uid + "-save")
            post_delete.connect(_definitions_changed, sender=model, dispatch_uid=uid + "-del")
