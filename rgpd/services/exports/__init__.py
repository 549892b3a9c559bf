"""Export ("Exporter les données"): the one service behind the row icon, the bulk action and the API.

- ``export_request_create`` records the request, splits its people into parts of at most
  ``RGPD_EXPORT_PART_SIZE`` (set-based: a bounded number of queries whatever the selection's size),
  writes the audit row and, after commit, enqueues one task per part (through one fan-out task when
  there are many). A selection of more than ``RGPD_EXPORT_INLINE_MAX`` people is only stored by the
  web request and recorded by a worker (``export_request_prepare``).
- ``export_part_build`` is the whole life of one part's job, in one place: claim (conditional update,
  with a lease so that a part left RUNNING by a killed worker is reclaimed by the redelivered task),
  build (format v1, streamed from storage into storage), then ready / release for retry / failed,
  each guarded by the claim number so that only the latest claimer can finish the part.
- ``export_request_notify`` sends the requester's one email once every part is ready or failed.
- ``export_part_for_download`` checks a download and audits it; ``export_archives_purge`` deletes
  expired archives.

Modules: ``requests`` (create, record a large selection in a worker), ``parts`` (claim under a lease,
heartbeat, build, reclaim), ``building`` (the archive's content), ``notify`` (the email, resend),
``download``, ``upkeep`` (purge, resume what lost messages left). Tasks are sent by ``..dispatch``.

What a person's archive holds is read from the registry (``rgpd/registry.py``), never from field
names here.
"""

from .download import ArchiveNotAvailable, download_filename, export_part_for_download
from .lease import LeaseLost, lease_seconds
from .notify import EMAIL_ERRORS, EmailNotSent, export_request_email_resend, export_request_notify
from .parts import archive_name, export_part_build, export_parts_reclaim, retention
from .requests import (
    UnknownSubjectsError,
    export_request_create,
    export_request_enqueue_parts,
    export_request_prepare,
    inline_max,
    request_language,
)
from .upkeep import export_archives_purge, export_requests_resume_stalled

__all__ = [
    "EMAIL_ERRORS",
    "ArchiveNotAvailable",
    "EmailNotSent",
    "LeaseLost",
    "UnknownSubjectsError",
    "archive_name",
    "download_filename",
    "export_archives_purge",
    "export_part_build",
    "export_part_for_download",
    "export_parts_reclaim",
    "export_request_create",
    "export_request_email_resend",
    "export_request_enqueue_parts",
    "export_request_notify",
    "export_request_prepare",
    "export_requests_resume_stalled",
    "inline_max",
    "lease_seconds",
    "request_language",
    "retention",
]
