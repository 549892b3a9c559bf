"""The naive export, for contrast: every document read whole, the ZIP built in memory, then saved.

    python bench/naive_zip.py CONTACT_ID [CONTACT_ID …]

This is what a first version of "export a person's documents as a ZIP" usually looks like (read the
file, ``writestr`` it into a ``BytesIO`` ZIP, save the buffer). Prints one JSON line: seconds, bytes,
and the process's peak RSS (``VmHWM`` from ``/proc/self/status``), measured the same way as for the
streaming worker. The archive is deleted afterwards.
"""

from __future__ import annotations

import io
import json
import os
import sys
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def vm_kib(field: str, pid: int | str = "self") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def main(contact_ids: list[int]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gdpr_portal.settings")
    import django

    django.setup()
    from django.core.files.base import ContentFile
    from django.core.files.storage import storages

    from contacts.models import Document

    baseline = vm_kib("VmRSS")
    started = time.perf_counter()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for document in Document.objects.filter(contact_id__in=contact_ids).order_by("pk"):
            with document.file.open("rb") as handle:
                archive.writestr(f"contact-{document.contact_id}/documents/{document.pk}.pdf", handle.read())
    storage = storages["rgpd_archives"]
    name = storage.save(f"bench-naive/{os.getpid()}-{time.time_ns()}.zip", ContentFile(buffer.getvalue()))
    seconds = time.perf_counter() - started
    size = buffer.getbuffer().nbytes
    peak = vm_kib("VmHWM")
    storage.delete(name)
    print(json.dumps({"seconds": seconds, "bytes": size, "peak_rss_kib": peak, "baseline_rss_kib": baseline}))


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]])
