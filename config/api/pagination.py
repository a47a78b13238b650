from rest_framework.pagination import LimitOffsetPagination


class LaurelPagination(LimitOffsetPagination):
    """`?limit=&offset=`; the body is `{count, next, previous, results}`."""

    default_limit = 50
    max_limit = 1000
