import django_filters

from config.api.filters import AwareIsoDateTimeFilter
from events.models import CustomerEvent


class CustomerEventFilter(django_filters.FilterSet):
    customer = django_filters.CharFilter(field_name="customer__integration_id")
    type = django_filters.ChoiceFilter(choices=CustomerEvent.Type.choices)
    classification = django_filters.CharFilter(field_name="classification__code")
    state = django_filters.ChoiceFilter(field_name="life_cycle_state",
                                        choices=CustomerEvent.LifeCycleState.choices)
    performed_on_from = AwareIsoDateTimeFilter(field_name="performed_on",
                                                         lookup_expr="gte")
    performed_on_to = AwareIsoDateTimeFilter(field_name="performed_on",
                                                       lookup_expr="lt")
    external_system_reference_number = django_filters.CharFilter()

    class Meta:
        model = CustomerEvent
        fields = ["customer", "type", "classification", "state", "performed_on_from",
                  "performed_on_to", "external_system_reference_number"]
