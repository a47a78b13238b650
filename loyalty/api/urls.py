from config.api.routers import OptionalSlashRouter
from loyalty.api import views

router = OptionalSlashRouter()
router.register("programs", views.ProgramViewSet, basename="program")

program_router = OptionalSlashRouter()
program_router.register("campaigns", views.CampaignViewSet, basename="campaign")
program_router.register("customers", views.CustomerViewSet, basename="customer")
program_router.register("currencies", views.CurrencyViewSet, basename="currency")

urlpatterns = router.urls
program_urlpatterns = program_router.urls
