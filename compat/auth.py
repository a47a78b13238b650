"""API key authentication in the vendors' header shapes, over Laurel's API keys.

Each vendor sends a Laurel program key under its own scheme (`ManagementKey-v1 <key>`,
`ApiKey-v1 <key>`, `Bearer <key>`, HTTP Basic with the key as password). The lookup is
Laurel's own (`loyalty.selectors.api_key_get_active`); what a key may do is the vendor view's
business (scope and program).
"""

import base64
import binascii

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from loyalty.api.authentication import ApiKeyUser
from loyalty.models import ApiKey
from loyalty.selectors import api_key_get_active
from loyalty.services import api_key_hash, api_key_mark_used


def api_key_from_raw(raw_key: str) -> ApiKey:
    api_key = api_key_get_active(key_hash=api_key_hash(raw_key))
    if api_key is None:
        raise exceptions.AuthenticationFailed("Unknown or revoked API key.")
    api_key_mark_used(api_key=api_key, now=timezone.now())
    return api_key


class VendorKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: <scheme> <key>` for any of `schemes` (case-insensitive); with
    `basic=True`, also HTTP Basic with the key as the password (any user name)."""

    schemes: tuple[str, ...] = ("Bearer",)
    basic = False
    realm = "api"

    def _raw_key(self, request) -> str | None:
        header = authentication.get_authorization_header(request).decode("latin-1").strip()
        if not header:
            return None
        scheme, _, credentials = header.partition(" ")
        credentials = credentials.strip()
        if scheme.lower() in {s.lower() for s in self.schemes}:
            if not credentials:
                raise exceptions.AuthenticationFailed(
                    f"The Authorization header has no key after {scheme}.")
            return credentials
        if self.basic and scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise exceptions.AuthenticationFailed("Malformed Basic credentials.") from exc
            _, colon, password = decoded.partition(":")
            if not colon or not password:
                raise exceptions.AuthenticationFailed(
                    "Basic credentials need the API key as the password.")
            return password
        raise exceptions.AuthenticationFailed(
            f"Unsupported Authorization scheme '{scheme}'; use {' or '.join(self.schemes)}.")

    def authenticate(self, request):
        raw_key = self._raw_key(request)
        if raw_key is None:
            return None
        api_key = api_key_from_raw(raw_key)
        return ApiKeyUser(api_key), api_key

    def authenticate_header(self, request) -> str:
        return f'{self.schemes[0]} realm="{self.realm}"'


class CrmcomAuthentication(VendorKeyAuthentication):
    """CRM.COM: `Authorization: Bearer <integration key>`."""

    schemes = ("Bearer",)


class TalonOneAuthentication(VendorKeyAuthentication):
    """Talon.One: `ManagementKey-v1 <key>`, `ApiKey-v1 <key>` or `Bearer <key>`. Dispatch is
    on the key's scope, not on the prefix: SDK 26.2 may send a management call as ApiKey-v1."""

    schemes = ("ManagementKey-v1", "ApiKey-v1", "Bearer")
    realm = "talon.one"


class CapillaryAuthentication(VendorKeyAuthentication):
    """Capillary: HTTP Basic with the management key as the password, or `Bearer <key>`."""

    schemes = ("Bearer",)
    basic = True
    realm = "capillary"


class CrmcomAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = CrmcomAuthentication
    name = "crmcomBearer"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer",
                "description": "The program's integration key: `Authorization: Bearer <key>`."}


class TalonOneAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = TalonOneAuthentication
    name = "talonOneKey"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "`ManagementKey-v1 <management key>` for the Management API, "
                               "`ApiKey-v1 <integration key>` for the Integration API."}


class CapillaryAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = CapillaryAuthentication
    name = "capillaryBasic"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "basic",
                "description": "Any user name, the program's management key as the password "
                               "(or `Authorization: Bearer <key>`)."}

