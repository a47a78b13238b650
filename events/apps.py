from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class EventsConfig(AppConfig):
    name = "events"
    verbose_name = "Events"
    default = True


class LaurelAdminConfig(admin_apps.AdminConfig):
    """`django.contrib.admin` with the dashboard as the admin index
    (`events.dashboard.LaurelAdminSite` becomes `admin.site`)."""

    default = False
    default_site = "events.dashboard.LaurelAdminSite"
