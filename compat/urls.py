"""The vendors' own root paths. config/urls.py includes this module last."""

from compat.crmcom.urls import urlpatterns as crmcom_urls

urlpatterns = [*crmcom_urls]
