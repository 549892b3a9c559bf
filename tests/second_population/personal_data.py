"""The members population: registry entries and declaration, and nothing else (the engine is unchanged)."""

from rgpd.filters import AnonymisedListFilter
from rgpd.populations import Population, RgpdPage, declare
from rgpd.registry import Treatment, registry

from .models import MEMBERS_PERMISSION_CODENAME, Member, MemberFile, MemberPage

member_spec = registry.register(
    Member,
    personal={
        "name": Treatment.MASK,
        "email": Treatment.MASK,
        "city": Treatment.MASK,
        "joined_on": Treatment.NULL,
    },
    not_personal=["id", "anonymised_at"],
)

member_file_spec = registry.register(
    MemberFile,
    subject_field="member",
    delete_rows=True,
    export_label="files",
    file_names={"file": "original_name"},
    personal={"file": Treatment.DELETE_FILE, "original_name": Treatment.EMPTY},
    not_personal=["id", "member"],
)

MEMBERS = declare(
    Population(
        key="members",
        subject=member_spec,
        related=(member_file_spec,),
        permission_codename=MEMBERS_PERMISSION_CODENAME,
        permission_label="RGPD Members",
        page=RgpdPage(
            model=MemberPage,
            columns=("name", "email", "city"),
            list_fields=("id", "name", "email", "city", "anonymised_at"),
            search_fields=("name", "email"),
            list_filter=(AnonymisedListFilter,),
            ordering=("name", "id"),
            module_name="members",
            url_segment="member",
        ),
        api_key="members",
        api_item_key="member",
        archive_prefix="member",
        heading="GDPR management: members",
    )
)
