"""The trend log that performance tracking draws from: one JSON line per verify or bench run.

Not to be confused with a scenario's *history* (its operations): this is a log of runs. Every
``jobharness verify`` and ``jobharness bench`` appends one :class:`TrendEntry` to the
``trend.jsonl`` beside its run folder (``reports/trend.jsonl`` for the default
``reports/<command>-<store>-<time>``; ``$JOBHARNESS_TREND`` puts it elsewhere, and the older
``$JOBHARNESS_HISTORY`` is still honoured). So a run writes only where its ``--out`` points,
never into the current folder, and a log that cannot be written is a one-line warning, not a
failed run::

    {"kind": "bench", "commit": "2445ef1", "date": "2026-11-28T19:30:00+00:00",
     "machine": {"hostname": "...", "cpus": 2, ...}, "store": null, "verdict": null,
     "figures": {"save.hardened.1k.ratio": 1.08, ...}, "dir": "reports/bench-20261128-193000"}

``figures`` maps a figure id to a number. Ids are dotted: ``<op>.<store>.<payload>.<stat>``
for benchmarks, ``verify.<store>.<name>`` for verify runs. The report draws each figure's trend
across these lines and marks the current run. A log written before the rename
(``reports/history.jsonl``) is read when no ``trend.jsonl`` exists yet.

>>> entry = TrendEntry("verify", "abc1234", "2026-11-28T19:30:00+00:00", {}, {"x": 1.0}, "r/v")
>>> TrendEntry.from_dict(entry.as_dict()) == entry
True
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.results import FAIL, PASS, RunReport
from harness.results.provenance import current_commit, machine_info

DEFAULT_TREND = Path("reports") / "trend.jsonl"
OLD_DEFAULT_TREND = Path("reports") / "history.jsonl"  # its name before it was the trend log
TREND_VARIABLES = ("JOBHARNESS_TREND", "JOBHARNESS_HISTORY")  # the new name first


@dataclass(frozen=True)
class TrendEntry:
    """One run's line in the trend log: where and when it ran, and its figures."""

    kind: str  # verify | bench
    commit: str | None
    date: str | None  # ISO 8601
    machine: dict[str, Any]
    figures: dict[str, float]
    dir: str  # the run folder, as given when the run was made
    store: str | None = None
    verdict: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "commit": self.commit,
            "date": self.date,
            "machine": dict(self.machine),
            "store": self.store,
            "verdict": self.verdict,
            "figures": dict(self.figures),
            "dir": self.dir,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrendEntry:
        """A saved line; figures that are not numbers are left out (they cannot be drawn)."""
        machine = data.get("machine")
        figures = data.get("figures")
        return cls(
            kind=str(data.get("kind", "")),
            commit=data.get("commit"),
            date=data.get("date"),
            machine=dict(machine) if isinstance(machine, dict) else {},
            figures=_numbers(figures if isinstance(figures, dict) else {}),
            dir=str(data.get("dir") or ""),
            store=data.get("store"),
            verdict=data.get("verdict"),
        )


def _numbers(figures: Mapping[str, Any]) -> dict[str, float]:
    return {
        key: value
        for key, value in figures.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }


def trend_file(run_dir: Path | None = None) -> Path:
    """Where the trend log is: ``$JOBHARNESS_TREND``, else beside ``run_dir`` (the run folder),
    else ``reports/trend.jsonl``."""
    for variable in TREND_VARIABLES:
        if configured := os.environ.get(variable):
            return Path(configured)
    if run_dir is not None:
        return Path(run_dir).parent / DEFAULT_TREND.name
    return DEFAULT_TREND


def append_run(
    kind: str,
    figures: Mapping[str, float],
    *,
    directory: Path,
    store: str | None = None,
    verdict: str | None = None,
    commit: str | None = None,
    machine: Mapping[str, Any] | None = None,
    path: Path | None = None,
) -> TrendEntry:
    """Append one run's line to the trend log and return it."""
    entry = TrendEntry(
        kind=kind,
        commit=commit if commit is not None else current_commit(),
        date=datetime.now(UTC).isoformat(timespec="seconds"),
        machine=dict(machine or machine_info()),
        figures=_numbers(figures),
        dir=os.fspath(directory),
        store=store,
        verdict=verdict,
    )
    target = path or trend_file(directory)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "a", encoding="utf-8") as out:
            out.write(json.dumps(entry.as_dict(), sort_keys=True) + "\n")
    except OSError as error:  # e.g. a log a root run made, appended to by a normal user
        print(
            f"jobharness: warning: this run is not in the trend log {target}: "
            f"{error.strerror or error}; set JOBHARNESS_TREND to a file you can write",
            file=sys.stderr,
        )
    return entry


def read_trend(path: Path | None = None, *, run_dir: Path | None = None) -> list[TrendEntry]:
    """Every line of the trend log (``path``, else the one of ``run_dir``) that parses."""
    target = path or trend_file(run_dir)
    if path is None and not target.exists() and target.name == DEFAULT_TREND.name:
        old = target.with_name(OLD_DEFAULT_TREND.name)  # a log written before it was renamed
        target = old if old.exists() else target
    entries = []
    try:
        with open(target, encoding="utf-8") as lines:
            for line in lines:
                try:
                    data = json.loads(line)
                except ValueError:
                    continue  # a line cut short by a run that was killed while appending
                if isinstance(data, dict):
                    entries.append(TrendEntry.from_dict(data))
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as error:  # unreadable: the report is drawn without the trend
        print(
            f"jobharness: warning: the trend log {target} cannot be read: {error}", file=sys.stderr
        )
        return []
    return entries


def verify_figures(report: RunReport) -> dict[str, float]:
    """The trend figures of a verify report: budget ratios and criteria counts."""
    store = report.store
    figures: dict[str, float] = {}
    for scenario in report.scenarios:
        budget = scenario.check("performance_budget")
        ratios = (budget.figures.get("ratios") or {}) if budget else {}
        for name, ratio in ratios.items():
            if isinstance(ratio, int | float):
                figures[f"verify.{store}.{name}"] = ratio
    statuses = [criterion.status for criterion in report.criteria]
    figures[f"verify.{store}.criteria_passed"] = statuses.count(PASS)
    figures[f"verify.{store}.criteria_failed"] = statuses.count(FAIL)
    figures[f"verify.{store}.duration_s"] = float(report.duration_s)
    return figures


def entry_of(report: RunReport) -> TrendEntry:
    """The line a verify report would have in the log (a run missing from it is still drawn)."""
    return TrendEntry(
        kind="verify",
        commit=report.commit,
        date=report.started or None,
        machine=dict(report.machine),
        figures=verify_figures(report),
        dir=os.fspath(report.folder or ""),
        store=report.store,
        verdict=report.verdict,
    )
