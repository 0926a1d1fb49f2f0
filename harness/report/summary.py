"""``summary.md``: the report in a few lines of Markdown, short enough for a pull-request comment.

The criteria matrix (a row per store), the first evidence line of each failed criterion, the
benchmark targets with their margins, and the runs it was made from; ``report.html`` beside it
holds the plots, the timelines and all the evidence.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.report.criteria_section import criteria_columns, criteria_of
from harness.report.markup import MARK, format_value
from harness.report.runs import VerifyRun, split_runs
from harness.results import SavedRun


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
        criteria = criteria_of(run)
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
