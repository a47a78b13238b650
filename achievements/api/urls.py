from achievements.api import views
from config.api.routers import OptionalSlashRouter

program_router = OptionalSlashRouter()
program_router.register("achievements", views.AchievementViewSet, basename="achievement")

program_urlpatterns = program_router.urls
