"""The runner never asks which kind a fault is, nor dispatches a scenario kind by comparing names.

Faults are objects with one interface (:mod:`harness.nemesis.fault`) and scenario kinds are phase
objects (:mod:`harness.runner.phases`); a comparison with a kind's name, or an ``isinstance`` on
a fault class, anywhere in the runner would bring back the if-chains that made adding a fault
touch six places. The rule is checked on the runner's source, and the checker is shown to catch
each way of breaking it. Scenario kinds check their ``[options]`` when the file is loaded.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from harness.errors import ScenarioError
from harness.nemesis import registry
from harness.nemesis.fault import Fault
from harness.runner import phases
from harness.scenario.loader import KINDS, load_suite, parse_scenario

ROOT = Path(__file__).resolve().parent.parent
RUNNER = ROOT / "harness" / "runner"
FAULT_KIND_NAMES = set(registry.FAULT_KINDS) | {"kill", "diskfull", "fill-disk"}


def fault_classes() -> set[str]:
    """Every fault class: the subclasses of Fault, those of the registry's kinds included."""
    found: set[str] = set()
    pending = [Fault]
    while pending:
        cls = pending.pop()
        found.add(cls.__name__)
        pending.extend(cls.__subclasses__())
    return found


def dispatch_on_kinds(source: str, *, fault_kinds_only: bool = False) -> list[str]:
    """Each place ``source`` compares with a fault or scenario kind's name, or type-tests a fault.

    ``fault_kinds_only`` looks for fault kinds alone (names and classes), for code outside the
    runner, where ``.kind`` also names other things (a marker's, a read verdict's).
    """
    names = FAULT_KIND_NAMES if fault_kinds_only else FAULT_KIND_NAMES | set(KINDS)
    classes = fault_classes()
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            for part in (node.left, *node.comparators):
                if not fault_kinds_only and isinstance(part, ast.Attribute) and part.attr == "kind":
                    found.append(f"line {node.lineno}: compares .kind")
                for leaf in ast.walk(part):
                    if isinstance(leaf, ast.Constant) and leaf.value in names:
                        found.append(f"line {node.lineno}: compares with {leaf.value!r}")
                    elif isinstance(leaf, ast.Name | ast.Attribute) and _name(leaf) in classes:
                        found.append(f"line {node.lineno}: compares with {_name(leaf)}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("isinstance", "issubclass")
        ):
            for arg in node.args[1:]:
                for leaf in ast.walk(arg):
                    if isinstance(leaf, ast.Name | ast.Attribute) and _name(leaf) in classes:
                        found.append(f"line {node.lineno}: {node.func.id} on {_name(leaf)}")
    return found


def _name(node: ast.AST) -> str:
    return node.id if isinstance(node, ast.Name) else getattr(node, "attr", "")


@pytest.mark.parametrize(
    "broken",
    [
        'if fault.kind == "kill": pass',
        'if fault.kind in ("diskfault", "slowdisk"): pass',
        "if isinstance(fault, KillAtSyscall): pass",
        "if isinstance(fault, (nemesis.kill.RandomKill, int)): pass",
        'if scenario.kind == "powerloss": pass',
        'if kind != "fullfs": pass',
        "if type(fault) is DiskErrors: pass",
    ],
)
def test_the_dispatch_finder_catches_each_way_of_branching_on_a_kind(broken: str) -> None:
    assert dispatch_on_kinds(broken), broken


def test_the_dispatch_finder_lets_roles_and_phase_lookups_be() -> None:
    fine = (
        'if "updater" in roles: pass\nphase = PHASES[scenario.kind]\nisinstance(p, ProcessHandle)'
    )
    assert dispatch_on_kinds(fine) == []


@pytest.mark.parametrize("path", sorted(RUNNER.glob("*.py")), ids=lambda path: path.name)
def test_no_module_of_the_runner_branches_on_a_fault_or_scenario_kind(path: Path) -> None:
    assert dispatch_on_kinds(path.read_text(encoding="utf-8")) == []


# The fault classes own their kinds; the fault vocabulary reader also reads the event names of
# histories saved before faults described themselves (jobharness analyze of an old run).
OWNERS_OF_FAULT_KINDS = (
    ROOT / "harness" / "nemesis",
    ROOT / "harness" / "history" / "fault_windows.py",
)
OUTSIDE_THE_FAULTS = sorted(
    path
    for path in (ROOT / "harness").rglob("*.py")
    if not any(path == owner or owner in path.parents for owner in OWNERS_OF_FAULT_KINDS)
)


def test_the_fault_kind_finder_ignores_other_kinds_but_not_fault_names() -> None:
    assert dispatch_on_kinds('if marker.kind == "killed": pass', fault_kinds_only=True) == []
    assert dispatch_on_kinds('if f == "slowdisk": pass', fault_kinds_only=True)
    assert dispatch_on_kinds("if isinstance(fault, Pause): pass", fault_kinds_only=True)


@pytest.mark.parametrize(
    "path", OUTSIDE_THE_FAULTS, ids=lambda path: str(path.relative_to(ROOT / "harness"))
)
def test_no_module_outside_the_fault_classes_branches_on_a_fault_kind(path: Path) -> None:
    assert dispatch_on_kinds(path.read_text(encoding="utf-8"), fault_kinds_only=True) == []


@pytest.mark.parametrize("path", sorted(RUNNER.glob("*.py")), ids=lambda path: path.name)
def test_the_runner_modules_are_small(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    assert len(source.splitlines()) <= 450
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            assert length <= 60, f"{path.name}: {node.name} is {length} lines"


def test_every_scenario_kind_has_its_phase() -> None:
    # A service scenario is run by harness.service.run.ServiceRunner, over HTTP, not by a phase
    # of the store runner (the CLI refuses one without --service).
    assert set(phases.PHASES) == set(KINDS) - {"service"}


def test_a_bad_power_loss_option_is_refused_when_the_file_is_loaded() -> None:
    with pytest.raises(ScenarioError, match=r"pl\.toml: options\.max_states: expected an integer"):
        parse_scenario({"kind": "powerloss", "options": {"max_states": 0}}, "pl.toml")
    assert load_suite(ROOT / "scenarios")  # the default suite's are fine


def test_the_command_line_stops_at_a_bad_power_loss_option_with_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "bad-power-loss.toml"
    path.write_text('kind = "powerloss"\n[options]\nstate_timeout = 0.01\n')
    result = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", str(path), "--out", str(tmp_path / "out")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert f"{path}: options.state_timeout: expected a number of seconds" in result.stderr
    assert "scenario(s)" not in result.stdout  # it stopped at the load, before any run
    assert not (tmp_path / "out").exists()
