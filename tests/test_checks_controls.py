"""C8 and C5 on real runs: broken stores caught by the criterion that names them, controls passed.

Two halves, each run on small scenarios with the same seed:

* **Broken stores** (``tests/broken_stores/``, each the correct ``base`` with one defect): litter
  under names the old no-litter check did not know (``tmpk3j_x9q2`` from ``tempfile``,
  ``*.partial``, a name no pattern knows) must fail **C8**; an error that says "please try again
  later", or only the JSON parser's words, must fail **C5**. ``hardened`` and ``base`` must pass
  the same criterion in the same scenario.
* **Controls** (``tests/controls/``): correct stores of unusual design, which must pass every
  criterion judged in the scenarios that concern them: every job in one append-only log, one
  folder per job, SQLite with a rollback journal and ``synchronous=EXTRA``. They are kept out of
  ``tests/broken_stores/`` because they are not broken: that folder's test asserts each of its
  stores is a proved defect.

Criteria are evaluated as the suite evaluates them (``harness.criteria.evaluate_all`` on the
scenario's checker results), so a defect is proved caught by the criterion, not only by a
checker. Runs are cached per (store, scenario) for the module. ``worker-kill`` and
``disk-errors`` need strace; where it cannot attach, those tests are skipped with the runner's
reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness import runner
from harness.checkers import run_checkers
from harness.criteria import CriterionResult, ScenarioChecks, evaluate_all
from harness.history.log import History
from harness.scenario.loader import parse_scenario

TESTS = Path(__file__).parent
SEED = 20240611

SCENARIOS: dict[str, dict[str, Any]] = {
    "writers": {
        "description": "two writers save their own jobs as fast as they can, two readers poll",
        "checkers": ["never_raises", "no_torn_read", "acknowledged_writes_survive", "no_litter"],
        "workload": {"jobs": 4, "payload_bytes": 512, "duration": 0.8},
        "processes": [
            {"role": "writer", "count": 2},
            {"role": "reader", "count": 2, "think_ms": 0.2},
        ],
    },
    "updates": {
        "description": "three updaters set their own field of the same two jobs, a reader polls",
        "checkers": [
            "never_raises",
            "no_torn_read",
            "acknowledged_writes_survive",
            "no_lost_update",
        ],
        "workload": {"jobs": 2, "payload_bytes": 256, "duration": 0.8},
        "processes": [{"role": "updater", "count": 3}, {"role": "reader", "count": 1}],
    },
    "damage-both": {
        "description": "both copies of a job damaged at once, three times",
        "checkers": [
            "never_raises",
            "no_torn_read",
            "acknowledged_writes_survive",
            "recovery_to_last_good",
            "clear_errors",
        ],
        "workload": {"jobs": 2, "payload_bytes": 512, "duration": 1.0},
        "processes": [
            {"role": "writer", "count": 1, "think_ms": 40},
            {"role": "reader", "count": 2, "think_ms": 0.5},
        ],
        "faults": [
            {"kind": "damage", "file": "both", "how": ["garbage", "truncate", "empty"], "times": 3}
        ],
    },
    "disk-errors": {
        "description": "writer-0 gets ENOSPC on write(2), writer-1 EIO on fsync, from the 2nd call",
        "checkers": [
            "never_raises",
            "no_torn_read",
            "acknowledged_writes_survive",
            "clear_errors",
            "no_litter",
        ],
        "workload": {"jobs": 4, "payload_bytes": 512, "duration": 0.6},
        "processes": [
            {"role": "writer", "count": 2, "think_ms": 2},
            {"role": "reader", "count": 1, "think_ms": 1},
        ],
        "faults": [
            {
                "kind": "diskfault",
                "target": "writer-0",
                "syscall": "write",
                "error": "ENOSPC",
                "nth": 2,
                "every": 3,
            },
            {
                "kind": "diskfault",
                "target": "writer-1",
                "syscall": "fsync",
                "error": "EIO",
                "nth": 2,
                "every": 3,
            },
        ],
    },
    "worker-kill": {
        "description": "worker-0 killed at its 3rd write(2): mid-save, its job left running",
        "checkers": [
            "never_raises",
            "no_torn_read",
            "acknowledged_writes_survive",
            "terminal_state",
            "clear_errors",
            "no_litter",
        ],
        "workload": {"jobs": 4, "payload_bytes": 512, "duration": 0.8},
        "processes": [
            {"role": "worker", "count": 2, "steps": 4, "think_ms": 10},
            {"role": "reader", "count": 1, "think_ms": 1},
        ],
        "faults": [
            {"kind": "kill", "target": "worker-0", "at": "syscall", "syscall": "write", "nth": 3}
        ],
    },
}


def spec_of(store: str) -> str:
    """Built-in names as they are; ``controls/x`` or a broken store's name as a file spec."""
    if store in ("hardened", "sqlite"):
        return store
    folder = TESTS if "/" in store else TESTS / "broken_stores"
    return f"{folder / store}.py:make_store"


class Runs:
    """Scenario runs of this module, each made once, judged by criteria from its history."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.results: dict[tuple[str, str], dict[str, CriterionResult]] = {}

    def criteria(self, store: str, scenario: str) -> dict[str, CriterionResult]:
        key = (store, scenario)
        if key not in self.results:
            data = dict(SCENARIOS[scenario], name=scenario)
            parsed = parse_scenario(data, f"test_checks_controls:{scenario}")
            run_dir = self.folder / f"{store.replace('/', '-')}-{scenario}"
            outcome = runner.run_scenario(parsed, spec_of(store), run_dir, SEED)
            if not outcome.applicable:
                pytest.skip(f"scenario {scenario} cannot run here: {outcome.reason}")
            assert outcome.records, f"{store} on {scenario} recorded nothing: {outcome.notes}"
            results = run_checkers(parsed.checkers, History(outcome.records))
            crashed = [r.summary for r in results if r.crashed]
            assert not crashed, f"a checker crashed on {store}/{scenario}: {crashed}"
            checks = ScenarioChecks(
                scenario,
                tuple(sorted(parsed.roles())),
                {result.name: result for result in results},
                tuple(parsed.checkers),
            )
            self.results[key] = {result.id: result for result in evaluate_all([checks])}
        return self.results[key]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    yield Runs(tmp_path_factory.mktemp("checks-controls-runs"))


def describe(result: CriterionResult) -> str:
    return " | ".join([result.summary, *result.evidence])


@dataclass(frozen=True)
class Defect:
    """A broken store, the scenario that exposes it, the criterion that must fail, and words
    its evidence must hold (so it fails for the right reason)."""

    store: str
    scenario: str
    criterion: str
    says: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.store}-{self.criterion}"


DEFECTS = (
    Defect("tempfile_litter", "worker-kill", "C8", ("tmp", "recover() left them")),
    Defect("partial_litter", "worker-kill", "C8", (".partial", "recover() left them")),
    Defect("unnamed_litter", "worker-kill", "C8", (".incoming-", "not declared")),
    Defect(
        "retry_later_errors",
        "damage-both",
        "C5",
        ("does not name the job", "does not name the cause", "retry a permanent failure"),
    ),
    Defect(
        "bare_json_errors",
        "damage-both",
        "C5",
        ("Error: ", "does not name the job", "does not name the cause (damaged file)"),
    ),
)


@pytest.mark.parametrize("defect", DEFECTS, ids=str)
def test_the_criterion_catches_the_broken_store_and_passes_the_correct_ones(
    runs: Runs, defect: Defect
) -> None:
    broken = runs.criteria(defect.store, defect.scenario)[defect.criterion]
    assert broken.passed is False, f"{defect.store} was not caught: {describe(broken)}"
    for words in defect.says:
        assert words in describe(broken), describe(broken)
    for correct in ("hardened", "base"):
        verdict = runs.criteria(correct, defect.scenario)[defect.criterion]
        assert verdict.passed is True, f"false alarm on {correct}: {describe(verdict)}"


# Each control, with the scenarios that concern it. The log store keeps no file per job, so
# damage is not applicable to it; SQLite's pages cannot be damaged per job either.
CONTROLS = {
    "controls/log_store": ("writers", "updates", "worker-kill", "disk-errors"),
    "controls/folder_store": ("writers", "updates", "worker-kill", "damage-both", "disk-errors"),
    "controls/sqlite_rollback": ("writers", "updates", "worker-kill"),
    "sqlite": ("worker-kill",),  # the built-in one: its WAL files are declared, not litter
}
JUDGED = {  # the criteria each scenario must judge (pass), not merely leave not applicable
    "writers": ("C2", "C6", "C8"),
    "updates": ("C2", "C6"),
    "worker-kill": ("C1", "C3", "C4", "C6", "C8"),
    "damage-both": ("C2", "C5", "C6", "C7"),
    "disk-errors": ("C2", "C5", "C6", "C8"),
}


@pytest.mark.parametrize(
    ("store", "scenario"),
    [(store, scenario) for store, scenarios in CONTROLS.items() for scenario in scenarios],
)
def test_a_correct_store_of_unusual_design_passes_every_criterion_judged(
    runs: Runs, store: str, scenario: str
) -> None:
    criteria = runs.criteria(store, scenario)
    failed = [f"{c.id}: {describe(c)}" for c in criteria.values() if c.passed is False]
    assert not failed, f"false alarm on {store} in {scenario}:\n" + "\n".join(failed)
    unjudged = [c for c in JUDGED[scenario] if criteria[c].passed is not True]
    assert not unjudged, f"{store} in {scenario}: {unjudged} not judged: " + "; ".join(
        describe(criteria[c]) for c in unjudged
    )
