"""The trends part of ``report.html``: each figure of this report's runs across past runs.

The trend log (:mod:`harness.results.trend`) holds one line per verify or bench run; for every figure of
the runs in the report, :func:`trends_section` draws a small chart of its last
:data:`MAX_TREND_POINTS` values, oldest left, this report's run ringed, grouped by store.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.report import plots
from harness.report.markup import count_of, slug, tag
from harness.report.runs import VerifyRun, current_entries
from harness.report.svg import esc
from harness.results import BenchResults
from harness.results.trend import TrendEntry

MAX_TREND_POINTS = 60  # the last runs of a figure: a trend, not an archive


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


def trends_section(
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
            tag("summary", f"{esc(group)} ({count_of(len(charts), 'figure')})")
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
