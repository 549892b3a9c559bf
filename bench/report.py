"""Write bench/RESULTS.md and the PNG plots from the run's results (also usable on a results.json):

.venv/bin/python bench/report.py bench/results.json
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

MB = 1_000_000
NOTES_FILE = Path(__file__).resolve().parent / "NOTES.md"


def _fmt(value, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, str):
        return value
    if abs(value) >= 1000 and digits == 0:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def _verdict(ok: bool | None) -> str:
    return "—" if ok is None else ("**met**" if ok else "**missed**")


class Table:
    def __init__(self):
        self.rows: list[list[str]] = []

    def add(self, figure, median, low, high, contrast="—", ratio="—", target="—", ok: bool | None = None):
        self.rows.append([figure, median, low, high, contrast, ratio, target, _verdict(ok)])

    def markdown(self) -> str:
        head = ["Figure", "Median", "Min", "Max", "Floor / contrast (median)", "Ratio", "Target", "Result"]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        return "\n".join(lines)


def _s(d: dict, scale: float = 1.0, digits: int = 0) -> tuple[str, str, str]:
    return (_fmt(d["median"] * scale, digits), _fmt(d["min"] * scale, digits), _fmt(d["max"] * scale, digits))


def _median(values: list[float]) -> float:
    values = sorted(values)
    n = len(values)
    if not n:
        return float("nan")
    return values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2


def figures(results: dict) -> Table:
    table = Table()
    export = results.get("export")
    if export:
        big, crowd = export["big"], export["crowd"]
        size = f"{big['bytes'] / MB:,.0f} MB"
        ratio = big["ratio"]["median"]
        table.add(
            f"1. Export throughput, 1 person, {size} in {big['documents']} incompressible documents (MB/s)",
            *_s(big["mbps"]),
            f"{big['floor_mbps']['median']:.0f} MB/s (boto3 read + write back)",
            f"{ratio:.2f}",
            "≥ 0.7 of the floor",
            ratio >= 0.7,
        )
        ratio = crowd["ratio"]["median"]
        table.add(
            f"1. Export throughput, {crowd['people']:,} people × 3 × 300 KB, 1 worker (MB/s)",
            *_s(crowd["w1_mbps"]),
            f"{crowd['floor_mbps']['median']:.0f} MB/s (boto3 read + write back)",
            f"{ratio:.2f}",
            "≥ 0.7 of the floor",
            ratio >= 0.7,
        )
        mid = export["mid"]
        naive = export.get("naive", {})
        for label, data in (("big", big), ("mid", mid)):
            contrast = naive.get(label, {}).get("peak_rss_mb")
            peak = data["peak_rss_mb"]["median"]
            table.add(
                f"2. Worker peak RSS building a {data['bytes'] / MB:,.0f} MB archive (MB)",
                *_s(data["peak_rss_mb"]),
                f"{contrast['median']:,.0f} MB (naive in-memory ZIP)" if contrast else "—",
                f"{contrast['median'] / peak:.1f}× less" if contrast else "—",
                "≤ 150 MB",
                peak <= 150,
            )
        growth = big["peak_rss_mb"]["median"] / mid["peak_rss_mb"]["median"] - 1
        table.add(
            f"2. Peak RSS growth, {big['bytes'] / MB:,.0f} MB vs {mid['bytes'] / MB:,.0f} MB archive",
            f"{growth * 100:+.1f} %",
            "—",
            "—",
            "—",
            "—",
            "within 10 %",
            abs(growth) <= 0.10,
        )
        speedup = crowd["speedup"]
        parts = math.ceil(crowd["people"] / results["settings"]["RGPD_EXPORT_PART_SIZE"])
        ceiling = parts / math.ceil(parts / 2)
        table.add(
            f"3. Scale-out: {crowd['people']:,} people, 2 workers vs 1 (speed-up)",
            *_s(speedup, digits=2),
            f"{crowd['w2_mbps']['median']:.0f} vs {crowd['w1_mbps']['median']:.0f} MB/s",
            f"ceiling {ceiling:.2f} ({parts} parts on 2 workers)",
            "report (2 cores)",
            None,
        )
    anon = results.get("anonymisation")
    if anon:
        runs = anon["runs"]
        n = anon["people"]
        seconds = [r["seconds"] for r in runs]
        floors = [r["floor"]["seconds"] for r in runs]
        ratios = [r["ratio"] for r in runs]
        table.add(
            f"4. Bulk anonymisation of {n:,} contacts, end to end (s)",
            _fmt(_median(seconds), 1),
            _fmt(min(seconds), 1),
            _fmt(max(seconds), 1),
            f"{_median(floors):.1f} s (1 UPDATE + 1 DELETE + DeleteObjects)",
            f"{_median(ratios):.1f}×",
            "≤ 1.3× the floor",
            _median(ratios) <= 1.3,
        )
        rates = [n / s for s in seconds]
        table.add(
            "4. Bulk anonymisation rate (contacts/s)",
            _fmt(_median(rates)),
            _fmt(min(rates)),
            _fmt(max(rates)),
            f"{_median([n / f for f in floors]):.0f} contacts/s (floor)",
            "—",
            "—",
            None,
        )
        accept = [r["accept_seconds"] * 1000 for r in runs]
        table.add(
            f"4. Web request accepting the {n:,} (ms)",
            _fmt(_median(accept)),
            _fmt(min(accept)),
            _fmt(max(accept)),
            f"{_median([r['accept_queries'] for r in runs]):.0f} SQL queries",
            "—",
            "< 1 s",
            max(accept) < 1000,
        )
        calls = [r["delete_calls"] for r in runs]
        objects = [r["objects"] for r in runs]
        per_thousand = [c / (o / 1000) for c, o in zip(calls, objects, strict=True)]
        table.add(
            "4. Storage delete calls (DeleteObjects + DeleteObject)",
            _fmt(_median(calls)),
            _fmt(min(calls)),
            _fmt(max(calls)),
            f"{_median([r['floor']['delete_calls'] for r in runs]):.0f} (floor), for "
            f"{_median(objects):,.0f} objects",
            f"{_median(per_thousand):.2f} per 1,000 objects",
            "≤ 1 per 1,000 objects (a call takes at most 1,000 keys: ⌈objects / 1,000⌉ at best)",
            all(c <= math.ceil(o / 1000) for c, o in zip(calls, objects, strict=True)),
        )
        per_contact = [r["sample"]["queries"] / r["sample"]["people"] for r in runs]
        growth_q = [
            g["sample"]["queries"] / g["sample"]["people"]
            for g in results.get("growth", {}).get("anonymisation", [])
        ]
        bounded = bool(growth_q) and max(growth_q) - min(growth_q) <= 0.5
        table.add(
            "4. SQL queries per contact (anonymisation chunk + file deletion)",
            _fmt(_median(per_contact), 1),
            _fmt(min(per_contact), 1),
            _fmt(max(per_contact), 1),
            "4 (the per-subject Django anonymiser)",
            f"{_median(per_contact) / 4:.1f}×",
            "bounded (same at every size) and small (≤ 10)",
            bounded and _median(per_contact) <= 10,
        )
    pages = results.get("pages") or []
    if pages:
        largest = max(pages, key=lambda p: p["rows"])
        smallest = min(pages, key=lambda p: p["rows"])
        names = {
            "first_page": "first page",
            "page_5000": f"page {largest['page']:,}",
            "prefix_search": f'last-name prefix search ("{largest["prefix"]}")',
            "email_search": "email search",
        }
        contrast = largest.get("stock") or {}
        for key, title in names.items():
            data = largest[key]
            counts = [p[key]["queries"]["max"] for p in pages]
            ms = data["seconds"]["median"] * 1000
            stock = contrast.get(key)
            table.add(
                f"5. RGPD page at {largest['rows']:,} contacts: {title} (ms)",
                *_s(data["seconds"], 1000),
                (
                    f"{stock['seconds']['median'] * 1000:,.0f} ms with Django's stock paginator and "
                    "no search index; "
                    if stock
                    else ""
                )
                + f"{data['queries']['max']:.0f} queries ({min(counts):.0f}–{max(counts):.0f} at "
                f"every size from {smallest['rows']:,})",
                f"{stock['seconds']['median'] / data['seconds']['median']:.0f}× faster" if stock else "—",
                "≤ 300 ms, query count size-independent",
                # Bounded: never more queries on the largest table than on the smallest one.
                ms <= 300 and data["queries"]["max"] <= smallest[key]["queries"]["max"],
            )
        enqueue = largest.get("enqueue")
        if enqueue:
            ms = enqueue["seconds"]["median"] * 1000
            table.add(
                f'5. "Select all {enqueue["people"]:,}" export enqueue (ms)',
                *_s(enqueue["seconds"], 1000),
                f"{enqueue['queries']['median']:,.0f} queries"
                + (
                    f"; then a worker records the parts in {enqueue['recorded_seconds']['median']:.1f} s"
                    if enqueue.get("recorded_seconds")
                    else ""
                ),
                "—",
                "≤ 300 ms, bounded queries",
                ms <= 300,
            )
    _local_rows(table, results)
    growth = results.get("growth", {})
    exports = growth.get("export") or []
    if len(exports) >= 2:
        per = [g["worker_seconds"] / (g.get("sampled") or g["people"]) * 1000 for g in exports]
        q = [g["sample"]["queries"] / g["sample"]["people"] for g in exports]
        table.add(
            "6. Export cost per person at "
            + " / ".join(g.get("nominal", g["label"]) for g in exports)
            + " people (worker-ms)",
            " / ".join(_fmt(p, 1) for p in per),
            _fmt(min(per), 1),
            _fmt(max(per), 1),
            "queries/person " + " / ".join(_fmt(x, 2) for x in q),
            f"{max(per) / min(per):.2f} max/min",
            "flat (max/min ≤ 1.5, same queries/person)",
            max(per) / min(per) <= 1.5 and max(q) - min(q) <= 0.5,
        )
    anons = growth.get("anonymisation") or []
    if len(anons) >= 2:
        per = [g["seconds"] / (g.get("sampled") or g["people"]) * 1000 for g in anons]
        q = [g["sample"]["queries"] / g["sample"]["people"] for g in anons]
        table.add(
            "6. Anonymisation cost per contact at "
            + " / ".join(g.get("nominal", g["label"]) for g in anons)
            + " people (ms)",
            " / ".join(_fmt(p, 1) for p in per),
            _fmt(min(per), 1),
            _fmt(max(per), 1),
            "queries/contact " + " / ".join(_fmt(x, 1) for x in q),
            f"{max(per) / min(per):.2f} max/min",
            "flat (max/min ≤ 1.5, same queries/contact)",
            max(per) / min(per) <= 1.5 and max(q) - min(q) <= 0.5,
        )
    seeds = results.get("seed") or []
    if seeds:
        largest = max(s["contacts"] for s in seeds)
        # The runs of the largest size: the population and its floor twin (10,100 and 10,000 contacts).
        rates = [s["contacts"] / s["seconds"] for s in seeds if s["contacts"] >= 0.9 * largest]
        floor = results.get("seed_floor")
        floor_rate = floor["contacts_per_second"]["median"] if floor else None
        table.add(
            f"7. seed_demo rate, ~{largest:,} contacts with 3 documents and 80 % photos (contacts/s, "
            f"{len(rates)} runs)",
            _fmt(_median(rates)),
            _fmt(min(rates)),
            _fmt(max(rates)),
            f"{floor_rate:,.0f} contacts/s: their objects alone, PutObject from 8 threads" if floor else "—",
            f"{_median(rates) / floor_rate:.2f}" if floor else "—",
            "— (none set)",
            None,
        )
    return table


def _local_rows(table: Table, results: dict) -> None:
    """Figure 4 on local storage, and the web request accepting the largest "select all"."""
    local = results.get("local_anonymisation")
    if local:
        seconds, floors, ratios = local["seconds"], local["floor_seconds"], local["ratio"]
        table.add(
            f"4. Bulk anonymisation of {local['people']:,} contacts × 3 documents, local storage, in one "
            "process (s)",
            *_s(seconds, digits=1),
            f"{floors['median']:.2f} s (1 UPDATE + 1 DELETE + files unlinked)",
            f"{ratios['median']:.1f}× (runs {', '.join(f'{r:.1f}' for r in ratios['values'])})",
            "≤ 5× the floor",
            ratios["median"] <= 5,
        )
    sampled = [g for g in results.get("growth", {}).get("anonymisation", []) if g.get("sampled")]
    for g in sampled:
        ms = g["accept_seconds"] * 1000
        table.add(
            f'4. Web request accepting "select all" {g["people"]:,} + "Rendre anonyme les données" (ms)',
            _fmt(ms),
            "—",
            "—",
            f"{g['accept_queries']} SQL queries",
            "—",
            "< 300 ms, bounded queries",
            ms < 300,
        )


# --- Plots ------------------------------------------------------------------------------------------
def plots(results: dict, output: Path) -> list[str]:
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    export = results.get("export")
    if export:
        fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
        big, crowd = export["big"], export["crowd"]
        labels = [
            f"1 person\n{big['bytes'] / MB:.0f} MB",
            f"{crowd['people']} people\n1 worker",
            f"{crowd['people']} people\n2 workers",
        ]
        ours = [big["mbps"]["median"], crowd["w1_mbps"]["median"], crowd["w2_mbps"]["median"]]
        floor = [big["floor_mbps"]["median"], crowd["floor_mbps"]["median"], crowd["floor_mbps"]["median"]]
        xs = range(len(labels))
        left.bar([x - 0.2 for x in xs], ours, 0.4, label="export (streamed ZIP)")
        left.bar([x + 0.2 for x in xs], floor, 0.4, label="floor: boto3 read + write back")
        left.set_xticks(list(xs), labels)
        left.set_ylabel("MB/s (median)")
        left.set_title("Export throughput")
        left.legend(fontsize=8)
        mid = export["mid"]
        naive = export.get("naive", {})
        mlabels = [f"{mid['bytes'] / MB:.0f} MB archive", f"{big['bytes'] / MB:.0f} MB archive"]
        stream = [mid["peak_rss_mb"]["median"], big["peak_rss_mb"]["median"]]
        naive_v = [
            naive.get("mid", {}).get("peak_rss_mb", {}).get("median", 0),
            naive.get("big", {}).get("peak_rss_mb", {}).get("median", 0),
        ]
        xs = range(2)
        right.bar([x - 0.2 for x in xs], stream, 0.4, label="worker (streaming)")
        right.bar([x + 0.2 for x in xs], naive_v, 0.4, label="naive in-memory ZIP")
        right.axhline(150, color="red", linestyle="--", linewidth=1, label="target 150 MB")
        right.set_yscale("log")
        right.yaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        right.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        right.set_yticks([50, 100, 150, 300, 1000, 3000])
        right.set_xticks(list(xs), mlabels)
        right.set_ylabel("peak RSS, MB (log)")
        right.set_title("Memory of the process building the archive")
        right.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(output / "export.png", dpi=110)
        plt.close(fig)
        written.append("export.png")

    growth = results.get("growth", {})
    exports, anons = growth.get("export") or [], growth.get("anonymisation") or []
    if exports or anons:
        fig, (a, b, c) = plt.subplots(1, 3, figsize=(15, 4.2))
        if exports:
            xs = [g["people"] for g in exports]
            a.plot(
                xs,
                [g["worker_seconds"] / (g.get("sampled") or g["people"]) * 1000 for g in exports],
                "o-",
                label="export (worker-ms/person)",
            )
            b.plot(
                xs, [g["sample"]["queries"] / g["sample"]["people"] for g in exports], "o-", label="export"
            )
            c.plot(xs, [g["accept_seconds"] * 1000 for g in exports], "o-", label="export request")
        if anons:
            xs = [g["people"] for g in anons]
            a.plot(
                xs,
                [g["seconds"] / (g.get("sampled") or g["people"]) * 1000 for g in anons],
                "s-",
                label="anonymisation (ms/contact, end to end)",
            )
            floors = [
                (g["people"], g["floor"]["seconds"] / g["people"] * 1000) for g in anons if "floor" in g
            ]
            if floors:
                a.plot(*zip(*floors, strict=True), "s--", label="anonymisation floor (ms/contact)")
            b.plot(
                xs,
                [g["sample"]["queries"] / g["sample"]["people"] for g in anons],
                "s-",
                label="anonymisation",
            )
            c.plot(xs, [g["accept_seconds"] * 1000 for g in anons], "s-", label="anonymisation request")
        enqueues = [p["enqueue"] for p in results.get("pages") or [] if p.get("enqueue")]
        for enqueue in enqueues:
            c.plot(
                [enqueue["people"]],
                [enqueue["seconds"]["median"] * 1000],
                "D",
                color="tab:blue",
                label=f"export request, all {enqueue['people']:,} (the RGPD page)",
            )
        c.axhline(1000, color="red", linestyle="--", linewidth=1, label="1 s")
        for ax, title, ylabel in (
            (a, "Cost per person", "ms per person"),
            (b, "SQL queries per person", "queries"),
            (c, "Web request accepting the selection", "ms (log)"),
        ):
            ax.set_xscale("log")
            ax.set_xlabel("people in the request")
            ax.set_title(title)
            ax.set_ylabel(ylabel)
            if ax is c:
                ax.set_yscale("log")
            else:
                ax.set_ylim(bottom=0)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(output / "growth.png", dpi=110)
        plt.close(fig)
        written.append("growth.png")

    pages = sorted(results.get("pages") or [], key=lambda p: p["rows"])
    if pages:
        fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
        xs = [p["rows"] for p in pages]
        for key, label in (
            ("first_page", "first page"),
            ("page_5000", "page 5,000 (or last)"),
            ("prefix_search", "last-name prefix"),
            ("email_search", "email search"),
        ):
            a.plot(xs, [p[key]["seconds"]["median"] * 1000 for p in pages], "o-", label=label)
            b.plot(xs, [p[key]["queries"]["max"] for p in pages], "o-", label=label)
        stock = pages[-1].get("stock")
        if stock:
            a.plot(
                [pages[-1]["rows"]] * 4,
                [
                    stock[k]["seconds"]["median"] * 1000
                    for k in ("first_page", "page_5000", "prefix_search", "email_search")
                ],
                "x",
                color="black",
                label="Django's stock admin, same views",
            )
            a.set_yscale("log")
        a.axhline(300, color="red", linestyle="--", linewidth=1, label="target 300 ms")
        for ax, title, ylabel in (
            (a, "RGPD page: server time", "ms (median)"),
            (b, "RGPD page: SQL queries", "queries"),
        ):
            ax.set_xscale("log")
            ax.set_xlabel("contacts in the table")
            ax.set_title(title)
            ax.set_ylabel(ylabel)
            if ax.get_yscale() != "log":
                ax.set_ylim(bottom=0)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(output / "rgpd_page.png", dpi=110)
        plt.close(fig)
        written.append("rgpd_page.png")
    return written


# --- Markdown ---------------------------------------------------------------------------------------
def details(results: dict) -> str:
    out = []
    export = results.get("export")
    if export:
        big, mid, crowd = export["big"], export["mid"], export["crowd"]
        out.append("### Export and memory\n")
        rest = results.get("worker_rest_rss_mb")
        if rest:
            out.append(
                f"- A new worker process at rest (Django, Celery, boto3 loaded): {_median(rest):.0f} MB RSS; "
                "each run starts one and builds the smaller archive, then the larger one."
            )
        out.append(
            f"- 1 person, {big['bytes'] / MB:.0f} MB: export {big['seconds']['median']:.1f} s "
            f"(runs: {', '.join(f'{v:.1f}' for v in big['seconds']['values'])} s), floor "
            f"{big['floor_seconds']['median']:.1f} s; worker RSS before the task "
            f"{big['start_rss_mb']['median']:.0f} MB, peak {big['peak_rss_mb']['median']:.0f} MB."
        )
        out.append(
            f"- 1 person, {mid['bytes'] / MB:.0f} MB: export {mid['seconds']['median']:.1f} s, "
            "worker RSS before "
            f"{mid['start_rss_mb']['median']:.0f} MB, peak {mid['peak_rss_mb']['median']:.0f} MB."
        )
        naive = export.get("naive", {})
        for label, data in (("mid", mid), ("big", big)):
            if label in naive:
                n = naive[label]
                out.append(
                    f"- Naive in-memory ZIP of the {data['bytes'] / MB:.0f} MB person: peak RSS "
                    f"{n['peak_rss_mb']['median']:.0f} MB, {n['seconds']['median']:.1f} s "
                    f"({len(n['seconds']['values'])} run(s))."
                )
        out.append(
            f"- {crowd['people']} people: 1 worker {crowd['w1_seconds']['median']:.1f} s "
            f"({crowd['w1_worker_seconds']['median']:.1f} worker-s), 2 workers "
            f"{crowd['w2_seconds']['median']:.1f} s, "
            f"floor {crowd['floor_seconds']['median']:.1f} s."
        )
        out.append("")
    anon = results.get("anonymisation")
    if anon:
        out.append("### Bulk anonymisation runs\n")
        out.append(
            "| run | export | accept (ms, queries) | end to end (s) | floor (s) | ratio | objects | "
            "delete calls | S3 calls | queries/contact (sample) |"
        )
        out.append("|---|---|---|---|---|---|---|---|---|---|")
        for r in anon["runs"]:
            calls = ", ".join(f"{k} {v}" for k, v in sorted(r["s3_calls"].items()))
            s = r["sample"]
            out.append(
                f"| {r['label']} | {'built by the workers' if r is anon['runs'][0] else 'recorded (SQL)'} | "
                f"{r['accept_seconds'] * 1000:.0f}, {r['accept_queries']} | {r['seconds']:.1f} | "
                f"{r['floor']['seconds']:.1f} | "
                f"{r['ratio']:.1f}× | {r['objects']} | {r['delete_calls']} | {calls} | "
                f"{s['queries'] / s['people']:.1f} "
                f"({', '.join(f'{k} {v}' for k, v in sorted(s['query_kinds'].items()))} for {s['people']}) |"
            )
        out.append("")
    growth = results.get("growth", {})
    if growth.get("export") or growth.get("anonymisation"):
        out.append("### Cost growth\n")
        out.append(
            "| operation | people | processed | accept (ms) | accept queries | time (s) | per "
            "person (ms) | queries/person |"
        )
        out.append("|---|---|---|---|---|---|---|---|")
        for g in growth.get("export", []):
            done = g.get("sampled") or g["people"]
            out.append(
                f"| export | {g['people']} | {done} | {g['accept_seconds'] * 1000:.0f} | "
                f"{g['accept_queries']} | "
                f"{g['wall_seconds']:.1f} wall, {g['worker_seconds']:.1f} worker | "
                f"{g['worker_seconds'] / done * 1000:.1f} (worker) | "
                f"{g['sample']['queries'] / g['sample']['people']:.2f} |"
            )
        for g in growth.get("anonymisation", []):
            done = g.get("sampled") or g["people"]
            out.append(
                f"| anonymisation | {g['people']} | {done} | {g['accept_seconds'] * 1000:.0f} | "
                f"{g['accept_queries']} | "
                f"{g['seconds']:.1f} | {g['seconds'] / done * 1000:.1f} | "
                f"{g['sample']['queries'] / g['sample']['people']:.1f} |"
            )
        out.append("")
    pages = sorted(results.get("pages") or [], key=lambda p: p["rows"])
    if pages:
        out.append("### The RGPD page\n")
        out.append("| contacts | first page | page 5,000 (or last) | prefix search | email search |")
        out.append("|---|---|---|---|---|")
        for p in pages:
            cells = [
                f"{p[k]['seconds']['median'] * 1000:.0f} ms, {p[k]['queries']['max']:.0f} q"
                for k in ("first_page", "page_5000", "prefix_search", "email_search")
            ]
            out.append(f"| {p['rows']:,} | " + " | ".join(cells) + " |")
        out.append("")
        largest = pages[-1]
        out.append(f"Slowest queries at {largest['rows']:,} contacts (last run):\n")
        for key in ("first_page", "page_5000", "prefix_search", "email_search"):
            for q in largest[key]["slowest"][:2]:
                out.append(f"- {key}: {q['ms']} ms — `{q['sql'][:160]}…`")
        if largest.get("enqueue"):
            for q in largest["enqueue"]["slowest"][:3]:
                out.append(f"- select-all export enqueue: {q['ms']} ms — `{q['sql'][:160]}…`")
        out.append("")
    seeds = results.get("seed") or []
    if seeds:
        out.append("### seed_demo\n")
        out.append(
            ", ".join(
                f"{s['contacts']} in {s['seconds']:.1f} s ({s['contacts'] / s['seconds']:.0f}/s, {s['what']})"
                for s in seeds
            )
        )
        out.append("")
    return "\n".join(out)


def write(results: dict, output: Path) -> None:
    table = figures(results)
    images = plots(results, output)
    machine = results.get("machine", {})
    lines = [
        "# Benchmarks",
        "",
        f"Written by `make bench` (`bench/run.py`, scale **{results.get('scale')}**) on "
        f"{results.get('started_at', '?')}; "
        f"the run took {results.get('duration_seconds', 0) / 60:.0f} min. Raw numbers: `bench/results.json`.",
        "",
        "Every figure is measured on PostgreSQL, Redis, a SeaweedFS S3 gateway and real Celery "
        "worker processes "
        "(`-P solo`, one task at a time each), and compared with its floor or a naive alternative "
        "**in the same run**. "
        "Median of the runs, with min and max.",
        "",
        "## Machine",
        "",
        *[f"- {k}: {v}" for k, v in machine.items()],
        f"- Settings: {', '.join(f'{k}={v}' for k, v in results.get('settings', {}).items())}",
        "",
    ]
    if results.get("failed"):
        lines += ["## ⚠ The run failed", "", "```", results["failed"][-3000:], "```", ""]
    lines += ["## Figures", "", table.markdown(), ""]
    lines += [f"![{name}]({name})" for name in images]
    lines += ["", "## Details", "", details(results)]
    if NOTES_FILE.exists() and output.resolve() == NOTES_FILE.parent:
        lines += ["", NOTES_FILE.read_text()]
    (output / "RESULTS.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    path = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent / "results.json")
    write(json.loads(path.read_text()), path.parent)
