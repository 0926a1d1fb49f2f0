"""``jobharness report``: saved verify and bench runs as ``report.html`` and ``summary.md``.

    jobharness report                # the latest verify run of each store and the latest
                                     # bench run among the folders of reports/
    jobharness report reports/verify-naive-* reports/bench-20261128-193000 --out /tmp/out

Runs are read with :func:`harness.results.load_run` (or found by
:func:`harness.report.runs.discover_runs`), the page is :func:`harness.report.html.render_html`
and the summary :func:`harness.report.summary.render_summary`. :func:`render_after_verify` renders
the report of one verify run into its own folder (``jobharness verify`` and ``analyze`` call it).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from harness.report.html import render_html
from harness.report.runs import REPORTS_ROOT, discover_runs, resolved_path
from harness.report.summary import render_summary
from harness.results import SavedRun, load_run
from harness.results.trend import read_trend


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
    trend = read_trend(run_dir=run_dir)
    path.write_text(render_html([load_run(run_dir)], trend), encoding="utf-8")
    return path


def write_report(runs: Sequence[SavedRun], out: Path) -> tuple[Path, Path]:
    """``out/report.html`` and ``out/summary.md`` for ``runs``."""
    out.mkdir(parents=True, exist_ok=True)
    html_path, summary_path = out / "report.html", out / "summary.md"
    # The trend log beside the first run's folder (reports/trend.jsonl for reports/<run>).
    trend = read_trend(run_dir=runs[0].folder) if runs and runs[0].folder else None
    html_path.write_text(render_html(runs, trend), encoding="utf-8")
    summary_path.write_text(render_summary(runs, html_path.name), encoding="utf-8")
    return html_path, summary_path
