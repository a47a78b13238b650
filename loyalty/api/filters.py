import django_filters

from config.api.filters import AwareIsoDateTimeFilter
from loyalty.models import Campaign, Customer, Notification


class CampaignFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Campaign
        fields = ["state", "name"]


class CustomerFilter(django_filters.FilterSet):
    integration_id = django_filters.CharFilter(field_name="integration_id")
    name = django_filters.CharFilter(lookup_expr="icontains")
    created_after = AwareIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = AwareIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Customer
        fields = ["integration_id", "name"]


class NotificationFilter(django_filters.FilterSet):
    type = django_filters.ChoiceFilter(field_name="kind", choices=Notification.Kind.choices)
    customer = django_filters.CharFilter(field_name="customer__integration_id")
    delivery = django_filters.ChoiceFilter(choices=Notification.Delivery.choices)
    occurred_from = AwareIsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_to = AwareIsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = Notification
        fields = ["type", "customer", "delivery", "occurred_from", "occurred_to"]
