"""Count the S3 API calls a process makes, by operation name (GetObject, UploadPart, DeleteObjects…).

Installed in the benchmark's worker processes (``bench/worker.py``) and in the benchmark process
itself, so "how many storage delete calls did 10,000 anonymisations make" is a count, not a guess.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

COUNTS: Counter[str] = Counter()
_installed = False


def install() -> None:
    """Wrap botocore's single entry point of every client call (idempotent)."""
    global _installed
    if _installed:
        return
    from botocore.client import BaseClient

    original = BaseClient._make_api_call

    def counting(self, operation_name, api_params):
        COUNTS[operation_name] += 1
        return original(self, operation_name, api_params)

    BaseClient._make_api_call = counting
    _installed = True


def dump(directory: str | os.PathLike) -> None:
    """Write this process's counts to ``<directory>/<pid>.json`` (atomically)."""
    path = Path(directory) / f"{os.getpid()}.json"
    temp = path.with_suffix(".tmp")
    temp.write_text(json.dumps(dict(COUNTS)))
    os.replace(temp, path)


def read_all(directory: str | os.PathLike) -> Counter[str]:
    """The sum of the counts every worker process has written so far."""
    total: Counter[str] = Counter()
    for path in Path(directory).glob("*.json"):
        try:
            total.update(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    return total


DELETE_OPERATIONS = ("DeleteObjects", "DeleteObject")


def deletes(counts: Counter[str]) -> int:
    return sum(counts.get(name, 0) for name in DELETE_OPERATIONS)
