"""Demo data: French contacts with photos and small PDF documents, and the demo accounts.

Used by ``manage.py seed_demo`` (and so by ``make run`` the first time). Rows are written with
``bulk_create`` in batches and files through the default storage from a few threads, so 10,000
contacts with 3 documents each take well under two minutes on the embedded defaults.
"""

from __future__ import annotations

import hashlib
import io
import mimetypes
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta

from django.contrib.auth.models import Group, Permission, User
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from faker import Faker
from PIL import Image, ImageDraw

from gdpr_portal.stored_files.objects import is_s3, s3_client, s3_key

from .models import RGPD_PERMISSION_CODENAME, Contact, Document, contact_photo_path, document_file_path

# --- Demo accounts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: str
    group: str = ""
    superuser: bool = False


DEMO_ACCOUNTS = [
    DemoAccount("admin", "admin", "administrator (all rights)", superuser=True),
    DemoAccount("rgpd", "rgpd", 'RGPD officer, group "RGPD" holding "RGPD Contacts Clients"', group="RGPD"),
    DemoAccount("rh", "rh", 'HR officer, group "RGPD RH" holding "RGPD Utilisateurs"', group="RGPD RH"),
    DemoAccount(
        "backoffice", "backoffice", 'back-office user, group "Back-office" without it', group="Back-office"
    ),
]

# Group -> permissions (app_label, codename). Only "RGPD" holds the right "RGPD Contacts Clients", only
# "RGPD RH" the right "RGPD Utilisateurs".
DEMO_GROUPS = {
    "RGPD": [
        ("rgpd", RGPD_PERMISSION_CODENAME),
        ("contacts", "view_contact"),
        ("contacts", "view_document"),
    ],
    "RGPD RH": [("rgpd", "rgpd_utilisateurs")],
    "Back-office": [
        ("contacts", "view_contact"),
        ("contacts", "add_contact"),
        ("contacts", "change_contact"),
        ("contacts", "view_document"),
        ("contacts", "add_document"),
        ("contacts", "change_document"),
        ("contacts", "delete_document"),
    ],
}


def ensure_demo_accounts() -> list[tuple[DemoAccount, bool]]:
    """Create the demo groups and accounts if missing; return each account and whether it was created.

    Idempotent: running it again neither duplicates nor resets an account (its password is set only
    when the account is created).
    """
    groups = {}
    for name, perms in DEMO_GROUPS.items():
        group, _created = Group.objects.get_or_create(name=name)
        group.permissions.add(
            *(
                Permission.objects.get(content_type__app_label=app, codename=codename)
                for app, codename in perms
            )
        )
        groups[name] = group
    results = []
    for account in DEMO_ACCOUNTS:
        user, created = User.objects.get_or_create(
            username=account.username,
            defaults={"email": f"{account.username}@gdpr-portal.local", "is_staff": True},
        )
        if created:
            user.set_password(account.password)
        user.is_staff = True
        user.is_active = True
        user.is_superuser = account.superuser
        user.save()
        if account.group:
            user.groups.add(groups[account.group])
        results.append((account, created))
    return results


# --- Files -------------------------------------------------------------------------------------------


def _pdf_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(title: str, lines: list[str]) -> bytes:
    """A small valid one-page PDF (Helvetica, WinAnsi) showing a title and a few lines."""
    content_lines = ["BT", "/F1 16 Tf", "50 780 Td", f"({_pdf_text(title)}) Tj", "/F1 11 Tf", "0 -30 Td"]
    for line in lines:
        content_lines += [f"({_pdf_text(line)}) Tj", "0 -16 Td"]
    content_lines.append("ET")
    stream = "\n".join(content_lines).encode("cp1252", errors="replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def make_portraits(count: int, rng: random.Random) -> list[bytes]:
    """Small JPEG portraits (a silhouette on a coloured background), shared round-robin by contacts."""
    portraits = []
    for _ in range(count):
        background = tuple(rng.randint(120, 230) for _ in range(3))
        figure = tuple(max(0, c - rng.randint(70, 110)) for c in background)
        image = Image.new("RGB", (96, 96), background)
        draw = ImageDraw.Draw(image)
        draw.ellipse((30, 14, 66, 50), fill=figure)
        draw.ellipse((14, 56, 82, 128), fill=figure)
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=80)
        portraits.append(buffer.getvalue())
    return portraits


DOCUMENT_TEMPLATES = [
    (Document.Kind.PAYSLIP, "bulletin-de-salaire-{period}.pdf", "Bulletin de salaire"),
    (Document.Kind.EMPLOYMENT_CONTRACT, "contrat-de-travail.pdf", "Contrat de travail"),
    (Document.Kind.IDENTITY_DOCUMENT, "piece-identite.pdf", "Pièce d'identité"),
    (Document.Kind.OTHER, "attestation-employeur.pdf", "Attestation employeur"),
]


# --- Contacts ----------------------------------------------------------------------------------------


@dataclass
class SeedResult:
    contacts: int = 0
    documents: int = 0
    photos: int = 0


class DemoSeeder:
    def __init__(
        self,
        *,
        documents_per_contact: int = 3,
        photo_ratio: float = 0.8,
        seed: int | None = None,
        batch_size: int = 500,
        threads: int = 8,
        uploaded_by: User | None = None,
    ):
        self.documents_per_contact = documents_per_contact
        self.photo_ratio = photo_ratio
        self.batch_size = batch_size
        self.threads = threads
        self.uploaded_by = uploaded_by
        self.rng = random.Random(seed)  # noqa: S311 - demo data, not security
        self.fake = Faker("fr_FR")
        self.fake.seed_instance(seed)
        self.portraits = make_portraits(24, self.rng)
        self.storage = default_storage

    def run(self, count: int, progress: Callable[[int], object] = lambda n: None) -> SeedResult:
        result = SeedResult()
        with ThreadPoolExecutor(max_workers=self.threads) as pool:
            for start in range(0, count, self.batch_size):
                size = min(self.batch_size, count - start)
                contacts, documents, photos = self._batch(size, pool)
                result.contacts += contacts
                result.documents += documents
                result.photos += photos
                progress(size)
        return result

    def _batch(self, size: int, pool: ThreadPoolExecutor) -> tuple[int, int, int]:
        contacts = [self._contact() for _ in range(size)]
        uploads: list[tuple[object, str, str, bytes]] = []  # (instance, attribute, wanted name, bytes)
        for contact in contacts:
            if self.rng.random() < self.photo_ratio:
                portrait = self.portraits[self.rng.randrange(len(self.portraits))]
                uploads.append((contact, "photo", contact_photo_path(contact, "portrait.jpg"), portrait))
        documents = []
        for contact in contacts:
            for index in range(self.documents_per_contact):
                document, content = self._document(contact, index)
                documents.append(document)
                uploads.append(
                    (document, "file", document_file_path(document, document.original_name), content)
                )
        # Storage writes overlap (S3 round trips, disk I/O); names are unique (uuid): order does not matter.
        saved = pool.map(lambda item: self._store(item[2], item[3]), uploads)
        for (instance, attribute, _name, _content), name in zip(uploads, saved, strict=True):
            getattr(instance, attribute).name = name
        with transaction.atomic():
            Contact.objects.bulk_create(contacts, batch_size=self.batch_size)
            for document in documents:
                document.contact_id = document.contact.pk
            Document.objects.bulk_create(documents, batch_size=self.batch_size * 2)
        photos = sum(1 for _instance, attribute, _n, _c in uploads if attribute == "photo")
        return len(contacts), len(documents), photos

    def _store(self, name: str, content: bytes) -> str:
        """Write one new file. Its name is unique (a uuid), so on S3 one PutObject does it, without the
        existence check (HEAD) and transfer threads of ``Storage.save``: about 5x faster for small files."""
        if is_s3(self.storage):
            s3_client(self.storage).put_object(
                Bucket=self.storage.bucket_name,
                Key=s3_key(self.storage, name),
                Body=content,
                ContentType=mimetypes.guess_type(name)[0] or "application/octet-stream",
            )
            return name
        return self.storage.save(name, ContentFile(content))

    def _contact(self) -> Contact:
        fake, rng = self.fake, self.rng
        civility = rng.choice([Contact.Civility.MR, Contact.Civility.MRS])
        first_name = fake.first_name_male() if civility == Contact.Civility.MR else fake.first_name_female()
        last_name = fake.last_name()
        local = f"{slugify(first_name)}.{slugify(last_name)}".replace("-", "")
        return Contact(
            civility=civility,
            first_name=first_name,
            last_name=last_name,
            email=f"{local}{rng.randint(1, 99)}@{fake.free_email_domain()}",
            phone=fake.phone_number(),
            mobile="06 " + " ".join(f"{rng.randint(0, 99):02d}" for _ in range(4)),
            street=fake.street_address(),
            postal_code=fake.postcode(),
            city=fake.city(),
            country="France",
            birth_date=date(rng.randint(1950, 2004), rng.randint(1, 12), rng.randint(1, 28)),
            company=fake.company(),
            job_title=fake.job()[:200],
            notes=fake.sentence(nb_words=12) if rng.random() < 0.5 else "",
            # Some last seen years ago: the retention sweep ("À examiner") has people to show.
            last_activity_on=date.today() - timedelta(days=rng.randint(0, 6 * 365)),
        )

    def _document(self, contact: Contact, index: int) -> tuple[Document, bytes]:
        kind, name_pattern, title = DOCUMENT_TEMPLATES[index % len(DOCUMENT_TEMPLATES)]
        period = f"{2024 - index // len(DOCUMENT_TEMPLATES)}-{self.rng.randint(1, 12):02d}"
        original_name = name_pattern.format(period=period)
        content = make_pdf(
            title,
            [
                f"{contact.get_civility_display()} {contact.first_name} {contact.last_name}",
                contact.street,
                f"{contact.postal_code} {contact.city}",
                f"{contact.company} - {contact.job_title}",
                f"Période / référence : {period}",
            ],
        )
        document = Document(
            contact=contact,
            kind=kind,
            original_name=original_name,
            content_type="application/pdf",
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            uploaded_at=timezone.now(),
            uploaded_by=self.uploaded_by,
        )
        return document, content
