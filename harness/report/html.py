"""``jobharness report``: saved verify and bench runs as one HTML file and a Markdown summary.

    jobharness report                # the latest verify run of each store and the latest
                                     # bench run among the folders of reports/
    jobharness report reports/verify-naive-* reports/bench-20261128-193000 --out /tmp/out

``report.html`` is a single self-contained file: every chart is inline SVG drawn by
:mod:`harness.report.plots` and :mod:`harness.report.timeline`; no script, stylesheet, font or
image is fetched from anywhere, so it opens offline and straight out of a CI artifact. Top to
bottom it holds:

1. the **criteria matrix**: one row per store, one column per criterion; each cell links to
   that criterion's summary and evidence lines for that store (the *evidence* section);
2. **latency** percentiles per operation and store: the quiet measurement, then each scenario;
3. the **benchmark** (when a ``bench.json`` is included): targets, latency per payload,
   throughput against processes, directory size, the time breakdown of a save, recovery;
4. a **timeline** of each scenario per store (Jepsen-style: lanes of operations, faults shaded);
5. the **trend** of every figure across the runs of ``reports/trend.jsonl``, this run ringed.

``summary.md`` carries the matrix, the failed criteria with their first evidence line and the
benchmark targets: what a pull-request comment needs. :func:`render_after_verify` renders the
report of one verify run into its own folder (``make verify`` calls it). How to read the page:
``docs/reports.md``.

The page is put together here, with the verify sections (matrix, evidence, latency, timelines,
trends) and ``summary.md``; :mod:`harness.report.runs` finds and loads the runs,
:mod:`harness.report.bench_sections` draws the benchmark and :mod:`harness.report.markup` holds
the HTML pieces they share.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.history import load_history
from harness.report import plots
from harness.report.bench_sections import bench_section
from harness.report.markup import (
    CSS_CLASS,
    MARK,
    format_value,
    slug,
    table_row,
    tag,
    verdict_word,
)
from harness.report.plots import esc
from harness.report.runs import (
    REPORTS_ROOT,
    VerifyRun,
    current_entries,
    discover_runs,
    resolved_path,
    split_runs,
)
from harness.report.timeline import (
    DAMAGE_COLOR,
    KILL_COLOR,
    LEVEL_COLORS,
    LEVEL_NAMES,
    WINDOW_STYLE,
    build_timeline,
    render_timeline,
)
from harness.results import (
    BenchResults,
    CriterionResult,
    SavedRun,
    ScenarioResult,
    load_run,
)
from harness.trend import TrendEntry, read_trend

LATENCY_OPS = {  # operation: rows of the quiet measurement (the latency scenario) shown with it
    "save": ("floor_write", "naive_save", "save"),
    "get": ("floor_read", "naive_get", "get"),
    "update": (),
    "get_recovering": ("get_recovering",),
    "recover": (),
}
MAX_TREND_POINTS = 60  # the last runs of a figure: a trend, not an archive


# ---------------------------------------------------------------- the command and the hook


def run_report_command(args: argparse.Namespace) -> int:
    """``jobharness report [RUN_DIR ...] [--out DIR]``: write the two files and say where."""
    runs = [load_run(Path(path)) for path in args.runs] if args.runs else discover_runs()
    runs = list({resolved_path(run.folder): run for run in runs}.values())  # a folder named twice
    html_path, summary_path = write_report(runs, Path(args.out) if args.out else REPORTS_ROOT)
    print(f"report:  {html_path} ({html_path.stat().st_size / 1e6:.1f} MB)")
    print(f"summary: {summary_path}")
    return 0


def render_after_verify(run_dir: Path) -> Path:
    """Render one verify run (with the trend log) into ``run_dir/report.html``; its path."""
    path = run_dir / "report.html"
    path.write_text(render_html([load_run(run_dir)]), encoding="utf-8")
    return path


def write_report(runs: Sequence[SavedRun], out: Path) -> tuple[Path, Path]:
    """``out/report.html`` and ``out/summary.md`` for ``runs``."""
    out.mkdir(parents=True, exist_ok=True)
    html_path, summary_path = out / "report.html", out / "summary.md"
    html_path.write_text(render_html(runs), encoding="utf-8")
    summary_path.write_text(render_summary(runs, html_path.name), encoding="utf-8")
    return html_path, summary_path


# ---------------------------------------------------------------- the page


def render_html(runs: Sequence[SavedRun], trend: Sequence[TrendEntry] | None = None) -> str:
    """The whole page; ``trend`` defaults to the lines of the trend log."""
    verify, bench = split_runs(runs)
    trend = read_trend() if trend is None else trend
    sections = [
        ("criteria", "Criteria", _matrix_section(verify)),
        ("evidence", "Evidence", _evidence_section(verify)),
        ("latency", "Latency", _latency_section(verify)),
        ("bench", "Benchmark", "".join(bench_section(run) for run in bench)),
        ("timelines", "Timelines", _timelines_section(verify)),
        ("trends", "Trends", _trends_section(verify, bench, trend)),
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
        tag("h1", esc(title))
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
        return tag("b", _plural(missed, "target") + " missed", class_="fail")
    return tag("b", "targets met", class_="pass")


def _plural(count: int, one: str, many: str = "") -> str:
    return f"{count} {one if count == 1 else many or one + 's'}"


# ---------------------------------------------------------------- criteria and evidence


def criteria_columns(verify: Sequence[VerifyRun]) -> list[tuple[str, str]]:
    """(id, title) of every criterion in any run, in the order the runs list them."""
    columns: dict[str, str] = {}
    for run in verify:
        for criterion in run.report.criteria:
            columns.setdefault(criterion.id, criterion.title)
    return list(columns.items())


def _criteria_of(run: VerifyRun) -> dict[str, CriterionResult]:
    return {criterion.id: criterion for criterion in run.report.criteria}


def _matrix_section(verify: list[VerifyRun]) -> str:
    if not verify:
        return ""
    columns = criteria_columns(verify)
    head = "".join(tag("th", tag("abbr", esc(cid), title=title)) for cid, title in columns)
    rows = []
    for run in verify:
        criteria = _criteria_of(run)
        verdict = run.report.verdict
        cells = [
            tag("th", tag("a", esc(run.label), href=f"#ev-{run.slug}"), class_="store"),
            tag("td", esc(verdict), class_=f"verdict {CSS_CLASS.get(verdict, 'na')}"),
        ]
        for cid, _ in columns:
            criterion = criteria.get(cid)
            if criterion is None:
                cells.append(tag("td", "-", class_="absent"))
                continue
            status = criterion.status
            link = tag(
                "a",
                MARK[status],
                href=f"#ev-{run.slug}-{slug(cid)}",
                title=criterion.summary,
            )
            cells.append(tag("td", link, class_=f"cell {CSS_CLASS[status]}"))
        rows.append(tag("tr", "".join(cells), class_="store-row"))
    legend = "".join(tag("li", tag("b", esc(cid)) + " " + esc(title)) for cid, title in columns)
    return (
        tag("p", "Each cell links to that criterion's summary and evidence for that store.")
        + tag(
            "table",
            tag("thead", tag("tr", "<th>store</th><th>verdict</th>" + head))
            + tag("tbody", "".join(rows)),
            class_="matrix",
        )
        + tag("ul", legend, class_="criteria-legend")
    )


def _evidence_section(verify: list[VerifyRun]) -> str:
    parts = []
    for run in verify:
        scenarios = {scenario.name for scenario in run.report.scenarios}
        parts.append(tag("h3", esc(run.label), id=f"ev-{run.slug}"))
        if run.report.verdict != "pass" and run.report.replay:
            replay = tag("code", esc(run.report.replay))
            parts.append(tag("p", f"Replay with the same seed: {replay}"))
        for cid, criterion in _criteria_of(run).items():
            parts.append(_evidence_block(run, cid, criterion, scenarios))
    return "".join(parts)


def _evidence_block(
    run: VerifyRun, cid: str, criterion: CriterionResult, scenarios: set[str]
) -> str:
    status = criterion.status
    lines = "".join(
        tag("li", tag("code", _link_scenario(line, run, scenarios))) for line in criterion.evidence
    )
    judged = ", ".join(
        f"{tag('a', esc(name), href=f'#tl-{run.slug}-{slug(name)}')} {MARK.get(verdict, 'n/a')}"
        for name, verdict in criterion.scenarios.items()
    )
    heading = f"{esc(run.label)} · {esc(cid)} {esc(criterion.title)}: {MARK[status]}"
    return tag(
        "div",
        tag("h4", heading)
        + tag("p", esc(criterion.summary))
        + (tag("ul", lines) if lines else "")
        + (tag("p", f"judged in: {judged}", class_="scenarios") if judged else ""),
        class_=f"evidence {CSS_CLASS[status]}",
        id=f"ev-{run.slug}-{slug(cid)}",
    )


def _link_scenario(line: str, run: VerifyRun, scenarios: set[str]) -> str:
    """An evidence line with its leading ``scenario:`` turned into a link to that timeline."""
    name, separator, rest = line.partition(": ")
    if separator and name in scenarios:
        return f"{tag('a', esc(name), href=f'#tl-{run.slug}-{slug(name)}')}: {esc(rest)}"
    return esc(line)


# ---------------------------------------------------------------- latency


def _percentiles(figure: Any) -> plots.Percentiles | None:
    """A latency summary ({count, p50_ms, ...}) as chart percentiles; None when it is empty."""
    if not isinstance(figure, dict) or not figure.get("count") or "p50_ms" not in figure:
        return None
    p50 = figure["p50_ms"]
    return plots.Percentiles(
        p50,
        figure.get("p99_ms", p50),
        figure.get("p95_ms"),
        figure.get("max_ms"),
        int(figure["count"]),
    )


def latency_rows(run: VerifyRun, op: str) -> dict[str, plots.Percentiles]:
    """Row label -> percentiles of ``op`` in one run: the quiet measurement, then each scenario."""
    quiet: dict[str, plots.Percentiles] = {}
    scenarios: dict[str, plots.Percentiles] = {}
    for scenario in run.report.scenarios:
        for check in scenario.checks:
            figures = check.figures
            if check.name == "performance_budget":
                for name in LATENCY_OPS.get(op, ()):
                    if value := _percentiles((figures.get("latency") or {}).get(name)):
                        quiet[f"quiet: {name}"] = value
                if op == "get_recovering":  # P3 judges the kinds together; show each apart
                    for kind, figure in (figures.get("recovering_by_damage") or {}).items():
                        if value := _percentiles(figure):
                            quiet[f"quiet: get_recovering ({kind})"] = value
            elif check.name == "latency" and (value := _percentiles(figures.get(op))):
                scenarios[scenario.name] = value
    return quiet | scenarios


def _latency_section(verify: list[VerifyRun]) -> str:
    charts = []
    for op in LATENCY_OPS:
        per_run = {run.label: latency_rows(run, op) for run in verify}
        rows = list(dict.fromkeys(row for values in per_run.values() for row in values))
        rows.sort(key=lambda row: not row.startswith("quiet"))  # stable: quiet rows first
        series = [
            plots.RangeSeries(label, values, plots.color_for(label, index))
            for index, (label, values) in enumerate(per_run.items())
            if values
        ]
        if rows:
            title = f"{op}: latency percentiles"
            charts.append(plots.range_chart(f"latency-{op}", title, rows, series, unit="ms"))
    if not charts:
        return ""
    explanation = (
        "Dot: p50; bar: p50 to p99; tick: p95; ring: the maximum; log scale. <i>quiet</i> rows "
        "come from the latency scenario, without faults (the floors are the least a write and a "
        "read cost on the store's own medium, measured in the same rounds); the others from each "
        "scenario, under its faults."
    )
    return tag("p", explanation) + _floors_list(verify) + "".join(charts)


def _floors_list(verify: list[VerifyRun]) -> str:
    """Which floor each run's budgets were judged against (a file, a database round trip)."""
    items = []
    for run in verify:
        for scenario in run.report.scenarios:
            budget = scenario.check("performance_budget")
            floor = budget.figures.get("floor") if budget else None
            if isinstance(floor, dict):
                who = "declared by the store" if floor.get("declared_by") == "store" else "default"
                items.append(
                    tag(
                        "li",
                        f"{tag('b', esc(run.label))}: floor {tag('b', esc(floor.get('medium')))}"
                        f" ({esc(who)}); write: {esc(floor.get('write'))}; "
                        f"read: {esc(floor.get('read'))}",
                    )
                )
    if not items:
        return ""
    return tag("p", "The budgets P1-P3 were judged against these floors:") + tag(
        "ul", "".join(items)
    )


# ---------------------------------------------------------------- timelines


def _timelines_section(verify: list[VerifyRun]) -> str:
    names = list(dict.fromkeys(s.name for run in verify for s in run.report.scenarios))
    blocks = []
    for name in names:
        figures, description = [], ""
        for run in verify:
            scenario = run.report.scenario(name)
            if scenario is not None:
                description = description or scenario.description
                figures.append(_timeline_figure(run, scenario))
        summary = tag("summary", tag("b", esc(name)) + " " + esc(description))
        blocks.append(
            tag(
                "details",
                summary + "".join(figures),
                class_="scenario",
                id=f"sc-{slug(name)}",
                open="",
            )
        )
    return TIMELINE_LEGEND + "".join(blocks) if blocks else ""


def _timeline_figure(run: VerifyRun, scenario: ScenarioResult) -> str:
    name = scenario.name
    anchor = f"tl-{run.slug}-{slug(name)}"
    head = f"{tag('b', esc(run.label))}: {verdict_word(scenario.status)}"
    history = run.path / scenario.history
    if not scenario.applicable:
        caption = f"{head}: not applicable: {esc(scenario.reason)}"
        return tag("figure", tag("figcaption", caption), id=anchor, class_="timeline")
    if not history.is_file():
        caption = f"{head}: its history {tag('code', esc(history))} is missing"
        return tag("figure", tag("figcaption", caption), id=anchor, class_="timeline")
    records = load_history(history)
    timeline = build_timeline(records, problem_operations(scenario))
    counts = timeline.counts()
    facts = [
        f"{sum(counts.values())} ops "
        f"({counts['ok']} ok, {counts['fail']} fail, {counts['info']} info)"
    ]
    if timeline.problems:
        facts.append(
            _plural(timeline.problems, "operation judged wrong", "operations judged wrong")
        )
    for kind in ("kill", "crash", "damage"):
        if count := sum(1 for marker in timeline.markers if marker.kind == kind):
            facts.append(_plural(count, kind, kind + "es" if kind == "crash" else ""))
    items = [
        tag(
            "li",
            f"{esc(check.name)}: {esc(check.summary)}"
            + (f"<br>{tag('code', esc(check.evidence[0]))}" if check.evidence else ""),
        )
        for check in scenario.checks
        if check.valid is False or check.crashed
    ]
    items += [tag("li", f"note: {esc(note)}") for note in scenario.notes]
    caption = f"{head} · {esc(', '.join(facts))} · history {tag('code', esc(history))}"
    caption += tag("ul", "".join(items)) if items else ""
    svg = render_timeline(anchor, f"{run.label}: {name}", timeline)
    return tag("figure", svg + tag("figcaption", caption), id=anchor, class_="timeline")


def problem_operations(scenario: ScenarioResult) -> dict[int, str]:
    """The operations the scenario's failed checks name in their evidence, with their words.

    Read from the saved results (``evidence_operations`` in report.json, or the ``op #N`` the
    lines of an older report start with): the checkers are not run again, so the timeline marks
    what the verdict was given for.
    """
    problems: dict[int, str] = {}
    for check in scenario.checks:
        for index, line in check.problem_operations().items():
            problems.setdefault(index, f"{check.name}: {line}")
    return problems


def _swatch(color: str, label: str, opacity: float = 1.0) -> str:
    box = tag("span", "", class_="swatch", style=f"background:{color};opacity:{opacity:.2f}")
    return box + esc(label)


TIMELINE_LEGEND = tag(
    "p",
    " ".join(_swatch(color, LEVEL_NAMES[level][1]) for level, color in LEVEL_COLORS.items())
    + " · "
    + _swatch(KILL_COLOR, "kill (a line)")
    + " "
    + _swatch(DAMAGE_COLOR, "damage (a triangle)")
    + " · shaded while in force: "
    + " ".join(
        _swatch(color, words, min(1.0, opacity * 4))
        for color, opacity, words in WINDOW_STYLE.values()
    )
    + " · black tick: a new incarnation of a killed process · grey dashes: phases."
    + " Hover for details.",
    class_="legend",
)


# ---------------------------------------------------------------- trends


def trend_series(
    trend: Sequence[TrendEntry], figure: str, current: TrendEntry | None
) -> tuple[list[plots.TrendPoint], int | None]:
    """The last values of ``figure`` in the trend log, oldest first, and the current run's index."""
    entries = [entry for entry in trend if figure in entry.figures]
    if current is not None and current not in entries:
        entries.append(current)
    entries = entries[-MAX_TREND_POINTS:]
    points = []
    for entry in entries:
        host = entry.machine.get("hostname", "?")
        mark = " (this report)" if entry is current else ""
        label = f"{entry.commit or '?'} {entry.date or '?'} on {host}{mark}"
        points.append(plots.TrendPoint(float(entry.figures[figure]), label))
    return points, next((i for i, entry in enumerate(entries) if entry is current), None)


def _trends_section(
    verify: list[VerifyRun], bench: list[BenchResults], trend: Sequence[TrendEntry]
) -> str:
    groups: dict[str, list[str]] = {}
    for entry in current_entries(verify, bench, trend):
        for figure in sorted(entry.figures):
            parts = figure.split(".")
            group = ".".join(parts[:2]) if parts[0] == "verify" else parts[0]
            points, index = trend_series(trend, figure, entry)
            chart = plots.trend_chart(f"trend-{slug(figure)}", figure, points, index)
            groups.setdefault(group, []).append(chart)
    blocks = "".join(
        tag(
            "details",
            tag("summary", f"{esc(group)} ({_plural(len(charts), 'figure')})")
            + tag("div", "".join(charts), class_="trends"),
            class_="trend-group",
            open="",
        )
        for group, charts in groups.items()
    )
    if not blocks:
        return ""
    explanation = (
        f"Each figure across the last {MAX_TREND_POINTS} runs of the trend log, oldest left; "
        "the ring is this report's run. Hover a point for its commit, date and machine."
    )
    return tag("p", explanation) + blocks


# ---------------------------------------------------------------- summary.md


def render_summary(runs: Sequence[SavedRun], html_name: str = "report.html") -> str:
    """The Markdown summary: the matrix, the first evidence of each failure, benchmark targets."""
    verify, bench = split_runs(runs)
    lines = [
        "# jobharness summary",
        "",
        f"Plots, timelines and all the evidence: `{html_name}`.",
        "",
    ]
    if verify:
        lines += _summary_criteria(verify)
    for results in bench:
        lines += [f"## Benchmark `{results.folder}`", ""]
        if results.targets:
            lines += [
                "| id | target | value | limit | verdict | margin |",
                "|---|---|---|---|---|---|",
            ]
        for t in results.targets:
            cells = (t.id, t.title, format_value(t.value), format_value(t.limit))
            lines.append(f"| {' | '.join(cells)} | {MARK.get(t.passed, 'n/a')} | {t.margin} |")
        lines.append("")
    lines += ["## Runs", ""]
    for run in verify:
        report = run.report
        lines.append(
            f"- verify {run.label}: `{report.folder}` "
            f"(commit {report.commit or '?'}, {report.started or '?'})"
        )
    for results in bench:
        lines.append(
            f"- bench: `{results.folder}` (commit {results.commit or '?'}, {results.started or '?'})"
        )
    return "\n".join(lines) + "\n"


def _summary_criteria(verify: list[VerifyRun]) -> list[str]:
    columns = criteria_columns(verify)
    lines = [
        "## Criteria",
        "",
        "| store | verdict | " + " | ".join(cid for cid, _ in columns) + " |",
        "|---|---|" + "---|" * len(columns),
    ]
    for run in verify:
        criteria = _criteria_of(run)
        cells = [MARK[criteria[cid].status] if cid in criteria else "-" for cid, _ in columns]
        cells = [f"**{cell}**" if cell in ("FAIL", "UNKNOWN") else cell for cell in cells]
        lines.append(f"| {run.label} | {run.report.verdict} | {' | '.join(cells)} |")
    lines += ["", *(f"- {cid}: {title}" for cid, title in columns), ""]
    failures = [(run, c) for run in verify for c in run.report.criteria if c.status == "fail"]
    if failures:
        lines += ["## Failed criteria", ""]
        for run, criterion in failures:
            lines.append(f"- **{run.label} {criterion.id}** {criterion.summary}")
            lines += [f"  - `{line}`" for line in criterion.evidence[:1]]
        lines.append("")
    return lines


CSS = "".join(
    (
        "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#222;",
        "margin:0 auto;",
        "max-width:1180px;padding:0 18px 60px}",
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
        ".evidence p{margin:2px 0}.evidence ul,figcaption ul{margin:4px 0;padding-left:18px}",
        "code{font-size:12px;word-break:break-word}",
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
