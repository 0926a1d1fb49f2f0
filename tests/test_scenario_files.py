"""Scenario files: the default suite validates, and every mistake names the file, key and fix."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

from harness.errors import ScenarioError
from harness.scenario import toml_table
from harness.scenario.loader import load_scenario, load_suite, parse_scenario

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(text)
    return path


def test_every_scenario_of_the_default_suite_validates() -> None:
    suite = load_suite(SCENARIOS)
    assert len(suite) >= 10
    names = [s.name for s in suite]
    assert len(names) == len(set(names)), "scenario names must be unique"
    for scenario in suite:
        assert scenario.description, f"{scenario.path} needs a description"


def test_the_quick_suite_is_a_subset_of_the_full_suite() -> None:
    quick = {s.name for s in load_suite(SCENARIOS, quick=True)}
    full = {s.name for s in load_suite(SCENARIOS)}
    assert quick < full or quick == full
    assert "latency" in quick


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        (
            "[workload]\njobs = 'two'\n[[processes]]\nrole='writer'",
            "workload.jobs",
            "an integer from 1",
        ),
        ("[[processes]]\nrole = 'painter'", "processes[0].role", "one of 'writer'"),
        (
            "[[processes]]\nrole = 'writer'\ncount = 0",
            "processes[0].count",
            "an integer from 1 to 64",
        ),
        (
            "[[processes]]\nrole = 'writer'\n[[faults]]\nkind = 'meteor'",
            "faults[0].kind",
            "one of 'kill'",
        ),
        (
            "[[processes]]\nrole = 'writer'\n[[faults]]\nkind = 'kill'\nat = 'syscall'\nsyscall = 'ioctl'",
            "faults[0].syscall",
            "one of 'fsync', 'rename', 'write'",
        ),
        (
            "[[processes]]\nrole = 'writer'\n[[faults]]\nkind = 'kill'\ntarget = 'reader'",
            "faults[0].target",
            "a role that the scenario runs",
        ),
        (
            "checkers = ['psychic']\n[[processes]]\nrole = 'writer'",
            "checkers",
            "names from never_raises",
        ),
        (
            "[[processes]]\nrole = 'writer'\ncheckers = ['latency']",
            "processes[0].checkers",
            "top-level key",
        ),
        ("name = 'x'", "processes", "at least one [[processes]] table"),
        (
            "[workload]\nshared_jobs = true\n[[processes]]\nrole='writer'\n[[faults]]\nkind='damage'",
            "faults[0]",
            "one writer per job",
        ),
        ("colour = 'blue'\n[[processes]]\nrole = 'writer'", "colour", "one of the known keys"),
        (
            "[workload]\nduration = -1\n[[processes]]\nrole='writer'",
            "workload.duration",
            "a number from 0.1",
        ),
    ],
)
def test_a_bad_scenario_names_the_file_the_key_and_what_was_expected(
    tmp_path: Path, text: str, key: str, expected: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: {key}: expected"), message
    assert expected in message


def test_invalid_toml_is_reported_with_the_parser_message(tmp_path: Path) -> None:
    path = write(tmp_path, "name = \n")
    with pytest.raises(ScenarioError, match=r"s\.toml: \(syntax\): expected valid TOML"):
        load_scenario(path)


def test_a_missing_scenario_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="expected an existing scenario file"):
        load_scenario(tmp_path / "nope.toml")


def test_quick_scaling_shortens_durations_but_keeps_the_structure() -> None:
    scenario = parse_scenario(
        {"workload": {"duration": 2.0}, "processes": [{"role": "writer", "count": 3, "ops": 100}]},
        "x.toml",
    )
    quick = scenario.scaled(0.35)
    assert quick.workload.duration == pytest.approx(0.7)
    assert quick.processes[0].count == 3
    assert quick.processes[0].ops == 35
    assert quick.faults == scenario.faults


def test_the_table_reader_example_holds() -> None:
    result = doctest.testmod(toml_table)
    assert result.failed == 0 and result.attempted > 0
