"""``report.html``: saved verify and bench runs as one self-contained page.

Every chart is inline SVG drawn by :mod:`harness.report.plots` and :mod:`harness.report.timeline`;
no script, stylesheet, font or image is fetched from anywhere, so the page opens offline and
straight out of a CI artifact. :func:`render_html` puts it together, top to bottom:

0. the **verdict banner**: PASS / FAIL / UNKNOWN, big and coloured, each run's counts, its
   replay command and a link to the first failure (:mod:`.verdict_banner`);
1. the runs it is made of (store, verdict, commit, machine, folder);
2. the **criteria matrix**: one row per store, one column per criterion; each cell links to
   that criterion's summary and evidence lines for that store, which are listed failures
   first (:mod:`.criteria_section`);
3. **latency** percentiles per operation and store: the quiet measurement, then each scenario
   (:mod:`.latency_section`), and **latency over time**: every store call of each scenario as
   a dot, failed calls as crosses, fault windows shaded, with the spread of each operation
   (:mod:`.scatter_section`);
4. the **benchmark** (when a ``bench.json`` is included): targets, latency per payload,
   throughput against processes, directory size, the time breakdown of a save, recovery
   (:mod:`.bench_sections`);
5. a **timeline** of each scenario per store, Jepsen-style (:mod:`.timeline_section`);
6. the **trend** of every figure across the runs of ``reports/trend.jsonl``, this run ringed
   (:mod:`.trend_section`).

The ``jobharness report`` command that writes it, with ``summary.md``, is
:mod:`harness.report.command`; :mod:`harness.report.markup` holds the HTML pieces the sections
share. How to read the page: ``docs/reports.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from harness.report.bench_sections import bench_section
from harness.report.criteria_section import evidence_section, matrix_section
from harness.report.latency_section import latency_section
from harness.report.markup import count_of, table_row, tag, verdict_word
from harness.report.requests_section import requests_section
from harness.report.runs import VerifyRun, split_runs
from harness.report.scatter_section import latency_over_time_section
from harness.report.svg import esc
from harness.report.timeline_section import timelines_section
from harness.report.trend_section import trends_section
from harness.report.verdict_banner import verdict_banner
from harness.results import BenchResults, SavedRun
from harness.results.trend import TrendEntry, read_trend


def render_html(runs: Sequence[SavedRun], trend: Sequence[TrendEntry] | None = None) -> str:
    """The whole page; ``trend`` defaults to the lines of the trend log."""
    verify, bench = split_runs(runs)
    trend = read_trend() if trend is None else trend
    sections = [
        ("criteria", "Criteria", matrix_section(verify)),
        ("evidence", "Evidence", evidence_section(verify)),
        ("latency", "Latency", latency_section(verify)),
        ("latency-over-time", "Latency over time", latency_over_time_section(verify)),
        ("requests", "Requests", requests_section(verify)),
        ("bench", "Benchmark", "".join(bench_section(run) for run in bench)),
        ("timelines", "Timelines", timelines_section(verify)),
        ("trends", "Trends", trends_section(verify, bench, trend)),
    ]
    sections = [section for section in sections if section[2]]
    body = "".join(tag("section", tag("h2", title) + html, id=key) for key, title, html in sections)
    nav = " · ".join(tag("a", title, href=f"#{key}") for key, title, _ in sections)
    title = "jobharness report: " + " + ".join(
        ([f"verify {', '.join(run.label for run in verify)}"] if verify else [])
        + (["benchmark"] if bench else [])
    )
    generated = datetime.now(UTC).isoformat(timespec="seconds")
    header = (
        verdict_banner(verify, bench)  # the answer first: the evidence follows
        + tag("h1", esc(title))
        + tag("p", f"generated {generated}", class_="meta")
        + _runs_table(verify, bench)
        + tag("nav", nav)
    )
    head = (
        '<meta charset="utf-8">'
        + tag("title", esc(title))
        + '<meta name="viewport" content="width=device-width, initial-scale=1">'
        + tag("style", CSS)
    )
    # The page says how many charts it drew, so a test can check that the browser shows them all.
    page = tag("head", head) + tag(
        "body", tag("header", header) + body, data_plot_count=body.count("<svg ")
    )
    return "<!DOCTYPE html>\n" + tag("html", page, lang="en") + "\n"


def _runs_table(verify: list[VerifyRun], bench: list[BenchResults]) -> str:
    rows = [
        table_row(
            ("run", "store", "verdict", "commit", "started", "took", "machine", "folder"), "th"
        )
    ]
    for run in verify:
        verdict = verdict_word(run.report.verdict)
        rows.append(table_row(("verify", esc(run.label), verdict, *_run_facts(run.report))))
    for results in bench:
        facts = (_targets_verdict(results), *_run_facts(results))
        rows.append(table_row(("bench", esc(", ".join(results.stores)), *facts)))
    return tag("table", "".join(rows), class_="runs")


def _run_facts(run: SavedRun) -> tuple[str, ...]:
    machine = run.machine
    took = f"{run.duration_s:.0f} s" + (" (quick)" if run.quick else "")
    host, cpus = machine.get("hostname", "?"), machine.get("cpus", "?")
    where = f"{host} ({cpus} cpus, {machine.get('system', '?')})"
    return (
        esc(run.commit or "?"),
        esc(run.started or "?"),
        took,
        esc(where),
        tag("code", esc(run.folder)),
    )


def _targets_verdict(bench: BenchResults) -> str:
    targets = bench.targets
    missed = sum(1 for t in targets if t.passed is False)
    if not targets:
        return "-"
    if missed:
        return tag("b", count_of(missed, "target") + " missed", class_="fail")
    return tag("b", "targets met", class_="pass")


CSS = "".join(
    (
        "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#222;",
        "margin:0 auto;",
        "max-width:1300px;padding:0 18px 60px}",
        ".banner{display:flex;gap:22px;align-items:center;margin:14px 0 6px;padding:12px 20px;",
        "border-radius:6px;border:3px solid}.banner p{margin:3px 0}",
        ".banner-word{font-size:44px;font-weight:800;letter-spacing:1px;min-width:230px}",
        ".banner.pass{background:#e3f5e8;border-color:#1a7f46}.banner.pass .banner-word{color:#11603a}",
        ".banner.fail{background:#fde3e1;border-color:#b00020}.banner.fail .banner-word{color:#a50026}",
        # Amber, with its own word, and striped: an unknown must never be read as a pass.
        ".banner.unknown{border-color:#d98e00;background:repeating-linear-gradient(135deg,",
        "#fff1c9 0 14px,#ffe7a3 14px 28px)}.banner.unknown .banner-word{color:#7a4b00}",
        ".banner-meaning{font-weight:600}.banner-replay code{font-size:13px}",
        ".to-first-failure{font-weight:700}",
        "h1{font-size:22px;margin:18px 0 4px}h3{margin:22px 0 8px}",
        "h4{margin:0 0 4px;font-size:14px}",
        "h2{border-bottom:2px solid #ddd;padding-bottom:4px;margin-top:34px}",
        ".meta{color:#666;margin:0 0 8px}nav{margin:10px 0;font-weight:600}",
        "a{color:#0062a0;text-decoration:none}a:hover{text-decoration:underline}",
        "table{border-collapse:collapse;margin:8px 0}",
        "td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}",
        "table.runs td,table.runs th{font-size:12px}table.runs td:nth-child(5){white-space:nowrap}",
        ".matrix td.cell,.matrix td.verdict{text-align:center;font-weight:600;min-width:42px}",
        ".matrix td.cell a{display:block;color:inherit}",
        "td.pass,.evidence.pass h4,b.pass{color:#11603a}td.pass{background:#e3f5e8}",
        "td.fail,.evidence.fail h4,b.fail{color:#a50026}td.fail{background:#fde3e1}",
        "td.unknown,.evidence.unknown h4,b.unknown{color:#7a4b00}td.unknown{background:#fff1c9}",
        "td.na{background:#f3f3f3;color:#777}td.absent{color:#bbb;text-align:center}",
        ".criteria-legend{columns:2;font-size:12px;color:#444;padding-left:18px}",
        ".evidence{border-left:4px solid #ccc;padding:6px 10px;margin:8px 0;background:#fafafa}",
        ".evidence.fail{border-color:#a50026}.evidence.pass{border-color:#2e9d5b}",
        ".evidence:target,figure.timeline:target{outline:3px solid #0072B2;background:#eef6fc}",
        ".first-failure>.evidence{border-left-width:8px}",
        ".first-failure:target>.evidence{outline:3px solid #0072B2}",
        ".evidence p{margin:2px 0}.evidence ul,figcaption ul{margin:4px 0;padding-left:18px}",
        ".evidence p.fix{font-weight:600;color:#5a3e00;background:#fff4d6;padding:2px 6px}",
        "code{font-size:12px;word-break:break-word}",
        "table.spread td,table.spread th{font-size:12px;padding:2px 8px}",
        "table.spread td:nth-child(n+3){text-align:right;font-variant-numeric:tabular-nums}",
        "svg.plot{display:inline-block;vertical-align:top;max-width:100%;height:auto;",
        "margin:10px 10px 10px 0;background:#fff}",
        "figure.timeline{margin:6px 0 16px}figure.timeline svg.plot{display:block}",
        "figure.timeline figcaption{font-size:12px;color:#444}",
        "details.scenario{border-top:1px solid #e4e4e4;padding-top:6px}",
        "details>summary{cursor:pointer;margin:6px 0}",
        ".trends{display:flex;flex-wrap:wrap;gap:6px}",
        ".trends svg.plot{margin:0;border:1px solid #eee}",
        ".legend{font-size:12px}",
        ".swatch{display:inline-block;width:14px;height:10px;margin:0 4px 0 8px;",
        "border:1px solid #999}",
    )
)
