from django.urls import re_path

from compat.crmcom import views

PREFIX = r"^crmapi/rest/v2/customer_events/achievements/"

urlpatterns = [
    re_path(r"^crmapi/rest/v2/customer_events/bulk/achievements/create/?$",
            views.CrmAchievementBulkCreateApi.as_view(), name="crmcom-achievements-bulk-create"),
    re_path(PREFIX + r"create/?$", views.CrmAchievementCreateApi.as_view(),
            name="crmcom-achievements-create"),
    re_path(PREFIX + r"preview/?$", views.CrmAchievementPreviewApi.as_view(),
            name="crmcom-achievements-preview"),
    re_path(PREFIX + r"cancel/?$", views.CrmAchievementCancelApi.as_view(),
            name="crmcom-achievements-cancel"),
    re_path(PREFIX + r"show/?$", views.CrmAchievementShowApi.as_view(),
            name="crmcom-achievements-show"),
    re_path(PREFIX + r"list/?$", views.CrmAchievementListApi.as_view(),
            name="crmcom-achievements-list"),
]
