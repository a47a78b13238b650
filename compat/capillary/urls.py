from django.urls import re_path

from compat.capillary import views

GROUP = r"^v3/targetGroups/(?P<groupId>\d+)"

urlpatterns = [
    re_path(r"^v3/targetGroups/?$", views.TargetGroupListApi.as_view(),
            name="capillary-target-groups"),
    re_path(r"^v3/targetGroups/isValidName/?$", views.IsValidNameApi.as_view(),
            name="capillary-is-valid-name"),
    re_path(GROUP + r"/targetPeriods/?$", views.TargetPeriodListApi.as_view(),
            name="capillary-target-periods"),
    re_path(GROUP + r"/targets/?$", views.TargetListApi.as_view(), name="capillary-targets"),
    re_path(r"^v3/targetGroups/editTargetGroup/(?P<groupId>\d+)/?$",
            views.TargetGroupEditApi.as_view(), name="capillary-target-group-edit"),
    re_path(GROUP + r"/?$", views.TargetGroupDetailApi.as_view(),
            name="capillary-target-group"),
    re_path(GROUP + r"/targets/(?P<targetId>\d+)/?$", views.TargetEditApi.as_view(),
            name="capillary-target"),
    re_path(GROUP + r"/targets/(?P<targetId>\d+)/enroll/?$", views.EnrolApi.as_view(),
            name="capillary-target-enroll"),
    re_path(GROUP + r"/targets/(?P<targetId>\d+)/unEnroll/?$", views.UnenrolApi.as_view(),
            name="capillary-target-unenroll"),
    re_path(r"^v3/users/(?P<userId>[^/]+)/targetGroups/?$",
            views.UserTargetGroupsApi.as_view(), name="capillary-user-target-groups"),
]
