"""Building one part's archive (format v2), streamed from storage into storage."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.db import models, transaction
from django.utils import timezone

from ... import storage as archive_storage
from ...archive import FORMAT_VERSION, ArchiveWriter, WrittenEntry, safe_filename
from ...information.models import ProcessingInformation
from ...models import ExportPart
from ...populations import Population
from ...populations import population as population_by_key
from ...registry import ModelSpec
from ..selection import batched, concrete_field
from . import readable
from .lease import Lease

logger = logging.getLogger(__name__)

READ_BATCH = 50  # people read from the database at once while building


MANIFEST_NAME = "manifest.json"
PERSONAL_DATA_NAME = "personal_data.json"


@dataclass
class _BuildResult:
    name: str
    size: int
    sha256: str
    files: int
    missing: int
    subject_ids: list[int]


# --- Building the archive (format v2) ---------------------------------------------------------------
def _label(spec: ModelSpec) -> str:
    return spec.model._meta.label_lower


def _field_value(instance: models.Model, name: str):
    value = concrete_field(type(instance), name).value_from_object(instance)
    if isinstance(value, models.fields.files.FieldFile):
        return value.name or None
    return value


@dataclass
class _PartWriter:
    writer: ArchiveWriter
    lease: Lease
    files: list[dict] = field(default_factory=list)
    missing: list[dict] = field(default_factory=list)

    def write_file(
        self, instance: models.Model, spec: ModelSpec, name: str, *, subject_id: int, folder: str, prefix: str
    ) -> dict | None:
        """Copy one stored file into the archive; describe it (or why it is missing)."""
        stored = getattr(instance, name)
        if not stored or not stored.name:
            return None
        # The name the user gave the file, else the field's name with the stored extension: the stored
        # name itself is part of the storage key, which never enters the archive.
        display = safe_filename(
            getattr(instance, spec.file_names[name], "") if name in spec.file_names else "", fallback=""
        ) or safe_filename(f"{name}{PurePosixPath(stored.name).suffix.lower()}")
        # The file's own name only: the storage key (opaque, internal) never enters the archive.
        description = {"name": display, "archive_path": None, "size": None, "sha256": None}
        try:
            chunks = archive_storage.iter_stored_file(stored.name, storage=stored.storage)
        except (archive_storage.StoredFileMissing, SuspiciousFileOperation) as exc:
            reason = "not_found" if isinstance(exc, archive_storage.StoredFileMissing) else "invalid_name"
            self.missing.append(
                {
                    "subject_id": subject_id,
                    "model": _label(spec),
                    "object_id": instance.pk,
                    "field": name,
                    "name": display,
                    "reason": reason,
                }
            )
            return {**description, "missing": True, "reason": reason}
        path = self.writer.unique_name(f"{folder}/{prefix}{display}")
        entry = self.writer.add_chunks(path, self._beating(chunks))
        self.record_entry(
            entry, subject_id=subject_id, kind="file", model=_label(spec), object_id=instance.pk, field=name
        )
        return {
            **description,
            "archive_path": entry.path,
            "size": entry.size,
            "sha256": entry.sha256,
            "missing": False,
        }

    def _beating(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            yield chunk
            self.lease.beat()

    def record_entry(self, entry: WrittenEntry, **about) -> None:
        self.files.append({"path": entry.path, "size": entry.size, "sha256": entry.sha256, **about})

    def record_fields(
        self,
        instance: models.Model,
        spec: ModelSpec,
        *,
        subject_id: int,
        folder: str,
        prefix: str = "",
        per_field_folder: bool = False,
    ) -> dict:
        """Every exported field of ``instance`` with its stored value; files copied into the archive."""
        values = {}
        for name in spec.exported_fields:
            if name in spec.file_fields:
                values[name] = self.write_file(
                    instance,
                    spec,
                    name,
                    subject_id=subject_id,
                    folder=f"{folder}/{name}" if per_field_folder else folder,
                    prefix=prefix,
                )
            else:
                values[name] = _field_value(instance, name)
        return values


def _read_people(
    population: Population, ids: list[int]
) -> list[tuple[models.Model, list[tuple[ModelSpec, list[models.Model]]]]]:
    """The subjects ``ids`` and, for each, its related rows per registered model, read under a row lock.

    Locking the subjects (as the anonymisation does) means an anonymisation running at the same
    moment is either entirely before or entirely after this read, never half-seen.
    """
    model = population.model
    with transaction.atomic():
        people = list(model._default_manager.select_for_update(no_key=True).filter(pk__in=ids).order_by("pk"))
        related: list[tuple[ModelSpec, dict[int, list[models.Model]]]] = []
        for spec in population.related:
            attname = concrete_field(spec.model, spec.subject_field or "").attname
            by_subject: dict[int, list[models.Model]] = defaultdict(list)
            for row in spec.model._default_manager.filter(**{f"{attname}__in": ids}).order_by("pk"):
                by_subject[getattr(row, attname)].append(row)
            related.append((spec, by_subject))
    return [(person, [(spec, rows.get(person.pk, [])) for spec, rows in related]) for person in people]


def _build_archive(part: ExportPart, name: str, lease: Lease) -> _BuildResult:
    generated_at = timezone.now()
    population = population_by_key(part.request.population)
    subject = population.subject
    subject_ids = list(part.subjects.order_by("subject_id").values_list("subject_id", flat=True))
    sink = archive_storage.open_archive_sink(name, on_upload_started=lease.record_upload)
    try:
        writer = ArchiveWriter(sink, date_time=timezone.localtime(generated_at))
        out = _PartWriter(writer=writer, lease=lease)
        exported: list[int] = []
        index: list[tuple[str, str]] = []  # (folder, name) of each person, for the root index.html
        sheet = ProcessingInformation.current()  # the texts as they stand at the export
        language = part.request.language or settings.LANGUAGE_CODE  # the pages speak the requester's language
        pages = readable.PersonPages(
            language=language, generated_at=generated_at, data_file=PERSONAL_DATA_NAME
        )
        for batch in batched(subject_ids, READ_BATCH):
            for person, related in _read_people(population, batch):
                folder = population.folder(person.pk)
                # The subject's files go to <folder>/<field>/, related rows' to <folder>/<label>/.
                record: dict[str, Any] = {
                    "format_version": FORMAT_VERSION,
                    "exported_at": generated_at,
                    "subject": {
                        "model": _label(subject),
                        "id": person.pk,
                        "fields": out.record_fields(
                            person, subject, subject_id=person.pk, folder=folder, per_field_folder=True
                        ),
                    },
                    "related": {},
                }
                for spec, rows in related:
                    record["related"][spec.export_label] = {
                        "model": _label(spec),
                        "records": [
                            {
                                "id": row.pk,
                                "fields": out.record_fields(
                                    row,
                                    spec,
                                    subject_id=person.pk,
                                    folder=f"{folder}/{spec.export_label}",
                                    prefix=f"{row.pk}_",
                                ),
                            }
                            for row in rows
                        ],
                    }
                extra = population.export_extra(person) if population.export_extra else {}
                record.update(extra)  # e.g. the user's account
                entry = writer.add_json(f"{folder}/{PERSONAL_DATA_NAME}", record)
                about = {
                    "subject_id": person.pk,
                    "model": _label(subject),
                    "object_id": person.pk,
                    "field": None,
                }
                out.record_entry(entry, kind="personal_data", **about)
                full_name = population.who(person)[0] or folder
                page = pages.render(
                    name=full_name,
                    folder=folder,
                    person=person,
                    subject=subject,
                    record=record,
                    related=related,
                    extra=extra,
                    extra_labels=population.export_extra_labels,
                )
                entry = writer.add_chunks(f"{folder}/{readable.PAGE_NAME}", [page], compress=True)
                out.record_entry(entry, kind="page", **about)
                index.append((folder, full_name))
                exported.append(person.pk)
                lease.beat()
        index_chunks = readable.index_page(
            people=index,
            sheet=sheet,
            generated_at=generated_at,
            request_id=part.request_id,
            part=part.number,
            part_count=part.request.part_count,
            person_count=len(index),
            language=language,
        )
        entry = writer.add_chunks(readable.PAGE_NAME, index_chunks, compress=True)
        out.record_entry(entry, kind="index", subject_id=None, model=None, object_id=None, field=None)
        manifest = {
            "format": "gdpr_portal.rgpd_export",
            "format_version": FORMAT_VERSION,
            "generated_at": generated_at,
            "request_id": part.request_id,
            "part": part.number,
            "part_count": part.request.part_count,
            "subject_count": len(exported),
            "population": population.key,
            "subjects": [{"id": pk, "folder": population.folder(pk)} for pk in exported],
            "files": out.files,
            "missing_files": out.missing,
            # The information sheet's texts as index.html shows them, kept for machines (stable keys).
            "information": {name: getattr(sheet, name) for name in sheet.TEXT_FIELDS},
        }
        writer.add_json(MANIFEST_NAME, manifest)
        size, sha256 = writer.close()
        # Publish only while still the owner: a taken-over attempt must not complete its upload.
        lease.beat(force=True)
        sink.commit()
    except BaseException:
        try:
            sink.abort()
        except Exception:
            logger.warning("rgpd: could not abort the upload of export part %s", part.pk, exc_info=True)
        raise
    return _BuildResult(
        name=name,
        size=size,
        sha256=sha256,
        files=len(out.files),
        missing=len(out.missing),
        subject_ids=exported,
    )
