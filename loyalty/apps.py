from django.apps import AppConfig
from django.db.models.signals import m2m_changed, post_delete, post_save


def _definitions_changed(sender, instance, **kwargs) -> None:
    """Cache invalidation, not domain flow: a saved or deleted reward offer, classification or
    currency (or an offer's classifications changed) makes every process reload the program's
    cached definitions (loyalty.selectors.reward_offers_by_classification and
    achievements.selectors.program_definitions)."""
    from loyalty.services import program_definitions_changed

    if kwargs.get("action", "post").startswith("pre_"):
        return
    program_id = getattr(instance, "program_id", None)
    if program_id is not None:
        program_definitions_changed(program_id=program_id)


class LoyaltyConfig(AppConfig):
    name = "loyalty"
    verbose_name = "Loyalty"

    def ready(self) -> None:
        from loyalty.models import Classification, Currency, RewardOffer

        for model in (RewardOffer, Classification, Currency):
            uid = f"laurel-definitions-{model._meta.label_lower}"
            post_save.connect(_definitions_changed, sender=model, dispatch_uid=uid + "-save")
            post_delete.connect(_definitions_changed, sender=model, dispatch_uid=uid + "-del")
        m2m_changed.connect(_definitions_changed, sender=RewardOffer.classifications.through,
                            dispatch_uid="laurel-definitions-rewardoffer-classifications")
