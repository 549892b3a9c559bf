"""Groups and users in the back office: permission names in the interface's language, and a warning when
someone given an RGPD right cannot use it (no staff status: refused at login; no email: never told when
an archive is ready)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, Permission, User
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.text import get_text_list
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from gdpr_portal.admin_input import BoundedInputAdminMixin
from gdpr_portal.permission_names import permission_label

from ..populations import all_populations

# At most this many people named in a warning; the others are counted.
NAMED_AT_MOST = 10


def rgpd_permissions() -> QuerySet[Permission]:
    """The rights of every population ("RGPD Contacts Clients", …)."""
    wanted = Q(pk__in=[])
    for population in all_populations():
        app_label, codename = population.permission.split(".", 1)
        wanted |= Q(content_type__app_label=app_label, codename=codename)
    return Permission.objects.filter(wanted)


def _names(users: QuerySet[User]) -> str:
    names = [user.get_username() for user in users.order_by("username")[: NAMED_AT_MOST + 1]]
    if len(names) > NAMED_AT_MOST:
        names[NAMED_AT_MOST:] = [_("%(count)d others") % {"count": users.count() - NAMED_AT_MOST}]
    return get_text_list(names, _("and"))


UNUSABLE_RIGHT = (
    (
        {"is_staff": False},
        _lazy(
            "An RGPD right is given to people who cannot log in to the back office (tick “Staff status” on "
            "their user page): %(people)s."
        ),
    ),
    (
        {"email": ""},
        _lazy(
            "An RGPD right is given to people without an email address (they will not be told when an "
            "archive they asked for is ready): %(people)s."
        ),
    ),
)


def warn_unusable_right(request: HttpRequest, holders: QuerySet[User]) -> None:
    """Tell the administrator who holds an RGPD right without being able to use it, and why."""
    active = holders.filter(is_active=True).distinct()
    for lacking, warning in UNUSABLE_RIGHT:
        people = active.filter(**lacking)
        if people.exists():
            messages.warning(request, warning % {"people": _names(people)})


class TranslatedPermissionsMixin(admin.ModelAdmin):
    """The permission picker lists names in the interface's language."""

    def formfield_for_manytomany(self, db_field, request: HttpRequest, **kwargs: Any):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if field is not None and db_field.remote_field.model is Permission:
            field.label_from_instance = permission_label  # type: ignore[method-assign,assignment]
        return field


class RgpdAwareGroupAdmin(BoundedInputAdminMixin, TranslatedPermissionsMixin, GroupAdmin):
    def render_change_form(
        self, request: HttpRequest, context, add=False, change=False, form_url="", obj=None
    ):
        if (
            obj is not None
            and request.method == "GET"
            and obj.permissions.filter(pk__in=rgpd_permissions()).exists()
        ):
            warn_unusable_right(request, obj.user_set.all())
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        if form.instance.permissions.filter(pk__in=rgpd_permissions()).exists():
            warn_unusable_right(request, form.instance.user_set.all())


class RgpdAwareUserAdmin(BoundedInputAdminMixin, TranslatedPermissionsMixin, UserAdmin):
    @staticmethod
    def _holders(user: User) -> QuerySet[User]:
        rights = rgpd_permissions()
        return User.objects.filter(pk=user.pk).filter(
            Q(groups__permissions__in=rights) | Q(user_permissions__in=rights)
        )

    def render_change_form(
        self, request: HttpRequest, context, add=False, change=False, form_url="", obj=None
    ):
        if obj is not None and request.method == "GET":
            warn_unusable_right(request, self._holders(obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        warn_unusable_right(request, self._holders(form.instance))


for _model, _admin_class in ((Group, RgpdAwareGroupAdmin), (User, RgpdAwareUserAdmin)):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
    admin.site.register(_model, _admin_class)
