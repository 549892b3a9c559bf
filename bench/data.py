"""Data for the benchmarks: demo contacts (``seed_demo``), large incompressible documents, and fast
SQL bulk inserts for the page at a million contacts. Imported after ``django.setup()``."""

from __future__ import annotations

import io
import os
import random
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from boto3.s3.transfer import TransferConfig
from django.core.files.storage import default_storage, storages
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from faker import Faker

from contacts.models import Contact, Document, document_file_path
from gdpr_portal.stored_files.objects import is_s3
from rgpd.models import ExportPart, ExportRequest, ExportSubject
from rgpd.populations import population
from rgpd.registry import MASK, Treatment
from rgpd.storage import s3_key

MB = 1_000_000


def s3():
    """(boto3 client, bucket) of the documents' storage."""
    return default_storage.connection.meta.client, default_storage.bucket_name


def contact_ids_after(pk: int) -> list[int]:
    return list(Contact.objects.filter(pk__gt=pk).order_by("pk").values_list("pk", flat=True))


def max_contact_id() -> int:
    return Contact.objects.aggregate(m=Max("pk"))["m"] or 0


# --- seed_demo ------------------------------------------------------------------------------------
def seed_demo(
    count: int, *, seed: int, documents: int = 3, photo_ratio: float = 0.8
) -> tuple[list[int], float]:
    """Run ``manage.py seed_demo`` for ``count`` contacts; return their ids and the seconds it took."""
    before = max_contact_id()
    started = time.perf_counter()
    call_command(
        "seed_demo",
        contacts=count,
        documents_per_contact=documents,
        photo_ratio=photo_ratio,
        seed=seed,
        no_progress=True,
        verbosity=0,
        stdout=io.StringIO(),
    )
    seconds = time.perf_counter() - started
    return contact_ids_after(before), seconds


# --- Incompressible documents ---------------------------------------------------------------------
class RandomStream(io.RawIOBase):
    """``size`` random bytes, read once (like a scanned PDF: nothing for a ZIP to compress)."""

    def __init__(self, size: int):
        self.remaining = size

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = self.remaining if n is None or n < 0 else min(n, self.remaining)
        self.remaining -= n
        return os.urandom(n)


def _new_document(contact: Contact, index: int, size: int) -> Document:
    document = Document(
        contact=contact,
        kind=Document.Kind.OTHER,
        original_name=f"scan-{index + 1}.pdf",
        content_type="application/pdf",
        size=size,
    )
    document.file.name = document_file_path(document, document.original_name)
    return document


def person_with_documents(sizes: list[int], *, label: str) -> int:
    """A contact whose documents are ``sizes`` bytes of random data, uploaded with multipart; its id."""
    contact = Contact.objects.create(first_name="Bench", last_name=f"Volumineux-{label}", email="")
    client, bucket = s3()
    config = TransferConfig(multipart_chunksize=16 * 2**20, max_concurrency=4)
    documents = []
    for index, size in enumerate(sizes):
        document = _new_document(contact, index, size)
        client.upload_fileobj(
            RandomStream(size), bucket, s3_key(default_storage, document.file.name), Config=config
        )
        documents.append(document)
    Document.objects.bulk_create(documents)
    return contact.pk


def add_random_documents(contact_ids: list[int], *, per_contact: int, size: int, threads: int = 8) -> None:
    """Give each contact ``per_contact`` documents of ``size`` random bytes (uploaded from threads)."""
    client, bucket = s3()
    contacts = Contact.objects.in_bulk(contact_ids)
    documents = [_new_document(contacts[pk], i, size) for pk in contact_ids for i in range(per_contact)]

    def upload(document: Document) -> None:
        client.put_object(
            Bucket=bucket, Key=s3_key(default_storage, document.file.name), Body=os.urandom(size)
        )

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(upload, documents))
    Document.objects.bulk_create(documents, batch_size=2000)


def document_keys(contact_ids: list[int]) -> list[str]:
    names = (
        Document.objects.filter(contact_id__in=contact_ids)
        .order_by("contact_id", "pk")
        .values_list("file", flat=True)
    )
    return [s3_key(default_storage, name) for name in names]


def delete_objects(keys: list[str], *, storage=None) -> None:
    """Remove benchmark objects (archives, floor copies) to keep the disk small; not timed."""
    client, bucket = s3() if storage is None else (storage.connection.meta.client, storage.bucket_name)
    for start in range(0, len(keys), 1000):
        batch = keys[start : start + 1000]
        if batch:
            client.delete_objects(
                Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True}
            )


def delete_archives(request_ids: list[int]) -> None:
    storage = storages["rgpd_archives"]
    names = (
        ExportPart.objects.filter(request_id__in=request_ids)
        .exclude(object_key="")
        .values_list("object_key", flat=True)
    )
    delete_objects([s3_key(storage, name) for name in names], storage=storage)


# --- Bulk SQL for the page at scale -------------------------------------------------------------------
def _ascii(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if c.isalnum() and c.isascii()).lower()


def name_pools(seed: int = 7) -> dict[str, list[str]]:
    fake = Faker("fr_FR")
    fake.seed_instance(seed)
    last = sorted({fake.last_name() for _ in range(20000)})
    first = sorted({fake.first_name() for _ in range(5000)})
    cities = sorted({fake.city() for _ in range(3000)})
    return {
        "last": last,
        "last_slug": [_ascii(n) or "x" for n in last],
        "first": first,
        "first_slug": [_ascii(n) or "x" for n in first],
        "cities": cities,
    }


def insert_contacts_sql(
    count: int, *, pools: dict[str, list[str]], batch: int = 250_000
) -> list[tuple[int, int]]:
    """Insert ``count`` contacts with one ``INSERT … SELECT generate_series`` per batch; return id ranges."""
    ranges = []
    done = 0
    while done < count:
        size = min(batch, count - done)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO contacts_contact (civility, first_name, last_name, email, phone, mobile, street,
                    postal_code, city, country, birth_date, photo, company, job_title, notes, storage_key,
                    created_at, updated_at, anonymised_at)
                SELECT CASE WHEN g %% 2 = 0 THEN 'M.' ELSE 'Mme' END,
                       p.first[r.f], p.last[r.l],
                       p.first_slug[r.f] || '.' || p.last_slug[r.l] || g || '@exemple.fr',
                       '0' || (1 + g %% 5) || ' ' || lpad((g %% 100000000)::text, 8, '0'),
                       '', (1 + g %% 200) || ' rue de la Paix', lpad((g %% 95000 + 1000)::text, 5, '0'),
                       p.cities[r.c], 'France', DATE '1950-01-01' + (g %% 20000), '', '', '', '',
                       gen_random_uuid(), now(), now(), NULL
                FROM generate_series(%s, %s) AS g
                CROSS JOIN (SELECT %s::text[] AS first, %s::text[] AS last, %s::text[] AS first_slug,
                                   %s::text[] AS last_slug, %s::text[] AS cities) AS p
                CROSS JOIN LATERAL (
                    SELECT 1 + floor(random() * cardinality(p.first) + 0 * g)::int AS f,
                           1 + floor(random() * cardinality(p.last) + 0 * g)::int AS l,
                           1 + floor(random() * cardinality(p.cities) + 0 * g)::int AS c
                ) AS r
                RETURNING id
                """,
                [
                    done + 1,
                    done + size,
                    pools["first"],
                    pools["last"],
                    pools["first_slug"],
                    pools["last_slug"],
                    pools["cities"],
                ],
            )
            ids = [row[0] for row in cursor.fetchall()]
        ranges.append((min(ids), max(ids)))
        done += size
    return ranges


def insert_placeholder_documents(first_id: int, last_id: int, *, per_contact: int) -> None:
    """Document rows (no stored object) for contacts ``first_id..last_id``: the database side of a
    person's documents for a sampled population; a deletion of their keys costs the same calls."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO contacts_document (contact_id, kind, file, original_name, content_type, size, sha256,
                uploaded_at, uploaded_by_id)
            SELECT c.id, 'payslip',
                   'contacts/' || c.storage_key || '/documents/' || gen_random_uuid() || '.pdf',
                   'bulletin-de-salaire.pdf', 'application/pdf', 2000, '', now(), NULL
            FROM contacts_contact c CROSS JOIN generate_series(1, %s)
            WHERE c.id BETWEEN %s AND %s
            """,
            [per_contact, first_id, last_id],
        )


def vacuum_analyze() -> None:
    """What autovacuum does soon after a bulk load: statistics and the visibility map (index-only scans)."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def mark_exported(contact_ids: list[int], *, actor, part_size: int = 200) -> int:
    """Record a ready, unexpired archive for these contacts without building it (a precondition of the
    anonymisation runs that do not measure the export); return the request id."""
    now = timezone.now()
    with transaction.atomic():
        request = ExportRequest.objects.create(
            requested_by=actor,
            population="contacts",
            subject_count=len(contact_ids),
            part_count=-(-len(contact_ids) // part_size),
        )
        parts = ExportPart.objects.bulk_create(
            ExportPart(
                request=request,
                number=n + 1,
                status=ExportPart.Status.READY,
                subject_count=len(contact_ids[start : start + part_size]),
                object_key=f"bench/not-built-{request.pk}-{n + 1}.zip",
                size=0,
                ready_at=now,
                expires_at=now + timedelta(days=10),
            )
            for n, start in enumerate(range(0, len(contact_ids), part_size))
        )
        ExportSubject.objects.bulk_create(
            (
                ExportSubject(part=parts[i // part_size], population="contacts", subject_id=pk)
                for i, pk in enumerate(contact_ids)
            ),
            batch_size=5000,
        )
    return request.pk


# --- The anonymisation floor ---------------------------------------------------------------------------
def anonymisation_floor(contact_ids: list[int]) -> dict:
    """The least work anonymising ``contact_ids`` can take: one UPDATE of the contacts, one DELETE of
    their documents' rows, and their objects removed: with DeleteObjects, 1,000 keys per call, on S3;
    each file unlinked on local storage."""
    spec = population("contacts").subject
    assignments, params = [], []
    for name, treatment in spec.personal.items():
        column = spec.model._meta.get_field(name).column
        if treatment == Treatment.KEEP:
            continue
        assignments.append(f'"{column}" = %s')
        params.append(None if treatment == Treatment.NULL else (MASK if treatment == Treatment.MASK else ""))
    photo_column = spec.model._meta.get_field("photo").column
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE contacts_contact AS c
            SET {", ".join(assignments)}, anonymised_at = now(), updated_at = now()
            FROM (
                SELECT id, "{photo_column}" AS old_photo FROM contacts_contact WHERE id = ANY(%s) FOR UPDATE
            ) AS old
            WHERE c.id = old.id
            RETURNING old.old_photo
            """,  # noqa: S608 - column names come from the model
            [*params, contact_ids],
        )
        names = [row[0] for row in cursor.fetchall() if row[0]]
        cursor.execute(
            "DELETE FROM contacts_document WHERE contact_id = ANY(%s) RETURNING file", [contact_ids]
        )
        names += [row[0] for row in cursor.fetchall() if row[0]]
    if not is_s3(default_storage):
        for name in names:
            os.unlink(default_storage.path(name))
        return {"seconds": time.perf_counter() - started, "objects": len(names), "delete_calls": 0}
    client, bucket = s3()
    keys = [s3_key(default_storage, name) for name in names]
    calls = 0
    for start in range(0, len(keys), 1000):
        client.delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys[start : start + 1000]], "Quiet": True}
        )
        calls += 1
    return {"seconds": time.perf_counter() - started, "objects": len(keys), "delete_calls": calls}


# --- The export floor ----------------------------------------------------------------------------------
def copy_floor(keys: list[str], *, part_size: int = 8 * 2**20, read_chunk: int = 2**20) -> dict:
    """The same bytes read from the bucket and written back as one object with boto3 (multipart, the same
    part and read sizes as the archive writer); the copy is deleted afterwards."""
    client, bucket = s3()
    target = f"bench-floor/{time.time_ns()}-{random.getrandbits(32)}.bin"
    started = time.perf_counter()
    upload_id = client.create_multipart_upload(Bucket=bucket, Key=target)["UploadId"]
    parts, buffer, total = [], bytearray(), 0

    def flush() -> None:
        number = len(parts) + 1
        etag = client.upload_part(
            Bucket=bucket, Key=target, UploadId=upload_id, PartNumber=number, Body=bytes(buffer)
        )["ETag"]
        parts.append({"ETag": etag, "PartNumber": number})
        buffer.clear()

    for key in keys:
        body = client.get_object(Bucket=bucket, Key=key)["Body"]
        for chunk in body.iter_chunks(read_chunk):
            buffer += chunk
            total += len(chunk)
            if len(buffer) >= part_size:
                flush()
    if buffer or not parts:
        flush()
    client.complete_multipart_upload(
        Bucket=bucket, Key=target, UploadId=upload_id, MultipartUpload={"Parts": parts}
    )
    seconds = time.perf_counter() - started
    client.delete_object(Bucket=bucket, Key=target)
    return {"seconds": seconds, "bytes": total}


# --- The seed_demo floor -------------------------------------------------------------------------------
def put_floor(contacts: int, *, documents: int = 3, photo_ratio: float = 0.8, threads: int = 8) -> dict:
    """The objects of ``contacts`` demo contacts (small PDFs and portraits) uploaded with PutObject from
    ``threads`` threads, without any database row: the upload work seed_demo cannot avoid."""
    client, bucket = s3()
    rng = random.Random(contacts)
    count = round(contacts * (documents + photo_ratio))
    keys = [f"bench-put-floor/{time.time_ns()}-{i}.bin" for i in range(count)]
    bodies = [os.urandom(rng.randint(1500, 3000)) for _ in range(16)]

    def put(index: int) -> None:
        client.put_object(Bucket=bucket, Key=keys[index], Body=bodies[index % len(bodies)])

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(put, range(count)))
    seconds = time.perf_counter() - started
    delete_objects(keys)
    return {"contacts": contacts, "objects": count, "seconds": seconds}
