from django.contrib import admin
from django.urls import include, path
from django.views import defaults
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config.api.middleware import exception_response, is_api, json_error, not_found_response

admin.site.site_header = "Laurel administration"
admin.site.site_title = "Laurel"
admin.site.index_title = "Achievements, streaks and rewards"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    # Vendor-compatible adapters at the vendors' own root paths (/v1, /v2, /v3, /crmapi).
    path("", include("compat.urls")),
]


# Under /api/ every error is the API's JSON error shape; elsewhere Django's pages.
def handler400(request, exception=None):
    if is_api(request):
        return exception_response(request, exception) if exception else json_error(
            400, "invalid", "Bad request.")
    return defaults.bad_request(request, exception)


def handler403(request, exception=None):
    if is_api(request):
        return json_error(403, "permission_denied", "You may not do this.")
    return defaults.permission_denied(request, exception)


def handler404(request, exception=None):
    if is_api(request):
        return not_found_response(request)
    return defaults.page_not_found(request, exception)


def handler500(request):
    if is_api(request):
        return json_error(500, "error", "Laurel failed to answer this request; the error is "
                          "logged.")
    return defaults.server_error(request)
