"""Finding and loading the saved runs a report is made of, and their lines in the trend history.

A run is a folder: ``jobharness verify`` (or ``run``) writes ``report.json`` into it, ``jobharness
bench`` writes ``bench.json``. :func:`load_run` reads one folder into a :class:`VerifyRun` or a
:class:`BenchRun`, :func:`discover_runs` picks the latest verify run of each store and the latest
bench run under ``reports/``, and :func:`current_entries` finds each run's line in
``reports/history.jsonl``. A folder that is neither, or a file that is not what it claims, raises
:class:`~harness.errors.ConfigError` with a message that says what to give instead::

    runs = [load_run(Path("reports/verify-naive-20261128-193000"))]
    verify, bench = split_runs(runs)  # one VerifyRun, no BenchRun
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.report.markup import slug

REPORTS_ROOT = Path("reports")


@dataclass(frozen=True)
class VerifyRun:
    """A folder ``jobharness verify`` (or ``run``) wrote, with its ``report.json``."""

    path: Path
    report: dict[str, Any]
    label: str  # the store, told apart by start time when one store has several runs here

    @property
    def slug(self) -> str:
        return slug(self.label)


@dataclass(frozen=True)
class BenchRun:
    """A folder ``jobharness bench`` wrote, with its ``bench.json``."""

    path: Path
    bench: dict[str, Any]


Run = VerifyRun | BenchRun


def load_run(path: Path) -> Run:
    """The run saved in ``path`` (a folder, or its report.json / bench.json)."""
    folder = path.parent if path.name in ("report.json", "bench.json") and path.is_file() else path
    if (folder / "report.json").is_file():
        report = _read_json(folder / "report.json")
        if not all(isinstance(report.get(key), list) for key in ("criteria", "scenarios")):
            raise ConfigError(
                f"{folder / 'report.json'}: not a jobharness verify report: "
                "no list of criteria or of scenarios"
            )
        return VerifyRun(folder, report, str(report.get("store", "?")))
    if (folder / "bench.json").is_file():
        bench = _read_json(folder / "bench.json")
        if bench.get("tool") != "jobharness-bench":
            raise ConfigError(
                f"{folder / 'bench.json'}: not a jobharness bench file (tool {bench.get('tool')!r})"
            )
        return BenchRun(folder, bench)
    raise ConfigError(
        f"{path}: neither report.json nor bench.json here; give folders that `jobharness verify` "
        "or `jobharness bench` wrote"
    )


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ConfigError(f"{path}: cannot read it as JSON ({error})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


def discover_runs(root: Path = REPORTS_ROOT) -> list[Run]:
    """The latest verify run of each store and the latest bench run among ``root``'s folders."""
    latest: dict[str, tuple[str, Run]] = {}
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        if not ((folder / "report.json").is_file() or (folder / "bench.json").is_file()):
            continue
        try:
            run = load_run(folder)
        except ConfigError:
            continue  # a half-written or foreign folder must not hide the good ones
        data = run.report if isinstance(run, VerifyRun) else run.bench
        key = f"verify:{run.label}" if isinstance(run, VerifyRun) else "bench"
        when = f"{data.get('started', '')}|{folder.stat().st_mtime:020.6f}"
        if key not in latest or when > latest[key][0]:
            latest[key] = (when, run)
    if not latest:
        raise ConfigError(
            f"{root}: no verify or bench run found; run `jobharness verify` or `jobharness bench` "
            "first, or name the run folders"
        )
    return sorted((run for _, run in latest.values()), key=_run_order)


def _run_order(run: Run) -> tuple[int, str]:
    return (1, "") if isinstance(run, BenchRun) else (0, run.label)


def split_runs(runs: Sequence[Run]) -> tuple[list[VerifyRun], list[BenchRun]]:
    """Verify and bench runs apart; several runs of one store get labels with their start time."""
    verify = [run for run in runs if isinstance(run, VerifyRun)]
    stores = [run.label for run in verify]
    verify = [
        run
        if stores.count(run.label) == 1
        else VerifyRun(
            run.path, run.report, f"{run.label} @ {run.report.get('started', run.path.name)}"
        )
        for run in verify
    ]
    return verify, [run for run in runs if isinstance(run, BenchRun)]


def resolved_path(path: Any) -> str:
    """``path`` resolved, to tell whether two spellings name one folder; as given if it cannot be."""
    try:
        return os.fspath(Path(str(path)).resolve())
    except OSError:
        return str(path)


def current_entries(
    verify: list[VerifyRun], bench: list[BenchRun], history: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The history line of each run in the report, found by its folder. A verify run missing
    from the file gets a line computed from its report.json, so its values are still marked."""
    from harness.trend import verify_figures

    by_dir = {resolved_path(entry.get("dir")): entry for entry in history if entry.get("dir")}
    found = []
    for run in [*verify, *bench]:
        entry = by_dir.get(resolved_path(run.path))
        if entry is None and isinstance(run, VerifyRun):
            report = run.report
            entry = {
                "kind": "verify",
                "commit": report.get("commit"),
                "date": report.get("started"),
                "machine": report.get("machine"),
                "figures": verify_figures(report),
                "dir": str(run.path),
            }
        if entry is not None:
            found.append(entry)
    return found
