"""The back-office account of an employee, as the RGPD engine needs it (hooks of the users population):
who may not be anonymised, the account's part of the archive, and closing the account on anonymisation."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import Count, Max, Min
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from rest_framework.authtoken.models import Token

from rgpd.models import AuditEvent
from rgpd.registry import MASK

SELF = "self_anonymisation"
LAST_SUPERUSER = "last_superuser"
ANONYMISED_USERNAME_PREFIX = "anonymised-"


def refusals(ids: list[int], actor: Any) -> dict[int, str]:
    """Nobody anonymises their own account; the last active superuser is never anonymised.

    During the anonymisation the active superusers are locked (in id order) so that two sets
    anonymised at once cannot take the last two superusers together.
    """
    refused: dict[int, str] = {}
    actor_id = getattr(actor, "pk", None)
    if actor_id in ids:
        refused[actor_id] = SELF
    active = get_user_model().objects.filter(is_superuser=True, is_active=True).order_by("pk")
    if transaction.get_connection().in_atomic_block:  # the anonymisation itself (the preview only reads)
        active = active.select_for_update()
    superusers: list[int] = list(active.values_list("pk", flat=True))
    if superusers and all(pk in ids for pk in superusers):
        refused.update((pk, LAST_SUPERUSER) for pk in superusers if pk not in refused)
    return refused


def _activity(rows, date_field: str) -> dict[str, Any]:
    figures = rows.aggregate(count=Count("pk"), first=Min(date_field), last=Max(date_field))
    return {"count": figures["count"], "first": figures["first"], "last": figures["last"]}


def account_export(profile: Any) -> dict[str, Any]:
    """The account's part of personal_data.json: its own fields and group names, and how many actions
    it made and when (never the names or data of the people those actions concerned)."""
    user = get_user_model().objects.get(pk=profile.pk)
    return {
        "account": {
            "model": user._meta.label_lower,
            "id": user.pk,
            "fields": {
                "username": user.username,
                "first_name": user.first_name,
                "last_name": user.last_name,
                "email": user.email,
                "is_active": user.is_active,
                "is_staff": user.is_staff,
                "is_superuser": user.is_superuser,
                "date_joined": user.date_joined.isoformat(),
                "last_login": user.last_login.isoformat() if user.last_login else None,
                "groups": sorted(user.groups.values_list("name", flat=True)),
            },
            "activity": {
                "admin_history": _activity(LogEntry.objects.filter(user_id=user.pk), "action_time"),
                "gdpr_audit_log": _activity(AuditEvent.objects.filter(actor_id=user.pk), "at"),
            },
        }
    }


# The labels of account_export's keys on the person's readable page (rgpd/services/exports/readable.py).
ACCOUNT_LABELS: dict[str, str | Promise] = {
    "account": _("account"),
    "model": _("kind of record"),
    "id": _("account number"),
    "fields": "",  # groups the account's own fields: their rows keep their own labels
    "username": _("username"),
    "first_name": _("first name"),
    "last_name": _("last name"),
    "email": _("email"),
    "is_active": _("active"),
    "is_staff": _("staff status"),
    "is_superuser": _("superuser status"),
    "date_joined": _("date joined"),
    "last_login": _("last login"),
    "groups": _("groups"),
    "activity": _("activity"),
    "admin_history": _("actions in the back office's history"),
    "gdpr_audit_log": _("actions in the GDPR log"),
    "count": _("count"),
    "first": _("first"),
    "last": _("last"),
}


def account_preview(profile: Any) -> list[tuple[str, Any, Any, Any]]:
    """What closing the account changes, for the confirmation page (current values in full)."""
    user = get_user_model().objects.get(pk=profile.pk)
    empty = _("(empty)")
    return [
        ("username", _("username"), user.username, f"{ANONYMISED_USERNAME_PREFIX}…"),
        ("first_name", _("first name"), user.first_name, empty),
        ("last_name", _("last name"), user.last_name, empty),
        ("email", _("email"), user.email, empty),
        ("account", _("account"), _("active") if user.is_active else _("inactive"), _("closed")),
    ]


def _sessions_of(ids: set[str]) -> Iterable[str]:
    for session in Session.objects.iterator(chunk_size=2000):
        if str(session.get_decoded().get("_auth_user_id")) in ids:
            yield session.session_key


def accounts_close(ids: list[int]) -> None:
    """Inside the anonymisation's transaction: the accounts can no longer log in nor be recognised.

    Inactive with an unusable password, sessions and API tokens deleted, groups and permissions
    removed, a non-identifying unique username, names and email emptied, and the admin history of the
    accounts themselves scrubbed. What they did (admin history, audit rows) keeps their id only.
    """
    User = get_user_model()  # noqa: N806
    users = list(User.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    former_usernames = [user.username for user in users]
    for user in users:
        user.username = f"{ANONYMISED_USERNAME_PREFIX}{uuid.uuid4().hex}"
        user.first_name = user.last_name = user.email = ""
        user.password = make_password(None)
        user.is_active = user.is_staff = user.is_superuser = False
        user.last_login = None
    fields = ["username", "first_name", "last_name", "email", "password", "is_active", "is_staff"]
    User.objects.bulk_update(users, [*fields, "is_superuser", "last_login"], batch_size=500)
    User.groups.through.objects.filter(user_id__in=ids).delete()
    User.user_permissions.through.objects.filter(user_id__in=ids).delete()
    Token.objects.filter(user_id__in=ids).delete()
    Session.objects.filter(session_key__in=list(_sessions_of({str(pk) for pk in ids}))).delete()
    # The accounts' own admin history: "jdupont" as the changed object's name, values in messages.
    LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(User), object_id__in=[str(pk) for pk in ids]
    ).update(object_repr=MASK, change_message="")
    _login_records_delete(former_usernames)


def _login_records_delete(usernames: list[str]) -> None:
    """django-axes keeps the usernames of login attempts: those of the former usernames go."""
    for model in (AccessAttempt, AccessLog, AccessFailureLog):
        model.objects.filter(username__in=usernames).delete()
