"""Anonymisation ("Anonymiser les données"): the one service behind the row icon, the bulk action and the API.

What happens to a person is read from the registry entries of their population (``rgpd/populations.py``,
``rgpd/registry.py``), never from model or field names here:
each personal field of the subject model gets its anonymised value, related rows declared
``delete_rows`` are deleted, every file field declared ``DELETE_FILE`` has its stored object queued for
deletion. Rules:

- A contact is anonymised only with a ready, unexpired archive, no export of it pending or running,
  and only once (a second time is a no-op). Refusals carry a reason code (``Reason``).
- Contacts are anonymised as a set (a chunk): their rows are locked (``SELECT ... FOR UPDATE``, in id
  order), changed with one UPDATE per model and checked together, in a bounded number of queries
  whatever the chunk's size. Each contact stays all-or-nothing: if the check finds a former value, or
  anything fails, the chunk is rolled back and done again without the contact at fault, which is
  reported. An export part reading a contact under the same lock sees either every old value or every
  new one, never a mix.
- The admin history of the contact and of its related rows is rewritten (``object_repr``,
  ``change_message``), then a check re-reads the rows and the history and searches the former values
  (held in memory during the run only). The audit row records that the check passed, with ids and
  counts only.
- Stored objects are deleted after the commit (a database rollback must never leave rows pointing at
  deleted files): keys wait in ``PendingStorageDeletion`` until S3 DeleteObjects (batches of 1000
  keys, pooled across the chunks of a request; S3 answers key by key) or ``storage.delete`` removed
  them; the worker retries a failure within seconds, then the periodic task ``rgpd.finish_pending_deletions``
  every few minutes. Until then the contact is
  "anonymisation en cours".
- Modules: ``core`` (one set of people of one population: treatments, history rewrite), ``former`` (former
  values), ``check`` (the check after it), ``eligibility`` (reasons), ``requests`` (requests, recorded
  and enqueued), ``chunks`` (a request's chunks and their progress), ``deletions`` (stored
  objects after the commit), ``preview`` (the dry run),
  ``tombstones`` (ids and dates kept in storage) and ``replay`` (anonymise again after a database
  restore). Tasks are sent by ``..dispatch``.
- Small requests (``RGPD_ANONYMISATION_INLINE_MAX`` contacts) are processed at once, larger ones by a
  Celery task in chunks of up to ``RGPD_ANONYMISATION_CHUNK_SIZE`` (``chunks.task_size``); object
  deletions always run in a worker.
  A "select all" of more than 1,000 people is handed to a worker as a large export is: the web request
  records who confirmed and how many, and stores the selection's SQL (bounded by the highest id at
  confirmation); the worker's first task records the people, then enqueues the chunks.
- Set-based whatever the size: a chunk's audit rows (one per person, ids and counts only) and its deletion
  outbox rows are each one INSERT (``selection.insert_columns``), its tombstone owed one row; after the
  files are gone, the storage check is one UPDATE (``audit.DetailsWith``) and one INSERT ... SELECT of
  the ``files_deleted`` rows; the check compares personal fields in SQL and reads other text columns only.
  A per-population step inside the anonymisation's transaction belongs in ``core.subjects_anonymise``,
  after the subject rows are locked and eligibility decided (``people`` are those going ahead).
"""

from .chunks import anonymisation_chunk_run, anonymisation_request_process, chunk_size
from .core import BatchOutcome, VerificationFailed, subjects_anonymise
from .deletions import DeletionReport, pending_deletions_process
from .eligibility import (
    ANONYMISED_AT_FIELD,
    REASON_MESSAGES,
    AnonymisationNotConfirmed,
    Reason,
    reason_message,
    refusal_reason,
)
from .former import FormerValues
from .preview import (
    AnonymisationPreview,
    FieldChange,
    RefusedSubject,
    RowRemoval,
    SubjectPreview,
    anonymisation_preview,
)
from .requests import (
    anonymisation_request_create,
    anonymisation_request_enqueue,
    inline_max,
    stale_anonymisation_requests,
)
from .tombstones import tombstones_flush, tombstones_write_pending

__all__ = [
    "ANONYMISED_AT_FIELD",
    "REASON_MESSAGES",
    "AnonymisationNotConfirmed",
    "AnonymisationPreview",
    "BatchOutcome",
    "DeletionReport",
    "FieldChange",
    "FormerValues",
    "Reason",
    "RefusedSubject",
    "RowRemoval",
    "VerificationFailed",
    "anonymisation_chunk_run",
    "anonymisation_preview",
    "anonymisation_request_create",
    "anonymisation_request_enqueue",
    "anonymisation_request_process",
    "chunk_size",
    "inline_max",
    "pending_deletions_process",
    "reason_message",
    "refusal_reason",
    "stale_anonymisation_requests",
    "SubjectPreview",
    "subjects_anonymise",
    "tombstones_flush",
    "tombstones_write_pending",
]
