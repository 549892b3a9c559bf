"""API tokens of back-office users (DRF's ``authtoken``): one per user, created and revoked from the
page "Mon jeton d'API" (``rgpd.views.api_token``) instead of a shell.

The key is given back once, when it is created; afterwards only its creation date is shown.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from rest_framework.authtoken.models import Token

from ..permissions import holds_rgpd_right


class NoRgpdRight(Exception):
    """Only holders of the right "RGPD Contacts Clients" may have a token (the API asks for it)."""


def api_token_of(user: User) -> Token | None:
    return Token.objects.filter(user=user).first()


@transaction.atomic
def api_token_create(*, user: User) -> str:
    """A new token for ``user``, replacing theirs if any; returns its key (never shown again)."""
    if not holds_rgpd_right(user):
        raise NoRgpdRight
    Token.objects.filter(user=user).delete()
    return Token.objects.create(user=user).key


def api_token_revoke(*, user: User) -> bool:
    """Delete ``user``'s token: the API then answers 401 to it. False when there was none."""
    deleted, _ = Token.objects.filter(user=user).delete()
    return bool(deleted)


def api_tokens_for_administrators() -> list[Token]:
    """Every token with its owner, for the superusers' list (keys are not shown)."""
    return list(Token.objects.select_related("user").order_by("-created"))
