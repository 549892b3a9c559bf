"""Employees in the users admin: the profile inline on a user's page, the HR documents on the profile's
page, files linked through the permission-checked downloads only."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from contacts.admin import FILE_WIDGETS, RefusesAnonymisedWrites, documents_formset_save
from contacts.integrity import refused_if_anonymised
from contacts.services import stored_files_delete_on_commit
from gdpr_portal.admin_input import BoundedInputAdminMixin
from gdpr_portal.ids import parse_database_id
from rgpd.admin.accounts import RgpdAwareUserAdmin

from .integrity import EmployeeAnonymised
from .models import EmployeeProfile, HrDocument

User = get_user_model()


class HrDocumentForm(forms.ModelForm):
    """A stored document is never replaced in place: remove it and upload a new one."""

    class Meta:
        model = HrDocument
        fields = ["kind", "file"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            field = self.fields["file"]
            field.disabled = True
            field.widget.download_url = reverse("staff:document_download", args=[self.instance.pk])
            field.widget.display_name = self.instance.original_name or _("Download")


class EmployeeProfileForm(forms.ModelForm):
    class Meta:
        model = EmployeeProfile
        # In the order a person reads them (the reach details come from a shared abstract model, first).
        fields = [
            "civility", "phone", "mobile", "street", "postal_code", "city", "country", "birth_date", "photo",
            "job_title", "start_date", "end_date",
        ]  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        photo = self.fields.get("photo")
        if photo is not None and self.instance.pk and self.instance.photo:
            photo.widget.download_url = reverse("staff:photo", args=[self.instance.pk])
            photo.widget.display_name = _("Current photo")


class HrDocumentInline(admin.TabularInline):
    model = HrDocument
    form = HrDocumentForm
    formfield_overrides = FILE_WIDGETS
    extra = 1
    fields = ["kind", "file", "size", "uploaded_at", "uploaded_by"]
    readonly_fields = ["size", "uploaded_at", "uploaded_by"]

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return super().has_add_permission(request, obj) and not (obj and obj.anonymised_at)


def is_anonymised(user_id: str | int | None) -> bool:
    """Whether the employee (profile and account) of this id has been anonymised."""
    pk = parse_database_id(str(user_id or ""))  # "²" is a digit for str.isdigit(), not for int()
    return pk is not None and EmployeeProfile.objects.filter(pk=pk, anonymised_at__isnull=False).exists()


@admin.register(EmployeeProfile)
class EmployeeProfileAdmin(BoundedInputAdminMixin, RefusesAnonymisedWrites):
    form = EmployeeProfileForm
    formfield_overrides = FILE_WIDGETS
    inlines = [HrDocumentInline]
    list_display = ["user", "job_title", "start_date", "end_date", "anonymised_at"]
    search_fields = ["^user__last_name", "user__first_name", "user__email"]
    list_select_related = ["user"]
    readonly_fields = ["user", "anonymised_at"]
    list_per_page = 50

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a profile comes with its user

    def has_change_permission(self, request: HttpRequest, obj: EmployeeProfile | None = None) -> bool:
        return super().has_change_permission(request, obj) and not (obj and obj.anonymised_at)

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        documents_formset_save(request, formset)

    anonymised_refusal = EmployeeAnonymised

    def posts_to_anonymised(self, object_id: str | None) -> bool:
        return is_anonymised(object_id)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[EmployeeProfile]) -> None:
        files = [p.photo for p in queryset.only("user_id", "photo")]
        files += [d.file for d in HrDocument.objects.filter(employee__in=queryset).only("id", "file")]
        stored_files_delete_on_commit(files=files)
        super().delete_queryset(request, queryset)


class EmployeeProfileInline(admin.StackedInline):
    model = EmployeeProfile
    form = EmployeeProfileForm
    formfield_overrides = FILE_WIDGETS
    can_delete = False
    readonly_fields = ["hr_documents", "anonymised_at"]
    verbose_name_plural = _("employee profile")

    @admin.display(description=_("HR documents"))
    def hr_documents(self, obj: EmployeeProfile):
        if not obj.pk:
            return "—"
        count = obj.documents.count()
        url = reverse("admin:staff_employeeprofile_change", args=[obj.pk])
        return format_html('<a href="{}">{} ({})</a>', url, _("HR documents"), count)


# rgpd's user admin (imported above, so registered already) is extended, not replaced: "staff" comes
# before "rgpd" in INSTALLED_APPS, whose registration would otherwise win.
admin.site.unregister(User)


@admin.register(User)
class EmployeeUserAdmin(RefusesAnonymisedWrites, RgpdAwareUserAdmin):
    """The profile on the user's page. An anonymised employee's account stays closed: shown read-only,
    a form loaded before the anonymisation is refused with a message (the database refuses it too,
    staff migration 0003)."""

    inlines = [*UserAdmin.inlines, EmployeeProfileInline]

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return super().has_change_permission(request, obj) and not (obj and is_anonymised(obj.pk))

    anonymised_refusal = EmployeeAnonymised

    def posts_to_anonymised(self, object_id: str | None) -> bool:
        return is_anonymised(object_id)

    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        if change:
            # The profile is locked first, as the anonymisation locks it before the account: a save and
            # an anonymisation of the same person queue (no deadlock); the later one sees the earlier.
            profile = EmployeeProfile.objects.select_for_update().filter(pk=obj.pk).first()
            if profile is not None and profile.anonymised_at is not None:
                raise EmployeeAnonymised
        with refused_if_anonymised(raises=EmployeeAnonymised):
            super().save_model(request, obj, form, change)
