from django.urls import re_path

from config.api.routers import OptionalSlashRouter
from loyalty.api import views

router = OptionalSlashRouter()
router.register("programs", views.ProgramViewSet, basename="program")

program_router = OptionalSlashRouter()
program_router.register("campaigns", views.CampaignViewSet, basename="campaign")
program_router.register("customers", views.CustomerViewSet, basename="customer")
program_router.register("currencies", views.CurrencyViewSet, basename="currency")
program_router.register("classifications", views.ClassificationViewSet,
                        basename="classification")
program_router.register("reward-offers", views.RewardOfferViewSet, basename="reward-offer")
program_router.register("notifications", views.NotificationViewSet, basename="notification")

urlpatterns = router.urls
program_urlpatterns = [
    re_path(r"^customers/(?P<integrationId>[^/]+)/wallet/?$", views.CustomerWalletApi.as_view(),
            name="customer-wallet"),
    *program_router.urls,
]
