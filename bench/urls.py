"""Laurel's URLs plus the bare baseline endpoints of the benchmark suite."""

from django.urls import include, path

from bench import baseline

urlpatterns = [
    path("bench/", include(baseline.urlpatterns)),
    path("", include("config.urls")),
]
