"""Throttles, on DRF's SimpleRateThrottle (its cache, rate syntax and Retry-After).

- FailedAuthenticationThrottle: a client address that sent more bad API keys than
  REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["failed_auth"] allows (default 20 a minute) is
  answered 429 with Retry-After for every keyed request until the window has passed, valid
  keys included (so that a guesser learns nothing while it is blocked).
- ApiKeyRateThrottle: per-key request rates from LAUREL_API_KEY_RATES, by key prefix, by
  scope or "default" (e.g. {"integration": "600/s", "default": "100/s"}); none set means
  no limit.
"""

import logging

from django.conf import settings
from django.core.cache import cache as default_cache
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

logger = logging.getLogger(__name__)


class FailOpenCache:
    """The default cache, but a cache that is down (Redis restarting) lets requests through
    instead of failing them: throttling is a guard, not a dependency."""

    def get(self, key, default=None):
        try:
            return default_cache.get(key, default)
        except Exception:
            logger.warning("Throttle cache unavailable; not throttling", exc_info=True)
            return default

    def set(self, key, value, timeout=None):
        try:
            default_cache.set(key, value, timeout)
        except Exception:
            logger.warning("Throttle cache unavailable; not counting", exc_info=True)


FAIL_OPEN_CACHE = FailOpenCache()


class FailedAuthenticationThrottle(SimpleRateThrottle):
    scope = "failed_auth"
    cache = FAIL_OPEN_CACHE

    def get_rate(self):
        # The rates as configured now (SimpleRateThrottle binds them at import).
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view=None):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def _load(self, request) -> bool:
        if self.rate is None:
            return False
        self.key = self.get_cache_key(request)
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        return True

    def blocked_for(self, request) -> float | None:
        """Seconds until this address may try again, or None when it is not blocked."""
        if not self._load(request):
            return None
        if len(self.history) >= self.num_requests:
            return self.wait() or 1.0
        return None

    def record_failure(self, request) -> None:
        if not self._load(request):
            return
        self.history.insert(0, self.now)
        self.cache.set(self.key, self.history, self.duration)


class ApiKeyRateThrottle(SimpleRateThrottle):
    scope = "api_key"
    cache = FAIL_OPEN_CACHE

    def __init__(self):
        pass  # the rate depends on the key; see allow_request

    def get_cache_key(self, request, view):
        api_key = request.auth
        return self.cache_format % {"scope": self.scope, "ident": api_key.prefix}

    def allow_request(self, request, view):
        from loyalty.models import ApiKey

        api_key = request.auth
        if not isinstance(api_key, ApiKey):
            return True
        rates = getattr(settings, "LAUREL_API_KEY_RATES", None) or {}
        self.rate = rates.get(api_key.prefix) or rates.get(api_key.scope) or rates.get("default")
        if not self.rate:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)
