"""Permission names in the interface's language.

Django stores a permission's name once, in English, when it is created ("Can view GDPR log entry"), and
shows that text in the group and user pages whatever the language. The four default permissions are
named here from the model's translated name instead; any other permission's stored name is looked up
in the catalogue ("RGPD Contacts Clients" stays as the seed names it).
"""

from __future__ import annotations

from django.apps import apps
from django.contrib.auth.models import Permission
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

DEFAULT_ACTIONS = {
    "add": _("Can add %(model)s"),
    "change": _("Can change %(model)s"),
    "delete": _("Can delete %(model)s"),
    "view": _("Can view %(model)s"),
}


def permission_name(permission: Permission) -> str:
    """What the permission allows, in the active language ("Voir : contact")."""
    model = permission.content_type.model_class()
    action, _separator, model_name = permission.codename.partition("_")
    if model is not None and model_name == model._meta.model_name and action in DEFAULT_ACTIONS:
        return str(DEFAULT_ACTIONS[action] % {"model": model._meta.verbose_name})
    return gettext(permission.name)


def permission_label(permission: Permission) -> str:
    """The permission as the group and user pages list it: its application, then what it allows."""
    app_label = permission.content_type.app_label
    try:
        section = apps.get_app_config(app_label).verbose_name
    except LookupError:  # a permission left by an application since removed
        section = app_label
    return f"{capfirst(section)} | {capfirst(permission_name(permission))}"
