"""Failures a hunt found, kept as scenario files that the next ``verify`` of the store replays first.

A hunt writes its smallest failing schedule as ``found.toml`` in its own folder, and a copy under
the failure database beside it, one folder a store::

    reports/hunt-db/            Hypothesis's example database (the choices of failing schedules)
    reports/hunt-db/found/<store>/hunt-1a2b3c4d.toml

Each file carries its seed (``seed = N``) and its mode (deterministic or free-running), so it
replays as it was found. ``jobharness verify --store SPEC`` with its report folder in
``reports/`` runs the files of that store before the suite (:func:`found_scenarios`): a defect
once found stays in the verdict until it is fixed, when its scenario passes. Delete a file (or
the folder) to forget it; commit it under ``scenarios/`` to keep it for good.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from harness.scenario.loader import Scenario, load_scenario

DATABASE = "hunt-db"


def found_folder(reports: Path, spec: str) -> Path:
    """Where the failures found in hunts of ``spec`` are kept, under ``reports``."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", spec).strip("_")[-60:] or "store"
    digest = hashlib.sha256(spec.encode()).hexdigest()[:6]
    return reports / DATABASE / "found" / f"{readable}-{digest}"


def save_found(reports: Path, spec: str, name: str, text: str) -> Path:
    """Keep one found scenario file (its name is the schedule's); the path it was written to."""
    folder = found_folder(reports, spec)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def found_scenarios(reports: Path, spec: str) -> list[Scenario]:
    """The kept failures of ``spec``, oldest name first; none when nothing was kept."""
    folder = found_folder(reports, spec)
    if not folder.is_dir():
        return []
    return [load_scenario(path) for path in sorted(folder.glob("hunt-*.toml"))]


def found_first(scenarios: list[Scenario], out: Path | None, spec: str) -> list[Scenario]:
    """``verify``'s suite with the kept failures of ``spec`` in front (``out``: the report
    folder asked for; its parent, ``reports/`` by default, holds the database), said in a line."""
    reports = out.parent if out is not None else Path("reports")
    found = found_scenarios(reports, spec)
    if found:
        print(
            f"jobharness verify: replaying first {len(found)} failure(s) found by earlier hunts "
            f"of this store ({found_folder(reports, spec)})",
            flush=True,
        )
    return found + scenarios
