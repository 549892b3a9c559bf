"""Figures 4 and 6: anonymisation (web acceptance, workers, S3 delete calls) against its floor, and
the export's growth measured on the same populations."""

from __future__ import annotations

import os
import time

from bench.support import Sample, log


class AnonymisationFigures:
    """Methods of :class:`bench.run.Bench` (its scale, workers, client and results)."""

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
        smalls = [
            self.anonymisation_round(
                scale.small_people,
                real_export=(run == 0),
                label=f"{scale.small_people}" + (f"-run{run + 1}" if run else ""),
                pages=(run == 0),
            )
            for run in range(scale.runs)
        ]
        # A few seconds on its S3 floor, whose own speed varies from run to run: the median run, as elsewhere.
        small = sorted(smalls, key=lambda row: row["seconds"])[len(smalls) // 2]
        small["runs_seconds"] = [row["seconds"] for row in smalls]
        small["runs_floor_seconds"] = [row["floor"]["seconds"] for row in smalls]
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
