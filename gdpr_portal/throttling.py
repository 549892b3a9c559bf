"""API throttling: wrong tokens per client address, and RGPD creations per user (answers 429 + Retry-After).

Counters live in Django's cache (``CACHE_URL``: Redis when several processes serve the API). Their keys
hold an HMAC of the address or user id, never the value itself. The client's address is the one
django-axes uses for the login page (``AXES_IPWARE_*`` settings): X-Forwarded-For is not trusted unless
configured, unlike DRF's own ``get_ident``.
"""

from __future__ import annotations

from axes.helpers import get_client_ip_address
from django.utils.crypto import salted_hmac
from rest_framework.authentication import TokenAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle, SimpleRateThrottle


def hashed(value: str) -> str:
    # Keyed with SECRET_KEY: an address cannot be found back by hashing all of them.
    return salted_hmac("gdpr_portal.throttling", value).hexdigest()


class CurrentRatesMixin:
    scope: str | None  # as in SimpleRateThrottle

    def get_rate(self) -> str | None:
        # DRF binds the rates when the class is defined; read them now so settings changes apply.
        # djangorestframework-stubs types the rates as numbers; DRF's are "count/period" strings.
        rates: dict[str, str | None] = api_settings.DEFAULT_THROTTLE_RATES  # type: ignore[assignment]
        # Set before DRF asks for the rate: by the class, or by ScopedRateThrottle from the view.
        assert self.scope is not None
        return rates[self.scope]


class TokenFailureThrottle(CurrentRatesMixin, SimpleRateThrottle):
    """Wrong tokens from one client address: past the rate, every token from it is refused."""

    scope = "token_failures"
    # Set from the rate by SimpleRateThrottle.__init__; djangorestframework-stubs leaves them out.
    num_requests: int
    duration: int

    def get_cache_key(self, request, view=None) -> str:
        address = get_client_ip_address(request) or request.META.get("REMOTE_ADDR", "")
        return self.cache_format % {"scope": self.scope, "ident": hashed(address)}

    def is_exhausted(self, request) -> bool:
        self.key = self.get_cache_key(request)
        self.now = self.timer()
        self.history = [t for t in self.cache.get(self.key, []) if t > self.now - self.duration]
        return len(self.history) >= self.num_requests

    def record_failure(self, request) -> None:
        if not self.is_exhausted(request):
            self.throttle_success()


class ThrottledTokenAuthentication(TokenAuthentication):
    """``Authorization: Token …``, refused with 429 once a client has sent too many wrong tokens.

    DRF runs its throttles after authentication, and a wrong token ends the request (401) before any
    throttle is asked, so the failures are counted here. While the client is over the limit even a
    right token is refused: a guesser must not learn that a guess was right.
    """

    def authenticate(self, request):
        words = get_authorization_header(request).split()
        if not words or words[0].lower() != self.keyword.lower().encode():
            return None
        throttle = TokenFailureThrottle()
        if throttle.is_exhausted(request):
            raise Throttled(wait=throttle.wait())
        try:
            return super().authenticate(request)
        except AuthenticationFailed:
            throttle.record_failure(request)
            raise


class CreationThrottle(CurrentRatesMixin, ScopedRateThrottle):
    """POSTs per user to a view naming its ``throttle_scope`` (starting exports, anonymisations)."""

    def allow_request(self, request, view) -> bool:
        if request.method != "POST":
            return True
        return super().allow_request(request, view)

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": hashed(f"user:{request.user.pk}")}
