"""Back office of the contacts and their documents (Django admin)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminFileWidget
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.template.defaultfilters import filesizeformat
from django.templatetags.static import static
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _

from gdpr_portal.admin_input import BoundedInputAdminMixin, bound_every_admin, bounded_search_term
from gdpr_portal.ids import parse_database_id
from rgpd.filters import AnonymisedListFilter

from .admin_lists import (
    DocumentInlineFormSet,
    DocumentKindListFilter,
    FilledValuesListFilter,
    matching_phone,
    warn_files_to_choose_again,
)
from .integrity import ContactAnonymised
from .models import Contact, Document
from .services import contact_lock_for_write, contact_version, stored_files_delete_on_commit

admin.site.site_header = "gdpr_portal"
admin.site.site_title = "gdpr_portal"
admin.site.index_title = _("Back office")
# The back office is the whole site: no separate public site to link to.
admin.site.site_url = None
# Users, groups and API tokens (registered by apps listed before this one) get bounded searches too.
bound_every_admin(admin.site)


class ProtectedFileWidget(AdminFileWidget):
    """File input that links the current file through the permission-checked view, never its storage URL."""

    template_name = "contacts/widgets/protected_file_input.html"
    download_url: str = ""
    display_name: str = ""

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["download_url"] = self.download_url
        context["widget"]["display_name"] = self.display_name or _("Download")
        return context


class ContactAdminForm(forms.ModelForm):
    # The contact's version when the form was loaded: a save of a stale form is refused, not silently
    # written over a colleague's changes (or over an anonymisation).
    loaded_version = forms.CharField(label=_("version loaded"), widget=forms.HiddenInput, required=False)

    class Meta:
        model = Contact
        exclude: list[str] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["loaded_version"].initial = contact_version(self.instance)
        photo = self.fields.get("photo")
        if photo is not None and self.instance.pk and self.instance.photo:
            photo.widget.download_url = reverse("contacts:photo", args=[self.instance.pk])
            photo.widget.display_name = _("Current photo")

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned_data = self.cleaned_data
        if self.instance.pk:
            contact_lock_for_write(
                contact_id=self.instance.pk, loaded_version=cleaned_data.get("loaded_version")
            )
        return cleaned_data


class DocumentAdminForm(forms.ModelForm):
    """A stored document is never replaced in place: remove it and upload a new one."""

    class Meta:
        model = Document
        fields = ["contact", "kind", "file"]

    def clean_contact(self):
        contact = self.cleaned_data["contact"]
        if contact is not None and contact.is_anonymised:
            raise forms.ValidationError(_("This contact is anonymised: no document can be added to it."))
        if contact is not None and contact.pk:
            # Locked until the upload is saved: an anonymisation waits for it, then deletes it.
            contact_lock_for_write(contact_id=contact.pk)
        return contact

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            field = self.fields["file"]
            field.disabled = True
            field.widget.download_url = reverse("contacts:document_download", args=[self.instance.pk])
            field.widget.display_name = self.instance.original_name or _("Download")


# ImageField too: the admin looks overrides up by the field's exact class first (its own default for
# ImageField would win over a FileField entry and link the photo to its storage URL).
FILE_WIDGETS: Mapping[type[models.Field], Mapping[str, Any]] = {
    models.FileField: {"widget": ProtectedFileWidget},
    models.ImageField: {"widget": ProtectedFileWidget},
}


class RefusesAnonymisedWrites(admin.ModelAdmin):
    """A save the database refused because the contact was anonymised meanwhile: say so, save nothing."""

    anonymised_refusal: type[ContactAnonymised] = ContactAnonymised  # another population's says "user"

    def changeform_view(self, request: HttpRequest, object_id=None, form_url="", extra_context=None):
        try:
            try:
                return super().changeform_view(request, object_id, form_url, extra_context)
            except PermissionDenied:
                # A form loaded before the anonymisation: the admin now refuses the change; say why.
                if request.method == "POST" and self.posts_to_anonymised(object_id):
                    raise self.anonymised_refusal from None
                raise
        except ContactAnonymised as refusal:
            self.message_user(request, str(refusal), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def posts_to_anonymised(self, object_id: str | None) -> bool:
        """Whether the form posts to an anonymised contact (a form loaded before its anonymisation)."""
        return False

    def render_change_form(
        self, request: HttpRequest, context, add=False, change=False, form_url="", obj=None
    ):
        warn_files_to_choose_again(request, has_errors=bool(context.get("errors")))
        return super().render_change_form(request, context, add, change, form_url, obj)


def documents_formset_save(request: HttpRequest, formset) -> None:
    """Save an inline of documents: removed ones leave the storage after the commit, new ones record
    who uploaded them."""
    documents = formset.save(commit=False)
    for document in formset.deleted_objects:
        stored_files_delete_on_commit(files=[document.file])
        document.delete()
    for document in documents:
        if document.pk is None:
            document.uploaded_by = request.user
        document.save()
    formset.save_m2m()


class DocumentInline(admin.TabularInline):
    model = Document
    form = DocumentAdminForm
    formset = DocumentInlineFormSet
    formfield_overrides = FILE_WIDGETS
    extra = 1
    fields = ["kind", "file", "size_display", "uploaded_at_display", "uploaded_by"]
    readonly_fields = ["size_display", "uploaded_at_display", "uploaded_by"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Document]:
        return super().get_queryset(request).select_related("uploaded_by")

    # An anonymised contact gets no documents back (that would bring personal data back).
    def has_add_permission(self, request: HttpRequest, obj: Contact | None = None) -> bool:
        return super().has_add_permission(request, obj) and not (obj and obj.is_anonymised)

    def has_change_permission(self, request: HttpRequest, obj: Contact | None = None) -> bool:
        return super().has_change_permission(request, obj) and not (obj and obj.is_anonymised)

    @admin.display(description=_("size"))
    def size_display(self, obj: Document) -> str:
        return filesizeformat(obj.size) if obj.pk else "—"

    @admin.display(description=_("uploaded at"))
    def uploaded_at_display(self, obj: Document):
        return date_format(localtime(obj.uploaded_at), "SHORT_DATETIME_FORMAT") if obj.pk else "—"


def _record_link(contact_id: int):
    return format_html(
        '<a href="{}" title="{}" aria-label="{}"><img src="{}" alt="" width="18" height="18"></a>',
        reverse("contacts:record", args=[contact_id]),
        _("Open the contact's record"),
        _("Open the contact's record"),
        static("rgpd/icons/loupe-plus.svg"),
    )


@admin.register(Contact)
class ContactAdmin(BoundedInputAdminMixin, RefusesAnonymisedWrites):
    form = ContactAdminForm
    formfield_overrides = FILE_WIDGETS
    inlines = [DocumentInline]
    list_display = ["last_name", "first_name", "email", "phone", "city", "company", "anonymised", "record"]
    list_display_links = ["last_name", "first_name"]
    list_filter = [
        AnonymisedListFilter,
        ("company", FilledValuesListFilter),
        ("city", FilledValuesListFilter),
        DocumentKindListFilter,
    ]
    search_fields = ["^last_name", "first_name", "email", "phone", "mobile", "postal_code", "city", "company"]
    list_per_page = 50
    ordering = ["last_name", "first_name", "id"]
    readonly_fields = ["created_at", "updated_at", "anonymised_at"]
    fieldsets = [
        (_("Identity"), {"fields": ["civility", "last_name", "first_name", "birth_date", "photo"]}),
        (_("Contact details"), {"fields": ["email", "phone", "mobile"]}),
        (_("Address"), {"fields": ["street", "postal_code", "city", "country"]}),
        (_("Work"), {"fields": ["company", "job_title", "notes", "last_activity_on"]}),
        (_("Record"), {"fields": ["created_at", "updated_at", "anonymised_at"]}),
    ]

    def get_fieldsets(self, request: HttpRequest, obj: Contact | None = None):
        # The hidden version travels with an editable form only (a read-only view would show it as a row).
        if obj is None or not self.has_change_permission(request, obj):
            return self.fieldsets
        *others, (title, options) = self.fieldsets
        return [*others, (title, {**options, "fields": [*options["fields"], "loaded_version"]})]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Contact]:
        queryset = super().get_queryset(request)
        if request.resolver_match and request.resolver_match.url_name == "contacts_contact_changelist":
            queryset = queryset.only(
                "id", "last_name", "first_name", "email", "phone", "city", "company", "anonymised_at"
            )
        return queryset

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Contact], search_term: str
    ) -> tuple[QuerySet[Contact], bool]:
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        # "01 23 45 67 89" finds "0123456789" and the reverse: a phone is matched on its digits alone.
        term = bounded_search_term(search_term)[0].strip()
        return (found | matching_phone(queryset, term) if term else found), may_have_duplicates

    def posts_to_anonymised(self, object_id: str | None) -> bool:
        pk = parse_database_id(object_id or "")  # "²" is a digit for str.isdigit(), not for int()
        return pk is not None and Contact.objects.filter(pk=pk, anonymised_at__isnull=False).exists()

    def has_change_permission(self, request: HttpRequest, obj: Contact | None = None) -> bool:
        # An anonymised contact stays anonymous: it can be viewed, no longer edited.
        return super().has_change_permission(request, obj) and not (obj and obj.is_anonymised)

    def view_on_site(self, obj: Contact) -> str:
        return reverse("contacts:record", args=[obj.pk])

    @admin.display(description=_("anonymised"), boolean=True, ordering="anonymised_at")
    def anonymised(self, obj: Contact) -> bool:
        return obj.anonymised_at is not None

    @admin.display(description=_("Record"))
    def record(self, obj: Contact):
        return _record_link(obj.pk)

    def save_model(self, request: HttpRequest, obj: Contact, form, change: bool) -> None:
        previous_photo = form.initial.get("photo") if change else None
        super().save_model(request, obj, form, change)
        if previous_photo and "photo" in form.changed_data and previous_photo.name != obj.photo.name:
            stored_files_delete_on_commit(files=[previous_photo])

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        if formset.model is not Document:
            return super().save_formset(request, form, formset, change)
        documents_formset_save(request, formset)

    def delete_model(self, request: HttpRequest, obj: Contact) -> None:
        self._delete_files_of(Contact.objects.filter(pk=obj.pk))
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Contact]) -> None:
        self._delete_files_of(queryset)
        super().delete_queryset(request, queryset)

    @staticmethod
    def _delete_files_of(contacts: QuerySet[Contact]) -> None:
        files = [c.photo for c in contacts.only("id", "photo")]
        files += [d.file for d in Document.objects.filter(contact__in=contacts).only("id", "file")]
        stored_files_delete_on_commit(files=files)


@admin.register(Document)
class DocumentAdmin(BoundedInputAdminMixin, RefusesAnonymisedWrites):
    form = DocumentAdminForm
    formfield_overrides = FILE_WIDGETS
    list_display = ["id", "contact_link", "kind", "original_name", "size_display", "uploaded_at"]
    list_filter = ["kind"]
    list_select_related = ["contact"]
    # The contact is chosen by name (the contacts' search), not by typing its number.
    autocomplete_fields = ["contact"]

    class Media:
        js = ["gdpr_portal/js/autocomplete-names.js"]

    readonly_fields = [
        "original_name",
        "content_type",
        "size_display",
        "sha256",
        "uploaded_at",
        "uploaded_by",
    ]
    search_fields = ["=contact__id", "original_name"]
    list_per_page = 50

    def get_fields(self, request: HttpRequest, obj: Document | None = None) -> tuple[str, ...]:
        fields = ("contact", "kind", "file")
        return fields if obj is None else (*fields, *self.readonly_fields)

    @admin.display(description=_("contact"), ordering="contact_id")
    def contact_link(self, obj: Document):
        return format_html("{} {}", obj.contact, _record_link(obj.contact_id))

    @admin.display(description=_("size"), ordering="size")
    def size_display(self, obj: Document) -> str:
        return filesizeformat(obj.size)

    def save_model(self, request: HttpRequest, obj: Document, form, change: bool) -> None:
        if obj.pk is None:
            obj.uploaded_by = request.user
        super().save_model(request, obj, form, change)

    def delete_model(self, request: HttpRequest, obj: Document) -> None:
        stored_files_delete_on_commit(files=[obj.file])
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Document]) -> None:
        stored_files_delete_on_commit(files=[d.file for d in queryset.only("id", "file")])
        super().delete_queryset(request, queryset)
