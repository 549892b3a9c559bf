"""The admin history of a deleted person or related row keeps no name.

Django copies ``str(obj)`` (a contact's full name, a document's file name) into ``LogEntry.object_repr`` on
every add, change and delete, the deletion included (logged just before the row goes). Anonymisation
rewrites the history of the people it treats; a row deleted in the admin (one by one, in bulk or by
cascade) would keep its name there forever. After each deletion of a subject or related row of a
declared population, its history entries are named by id only, as anonymisation names rows it cannot name.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.apps import apps
from django.contrib.admin.models import LogEntry
from django.db import models
from django.db.models import QuerySet
from django.db.models.deletion import Collector
from django.db.models.signals import post_delete, pre_delete

from ...populations import all_populations
from .check import _content_types_of


def id_only_repr(model: type[models.Model], pk: object) -> str:
    """``contact #12``: how the history names a row without its personal data."""
    return f"{model._meta.verbose_name} #{pk}"


_REWRITTEN_BY_CALLER: ContextVar[bool] = ContextVar("rgpd_history_rewritten_by_caller", default=False)


@contextmanager
def history_rewritten_by_caller() -> Iterator[None]:
    """Deletions whose history the caller rewrites itself (the anonymisation, in one query for all rows)."""
    token = _REWRITTEN_BY_CALLER.set(True)
    try:
        yield
    finally:
        _REWRITTEN_BY_CALLER.reset(token)


def _history_by_id_only(sender: type[models.Model], instance: models.Model, **kwargs) -> None:
    if _REWRITTEN_BY_CALLER.get():
        return
    LogEntry.objects.filter(content_type__in=_content_types_of(sender), object_id=str(instance.pk)).update(
        object_repr=id_only_repr(sender, instance.pk)[:200]
    )


class _HistoryRewrittenCollector(Collector):
    """Django's deletion collector, for rows whose history the caller rewrites: the history receiver
    alone does not stop its fast path (one DELETE, no signal per row) when nothing else listens or
    points at the rows."""

    def _has_signal_listeners(self, model: type[models.Model]) -> bool:
        # Django's own list of a signal's receivers for a sender (no public equivalent).
        sync, asynchronous = post_delete._live_receivers(model)
        others = [receiver for receiver in (*sync, *asynchronous) if receiver is not _history_by_id_only]
        return bool(others) or pre_delete.has_listeners(model)


def rows_delete_history_rewritten(queryset: QuerySet) -> None:
    """Delete ``queryset``'s rows, whose history the caller rewrites itself (with all its other rows)."""
    with history_rewritten_by_caller():
        collector = _HistoryRewrittenCollector(using=queryset.db, origin=queryset)
        collector.collect(queryset)  # type: ignore[arg-type]  # the stubs omit querysets, which Django takes
        collector.delete()


def connect_deleted_history() -> None:
    """Connect the rewrite to every declared population's subject and related models (and proxies)."""
    specs = [spec for population in all_populations() for spec in (population.subject, *population.related)]
    concrete = {spec.model._meta.concrete_model for spec in specs}
    for model in apps.get_models():
        if model._meta.concrete_model in concrete:  # a proxy's rows are deleted under the proxy's name
            uid = f"deleted_history_{model._meta.label}"
            post_delete.connect(_history_by_id_only, sender=model, dispatch_uid=uid)
