from django.urls import re_path

from config.api.routers import OptionalSlashRouter
from events.api import views

program_router = OptionalSlashRouter()
program_router.register("events", views.CustomerEventViewSet, basename="event")

# Before the achievements router, whose detail route would take "simulate" for an id.
definition_urlpatterns = [
    re_path(r"^achievements/simulate/?$", views.AchievementSimulateApi.as_view(),
            name="achievement-simulate"),
]

program_urlpatterns = [
    re_path(r"^target-groups/(?P<pk>\d+)/enrol/?$", views.TargetGroupEnrolApi.as_view(),
            name="target-group-enrol"),
    re_path(r"^target-groups/(?P<pk>\d+)/unenrol/?$", views.TargetGroupUnenrolApi.as_view(),
            name="target-group-unenrol"),
    *program_router.urls,
]
