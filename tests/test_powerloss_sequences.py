"""Sequences of operations under power loss (CrashMonkey's B3): every valid sequence of up to three
operations listed, correct stores passing every one, and the defect only a sequence can show.

The end-to-end helpers are the power-loss model tests' (``tests/test_powerloss_model.py``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_powerloss_model import BROKEN, TESTS, crash_states, run_power_loss, unknown_reasons

from harness.checkers import run_checker
from harness.criteria import CriterionResult, ScenarioChecks, evaluate_all
from harness.history.log import History
from harness.nemesis.powerloss.sequences import workloads
from harness.nemesis.syscalls import can_inject
from harness.runner import run_scenario
from harness.scenario.loader import load_scenario

SEQUENCES = TESTS.parent / "scenarios" / "power-loss-sequences.toml"


def test_every_valid_sequence_of_up_to_three_operations_is_listed() -> None:
    found = workloads(3)
    assert len(found) == len(set(found)) == 21
    for sequence in found:
        created = False
        for operation in sequence:
            assert operation != "first" or not created  # a first save happens once
            assert operation not in ("over", "update") or created  # on an existing job
            created = created or operation == "first"
    assert ("first", "update", "second") in found and ("second", "second", "first") in found
    assert all("update" not in sequence for sequence in workloads(3, update=False))


def run_sequences(spec: str, run_dir: Path) -> dict[str, CriterionResult]:
    reason = can_inject()
    if reason:
        pytest.skip(f"power-loss exploration needs strace: {reason}")
    scenario = load_scenario(SEQUENCES)
    outcome = run_scenario(scenario, spec, run_dir, seed=1)
    assert outcome.applicable, outcome.reason
    assert not unknown_reasons(outcome)
    history = History(outcome.records)
    checks = ScenarioChecks(
        scenario.name,
        tuple(sorted(scenario.roles())),
        {name: run_checker(name, history) for name in scenario.checkers},
        tuple(scenario.checkers),
    )
    assert len(crash_states(outcome)) > 21 * 10  # every sequence explored
    return {result.id: result for result in evaluate_all([checks])}


@pytest.mark.parametrize("store", ["hardened", "base"])
def test_correct_stores_pass_every_sequence(store: str, tmp_path: Path) -> None:
    spec = f"{BROKEN / store}.py:make_store" if store == "base" else store
    criteria = run_sequences(spec, tmp_path / store)
    for criterion in ("C6", "C7", "C8"):
        assert criteria[criterion].passed is True, criteria[criterion].evidence


def test_an_unsynced_first_save_is_caught_only_by_the_sequences(tmp_path: Path) -> None:
    spec = f"{BROKEN / 'first_save_unsynced'}.py:make_store"
    criteria = run_sequences(spec, tmp_path / "sequences")
    assert criteria["C6"].passed is False
    assert "first" in " ".join(criteria["C6"].evidence)
    _, single = run_power_loss(spec, tmp_path / "single")
    assert single["C6"].passed is True  # a save over an existing job is correct
