"""GET /api/v1/: what the API offers."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

PROGRAM = "/api/v1/programs/{programId}"
RESOURCES = {
    "programs": "/api/v1/programs",
    "campaigns": f"{PROGRAM}/campaigns",
    "customers": f"{PROGRAM}/customers",
    "customerWallet": f"{PROGRAM}/customers/{{integrationId}}/wallet",
    "customerAchievements": f"{PROGRAM}/customers/{{integrationId}}/achievements",
    "customerStreaks": f"{PROGRAM}/customers/{{integrationId}}/streaks",
    "currencies": f"{PROGRAM}/currencies",
    "classifications": f"{PROGRAM}/classifications",
    "rewardOffers": f"{PROGRAM}/reward-offers",
    "achievements": f"{PROGRAM}/achievements",
    "achievementProgress": f"{PROGRAM}/achievements/{{id}}/progress",
    "targetGroups": f"{PROGRAM}/target-groups",
    "events": f"{PROGRAM}/events",
    "notifications": f"{PROGRAM}/notifications",
}

ApiIndexSerializer = inline_serializer("ApiIndex", {
    "name": serializers.CharField(),
    "version": serializers.CharField(),
    "schema": serializers.CharField(help_text="The OpenAPI schema."),
    "docs": serializers.CharField(help_text="Interactive documentation."),
    "resources": serializers.DictField(child=serializers.CharField()),
})


class ApiIndexView(APIView):
    authentication_classes = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(summary="List the API's resources", tags=["api"],
                   responses={200: ApiIndexSerializer})
    def get(self, request, *args, **kwargs):
        return Response({"name": "Laurel API", "version": "v1", "schema": "/api/schema/",
                         "docs": "/api/docs/", "resources": RESOURCES})
