"""Streaming ZIP writer for RGPD archives (format v2), and the entry names it accepts.

The ZIP is written to a non-seekable sink (an S3 multipart upload or a temp file): every entry
carries a data descriptor and ZIP64 sizes, so neither the entry's nor the archive's size needs to be
known in advance, and memory does not grow with them. The archive's size and sha256 are computed
while it is written.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath

from django.core.serializers.json import DjangoJSONEncoder

from .storage import ArchiveSink

# 2: index.html pages a person can read; no storage key (a file's own name instead of stored_name).
FORMAT_VERSION = 2
MAX_NAME_LENGTH = 120
_FORBIDDEN = re.compile(r'[<>:"/\\|?*]')


def safe_filename(raw: str, *, fallback: str = "file") -> str:
    """A file name safe inside a ZIP and on any desktop: never a path, never empty.

    Keeps the last path component only, drops control and format characters, replaces the characters
    Windows forbids, strips leading dots (no ``..``, no hidden files) and trims to
    ``MAX_NAME_LENGTH`` characters, keeping the extension.
    """
    name = unicodedata.normalize("NFC", str(raw or ""))
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _FORBIDDEN.sub("_", name).strip().lstrip(".").strip()
    if not name:
        return fallback
    if len(name) > MAX_NAME_LENGTH:
        suffix = PurePosixPath(name).suffix
        if not (1 < len(suffix) <= 10):
            suffix = ""
        name = name[: MAX_NAME_LENGTH - len(suffix)].rstrip() + suffix
    return name


def check_entry_name(name: str) -> None:
    """Refuse an entry name that is not a plain relative path of safe components."""
    path = PurePosixPath(name)
    if (
        not name
        or name.startswith("/")
        or "\\" in name
        or any(part in {"", ".", ".."} for part in name.split("/"))
        or any(unicodedata.category(ch)[0] == "C" for ch in name)
        or path.is_absolute()
    ):
        raise ValueError(f"unsafe archive entry name: {name!r}")


class _HashingWriter:
    """The file object zipfile writes to: counts and hashes the bytes on their way to the sink."""

    def __init__(self, sink: ArchiveSink):
        self.sink = sink
        self.size = 0
        self.digest = hashlib.sha256()

    def write(self, data: bytes, /) -> int:
        data = bytes(data)
        self.digest.update(data)
        self.size += len(data)
        self.sink.write(data)
        return len(data)

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        return None

    def close(self) -> None:
        # Part of zipfile's writable protocol, never called on a file object it was given: the sink's
        # owner commits or aborts it.
        return None

    # No seek(): zipfile then knows the output is not seekable and writes data descriptors.


@dataclass(frozen=True)
class WrittenEntry:
    path: str
    size: int
    sha256: str


class ArchiveWriter:
    """Write entries one after another; ``close()`` writes the central directory."""

    def __init__(self, sink: ArchiveSink, *, date_time: datetime):
        self._out = _HashingWriter(sink)
        self._zip = zipfile.ZipFile(self._out, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True)
        self._names: set[str] = set()
        self._date_time = date_time.timetuple()[:6]

    def unique_name(self, name: str) -> str:
        """``name``, or ``name`` with `` (2)``, `` (3)``… before its extension if already taken."""
        if name not in self._names:
            return name
        path = PurePosixPath(name)
        counter = 2
        while True:
            candidate = str(path.with_name(f"{path.stem} ({counter}){path.suffix}"))
            if candidate not in self._names:
                return candidate
            counter += 1

    def add_chunks(self, name: str, chunks: Iterable[bytes], *, compress: bool = False) -> WrittenEntry:
        check_entry_name(name)
        if name in self._names:
            raise ValueError(f"duplicate archive entry: {name!r}")
        info = zipfile.ZipInfo(name, date_time=self._date_time)
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        info.external_attr = 0o640 << 16
        digest = hashlib.sha256()
        size = 0
        with self._zip.open(info, "w", force_zip64=True) as entry:
            for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                entry.write(chunk)
        self._names.add(name)
        return WrittenEntry(path=name, size=size, sha256=digest.hexdigest())

    def add_json(self, name: str, data) -> WrittenEntry:
        payload = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2).encode("utf-8")
        return self.add_chunks(name, [payload], compress=True)

    def close(self) -> tuple[int, str]:
        """Finish the ZIP; return its size and sha256."""
        self._zip.close()
        return self._out.size, self._out.digest.hexdigest()
