"""The power-loss package's shape: small modules that say what they own, options that are cheap
to validate, and examples in the docstrings that hold.
"""

from __future__ import annotations

import ast
import doctest
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.errors import ScenarioError
from harness.nemesis.powerloss import PowerLossOptions

PACKAGE = Path(__file__).resolve().parent.parent / "harness" / "nemesis" / "powerloss"
MODULES = sorted(path.stem for path in PACKAGE.glob("*.py") if path.stem != "__init__")


def test_the_runner_and_the_scenario_loader_import_what_they_always_have() -> None:
    from harness.nemesis.powerloss import explore_power_loss

    assert callable(explore_power_loss)
    assert PowerLossOptions.from_scenario({}, "power-loss.toml") == PowerLossOptions()


@pytest.mark.parametrize("module", ["__init__", *MODULES])
def test_each_module_is_small_and_says_what_it_owns(module: str) -> None:
    source = (PACKAGE / f"{module}.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    docstring = ast.get_docstring(tree)
    assert docstring and len(docstring.splitlines()) >= 3, "a module docstring that teaches"
    assert len(source.splitlines()) <= 450
    long = [
        f"{node.name}: {node.end_lineno - node.lineno + 1} lines"  # type: ignore[operator]
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > 60  # type: ignore[operator]
    ]
    assert long == []


@pytest.mark.parametrize("module", ["__init__", *MODULES])
def test_the_examples_in_the_docstrings_hold(module: str) -> None:
    name = "harness.nemesis.powerloss" + ("" if module == "__init__" else f".{module}")
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0


def test_validating_the_options_loads_neither_the_explorer_nor_a_store() -> None:
    # In a fresh interpreter: what the scenario loader pays for importing the options.
    probe = (
        "import json, sys\n"
        "from harness.nemesis.powerloss import PowerLossOptions\n"
        "PowerLossOptions.from_scenario({'max_states': 10}, 'x.toml')\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    loaded = json.loads(
        subprocess.run(
            [sys.executable, "-c", probe], check=True, capture_output=True, text=True
        ).stdout
    )
    ours = [name for name in loaded if name.startswith(("harness", "durable_jobs"))]
    assert "harness.nemesis.powerloss.options" in ours
    for heavy in ("exploration", "children", "processes", "check_pool", "state_checks"):
        assert f"harness.nemesis.powerloss.{heavy}" not in ours
    assert not any(name.startswith("durable_jobs") for name in ours)
    assert "subprocess" not in loaded and "harness.store.spec" not in ours


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("max_states", 0, "an integer from 1 to 100000"),
        ("state_timeout", "soon", "a number of seconds from 0.5 to 600"),
        ("state_timeout", True, "a number of seconds from 0.5 to 600"),
        ("workers", 65, "an integer from 1 to 64"),
        ("update", "yes", "true or false"),
        ("keep_states", 1, "true or false"),
        ("page_samples", -1, "an integer from 0 to 1000"),
        ("recover_cuts", 2.5, "an integer from 0 to 100"),
        ("sequences", 5, "an integer from 0 to 4"),
    ],
)
def test_a_bad_option_names_its_key_and_what_it_should_be(
    key: str, value: object, expected: str
) -> None:
    with pytest.raises(ScenarioError) as raised:
        PowerLossOptions.from_scenario({key: value}, "power-loss.toml")
    assert raised.value.key == f"options.{key}"
    assert raised.value.expected == expected
    assert str(raised.value).startswith(f"power-loss.toml: options.{key}: expected {expected}")


def test_options_of_other_kinds_are_left_alone() -> None:
    options = PowerLossOptions.from_scenario(
        {"samples": 200, "max_states": 7, "state_timeout": 3}, "x.toml"
    )
    assert (options.max_states, options.state_timeout, options.workers) == (7, 3.0, 2)
