from config.api.routers import OptionalSlashRouter
from events.api import views

program_router = OptionalSlashRouter()
program_router.register("events", views.CustomerEventViewSet, basename="event")

program_urlpatterns = program_router.urls
