"""Achievement definitions per program: /api/v1/programs/{programId}/achievements."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view

from achievements import selectors, services
from achievements.api.filters import AchievementFilter
from achievements.api.serializers import AchievementSerializer
from achievements.models import Achievement
from config.exceptions import ApplicationError
from loyalty.api.mixins import ProgramScopedMixin
from loyalty.api.permissions import DEFINITION_WRITERS
from loyalty.api.views import CrudViewSet
from loyalty.models import Campaign


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
        campaign = self._campaign(data.pop("campaign_id"))
        serializer.instance = services.achievement_create(
            campaign=campaign, created_by=self._user(), **data
        )

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        if "campaign_id" in data:
            data["campaign"] = self._campaign(data.pop("campaign_id"))
        serializer.instance = services.achievement_update(
            achievement=serializer.instance, data=data
        )

    def perform_destroy(self, instance):
        services.achievement_delete(achievement=instance)
