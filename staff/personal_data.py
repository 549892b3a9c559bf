"""The users population ("Gestion RGPD Utilisateurs"): what EmployeeProfile and HrDocument hold about an
employee (the RGPD registry, see rgpd/registry.py), and the account's part through the population's
hooks (staff/accounts.py): the User model is Django's, it has no ``anonymised_at`` and is not declared
field by field."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from contacts.personal_data import document_spec
from rgpd.filters import AnonymisedListFilter
from rgpd.populations import Population, RgpdPage, declare
from rgpd.registry import Treatment, registry

from . import accounts
from .filters import ActiveListFilter, ReadyArchiveListFilter
from .models import RGPD_USERS_PERMISSION_CODENAME, EmployeeProfile, HrDocument, RgpdUser

profile_spec = registry.register(
    EmployeeProfile,
    personal={
        "civility": Treatment.EMPTY,
        "phone": Treatment.MASK,
        "mobile": Treatment.MASK,
        "street": Treatment.MASK,
        "postal_code": Treatment.MASK,
        "city": Treatment.MASK,
        "country": Treatment.MASK,
        "birth_date": Treatment.NULL,
        "photo": Treatment.DELETE_FILE,
        "job_title": Treatment.EMPTY,
        "start_date": Treatment.NULL,
        "end_date": Treatment.NULL,
    },
    not_personal=["user", "storage_key", "anonymised_at"],
)

# An HR document records what a contact's document records, treated the same way (rows deleted with
# their files; kind, type, size, sha256 and date kept as non-identifying).
hr_document_spec = registry.register(
    HrDocument,
    subject_field="employee",
    delete_rows=True,
    export_label="documents",
    file_names={"file": "original_name"},
    personal=document_spec.personal,
    not_personal=["id", "employee", "uploaded_by"],
)


@admin.display(description=_("name"), ordering="user__last_name")
def user_name(obj: EmployeeProfile) -> str:
    return f"{obj.user.last_name} {obj.user.first_name}".strip()


@admin.display(description=_("username"), ordering="user__username")
def username(obj: EmployeeProfile) -> str:
    return obj.user.username


@admin.display(description=_("email"))
def user_email(obj: EmployeeProfile) -> str:
    return obj.user.email


@admin.display(description=_("active"), boolean=True, ordering="user__is_active")
def user_active(obj: EmployeeProfile) -> bool:
    return obj.user.is_active


USERS = declare(
    Population(
        key="users",
        subject=profile_spec,
        related=(hr_document_spec,),
        permission_codename=RGPD_USERS_PERMISSION_CODENAME,
        permission_label="RGPD Utilisateurs",
        page=RgpdPage(
            model=RgpdUser,
            columns=(user_name, username, user_email, "job_title", user_active),
            list_fields=(
                "user_id",
                "job_title",
                "anonymised_at",
                "user__username",
                "user__first_name",
                "user__last_name",
                "user__email",
                "user__is_active",
            ),
            search_fields=("^user__last_name", "user__first_name", "user__email", "user__username"),
            list_filter=(ActiveListFilter, AnonymisedListFilter, ReadyArchiveListFilter),
            ordering=("user__last_name", "user__first_name", "user_id"),
            record_url_name="staff:record",
            record_label=_("Open the user's record"),
            module_name=_("users"),
            url_segment="user",
        ),
        api_key="users",
        api_item_key="user",
        archive_prefix="user",
        heading=_("GDPR management of users"),
        name_fields=("user__first_name", "user__last_name", "user__email"),
        name_and_email=lambda profile: (
            f"{profile.user.first_name} {profile.user.last_name}".strip(),
            profile.user.email,
        ),
        wording_context="users",
        refuse=accounts.refusals,
        anonymise_extra=accounts.accounts_close,
        export_extra=accounts.account_export,
        export_extra_labels=accounts.ACCOUNT_LABELS,
        preview_extra=accounts.account_preview,
        refusal_messages={
            accounts.SELF: _("You cannot anonymise your own account."),
            accounts.LAST_SUPERUSER: _(
                "This is the last active superuser: the back office would have no administrator left."
            ),
            "not_found": _("No user has this id."),
            "already_anonymised": _("This user has already been anonymised."),
            "export_in_progress": _(
                "An export of this user is still being generated: wait until its archive is ready."
            ),
            "archive_expired": _("The archive of this user has expired: export the data again first."),
            "not_exported": _("No archive has been generated for this user: export the data first."),
            "verification_failed": _(
                "The check after anonymisation found a former value: nothing was changed for this user."
            ),
            "error": _("An unexpected error occurred: nothing was changed for this user."),
        },
    )
)
