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

import contextlib
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from functools import lru_cache
from html import escape
from typing import Any
from urllib.parse import quote

from django.db import models
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from ...information.models import ProcessingInformation
from ...registry import ModelSpec
from ..selection import concrete_field

PAGE_NAME = "index.html"
_PEOPLE_MARK = "<!-- people -->"
IMAGE_TYPES = (".png", ".jpg", ".jpeg", ".gif", ".webp")


def _relative(path: str, folder: str) -> str:
    return quote(path[len(folder) + 1 :] if path.startswith(f"{folder}/") else path)


# Labels and choices are the same for every person of a part: looked up once per field and language
# (a page is rendered per person, so this is most of its cost otherwise).
@lru_cache(maxsize=512)
def _label(model: type[models.Model], name: str, language: str) -> str:
    return capfirst(str(concrete_field(model, name).verbose_name))


@lru_cache(maxsize=512)
def _choices(model: type[models.Model], name: str, language: str) -> dict[Any, str]:
    return {value: str(label) for value, label in concrete_field(model, name).flatchoices}


# Cells are built with the standard library's escape (Django's lazy-aware helpers cost several times more,
# for every field of every person).
_EMPTY = '<span class="empty">—</span>'


def _value_html(model: type[models.Model], name: str, value: Any, language: str) -> str:
    if value is None or value == "":
        return _EMPTY
    choices = _choices(model, name, language)
    if choices:
        return escape(choices.get(value, str(value)))
    return _scalar_html(value)


def _scalar_html(value: Any) -> str:
    """A date, a yes/no in the active language; any other value as text."""
    if isinstance(value, datetime):
        text = date_format(timezone.localtime(value), "DATETIME_FORMAT")
    elif isinstance(value, date):
        text = date_format(value, "DATE_FORMAT")
    elif isinstance(value, bool):
        text = _("Yes") if value else _("No")
    else:
        return escape(str(value)).replace("\n", "<br>")
    return escape(text)


def _file_html(described: dict | None, folder: str, label: str) -> str:
    if not described:
        return _EMPTY
    if described["missing"]:
        text = _("%(name)s (file not found)") % {"name": described["name"]}
        return f'<span class="missing">{escape(text)}</span>'
    href = escape(_relative(described["archive_path"], folder))
    link = f'<a href="{href}">{escape(described["name"])}</a>'
    if described["archive_path"].lower().endswith(IMAGE_TYPES):
        return f'{link}<img class="photo" src="{href}" alt="{escape(label)}">'
    return link


def _cells(instance: models.Model, spec: ModelSpec, fields: dict, *, folder: str) -> list[tuple[str, str]]:
    """(label, HTML) of each exported field, labelled with the field's verbose name in the active language."""
    model, language, files = type(instance), translation.get_language(), spec.file_fields
    cells = []
    for name in spec.exported_fields:
        label = _label(model, name, language)
        if name in files:
            cells.append((label, _file_html(fields.get(name), folder, label)))
        else:
            value = concrete_field(model, name).value_from_object(instance)
            cells.append((label, _value_html(model, name, value, language)))
    return cells


def _extra_value_html(value: Any) -> str:
    """A value of a population's extra part (JSON-like): lists joined, ISO dates shown as dates."""
    if isinstance(value, str) and re.match(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", value):
        with contextlib.suppress(ValueError):
            value = datetime.fromisoformat(value)
    if value is None or value == "" or value == []:
        return _EMPTY
    if isinstance(value, list | tuple):
        return escape(", ".join(str(item) for item in value))
    return _scalar_html(value)


def _extra_rows(
    part: Mapping[str, Any], labels: Mapping[str, Any], path: tuple[str, ...] = ()
) -> Iterator[str]:
    """A row per value of ``part``; a nested mapping's rows are labelled "outer › inner".

    Labels come from the population (``export_extra_labels``); a key labelled "" only groups (its rows
    keep the inner labels); a key without a label is shown as written in the JSON.
    """
    for key, value in part.items():
        label = str(labels.get(key, key.replace("_", " ")))
        here = (*path, capfirst(label)) if label else path
        if isinstance(value, Mapping):
            yield from _extra_rows(value, labels, here)
        else:
            title = " › ".join(here) or capfirst(key)
            yield f'<tr><th scope="row">{escape(title)}</th><td>{_extra_value_html(value)}</td></tr>'


def extra_sections(extra: Mapping[str, Any], labels: Mapping[str, Any]) -> str:
    """A section per top-level part a population adds to personal_data.json (``Population.export_extra``)."""
    sections = []
    for key, part in extra.items():
        title = escape(capfirst(str(labels.get(key) or key.replace("_", " "))))
        rows = "\n".join(_extra_rows(part if isinstance(part, Mapping) else {key: part}, labels))
        sections.append(f'<h2>{title}</h2>\n<table class="fields">\n<tbody>\n{rows}\n</tbody>\n</table>\n')
    return "".join(sections)


class PersonPages:
    """The people's pages of one part: the page's frame rendered once, then each person's rows put in it."""

    _NAME, _FIELDS, _TABLES = "\x00name\x00", "\x00fields\x00", "\x00tables\x00"

    def __init__(self, *, language: str, generated_at: datetime, data_file: str):
        self.language = language
        with translation.override(language):
            context = {
                "lang": language,
                "name": mark_safe(self._NAME),  # noqa: S308 - a marker, replaced by the escaped name
                "fields": mark_safe(self._FIELDS),  # noqa: S308 - a marker, replaced by escaped rows
                "tables": mark_safe(self._TABLES),  # noqa: S308 - a marker, replaced by escaped tables
                "generated_at": timezone.localtime(generated_at),
                "data_file": data_file,
            }
            # Split once at the markers: a value is never searched for markers again.
            self._parts = re.split("(\x00[a-z]+\x00)", render_to_string("rgpd/archive/person.html", context))
            self._none = escape(_("None."))

    def render(
        self,
        *,
        name: str,
        folder: str,
        person: models.Model,
        subject: ModelSpec,
        record: dict,
        related: list[tuple[ModelSpec, list[models.Model]]],
        extra: Mapping[str, Any] | None = None,
        extra_labels: Mapping[str, Any] | None = None,
    ) -> bytes:
        """``<folder>/index.html``: the person's fields, the population's extra parts (e.g. the account),
        then a table per kind of related rows."""
        with translation.override(self.language):
            cells = _cells(person, subject, record["subject"]["fields"], folder=folder)
            fields = "\n".join(
                f'<tr><th scope="row">{escape(label)}</th><td>{html}</td></tr>' for label, html in cells
            )
            tables = extra_sections(extra or {}, extra_labels or {})
            tables += "".join(self._table(spec, rows, record, folder) for spec, rows in related)
        values = {self._NAME: escape(name), self._FIELDS: fields, self._TABLES: tables}
        return "".join(values.get(part, part) for part in self._parts).encode("utf-8")

    def _table(self, spec: ModelSpec, rows: list[models.Model], record: dict, folder: str) -> str:
        title = escape(capfirst(str(spec.model._meta.verbose_name_plural)))
        if not rows:
            return f'<h2>{title}</h2>\n<p class="empty">{self._none}</p>\n'
        records = {r["id"]: r["fields"] for r in record["related"][spec.export_label]["records"]}
        headers = "".join(
            f'<th scope="col">{escape(_label(spec.model, n, self.language))}</th>'
            for n in spec.exported_fields
        )
        lines = []
        for row in rows:
            cells = _cells(row, spec, records[row.pk], folder=folder)
            lines.append("<tr>" + "".join(f"<td>{html}</td>" for _label, html in cells) + "</tr>\n")
        return (
            f'<h2>{title}</h2>\n<table class="related">\n<thead><tr>{headers}</tr></thead>\n'
            f"<tbody>\n{''.join(lines)}</tbody>\n</table>\n"
        )


def index_page(
    *,
    people: Iterable[tuple[str, str]],
    sheet: ProcessingInformation,
    generated_at: datetime,
    request_id: int,
    part: int,
    part_count: int,
    person_count: int,
    language: str,
) -> Iterator[bytes]:
    """The root ``index.html``, streamed: its head, a line per (folder, name), the information sheet.

    Titled "Your personal data" for one person; a part listing several people is not one reader's."""
    with translation.override(language):
        frame = _index_frame(sheet, generated_at, request_id, part, part_count, several=person_count > 1)
        head, tail = frame.split(_PEOPLE_MARK)
    yield head.encode("utf-8")
    for folder, name in people:
        yield format_html('<li><a href="{}/{}">{}</a></li>\n', quote(folder), PAGE_NAME, name).encode("utf-8")
    yield tail.encode("utf-8")


def _index_frame(
    sheet: ProcessingInformation,
    generated_at: datetime,
    request_id: int,
    part: int,
    part_count: int,
    *,
    several: bool,
) -> str:
    context = {
        "several": several,
        "lang": translation.get_language(),
        "generated_at": timezone.localtime(generated_at),
        "request_id": request_id,
        "part": part,
        "part_count": part_count,
        "sheet": sheet.sections(),
    }
    return render_to_string("rgpd/archive/index.html", context)
