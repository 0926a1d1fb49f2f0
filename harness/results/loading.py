"""Reading saved runs: the one loader that ``analyze``, ``report``, ``gate`` and the trend use.

A run is a folder: ``jobharness verify`` (or ``run``) writes ``report.json`` into it, ``jobharness
bench`` writes ``bench.json``. :func:`load_run` takes the folder or either file and returns a
:class:`~harness.results.verify_report.RunReport` or a
:class:`~harness.results.bench_results.BenchResults`, with ``folder`` set. What is not a run
raises :class:`~harness.errors.ConfigError`, one line that says what to give instead::

    run = load_run(Path("reports/verify-naive-20261128-193000"))
    if isinstance(run, RunReport):
        print(run.verdict, [c.id for c in run.criteria if c.status == "fail"])
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.results.bench_results import BENCH_TOOL, BenchResults
from harness.results.verify_report import REPORT_TOOL, RunReport

SavedRun = RunReport | BenchResults
RUN_FILES = ("report.json", "bench.json")
WHAT_TO_GIVE = "give a folder that `jobharness verify`, `run` or `bench` wrote, or its JSON file"


def load_run(path: Path) -> SavedRun:
    """The run saved in ``path``: a run folder, or its report.json / bench.json.

    A folder holding both files is read as the verify run it mostly is (report.json).
    """
    if path.is_dir():
        for name in RUN_FILES:
            if (path / name).is_file():
                return load_run_file(path / name)
        raise ConfigError(
            f"{path}: neither report.json nor bench.json here; give folders that "
            "`jobharness verify` or `jobharness bench` wrote"
        )
    if path.is_file():
        return load_run_file(path)
    raise ConfigError(f"{path}: no such file or folder; {WHAT_TO_GIVE}")


def load_run_file(path: Path) -> SavedRun:
    """One report.json or bench.json (its folder is the run's), told apart by its ``tool``."""
    data = read_json_object(path)
    tool = data.get("tool")
    folder = path.parent
    if tool == BENCH_TOOL:
        return BenchResults.from_dict(data, folder)
    if tool not in (REPORT_TOOL, None) or not all(
        isinstance(data.get(key), list) for key in ("criteria", "scenarios")
    ):
        raise ConfigError(
            f"{path}: neither a jobharness report.json nor a bench.json "
            f"(tool {tool!r}, no list of criteria and scenarios); {WHAT_TO_GIVE}"
        )
    try:
        return RunReport.from_dict(data, folder)
    except KeyError as error:
        raise ConfigError(
            f"{path}: not a jobharness verify report: an entry lacks its {error} key"
        ) from None
    except (TypeError, ValueError, AttributeError) as error:
        raise ConfigError(f"{path}: not a jobharness verify report: {error}") from None


def read_json_object(path: Path) -> dict[str, Any]:
    """A JSON file holding one object; ConfigError naming the file when it is anything else."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise ConfigError(f"{path}: cannot read it as JSON ({error})") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot be read ({error.strerror or error})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data
