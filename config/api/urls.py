"""/api/v1/: one include per app; program-scoped routes nest under programs/{programId}/."""

from django.urls import include, path

from achievements.api.urls import program_urlpatterns as achievement_routes
from config.api.views import ApiIndexView
from events.api.urls import definition_urlpatterns as event_definition_routes
from events.api.urls import program_urlpatterns as event_routes
from loyalty.api.urls import program_urlpatterns as loyalty_routes
from loyalty.api.urls import urlpatterns as loyalty_top_routes

urlpatterns = [
    path("", ApiIndexView.as_view(), name="api-index"),
    *loyalty_top_routes,
    path(
        "programs/<int:programId>/",
        include([*loyalty_routes, *event_definition_routes, *achievement_routes,
                 *event_routes]),
    ),
]
