"""``manage.py seed_demo``: realistic French demo data and the demo accounts."""

from io import StringIO

from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.core.management import call_command

from contacts.models import RGPD_PERMISSION, Contact, Document


def seed(**options) -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, stderr=StringIO(), no_progress=True, **options)
    return out.getvalue()


def test_seed_demo_creates_the_requested_contacts_documents_and_accounts(db):
    output = seed(contacts=12, documents_per_contact=3, photo_ratio=1.0, seed=7)

    assert Contact.objects.count() == 12
    assert Document.objects.count() == 36
    assert set(Document.objects.values_list("contact_id", flat=True)) == set(
        Contact.objects.values_list("id", flat=True)
    )
    # Documents and photos are real files in the default storage (S3 here), under each contact's key
    document = Document.objects.select_related("contact").first()
    assert document.file.name.startswith(f"contacts/{document.contact.storage_key}/documents/")
    with default_storage.open(document.file.name, "rb") as stored:
        content = stored.read()
    assert content.startswith(b"%PDF-1.4") and content.rstrip().endswith(b"%%EOF")
    assert len(content) == document.size
    contact = Contact.objects.first()
    assert contact.photo and default_storage.exists(contact.photo.name)
    assert contact.country == "France" and contact.email and contact.phone
    # The logins are printed
    for login in ("admin / admin", "rgpd / rgpd", "backoffice / backoffice"):
        assert login in output


def test_demo_accounts_are_not_duplicated_and_only_the_rgpd_officer_holds_the_right(db):
    seed(contacts=2, documents_per_contact=1)
    output = seed(contacts=3, documents_per_contact=0)

    assert Contact.objects.count() == 5
    accounts = User.objects.exclude(username__startswith="employe").values_list("username", flat=True)
    assert sorted(accounts) == ["admin", "backoffice", "rgpd", "rh"]
    assert "already existed" in output
    rgpd, backoffice = User.objects.get(username="rgpd"), User.objects.get(username="backoffice")
    assert rgpd.has_perm(RGPD_PERMISSION) and not rgpd.user_permissions.exists()
    assert list(rgpd.groups.values_list("name", flat=True)) == ["RGPD"]
    assert not backoffice.has_perm(RGPD_PERMISSION)
    assert backoffice.has_perm("contacts.change_contact")
    assert User.objects.get(username="admin").is_superuser
    assert rgpd.check_password("rgpd")
