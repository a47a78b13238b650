import django_filters

from achievements.models import Achievement


class AchievementFilter(django_filters.FilterSet):
    campaign_id = django_filters.NumberFilter(field_name="campaign_id")
    name = django_filters.CharFilter(field_name="name")
    title = django_filters.CharFilter(field_name="title", lookup_expr="icontains")

    class Meta:
        model = Achievement
        fields = ["campaign_id", "name", "title"]
