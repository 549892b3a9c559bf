"""Registry of personal data.

Each model that holds personal data declares, next to the model (in its app's ``personal_data.py``),
which fields are personal, how each is anonymised, and which fields are declared not personal.
Export and anonymisation read this registry; they never name a model's fields themselves.

A model is either the *subject* (the person itself, e.g. ``Contact``) or *related* to it through
``subject_field`` (e.g. ``Document.contact``). Related rows are either anonymised field by field or
deleted as a whole (``delete_rows=True``, with their files). A population (``rgpd/populations.py``)
groups one subject spec with its related specs; this registry holds the specs of every population,
for the completeness test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from django.db import models

MASK = "xxx"


class Treatment(StrEnum):
    """How one personal field is anonymised."""

    MASK = "mask"  # replaced by "xxx"
    EMPTY = "empty"  # replaced by "" (text fields)
    NULL = "null"  # set to NULL (dates, numbers)
    DELETE_FILE = "delete_file"  # the stored object is deleted, the field emptied
    KEEP = "keep"  # personal and exported, but not identifying once the rest is gone (e.g. document kind)


@dataclass(frozen=True)
class ModelSpec:
    model: type[models.Model]
    personal: dict[str, Treatment]
    not_personal: frozenset[str]
    subject_field: str | None = None  # None: the model is the subject itself
    delete_rows: bool = False  # related rows removed on anonymisation (with their files)
    export_label: str = ""  # key of the related rows in personal_data.json
    # File field -> field holding the name the user gave the file (the stored name is opaque).
    file_names: dict[str, str] = field(default_factory=dict)

    @property
    def is_subject(self) -> bool:
        return self.subject_field is None

    @property
    def file_fields(self) -> list[str]:
        return [name for name, treatment in self.personal.items() if treatment == Treatment.DELETE_FILE]

    @property
    def exported_fields(self) -> list[str]:
        return list(self.personal)

    def undeclared_fields(self) -> set[str]:
        """Concrete fields neither declared personal nor declared not personal."""
        concrete = {f.name for f in self.model._meta.concrete_fields}
        return concrete - set(self.personal) - set(self.not_personal)

    def anonymised_value(self, field_name: str):
        treatment = self.personal[field_name]
        if treatment == Treatment.MASK:
            return MASK
        if treatment == Treatment.NULL:
            return None
        return ""


@dataclass
class PersonalDataRegistry:
    specs: dict[type[models.Model], ModelSpec] = field(default_factory=dict)

    def register(
        self,
        model: type[models.Model],
        *,
        personal: dict[str, Treatment],
        not_personal: list[str] | tuple[str, ...],
        subject_field: str | None = None,
        delete_rows: bool = False,
        export_label: str = "",
        file_names: dict[str, str] | None = None,
    ) -> ModelSpec:
        spec = ModelSpec(
            model=model,
            personal=dict(personal),
            not_personal=frozenset(not_personal),
            subject_field=subject_field,
            delete_rows=delete_rows,
            export_label=export_label or model._meta.model_name or "",
            file_names=dict(file_names or {}),
        )
        both = set(spec.personal) & spec.not_personal
        if both:
            raise ValueError(
                f"{model.__name__}: fields declared both personal and not personal: {sorted(both)}"
            )
        self.specs[model] = spec
        return spec

    def __iter__(self):
        return iter(self.specs.values())


registry = PersonalDataRegistry()
