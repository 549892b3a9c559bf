"""The archive's pages a person can read: a page per person, and ``index.html`` at the root.

Why a page per person and a root index that only lists people: a ZIP entry is written in one go, and
the people are read and written batch after batch (``building.READ_BATCH``) while their files stream
through. A root page holding everybody's data would have to keep every person's data in memory, or read
everybody twice, until the end of the part. Each person's page is written right after their
``personal_data.json`` from the rows already in hand; the root index, written last, is streamed row by
row from (folder, name) pairs, the same order of memory as the manifest's list of files. Both are
self-contained (inline CSS, no script, no external resource) and link only to files inside the archive.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from django.db import models
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from ...information.models import ProcessingInformation
from ...registry import ModelSpec
from ..selection import concrete_field

PAGE_NAME = "index.html"
_PEOPLE_MARK = "<!-- people -->"
IMAGE_TYPES = (".png", ".jpg", ".jpeg", ".gif", ".webp")


@dataclass(frozen=True)
class Cell:
    """One value as the page shows it: text, or a link to a file of the archive (relative to the page)."""

    text: str
    href: str = ""
    image: bool = False
    empty: bool = False
    missing: bool = False


def _relative(path: str, folder: str) -> str:
    return quote(path[len(folder) + 1 :] if path.startswith(f"{folder}/") else path)


def _text(field: models.Field, value: Any) -> Cell:
    if value is None or value == "":
        return Cell("—", empty=True)
    if field.choices:
        return Cell(str(dict(field.flatchoices).get(value, value)))
    if isinstance(value, datetime):
        return Cell(date_format(timezone.localtime(value), "DATETIME_FORMAT"))
    if isinstance(value, date):
        return Cell(date_format(value, "DATE_FORMAT"))
    if isinstance(value, bool):
        return Cell(_("Yes") if value else _("No"))
    return Cell(str(value))


def _cells(instance: models.Model, spec: ModelSpec, fields: dict, *, folder: str) -> list[tuple[str, Cell]]:
    """(label, cell) of each exported field, labelled with the field's verbose name in the active language."""
    cells = []
    for name in spec.exported_fields:
        field = concrete_field(type(instance), name)
        label = capfirst(str(field.verbose_name))
        if name not in spec.file_fields:
            cells.append((label, _text(field, field.value_from_object(instance))))
            continue
        described = fields.get(name)
        if not described:
            cells.append((label, Cell("—", empty=True)))
        elif described["missing"]:
            cells.append(
                (label, Cell(_("%(name)s (file not found)") % {"name": described["name"]}, missing=True))
            )
        else:
            href = _relative(described["archive_path"], folder)
            image = described["archive_path"].lower().endswith(IMAGE_TYPES)
            cells.append((label, Cell(described["name"], href=href, image=image)))
    return cells


def person_page(
    *,
    name: str,
    folder: str,
    person: models.Model,
    subject: ModelSpec,
    record: dict,
    related: list[tuple[ModelSpec, list[models.Model]]],
    generated_at: datetime,
    data_file: str,
    language: str,
) -> bytes:
    """``<folder>/index.html``: the person's fields, then a table per kind of related rows (documents…)."""
    with translation.override(language):
        return _person_page(name, folder, person, subject, record, related, generated_at, data_file)


def _person_page(
    name: str,
    folder: str,
    person: models.Model,
    subject: ModelSpec,
    record: dict,
    related: list[tuple[ModelSpec, list[models.Model]]],
    generated_at: datetime,
    data_file: str,
) -> bytes:
    tables = []
    for spec, rows in related:
        records = {r["id"]: r["fields"] for r in record["related"][spec.export_label]["records"]}
        lines = [[cell for _label, cell in _cells(row, spec, records[row.pk], folder=folder)] for row in rows]
        headers = [capfirst(str(concrete_field(spec.model, n).verbose_name)) for n in spec.exported_fields]
        tables.append(
            {"title": capfirst(str(spec.model._meta.verbose_name_plural)), "headers": headers, "rows": lines}
        )
    context = {
        "lang": translation.get_language(),
        "name": name,
        "fields": _cells(person, subject, record["subject"]["fields"], folder=folder),
        "tables": tables,
        "generated_at": timezone.localtime(generated_at),
        "data_file": data_file,
    }
    return render_to_string("rgpd/archive/person.html", context).encode("utf-8")


def index_page(
    *,
    people: Iterable[tuple[str, str]],
    sheet: ProcessingInformation,
    generated_at: datetime,
    request_id: int,
    part: int,
    part_count: int,
    language: str,
) -> Iterator[bytes]:
    """The root ``index.html``, streamed: its head, a line per (folder, name), the information sheet."""
    with translation.override(language):
        head, tail = _index_frame(sheet, generated_at, request_id, part, part_count).split(_PEOPLE_MARK)
    yield head.encode("utf-8")
    for folder, name in people:
        yield format_html('<li><a href="{}/{}">{}</a></li>\n', quote(folder), PAGE_NAME, name).encode("utf-8")
    yield tail.encode("utf-8")


def _index_frame(
    sheet: ProcessingInformation, generated_at: datetime, request_id: int, part: int, part_count: int
) -> str:
    context = {
        "lang": translation.get_language(),
        "generated_at": timezone.localtime(generated_at),
        "request_id": request_id,
        "part": part,
        "part_count": part_count,
        "sheet": sheet.sections(),
    }
    return render_to_string("rgpd/archive/index.html", context)
