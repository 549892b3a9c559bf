"""Benchmarks of gdpr_portal at scale, each figure next to its floor or naive alternative.

    make bench                                  # full run (about half an hour on 2 cores)
    BENCH_SCALE=quick make bench                # small sizes, a few minutes, for development
    BENCH_PROFILE=1 …                           # also write pyinstrument profiles to bench/profiles/

Runs inside ``scripts/testenv.py`` (PostgreSQL, Redis, a private SeaweedFS S3 gateway). Creates its own
database (``gdpr_bench``, dropped and created at each run), real Celery worker processes on the run's
queue, and writes ``bench/RESULTS.md``, ``bench/results.json`` and PNG plots in ``bench/``.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))

from bench.anonymisation_figures import AnonymisationFigures  # noqa: E402
from bench.export_figures import ExportFigures  # noqa: E402
from bench.local_figures import LocalFigures  # noqa: E402
from bench.page_figures import PageFigures  # noqa: E402
from bench.sampled_figures import SampledFigures  # noqa: E402
from bench.support import (  # noqa: E402
    MB,
    Workers,
    drop_database,
    log,
    machine_facts,
    purge_queue,
    recreate_database,
)


@dataclass(frozen=True)
class Scale:
    name: str
    runs: int  # repetitions of each timed figure
    big_docs: tuple[int, ...]  # the "1 GB" person's documents (bytes)
    mid_docs: tuple[int, ...]  # the "100 MB" person's documents
    naive_runs: int
    crowd_people: int  # "1,000 people with 3 × 300 KB"
    crowd_doc_bytes: int
    anonymisation_people: int  # "10,000 exported contacts with 3 documents each"
    anonymisation_runs: int
    small_people: int  # the smallest size of the growth plot
    sampled_people: int  # the largest size (population), processed on a sample
    sampled_build: int  # people of the sampled export actually built
    sampled_anonymise: int  # contacts of the sampled anonymisation actually processed
    query_sample: int  # contacts anonymised in-process to count queries per contact
    page_rows: int  # the RGPD page's table size
    page_runs: int
    enqueue_runs: int


SCALES = {
    "full": Scale(
        name="full",
        runs=3,
        big_docs=(125 * MB,) * 8,
        mid_docs=(25 * MB,) * 4,
        naive_runs=2,
        crowd_people=1000,
        crowd_doc_bytes=300_000,
        anonymisation_people=10_000,
        anonymisation_runs=3,
        small_people=1000,
        sampled_people=100_000,
        sampled_build=2000,
        sampled_anonymise=2000,
        query_sample=100,
        page_rows=1_000_000,
        page_runs=5,
        enqueue_runs=1,
    ),
    "quick": Scale(
        name="quick",
        runs=2,
        big_docs=(25 * MB,) * 4,
        mid_docs=(10 * MB,),
        naive_runs=1,
        crowd_people=60,
        crowd_doc_bytes=300_000,
        anonymisation_people=300,
        anonymisation_runs=2,
        small_people=100,
        sampled_people=5000,
        sampled_build=400,
        sampled_anonymise=300,
        query_sample=50,
        page_rows=50_000,
        page_runs=3,
        enqueue_runs=2,
    ),
}


class Bench(ExportFigures, AnonymisationFigures, LocalFigures, SampledFigures, PageFigures):
    """One benchmark run: its database user, workers and results; the figures come from the mixins."""

    def __init__(
        self, scale: Scale, *, worker_env: dict[str, str], calls_dir: Path, profile_dir: Path | None
    ):
        from django.conf import settings
        from django.contrib.auth.models import Group, Permission, User

        from bench import measure
        from contacts.models import RGPD_PERMISSION_CODENAME

        self.scale = scale
        self.workers = Workers(worker_env)
        self.calls_dir = calls_dir
        self.profile_dir = profile_dir
        self.part_size = settings.RGPD_EXPORT_PART_SIZE
        group = Group.objects.create(name="RGPD (bench)")
        group.permissions.add(
            Permission.objects.get(content_type__app_label="rgpd", codename=RGPD_PERMISSION_CODENAME)
        )
        # No email address: the "archive ready" email is skipped (it is not part of any figure).
        self.user = User.objects.create_user("bench", "", "bench-password", is_staff=True)
        self.user.groups.add(group)
        self.client = measure.web_client(self.user)
        self.results: dict = {
            "scale": scale.name,
            "scale_settings": asdict(scale),
            "settings": {
                "RGPD_EXPORT_PART_SIZE": settings.RGPD_EXPORT_PART_SIZE,
                "RGPD_ANONYMISATION_CHUNK_SIZE": settings.RGPD_ANONYMISATION_CHUNK_SIZE,
                "RGPD_ANONYMISATION_INLINE_MAX": settings.RGPD_ANONYMISATION_INLINE_MAX,
            },
            "seed": [],
            "growth": {"export": [], "anonymisation": []},
            "pages": [],
        }
        self.pools = None

    # --- helpers ---
    def profile_path(self, name: str) -> Path | None:
        return self.profile_dir / f"{name}.txt" if self.profile_dir else None

    def seed(self, count: int, *, what: str, documents: int = 3, photo_ratio: float = 0.8) -> list[int]:
        from bench.data import seed_demo

        ids, seconds = seed_demo(
            count, seed=random.randrange(10**6), documents=documents, photo_ratio=photo_ratio
        )
        if documents == 3 and photo_ratio == 0.8:
            self.results["seed"].append({"contacts": count, "seconds": seconds, "what": what})
        log(f"seed_demo {count} contacts ({what}): {seconds:.1f} s, {count / seconds:.0f} contacts/s")
        return ids

    def paused(self):
        """Stop the workers consuming (they finish their current task) and drop what is queued after."""
        bench = self

        class _Paused:
            def __enter__(self):
                bench.workers.pause()

            def __exit__(self, *exc):
                purge_queue(bench.workers.queue)

        return _Paused()


def _stop(signum, _frame) -> None:
    # SIGTERM (or SIGINT from a background shell, which ignores it by default) still stops the workers
    # and writes what was measured.
    raise SystemExit(128 + signum)


def main() -> int:
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    scale = SCALES[os.environ.get("BENCH_SCALE", "full")]
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    base_url = os.environ.get("DATABASE_URL", "")  # set by scripts/testenv.py; never the machine's own
    if not base_url.startswith(("postgres://", "postgresql://")):
        sys.exit("bench: run through scripts/testenv.py (make bench): it needs PostgreSQL, Redis and S3.")
    bench_url = recreate_database(base_url)
    os.environ.update(
        {
            "DATABASE_URL": bench_url,
            "DEBUG": "false",  # as in production: no query log kept in memory
            "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
            "DJANGO_SETTINGS_MODULE": "gdpr_portal.settings",
        }
    )
    calls_dir = Path(tempfile.mkdtemp(prefix="gdpr-bench-s3calls-"))
    profile_dir = BENCH_DIR / "profiles" if os.environ.get("BENCH_PROFILE") else None
    if profile_dir:
        profile_dir.mkdir(exist_ok=True)
    worker_env = {**os.environ, "BENCH_S3_CALLS_DIR": str(calls_dir)}

    import django

    django.setup()
    from django.core.management import call_command, get_commands

    from bench import report, s3calls

    s3calls.install()
    log(
        f"scale {scale.name}: database {bench_url.rsplit('/', 1)[-1]}, queue "
        f"{os.environ['CELERY_TASK_DEFAULT_QUEUE']}"
    )
    call_command("migrate", verbosity=0, interactive=False)
    if "rgpd_setup_storage" in get_commands():
        call_command("rgpd_setup_storage", verbosity=0)
    bench = Bench(scale, worker_env=worker_env, calls_dir=calls_dir, profile_dir=profile_dir)
    bench.results["machine"] = machine_facts()
    bench.results["started_at"] = started_at.isoformat(timespec="seconds")
    phases = [
        bench.export_figures,
        bench.local_figures,
        bench.anonymisation_figures,
        bench.sampled_figures,
        bench.million_figures,
    ]
    only = os.environ.get("BENCH_ONLY")
    failed = None
    try:
        for phase in phases:
            if only and phase.__name__ not in only.split(","):
                continue
            phase()
    except Exception:  # noqa: BLE001 - report what was measured, then fail
        failed = traceback.format_exc()
        log(f"FAILED:\n{failed}")
        for worker in bench.workers.started:
            log(f"worker {worker.hostname} log tail:\n{worker.log()[-3000:]}")
    finally:
        bench.workers.stop()
        bench.results["duration_seconds"] = time.perf_counter() - started
        bench.results["failed"] = failed
        output = Path(os.environ.get("BENCH_OUTPUT", BENCH_DIR))
        output.mkdir(parents=True, exist_ok=True)
        (output / "results.json").write_text(json.dumps(bench.results, indent=2, default=str))
        report.write(bench.results, output)
        log(f"wrote {output / 'RESULTS.md'} in {bench.results['duration_seconds'] / 60:.1f} min")
        from django.db import connections

        connections.close_all()
        if not os.environ.get("BENCH_KEEP_DB"):
            drop_database(base_url)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
