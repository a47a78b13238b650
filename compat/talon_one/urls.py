from django.urls import re_path

from compat.talon_one import views

APP = r"^v1/applications/(?P<applicationId>\d+)/"
ACHIEVEMENTS = APP + r"campaigns/(?P<campaignId>\d+)/achievements"

urlpatterns = [
    re_path(ACHIEVEMENTS + r"/?$", views.AchievementListApi.as_view(),
            name="talon-one-achievements"),
    re_path(ACHIEVEMENTS + r"/(?P<achievementId>\d+)/?$", views.AchievementDetailApi.as_view(),
            name="talon-one-achievement"),
    re_path(ACHIEVEMENTS + r"/(?P<achievementId>\d+)/export/?$",
            views.AchievementExportApi.as_view(), name="talon-one-achievement-export"),
    re_path(APP + r"achievement_progress/(?P<integrationId>[^/]+)/?$",
            views.CustomerProgressApi.as_view(), name="talon-one-customer-progress"),
    re_path(r"^v1/customer_profiles/(?P<integrationId>[^/]+)/achievements/?$",
            views.CustomerAchievementListApi.as_view(), name="talon-one-customer-achievements"),
    re_path(r"^v1/customer_profiles/(?P<integrationId>[^/]+)/achievements/"
            r"(?P<achievementId>\d+)/?$",
            views.CustomerAchievementHistoryApi.as_view(),
            name="talon-one-customer-achievement-history"),
    re_path(r"^v1/customer_profiles/(?P<integrationId>[^/]+)/inventory/?$",
            views.CustomerInventoryApi.as_view(), name="talon-one-customer-inventory"),
    re_path(r"^v2/events/?$", views.TrackEventV2Api.as_view(), name="talon-one-track-event"),
]
