"""factory_boy factories with French data, as the back office holds."""

import factory
from django.contrib.auth.models import Group, Permission, User
from django.core.files.base import ContentFile
from factory.django import DjangoModelFactory

from contacts.models import RGPD_PERMISSION_CODENAME, Contact, Document

factory.Faker._DEFAULT_LOCALE = "fr_FR"

# The smallest valid PDF; documents in tests are real files of this kind, made unique per document.
MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    is_staff = True
    password = factory.PostGenerationMethodCall("set_password", "pw-test-123")

    @factory.post_generation
    def groups(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(*extracted)
        if create:
            self.save()


def rgpd_group(name: str = "RGPD") -> Group:
    """A security group holding the right "RGPD Contacts Clients"."""
    group, _ = Group.objects.get_or_create(name=name)
    group.permissions.add(Permission.objects.get(codename=RGPD_PERMISSION_CODENAME))
    return group


def rgpd_user(**kwargs) -> User:
    """A back-office user who holds the right through a group only."""
    return UserFactory(groups=[rgpd_group()], **kwargs)


class ContactFactory(DjangoModelFactory):
    class Meta:
        model = Contact

    civility = factory.Iterator([Contact.Civility.MR, Contact.Civility.MRS])
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Faker("email")
    phone = factory.Faker("phone_number")
    mobile = factory.Faker("phone_number")
    street = factory.Faker("street_address")
    postal_code = factory.Faker("postcode")
    city = factory.Faker("city")
    country = "France"
    birth_date = factory.Faker("date_of_birth", minimum_age=18, maximum_age=90)
    company = factory.Faker("company")
    job_title = factory.Faker("job")
    notes = factory.Faker("sentence")


class DocumentFactory(DjangoModelFactory):
    class Meta:
        model = Document

    contact = factory.SubFactory(ContactFactory)
    kind = Document.Kind.PAYSLIP
    file = factory.LazyAttributeSequence(
        lambda o, n: ContentFile(MINIMAL_PDF + f"% document {n}\n".encode(), name=f"bulletin-{n}.pdf")
    )


# --- Anonymisation helpers --------------------------------------------------------------------------


def exported(
    contacts, *, status: str = "ready", expires_in=None, requested_by=None, population: str = "contacts"
):
    """Put ``contacts`` in an archive part directly (no real export): by default ready, expiring in 10 days.

    ``status`` is an ``ExportPart.Status`` value; ``expires_in`` a timedelta (negative: already expired).
    """
    from datetime import timedelta

    from django.utils import timezone

    from rgpd.models import ExportPart, ExportRequest, ExportSubject

    contacts = list(contacts)
    now = timezone.now()
    request = ExportRequest.objects.create(
        requested_by=requested_by,
        population=population,
        subject_count=len(contacts),
        part_count=1,
        created_at=now,
    )
    ready = status in (ExportPart.Status.READY, ExportPart.Status.EXPIRED)
    part = ExportPart.objects.create(
        request=request,
        number=1,
        status=status,
        subject_count=len(contacts),
        object_key=f"exports/{request.pk}/part-1.zip" if ready else "",
        ready_at=now if ready else None,
        expires_at=now + (expires_in if expires_in is not None else timedelta(days=10)) if ready else None,
    )
    ExportSubject.objects.bulk_create(
        ExportSubject(part=part, population=population, subject_id=contact.pk) for contact in contacts
    )
    return part


def png_image(name: str = "photo.png", colour: str = "navy") -> ContentFile:
    """A small real PNG, for contact photos."""
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (8, 8), colour).save(buffer, format="PNG")
    return ContentFile(buffer.getvalue(), name=name)


def contact_history_entry(*, author, contact_id: int, message: str):
    """A line of a contact's admin history ("Historique"), written as the admin writes it."""
    from django.contrib.admin.models import CHANGE, LogEntry
    from django.contrib.contenttypes.models import ContentType

    return LogEntry.objects.create(
        user=author,
        content_type=ContentType.objects.get_for_model(Contact),
        object_id=str(contact_id),
        object_repr="Contact",
        action_flag=CHANGE,
        change_message=message,
    )
