"""Figure 6 at the largest size: a population inserted with SQL, exported and anonymised on a sample."""

from __future__ import annotations

import math
import time

from bench.support import log


class SampledFigures:
    """Methods of :class:`bench.run.Bench` (its scale, workers, client and results)."""

    def sampled_seeded(self) -> int:
        """People seeded with real stored objects before the SQL-inserted rest of the population.

        The timed anonymisation must only meet these: SeaweedFS deletes a key that does not exist (the
        placeholders' documents) for almost nothing, which made the largest size look cheaper per contact
        than the others. It processes the lowest ids first, stops after ``sampled_anonymise`` and lets the
        chunks in flight finish, after the query sample taken from the seeded tail."""
        from rgpd.services.anonymisation.chunks import chunk_size

        scale, chunk = self.scale, chunk_size()
        # Progress is counted by whole chunks; then each of the 2 workers finishes its current one, and one
        # more may have been started or finished between two readings of the count.
        counted = -(-scale.sampled_anonymise // chunk) * chunk
        needed = scale.query_sample + counted + 4 * chunk
        return min(scale.sampled_people, max(scale.sampled_build, needed))

    # --- 6: the largest size, sampled ---
    def sampled_figures(self) -> None:
        from django.utils import timezone

        from bench import data, measure
        from contacts.models import Contact
        from rgpd.models import AnonymisationRequest, ExportPart

        scale = self.scale
        log(f"growth: {scale.sampled_people} people, sampled")
        seeded = self.seed(self.sampled_seeded(), what="sampled population (with documents)")
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
        numbers = list(range(1, math.ceil(scale.sampled_build / self.part_size) + 1))
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
        if Contact.objects.filter(pk__gt=max(seeded), anonymised_at__isnull=False).exists():
            raise measure.BenchError(
                "the timed anonymisation reached contacts whose documents are placeholder keys: "
                "sampled_seeded() must cover every chunk in flight"
            )
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
