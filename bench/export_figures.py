"""Figures 1-3: the export's throughput against the copy floor, the worker's memory, two workers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.support import MB, ROOT, Sample, log

BENCH_DIR = Path(__file__).resolve().parent


class ExportFigures:
    """Methods of :class:`bench.run.Bench` (its scale, workers, client and results)."""

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
