"""The run history that performance tracking draws from: one JSON line per verify or bench run.

Every ``jobharness verify`` and ``jobharness bench`` appends one line to ``reports/history.jsonl``
(``$JOBHARNESS_HISTORY`` to put it elsewhere)::

    {"kind": "bench", "commit": "2445ef1", "date": "2026-11-28T19:30:00+00:00",
     "machine": {"hostname": "...", "cpus": 2, ...}, "store": null, "verdict": null,
     "figures": {"save.hardened.1k.ratio": 1.08, ...}, "dir": "reports/bench-20261128-193000"}

``figures`` maps a figure id to a number. Ids are dotted: ``<op>.<store>.<payload>.<stat>``
for benchmarks, ``verify.<store>.<name>`` for verify runs. The report draws each figure's trend
across these lines and marks the current run.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.provenance import current_commit, machine_info

DEFAULT_HISTORY = Path("reports") / "history.jsonl"


def history_file() -> Path:
    return Path(os.environ.get("JOBHARNESS_HISTORY") or DEFAULT_HISTORY)


def append_run(
    kind: str,
    figures: dict[str, float],
    *,
    directory: Path,
    store: str | None = None,
    verdict: str | None = None,
    commit: str | None = None,
    machine: dict[str, Any] | None = None,
    path: Path | None = None,
) -> dict[str, Any]:
    """Append one run's line to the history file and return it."""

    entry = {
        "kind": kind,
        "commit": commit if commit is not None else current_commit(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine or machine_info(),
        "store": store,
        "verdict": verdict,
        "figures": {key: value for key, value in figures.items() if isinstance(value, int | float)},
        "dir": os.fspath(directory),
    }
    target = path or history_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "a", encoding="utf-8") as out:
        out.write(json.dumps(entry, sort_keys=True) + "\n")
    return entry


def read_history(path: Path | None = None) -> list[dict[str, Any]]:
    """Every line of the history file that parses, oldest first."""
    target = path or history_file()
    entries = []
    try:
        with open(target, encoding="utf-8") as lines:
            for line in lines:
                try:
                    entries.append(json.loads(line))
                except ValueError:
                    continue
    except FileNotFoundError:
        return []
    return entries


def verify_figures(report: dict[str, Any]) -> dict[str, float]:
    """The trend figures of a verify report: budget ratios and criteria counts."""
    store = report.get("store", "?")
    figures: dict[str, float] = {}
    for scenario in report.get("scenarios", []):
        for check in scenario.get("checks", []):
            if check.get("name") == "performance_budget":
                for name, ratio in (check.get("figures", {}).get("ratios") or {}).items():
                    if isinstance(ratio, int | float):
                        figures[f"verify.{store}.{name}"] = ratio
    criteria = report.get("criteria", [])
    figures[f"verify.{store}.criteria_passed"] = sum(1 for c in criteria if c.get("passed") is True)
    figures[f"verify.{store}.criteria_failed"] = sum(
        1 for c in criteria if c.get("passed") is False
    )
    figures[f"verify.{store}.duration_s"] = float(report.get("duration_s", 0.0))
    return figures
