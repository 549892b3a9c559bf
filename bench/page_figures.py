"""Figure 5: the RGPD page's views (first page, a far page, searches), Django's stock admin for
contrast, and the "select all" export's enqueue."""

from __future__ import annotations

import math
import random
import time

from bench.support import Sample, log


class PageFigures:
    """Methods of :class:`bench.run.Bench` (its scale, workers, client and results)."""

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
