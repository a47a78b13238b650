from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

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
