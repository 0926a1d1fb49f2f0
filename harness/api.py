"""The Python API: :func:`verify` a store from code (a test, a notebook, a deploy script).

It is ``jobharness verify`` without the terminal: the same preflight, scenarios, checkers and
criteria, and the same run folder (``report.json``, ``report.md``, ``report.html``, the
histories), returned as a typed :class:`~harness.results.RunReport`::

    import harness

    report = harness.verify("my_app/jobs.py:make_store", quick=True, out=tmp_path / "run")
    assert report.verdict == "pass", report.failure_message()

The store is a spec (``hardened``, ``package.module:factory``, ``path/to/file.py:factory``) or
the factory itself: a module-level function taking the store's root folder. The harness opens
the store in child processes, so a factory must be importable by name; a lambda or a nested
function is refused with the reason. Unlike the command line, an API run leaves the trend log
alone unless ``trend=True``: a test suite's runs are not performance history.
"""

from __future__ import annotations

import dataclasses
import inspect
import random
import shlex
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.results import RunReport


def verify(
    store: str | Callable[[Path], Any],
    *,
    quick: bool = True,
    scenarios: Sequence[str] | None = None,
    out: str | Path | None = None,
    seed: int | None = None,
    scenario_folder: str | Path | None = None,
    trend: bool = False,
    progress: Callable[[str, int, int, str], None] | None = None,
) -> RunReport:
    """Verify ``store`` against the default suite and return the report (also saved in ``out``).

    ``scenarios`` picks scenarios of the suite by name (all when None); ``out`` is the run
    folder (a new temporary folder when None; its path is ``report.folder``); ``seed`` fixes every
    random choice (random when None; the report's ``replay`` command repeats the run). Raises
    :class:`~harness.errors.ConfigError` for a spec, scenario name or folder that is wrong: the
    verdict of a store that cannot even be opened is ``unknown``, not an exception.
    """
    from harness.report.command import render_after_verify
    from harness.scenario.default_suite import default_scenarios_folder, pick_scenarios
    from harness.scenario.loader import load_suite
    from harness.store.spec import parse_store_spec
    from harness.suite import verify as run_suite

    spec = parse_store_spec(store if isinstance(store, str) else spec_of_factory(store)).text
    folder = Path(scenario_folder) if scenario_folder else default_scenarios_folder()
    chosen = pick_scenarios(load_suite(folder, quick=quick), list(scenarios or []), folder)
    run_dir = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="jobharness-"))
    seed = seed if seed is not None else random.SystemRandom().randrange(1, 10**9)
    replay = ["jobharness", "verify", "--store", shlex.quote(spec), "--seed", str(seed)]
    replay += ["--quick"] if quick else []
    for name in scenarios or ():
        replay += ["--only", shlex.quote(name)]
    replay += ["--scenarios", shlex.quote(str(folder))] if scenario_folder else []
    command = " ".join(replay)
    report = run_suite(
        chosen, spec, run_dir, seed, quick=quick, command=command, progress=progress, trend=trend
    )
    if not report.preflight_failed:
        render_after_verify(run_dir)
    return dataclasses.replace(report, folder=run_dir)


def spec_of_factory(factory: Callable[[Path], Any]) -> str:
    """The spec that names ``factory`` for a child process: ``file.py:name`` or ``module:name``.

    A factory defined in a file (a test module, a script) is named by its file, which any
    process can load; one in an installed package by its module.
    """
    name = getattr(factory, "__qualname__", "")
    if not callable(factory) or not name or "<" in name or "." in name:
        raise ConfigError(
            f"{factory!r}: give a module-level function (or a spec string); the harness opens "
            "the store in other processes, which must find the factory by name"
        )
    module = inspect.getmodule(factory)
    path = inspect.getsourcefile(factory) if module is not None else None
    if path:
        return f"{path}:{name}"
    if module is not None and module.__name__ != "__main__":
        return f"{module.__name__}:{name}"
    raise ConfigError(f"{factory!r}: cannot tell which file defines it; give a spec string")
