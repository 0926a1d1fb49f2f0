"""Finding the saved runs a report is made of, and their lines in the trend log.

Runs are read by the one loader, :func:`harness.results.load_run`; this module picks them and
names them for the page. :func:`discover_runs` takes the latest verify run of each store and the
latest bench run under ``reports/``, :func:`split_runs` parts verify runs (each a
:class:`VerifyRun`: the report and the label its row gets) from bench runs, and
:func:`current_entries` finds each run's line in the trend log (``reports/trend.jsonl``)::

    verify, bench = split_runs([load_run(Path("reports/verify-naive-20261128-193000"))])
    verify[0].label, verify[0].report.verdict      # ('naive', 'fail')
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.report.markup import slug
from harness.results import BenchResults, RunReport, SavedRun, load_run
from harness.results.trend import TrendEntry, entry_of

REPORTS_ROOT = Path("reports")


@dataclass(frozen=True)
class VerifyRun:
    """A verify (or run) report on the page, with the label its row and anchors get."""

    report: RunReport
    label: str  # the store, told apart by start time when one store has several runs here

    @property
    def path(self) -> Path:
        """The run folder (scenario histories are relative to it)."""
        return self.report.folder or Path(".")

    @property
    def slug(self) -> str:
        return slug(self.label)


def discover_runs(root: Path = REPORTS_ROOT) -> list[SavedRun]:
    """The latest verify run of each store and the latest bench run among ``root``'s folders."""
    latest: dict[str, tuple[str, SavedRun]] = {}
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        if not ((folder / "report.json").is_file() or (folder / "bench.json").is_file()):
            continue
        try:
            run = load_run(folder)
        except ConfigError:
            continue  # a half-written or foreign folder must not hide the good ones
        key = f"verify:{run.store}" if isinstance(run, RunReport) else "bench"
        when = f"{run.started}|{folder.stat().st_mtime:020.6f}"
        if key not in latest or when > latest[key][0]:
            latest[key] = (when, run)
    if not latest:
        raise ConfigError(
            f"{root}: no verify or bench run found; run `jobharness verify` or `jobharness bench` "
            "first, or name the run folders"
        )
    return sorted((run for _, run in latest.values()), key=_run_order)


def _run_order(run: SavedRun) -> tuple[int, str]:
    return (1, "") if isinstance(run, BenchResults) else (0, run.store)


def split_runs(runs: Sequence[SavedRun]) -> tuple[list[VerifyRun], list[BenchResults]]:
    """Verify and bench runs apart; several runs of one store get labels with their start time."""
    reports = [run for run in runs if isinstance(run, RunReport)]
    stores = [report.store for report in reports]
    verify = [
        VerifyRun(report, report.store)
        if stores.count(report.store) == 1
        else VerifyRun(report, f"{report.store} @ {report.started or _folder_name(report)}")
        for report in reports
    ]
    return verify, [run for run in runs if isinstance(run, BenchResults)]


def _folder_name(report: RunReport) -> str:
    return report.folder.name if report.folder else "?"


def resolved_path(path: Any) -> str:
    """``path`` resolved, to tell whether two spellings name one folder; as given if it cannot be."""
    try:
        return os.fspath(Path(str(path)).resolve())
    except OSError:
        return str(path)


def current_entries(
    verify: Sequence[VerifyRun], bench: Sequence[BenchResults], trend: Sequence[TrendEntry]
) -> list[TrendEntry]:
    """The trend line of each run in the report, found by its folder. A verify run missing
    from the log gets a line computed from its report.json, so its values are still marked."""
    by_dir = {resolved_path(entry.dir): entry for entry in trend if entry.dir}
    found = []
    for run in [*(run.report for run in verify), *bench]:
        entry = by_dir.get(resolved_path(run.folder)) if run.folder else None
        if entry is None and isinstance(run, RunReport):
            entry = entry_of(run)
        if entry is not None:
            found.append(entry)
    return found
