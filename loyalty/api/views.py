"""Programs, and per program: campaigns, customers, currencies."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, mixins, viewsets
from rest_framework.response import Response

from loyalty import selectors, services
from loyalty.api.filters import CampaignFilter, CustomerFilter, NotificationFilter
from loyalty.api.mixins import ProgramScopedMixin, request_api_key
from loyalty.api.permissions import (
    ACCOUNT_ONLY,
    CUSTOMER_WRITERS,
    DEFINITION_WRITERS,
    EVERY_SCOPE,
)
from loyalty.api.serializers import (
    CampaignSerializer,
    ClassificationSerializer,
    CurrencySerializer,
    CustomerSerializer,
    CustomerUpdateSerializer,
    NotificationSerializer,
    ProgramSerializer,
    RewardOfferSerializer,
    WalletSerializer,
)
from loyalty.models import (
    Campaign,
    Classification,
    Currency,
    Customer,
    Notification,
    RewardOffer,
)


class CrudViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """List, retrieve, create, update (PUT/PATCH) and delete, with writes through services."""


@extend_schema_view(
    list=extend_schema(summary="List programs"),
    create=extend_schema(summary="Create a program (account keys and staff only)"),
)
class ProgramViewSet(CrudViewSet):
    serializer_class = ProgramSerializer
    read_scopes = EVERY_SCOPE
    write_scopes = ACCOUNT_ONLY
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.program_list(api_key=request_api_key(self.request))

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        data.pop("rotate_webhook_secret", None)  # a new program's secret is new anyway
        serializer.instance = services.program_create(**data)
        serializer.context["reveal_webhook_secret"] = bool(serializer.instance.webhook_secret)

    def perform_update(self, serializer):
        secret_before = serializer.instance.webhook_secret
        serializer.instance = services.program_update(
            program=serializer.instance, data=serializer.validated_data
        )
        serializer.context["reveal_webhook_secret"] = (
            serializer.instance.webhook_secret != secret_before
        )


@extend_schema_view(list=extend_schema(summary="List the program's campaigns"))
class CampaignViewSet(ProgramScopedMixin, CrudViewSet):
    serializer_class = CampaignSerializer
    filterset_class = CampaignFilter
    write_scopes = DEFINITION_WRITERS
    queryset = Campaign.objects.none()  # for the schema; get_queryset is the real one

    def get_queryset(self):
        return selectors.campaign_list(program=self.program)

    def perform_create(self, serializer):
        serializer.instance = services.campaign_create(
            program=self.program, **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = services.campaign_update(
            campaign=serializer.instance, data=serializer.validated_data
        )

    def perform_destroy(self, instance):
        services.campaign_delete(campaign=instance)


@extend_schema_view(list=extend_schema(summary="List the program's customers"))
class CustomerViewSet(ProgramScopedMixin, CrudViewSet):
    """Customers are addressed by their `integrationId`."""

    serializer_class = CustomerSerializer
    filterset_class = CustomerFilter
    queryset = Customer.objects.none()
    write_scopes = CUSTOMER_WRITERS
    lookup_field = "integration_id"
    lookup_url_kwarg = "integrationId"
    lookup_value_regex = "[^/]+"
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def get_serializer_class(self):
        if self.action in ("update", "partial_update"):
            return CustomerUpdateSerializer
        return CustomerSerializer

    def get_queryset(self):
        return selectors.customer_list(program=self.program)

    def perform_create(self, serializer):
        serializer.instance = services.customer_create(
            program=self.program, **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = services.customer_update(
            customer=serializer.instance, data=serializer.validated_data
        )


@extend_schema_view(list=extend_schema(summary="List the program's currencies"))
class CurrencyViewSet(ProgramScopedMixin, CrudViewSet):
    serializer_class = CurrencySerializer
    write_scopes = DEFINITION_WRITERS
    queryset = Currency.objects.none()
    pagination_class = None

    def get_queryset(self):
        return selectors.currency_list(program=self.program)

    def perform_create(self, serializer):
        serializer.instance = services.currency_create(
            program=self.program, **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = services.currency_update(
            currency=serializer.instance, data=serializer.validated_data
        )

    def perform_destroy(self, instance):
        services.currency_delete(currency=instance)



@extend_schema_view(list=extend_schema(summary="List the program's event classifications"))
class ClassificationViewSet(ProgramScopedMixin, CrudViewSet):
    serializer_class = ClassificationSerializer
    write_scopes = DEFINITION_WRITERS
    queryset = Classification.objects.none()
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.classification_list(program=self.program)

    def perform_create(self, serializer):
        serializer.instance = services.classification_create(
            program=self.program, **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = services.classification_update(
            classification=serializer.instance, data=serializer.validated_data
        )


@extend_schema_view(list=extend_schema(summary="List the program's reward offers"))
class RewardOfferViewSet(ProgramScopedMixin, CrudViewSet):
    serializer_class = RewardOfferSerializer
    write_scopes = DEFINITION_WRITERS
    queryset = RewardOffer.objects.none()
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.reward_offer_list(program=self.program)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if "programId" in self.kwargs:
            context["program"] = self.program
        return context

    def perform_create(self, serializer):
        serializer.instance = services.reward_offer_create(
            program=self.program, **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = services.reward_offer_update(
            offer=serializer.instance, data=serializer.validated_data
        )


@extend_schema(
    summary="A customer's balances per currency and newest ledger rows",
    parameters=[OpenApiParameter("limit", int, description="Ledger rows (default 100).")],
)
class CustomerWalletApi(ProgramScopedMixin, generics.GenericAPIView):
    serializer_class = WalletSerializer

    def get(self, request, *args, **kwargs):
        customer = get_object_or_404(selectors.customer_list(program=self.program),
                                     integration_id=self.kwargs["integrationId"])
        try:
            limit = max(1, min(int(request.query_params.get("limit", 100)), 1000))
        except ValueError:
            limit = 100
        wallet = selectors.wallet_get(customer=customer, limit=limit)
        return Response(WalletSerializer(wallet).data)


@extend_schema_view(list=extend_schema(
    summary="What time did: expired iterations, broken or at-risk streaks, started periods"))
class NotificationViewSet(ProgramScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                          viewsets.GenericViewSet):
    serializer_class = NotificationSerializer
    filterset_class = NotificationFilter
    queryset = Notification.objects.none()

    def get_queryset(self):
        return selectors.notification_list(program=self.program)
