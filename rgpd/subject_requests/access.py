"""Who may read and work the register: the holders of the right of every population its people belong
to. A request's people are contacts today (``SubjectRequestPerson.population``), so the register, its
API, its correspondence and its daily reminder need the contacts' right, found through the population
registry (the engine never names the contacts' app). Another population's officers see none of it.
"""

from __future__ import annotations

from typing import Any

from django.utils.text import get_text_list
from django.utils.translation import gettext as _
from rest_framework.permissions import BasePermission

from ..permissions import holds_rgpd_right
from ..populations import Population, population
from .models import CONTACTS_POPULATION

# The populations whose people a request records (the key stored on each ``SubjectRequestPerson``).
REGISTER_POPULATIONS = (CONTACTS_POPULATION,)


def register_populations() -> list[Population]:
    return [population(key) for key in REGISTER_POPULATIONS]


def holds_register_right(user: Any) -> bool:
    """Whether ``user`` holds the right of every population the register records."""
    return all(holds_rgpd_right(user, each) for each in register_populations())


def register_right_label() -> str:
    """The right(s) the register needs, as the 403 page names them."""
    return str(get_text_list([each.permission_label for each in register_populations()], _("and")))


class HasRegisterRight(BasePermission):
    """DRF: the register's API needs the register's right(s)."""

    def has_permission(self, request: Any, view: Any) -> bool:
        return holds_register_right(request.user)
