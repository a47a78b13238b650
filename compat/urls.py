"""The vendors' own root paths. config/urls.py includes this module last."""

from compat.capillary.urls import urlpatterns as capillary_urls
from compat.crmcom.urls import urlpatterns as crmcom_urls
from compat.talon_one.urls import urlpatterns as talon_one_urls

urlpatterns = [*talon_one_urls, *crmcom_urls, *capillary_urls]
