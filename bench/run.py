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
import math
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))

from bench.support import (  # noqa: E402
    ROOT,
    Sample,
    Workers,
    drop_database,
    machine_facts,
    purge_queue,
    recreate_database,
)

MB = 1_000_000


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


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


class Bench:
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

    # --- 1-3: export throughput, worker memory, scale-out ---
    def export_figures(self) -> None:
        from bench import data, measure
        from contacts.models import Contact

        scale = self.scale
        log("export: generating the people with large documents")
        big_id = data.person_with_documents(list(scale.big_docs), label="big")
        mid_id = data.person_with_documents(list(scale.mid_docs), label="mid")
        crowd = self.seed(scale.crowd_people, what="export crowd (no documents)", documents=0, photo_ratio=0)
        data.add_random_documents(crowd, per_contact=3, size=scale.crowd_doc_bytes)
        big_keys, mid_keys, crowd_keys = (data.document_keys(ids) for ids in ([big_id], [mid_id], crowd))
        big_bytes, mid_bytes = sum(scale.big_docs), sum(scale.mid_docs)
        crowd_bytes = scale.crowd_people * 3 * scale.crowd_doc_bytes

        big = {
            k: Sample()
            for k in (
                "seconds",
                "mbps",
                "floor_seconds",
                "floor_mbps",
                "ratio",
                "peak_rss_mb",
                "start_rss_mb",
            )
        }
        mid = {k: Sample() for k in ("seconds", "mbps", "peak_rss_mb", "start_rss_mb")}
        crowd_r = {
            k: Sample()
            for k in (
                "w1_seconds",
                "w1_mbps",
                "w2_seconds",
                "w2_mbps",
                "floor_seconds",
                "floor_mbps",
                "ratio",
                "speedup",
                "w1_worker_seconds",
            )
        }
        timeout = 3600
        for run in range(scale.runs):
            log(f"export run {run + 1}/{scale.runs}")
            # A new worker process for each run, the smaller archive first: a peak that grows with the
            # archive shows on the larger one (a process's RSS never shrinks back between its tasks).
            worker = self.workers.fresh()
            self.results.setdefault("worker_rest_rss_mb", []).append(worker.rss_kib() * 1024 / MB)
            for person, keys, size, sink in (
                (mid_id, mid_keys, mid_bytes, mid),
                (big_id, big_keys, big_bytes, big),
            ):
                worker.reset_peak_rss()
                sink["start_rss_mb"].add(worker.rss_kib() * 1024 / MB)
                result = measure.export_and_wait([person], actor=self.user, timeout=timeout)
                sink["peak_rss_mb"].add(worker.peak_rss_kib() * 1024 / MB)
                sink["seconds"].add(result["seconds"])
                sink["mbps"].add(size / MB / result["seconds"])
                data.delete_archives([result["request_id"]])
                if sink is big:
                    floor = data.copy_floor(keys)
                    sink["floor_seconds"].add(floor["seconds"])
                    sink["floor_mbps"].add(size / MB / floor["seconds"])
                    sink["ratio"].add(floor["seconds"] / result["seconds"])
                    log(
                        f"  1 person, {size / MB:.0f} MB: export {size / MB / result['seconds']:.0f} MB/s, "
                        f"floor {size / MB / floor['seconds']:.0f} MB/s, peak RSS "
                        f"{big['peak_rss_mb'].values[-1]:.0f} MB"
                    )
                else:
                    log(f"  1 person, {size / MB:.0f} MB: peak RSS {mid['peak_rss_mb'].values[-1]:.0f} MB")
            # The crowd: one worker, then two, then the floor.
            one = measure.export_and_wait(crowd, actor=self.user, timeout=timeout)
            data.delete_archives([one["request_id"]])
            self.workers.ensure(2)
            two = measure.export_and_wait(crowd, actor=self.user, timeout=timeout)
            data.delete_archives([two["request_id"]])
            self.workers.ensure(1)
            floor = data.copy_floor(crowd_keys)
            crowd_r["w1_seconds"].add(one["seconds"])
            crowd_r["w1_mbps"].add(crowd_bytes / MB / one["seconds"])
            crowd_r["w1_worker_seconds"].add(one["worker_seconds"])
            crowd_r["w2_seconds"].add(two["seconds"])
            crowd_r["w2_mbps"].add(crowd_bytes / MB / two["seconds"])
            crowd_r["floor_seconds"].add(floor["seconds"])
            crowd_r["floor_mbps"].add(crowd_bytes / MB / floor["seconds"])
            crowd_r["ratio"].add(floor["seconds"] / one["seconds"])
            crowd_r["speedup"].add(one["seconds"] / two["seconds"])
            log(
                f"  {scale.crowd_people} people: 1 worker {crowd_bytes / MB / one['seconds']:.0f} MB/s, "
                f"2 workers {crowd_bytes / MB / two['seconds']:.0f} MB/s, floor "
                f"{crowd_bytes / MB / floor['seconds']:.0f} MB/s"
            )

        naive = {
            "big": {k: Sample() for k in ("peak_rss_mb", "seconds")},
            "mid": {k: Sample() for k in ("peak_rss_mb", "seconds")},
        }
        for run in range(scale.naive_runs):
            for label, person in (("mid", mid_id), ("big", big_id)):
                out = subprocess.run(
                    [sys.executable, str(BENCH_DIR / "naive_zip.py"), str(person)],
                    capture_output=True,
                    text=True,
                    cwd=ROOT,
                    check=True,
                )
                measured = json.loads(out.stdout.strip().splitlines()[-1])
                naive[label]["peak_rss_mb"].add(measured["peak_rss_kib"] * 1024 / MB)
                naive[label]["seconds"].add(measured["seconds"])
                log(
                    f"  naive in-memory ZIP ({label}) run {run + 1}: peak RSS "
                    f"{measured['peak_rss_kib'] * 1024 / MB:.0f} MB"
                )

        def dump(samples: dict) -> dict:
            return {k: v.as_dict() for k, v in samples.items()}

        self.results["export"] = {
            "big": {"bytes": big_bytes, "documents": len(scale.big_docs), **dump(big)},
            "mid": {"bytes": mid_bytes, "documents": len(scale.mid_docs), **dump(mid)},
            "naive": {label: dump(s) for label, s in naive.items()},
            "crowd": {"people": scale.crowd_people, "bytes": crowd_bytes, **dump(crowd_r)},
        }
        # These people are not part of what follows: remove them and their objects.
        data.delete_objects(big_keys + mid_keys + crowd_keys)
        Contact.objects.filter(pk__in=[big_id, mid_id, *crowd]).delete()

    # --- 4 and 6: anonymisation (and the export's growth) ---
    def anonymisation_round(self, people: int, *, real_export: bool, label: str, pages: bool = False) -> dict:
        """Seed ``people`` (+ a query sample), export them (for real, or recorded), anonymise them through
        the web's bulk action with the workers, then the floor on a twin population."""
        from bench import data, measure, s3calls
        from contacts.models import Contact, Document

        sample_size = self.scale.query_sample
        ids = self.seed(people + sample_size, what=label)
        if people == self.scale.anonymisation_people:
            floor = data.put_floor(min(people, 1000))
            self.results.setdefault("seed_floor_runs", []).append(floor)
            log(f"  seed floor: {floor['objects']} objects in {floor['seconds']:.1f} s")
        sample_ids, main_ids = ids[:sample_size], ids[sample_size:]
        row: dict = {"people": people, "label": label, "nominal": f"{people:,}"}
        if pages:
            self.page_figures(label=label)
        self.workers.ensure(2)
        export: dict | None = None
        if real_export:
            log(f"  export of {len(ids)} people (select all, web) …")
            accepted = measure.web_export_all(self.client, params={"anonymised": "no"})
            request_id = accepted["object_id"]
            finished = measure.wait_until(
                lambda: measure.parts_done(request_id), timeout=7200, what="the export"
            )
            outcome = measure.export_outcome(request_id)
            export = {
                "people": outcome["people"],
                "accept_seconds": accepted["seconds"],
                "accept_queries": accepted["queries"],
                "worker_seconds": outcome["worker_seconds"],
                "archive_bytes": outcome["archive_bytes"],
                "parts": outcome["parts"],
            }
            export["wall_seconds"] = finished - accepted["started_at"]
            with self.paused():
                sample = measure.export_sample(
                    ids[: self.part_size],
                    actor=self.user,
                    profile_path=self.profile_path(f"export-part-{label}"),
                )
            data.delete_archives([request_id, sample["request_id"]])
            export["sample"] = sample
            log(
                f"  export: accepted in {accepted['seconds'] * 1000:.0f} ms ({accepted['queries']} queries), "
                f"built in {export['wall_seconds']:.1f} s, "
                f"{outcome['worker_seconds'] / outcome['people'] * 1000:.1f} "
                f"worker-ms/person, {sample['queries'] / sample['people']:.2f} queries/person"
            )
        else:
            data.mark_exported(ids, actor=self.user, part_size=self.part_size)

        with self.paused():
            sample = measure.anonymisation_sample(
                sample_ids, actor=self.user, profile_path=self.profile_path(f"anonymise-chunk-{label}")
            )
        row["sample"] = sample
        expected = Contact.objects.filter(anonymised_at__isnull=True).count()
        if expected != len(main_ids):
            raise measure.BenchError(f"{expected} contacts not anonymised, expected {len(main_ids)}")
        objects = (
            Document.objects.filter(contact_id__in=main_ids).count()
            + Contact.objects.filter(pk__in=main_ids).exclude(photo="").count()
        )
        self.workers.ensure(2)
        calls_before = s3calls.read_all(self.calls_dir)
        accepted = measure.web_anonymise_all(self.client, params={"anonymised": "no"}, expected=expected)
        finished = measure.wait_until(
            lambda: measure.anonymisation_finished(accepted["object_id"]),
            timeout=7200,
            what="the anonymisation",
        )
        calls = s3calls.read_all(self.calls_dir)
        calls.subtract(calls_before)
        counts = measure.anonymisation_counts(accepted["object_id"])
        if counts["anonymised"] != people:
            raise measure.BenchError(f"anonymised {counts}, expected {people}")
        row.update(
            {
                "accept_seconds": accepted["seconds"],
                "accept_queries": accepted["queries"],
                "seconds": finished - accepted["started_at"],
                "objects": objects,
                "delete_calls": s3calls.deletes(calls),
                "s3_calls": {k: v for k, v in calls.items() if v},
            }
        )
        log(
            f"  anonymisation of {people}: accepted in {accepted['seconds'] * 1000:.0f} ms, done in "
            f"{row['seconds']:.1f} s "
            f"({people / row['seconds']:.0f} contacts/s), {row['delete_calls']} delete calls for "
            f"{objects} objects, "
            f"{sample['queries'] / sample['people']:.1f} queries/contact"
        )
        twin = self.seed(people, what=f"{label} floor twin")
        floor = data.anonymisation_floor(twin)
        row["floor"] = floor
        row["ratio"] = row["seconds"] / floor["seconds"]
        log(
            f"  floor: {floor['seconds']:.1f} s ({floor['delete_calls']} DeleteObjects calls); "
            f"ratio {row['ratio']:.1f}×"
        )
        if export is not None:
            self.results["growth"]["export"].append(
                {"people": len(ids), "label": label, "nominal": f"{people:,}", **export}
            )
        return row

    def anonymisation_figures(self) -> None:
        scale = self.scale
        log(f"growth: {scale.small_people} people")
        small = self.anonymisation_round(
            scale.small_people, real_export=True, label=f"{scale.small_people}", pages=True
        )
        self.results["growth"]["anonymisation"].append(small)
        runs = []
        # ≥ 3 runs where affordable: a run after the first starts only if the time budget allows one more.
        budget = float(os.environ.get("BENCH_ANONYMISATION_BUDGET_MIN", "24")) * 60
        started = time.perf_counter()
        for run in range(scale.anonymisation_runs):
            spent = time.perf_counter() - started
            if run and spent / run * (run + 1) > budget:
                log(f"anonymisation: run {run + 1} skipped (the time budget of {budget / 60:.0f} min)")
                break
            log(f"anonymisation of {scale.anonymisation_people}: run {run + 1}/{scale.anonymisation_runs}")
            runs.append(
                self.anonymisation_round(
                    scale.anonymisation_people,
                    real_export=(run == 0),
                    label=f"{scale.anonymisation_people}-run{run + 1}",
                    pages=(run == 0),
                )
            )
        self.results["anonymisation"] = {
            "people": scale.anonymisation_people,
            "runs": runs,
            "runs_planned": scale.anonymisation_runs,
        }
        floors = self.results.get("seed_floor_runs") or []
        if floors:
            rates = Sample([f["contacts"] / f["seconds"] for f in floors])
            self.results["seed_floor"] = {"contacts_per_second": rates.as_dict(), "runs": floors}
        self.results["growth"]["anonymisation"].append(runs[0])

    # --- 6: the largest size, sampled ---
    def sampled_figures(self) -> None:
        from django.utils import timezone

        from bench import data, measure
        from contacts.models import Contact
        from rgpd.models import AnonymisationRequest, ExportPart

        scale = self.scale
        log(f"growth: {scale.sampled_people} people, sampled")
        seeded = self.seed(scale.sampled_build, what="sampled population (with documents)")
        if self.pools is None:
            self.pools = data.name_pools()
        remaining = scale.sampled_people - len(seeded)
        started = time.perf_counter()
        ranges = data.insert_contacts_sql(remaining, pools=self.pools)
        for first, last in ranges:
            data.insert_placeholder_documents(first, last, per_contact=3)
        data.vacuum_analyze()
        log(
            f"  {remaining} contacts (and 3 document rows each) inserted with SQL in "
            f"{time.perf_counter() - started:.1f} s"
        )
        population = Contact.objects.filter(anonymised_at__isnull=True).count()
        self.page_figures(label=f"{scale.sampled_people} people population")

        # The export of everyone: accepted by the web, the parts of the seeded people built and timed.
        self.workers.ensure(2)
        accepted = measure.web_export_all(self.client, params={"anonymised": "no"})
        request_id = accepted["object_id"]
        numbers = list(range(1, math.ceil(len(seeded) / self.part_size) + 1))
        finished = measure.wait_until(
            lambda: measure.parts_done(request_id, numbers), timeout=7200, what="sampled parts"
        )
        with self.paused():
            pass
        outcome = measure.export_outcome(request_id, numbers)
        now = timezone.now()
        ExportPart.objects.filter(request_id=request_id).exclude(status=ExportPart.Status.READY).update(
            status=ExportPart.Status.READY,
            ready_at=now,
            expires_at=now + timezone.timedelta(days=10),
            heartbeat_at=None,
        )
        with self.paused():
            sample = measure.export_sample(
                seeded[: self.part_size],
                actor=self.user,
                profile_path=self.profile_path("export-part-sampled"),
            )
        data.delete_archives([request_id, sample["request_id"]])
        self.results["growth"]["export"].append(
            {
                "people": population,
                "label": f"{scale.sampled_people} (sampled)",
                "nominal": f"{scale.sampled_people:,} (sampled)",
                "sampled": outcome["people"],
                "accept_seconds": accepted["seconds"],
                "accept_queries": accepted["queries"],
                "worker_seconds": outcome["worker_seconds"],
                "wall_seconds": finished - accepted["started_at"],
                "archive_bytes": outcome["archive_bytes"],
                "parts": outcome["parts"],
                "sample": sample,
            }
        )
        log(
            f"  export of {population}: accepted in {accepted['seconds']:.2f} s "
            f"({accepted['queries']} queries); "
            f"{outcome['people']} people built, "
            f"{outcome['worker_seconds'] / outcome['people'] * 1000:.1f} worker-ms/person"
        )

        # The anonymisation of everyone: accepted by the web, a sample of it processed and timed.
        with self.paused():
            anon_sample = measure.anonymisation_sample(
                seeded[-scale.query_sample :],
                actor=self.user,
                profile_path=self.profile_path("anonymise-chunk-sampled"),
            )
        expected = Contact.objects.filter(anonymised_at__isnull=True).count()
        self.workers.ensure(2)
        accepted = measure.web_anonymise_all(self.client, params={"anonymised": "no"}, expected=expected)
        request_id = accepted["object_id"]

        def processed() -> int:
            return AnonymisationRequest.objects.filter(pk=request_id).values_list(
                "processed_count", flat=True
            )[0]

        measure.wait_until(
            lambda: processed() >= scale.sampled_anonymise, timeout=7200, what="the sampled anonymisation"
        )
        with self.paused():
            pass
        finished = time.perf_counter()
        done = processed()
        self.results["growth"]["anonymisation"].append(
            {
                "people": expected,
                "label": f"{scale.sampled_people} (sampled)",
                "nominal": f"{scale.sampled_people:,} (sampled)",
                "sampled": done,
                "accept_seconds": accepted["seconds"],
                "accept_queries": accepted["queries"],
                "seconds": finished - accepted["started_at"],
                "sample": anon_sample,
            }
        )
        log(
            f"  anonymisation of {expected}: accepted in {accepted['seconds']:.2f} s "
            f"({accepted['queries']} queries); "
            f"{done} processed at {done / (finished - accepted['started_at']):.0f} contacts/s"
        )

    # --- 5: the RGPD page ---
    def page_figures(self, *, label: str, enqueue: bool = False, stock: bool = False) -> None:
        from bench import measure
        from contacts.models import Contact

        rows = Contact.objects.count()
        last_page = max(1, math.ceil(rows / 50))
        page = min(5000, last_page)
        # A person to search for: a random contact not anonymised (its name and email are still there).
        top = Contact.objects.order_by("-pk").values_list("pk", flat=True)[0]
        candidates = (
            Contact.objects.filter(anonymised_at__isnull=True).only("last_name", "email").order_by("pk")
        )
        probe = candidates.filter(pk__gte=random.randint(1, top)).first() or candidates.first()
        if probe is None:
            raise measure.BenchError("no contact left to search for")
        prefix = probe.last_name[:3]
        views = {
            "first_page": measure.changelist_url(),
            "page_5000": measure.changelist_url(p=page),
            "prefix_search": measure.changelist_url(q=prefix),
            "email_search": measure.changelist_url(q=probe.email),
        }
        entry: dict = {"rows": rows, "label": label, "page": page, "prefix": prefix}
        for name, url in views.items():
            measure.timed_request(self.client, "get", url)  # warm-up
            seconds, queries, slowest = Sample(), Sample(), None
            for _ in range(self.scale.page_runs):
                result = measure.timed_request(self.client, "get", url)
                seconds.add(result["seconds"])
                queries.add(result["queries"])
                slowest = result["slowest"]
            entry[name] = {"seconds": seconds.as_dict(), "queries": queries.as_dict(), "slowest": slowest}
        log(
            f"page at {rows} contacts: "
            + ", ".join(
                f"{name} {entry[name]['seconds']['median'] * 1000:.0f} "
                f"ms/{entry[name]['queries']['max']:.0f} q"
                for name in views
            )
        )
        if stock:
            entry["stock"] = self.stock_page_figures(views)
        if enqueue:
            entry["enqueue"] = self.enqueue_figure()
        self.results["pages"].append(entry)

    def stock_page_figures(self, views: dict[str, str]) -> dict:
        """The same views with Django's stock admin behaviour (exact counts, OFFSET pages, no search
        index): the "before" of rgpd/admin/pagination.py and contacts/migrations/0002, in the same run."""
        import importlib

        from django.contrib import admin
        from django.core.paginator import Paginator
        from django.db import connection

        from bench import measure
        from contacts.models import RgpdContact

        indexes = importlib.import_module("contacts.migrations.0002_search_indexes")
        admin_class = type(admin.site._registry[RgpdContact])
        saved = {name: admin_class.__dict__[name] for name in ("paginator", "show_full_result_count")}
        with connection.schema_editor() as editor:
            indexes.drop_indexes(None, editor)
        admin_class.paginator, admin_class.show_full_result_count = Paginator, True
        entry = {}
        try:
            for name, url in views.items():
                measure.timed_request(self.client, "get", url)  # warm-up
                seconds, queries = Sample(), Sample()
                for _ in range(max(1, self.scale.page_runs // 2)):
                    result = measure.timed_request(self.client, "get", url)
                    seconds.add(result["seconds"])
                    queries.add(result["queries"])
                entry[name] = {
                    "seconds": seconds.as_dict(),
                    "queries": queries.as_dict(),
                    "slowest": result["slowest"],
                }
        finally:
            for name, value in saved.items():
                setattr(admin_class, name, value)
            with connection.schema_editor() as editor:
                indexes.create_indexes(None, editor)
        log(
            "  stock admin: "
            + ", ".join(f"{name} {entry[name]['seconds']['median'] * 1000:.0f} ms" for name in views)
        )
        return entry

    def enqueue_figure(self) -> dict:
        from django.db import connection

        from bench import measure
        from rgpd.models import ExportRequest
        from rgpd.services.exports import export_request_prepare

        seconds, queries, recorded = Sample(), Sample(), Sample()
        people = 0
        for run in range(self.scale.enqueue_runs):
            with self.paused():
                result = measure.web_export_all(self.client, params={})
                request_id = result["object_id"]
                # Above RGPD_EXPORT_INLINE_MAX a worker records the parts: timed here, in this process.
                started = time.perf_counter()
                export_request_prepare(request_id=request_id)
                recorded.add(time.perf_counter() - started)
            seconds.add(result["seconds"])
            queries.add(result["queries"])
            people = ExportRequest.objects.get(pk=request_id).subject_count
            log(
                f"  'select all {people}' export enqueue run {run + 1}: {result['seconds']:.2f} s, "
                f"{result['queries']} queries; parts recorded by the worker in {recorded.values[-1]:.1f} s"
            )
            with connection.cursor() as cursor:  # keep the next run comparable: remove this request's rows
                cursor.execute(
                    "DELETE FROM rgpd_exportsubject WHERE part_id IN (SELECT id FROM "
                    "rgpd_exportpart WHERE request_id = %s)",
                    [request_id],
                )
                cursor.execute(
                    "UPDATE rgpd_auditevent SET export_request_id = NULL WHERE export_request_id = %s",
                    [request_id],
                )
                cursor.execute("DELETE FROM rgpd_exportpart WHERE request_id = %s", [request_id])
                cursor.execute("DELETE FROM rgpd_exportrequest WHERE id = %s", [request_id])
        return {
            "people": people,
            "seconds": seconds.as_dict(),
            "queries": queries.as_dict(),
            "recorded_seconds": recorded.as_dict(),
            "slowest": result["slowest"],
        }

    def million_figures(self) -> None:
        from bench import data
        from contacts.models import Contact

        rows = Contact.objects.count()
        missing = self.scale.page_rows - rows
        if missing > 0:
            if self.pools is None:
                self.pools = data.name_pools()
            started = time.perf_counter()
            data.insert_contacts_sql(missing, pools=self.pools)
            data.vacuum_analyze()
            log(f"{missing} contacts inserted with SQL in {time.perf_counter() - started:.1f} s")
        self.page_figures(label=f"{self.scale.page_rows} contacts", enqueue=True, stock=True)


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
    base_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
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
    phases = [bench.export_figures, bench.anonymisation_figures, bench.sampled_figures, bench.million_figures]
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
