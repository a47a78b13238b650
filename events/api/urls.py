from django.urls import re_path

from config.api.routers import OptionalSlashRouter
from events.api import views

program_router = OptionalSlashRouter()
program_router.register("events", views.CustomerEventViewSet, basename="event")

program_urlpatterns = [
    re_path(r"^target-groups/(?P<pk>\d+)/enrol/?$", views.TargetGroupEnrolApi.as_view(),
            name="target-group-enrol"),
    re_path(r"^target-groups/(?P<pk>\d+)/unenrol/?$", views.TargetGroupUnenrolApi.as_view(),
            name="target-group-unenrol"),
    *program_router.urls,
]
