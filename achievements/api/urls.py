from django.urls import re_path

from achievements.api import views
from config.api.routers import OptionalSlashRouter

program_router = OptionalSlashRouter()
program_router.register("achievements", views.AchievementViewSet, basename="achievement")
program_router.register("target-groups", views.TargetGroupViewSet, basename="target-group")

program_urlpatterns = [
    re_path(r"^achievements/(?P<pk>\d+)/progress/?$", views.AchievementProgressListApi.as_view(),
            name="achievement-progress"),
    re_path(r"^customers/(?P<integrationId>[^/]+)/achievements/?$",
            views.CustomerAchievementListApi.as_view(), name="customer-achievements"),
    re_path(r"^customers/(?P<integrationId>[^/]+)/achievements/(?P<achievementId>\d+)/history/?$",
            views.CustomerAchievementHistoryApi.as_view(), name="customer-achievement-history"),
    re_path(r"^customers/(?P<integrationId>[^/]+)/streaks/?$",
            views.CustomerStreakListApi.as_view(), name="customer-streaks"),
    *program_router.urls,
]
