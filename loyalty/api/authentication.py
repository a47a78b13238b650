"""`Authorization: Bearer <key>` authentication with Laurel API keys."""

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from config.api.throttling import FailedAuthenticationThrottle
from loyalty.models import ApiKey
from loyalty.selectors import api_key_get_active
from loyalty.services import api_key_hash, api_key_mark_used


class ApiKeyUser:
    """The principal of a key-authenticated request (not a Django user)."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    is_active = True

    def __init__(self, api_key: ApiKey):
        self.api_key = api_key
        self.pk = self.id = None
        self.username = f"api-key:{api_key.prefix}"

    def __str__(self) -> str:
        return self.username


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, raw_key = header.partition(" ")
        if scheme.lower() != self.keyword.lower():
            return None
        throttle = FailedAuthenticationThrottle()
        wait = throttle.blocked_for(request)
        if wait is not None:
            raise exceptions.Throttled(
                wait=wait, detail="Too many requests with a bad API key from this address; "
                f"try again in {int(wait) + 1} seconds.",
            )
        raw_key = raw_key.strip()
        if not raw_key:
            throttle.record_failure(request)
            raise exceptions.AuthenticationFailed(
                "The Authorization header has no key after Bearer."
            )
        api_key = api_key_get_active(key_hash=api_key_hash(raw_key))
        if api_key is None:
            throttle.record_failure(request)
            raise exceptions.AuthenticationFailed("Unknown or revoked API key.")
        api_key_mark_used(api_key=api_key, now=timezone.now())
        return ApiKeyUser(api_key), api_key

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="api"'


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Documents the bearer key in the OpenAPI schema."""

    target_class = ApiKeyAuthentication
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A Laurel API key: `Authorization: Bearer laurel_…`.",
        }
