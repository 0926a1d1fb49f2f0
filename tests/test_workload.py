"""The wider default workload: job ids from a grammar, payload mixes up to 1 MiB, recovery among
live workers, and descriptor leaks, each proved both ways.

Fast tests check the id grammar, the payload mix and the descriptor checker on literal
histories. Real runs (about a second each) put each broken store of this part on a small
scenario and assert that the **criterion** that names its defect fails, while ``hardened`` and
``base`` pass the same criterion on the same scenario with the same seed:

==================  ==============================================  =========
store               defect                                          criterion
==================  ==============================================  =========
folds_ids           ``ab-c``, ``ab_c``, ``AB_C`` share one file     C6
                    (and ``ab.c`` with ``dots``)
drops_large_tails   a job over 256 KiB loses the tail of its data   C6
fails_live_jobs     recover() fails live workers' running jobs      C3
leaks_descriptors   every save leaves a descriptor open             C2, C6
==================  ==============================================  =========
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from durable_jobs.ids import is_valid_job_id as store_accepts
from harness import runner
from harness.checkers import CheckResult, run_checker
from harness.criteria import CriterionResult, ScenarioChecks, evaluate_all
from harness.errors import ScenarioError
from harness.history.log import OK, History, Record
from harness.scenario.loader import parse_scenario
from harness.workload.job_ids import generate_job_ids, is_valid_job_id, scenario_job_ids
from harness.workload.payload import choose_size

BROKEN_STORES = Path(__file__).parent / "broken_stores"
SEED = 20261130
CORRECT_STORES = ("hardened", "base")


# ---------------------------------------------------------------- job ids


def folded(job_id: str) -> str:
    return job_id.lower().replace("-", "_").replace(".", "_")


def test_the_same_seed_gives_the_same_ids_and_another_seed_other_ids() -> None:
    assert generate_job_ids(20, "1/x") == generate_job_ids(20, "1/x")
    assert generate_job_ids(20, "1/x") != generate_job_ids(20, "2/x")


@pytest.mark.parametrize("options", [{}, {"dots": True}, {"non_ascii": True}], ids=str)
def test_generated_ids_follow_the_grammar_and_are_distinct(options: dict[str, bool]) -> None:
    ids = generate_job_ids(200, "5/grammar", **options)
    assert len(set(ids)) == 200
    assert all(is_valid_job_id(job_id, **options) for job_id in ids)
    assert max(len(job_id) for job_id in ids) == 128
    assert min(len(job_id) for job_id in ids) == 1


def test_default_ids_are_accepted_by_the_built_in_stores() -> None:
    assert all(store_accepts(job_id) for job_id in generate_job_ids(200, "9/builtin"))


def test_two_jobs_are_enough_to_hold_ids_that_differ_only_in_case_or_punctuation() -> None:
    for seed in range(20):
        first, second = generate_job_ids(2, f"{seed}/pair")
        assert first != second and folded(first) == folded(second)


def test_the_dots_option_puts_a_dotted_id_beside_its_underscored_twin() -> None:
    ids = generate_job_ids(3, "3/dots", dots=True)
    assert any("." in job_id for job_id in ids)
    assert len({folded(job_id) for job_id in ids}) == 1


def test_the_non_ascii_option_adds_composed_and_decomposed_spellings() -> None:
    ids = generate_job_ids(12, "3/unicode", non_ascii=True)
    assert any("\u00e9" in job_id for job_id in ids)
    assert any("e\u0301" in job_id for job_id in ids)


def test_the_grammar_rejects_leading_punctuation_and_overlong_ids() -> None:
    for bad in ("", "-a", "_a", ".a", "a/b", "a b", "x" * 129, "café"):
        assert not is_valid_job_id(bad, dots=True), bad
    assert is_valid_job_id("café", non_ascii=True)


def workers_scenario(count: int = 3, jobs: int = 4) -> Any:
    return parse_scenario(
        {
            "workload": {"jobs": jobs},
            "processes": [{"role": "worker", "count": count}, {"role": "reader"}],
        },
        "test",
        "workers",
    )


def test_workers_get_their_own_jobs_and_the_collision_group_is_spread_over_them(
    tmp_path: Path,
) -> None:
    scenario = workers_scenario()
    scenario_runner = runner.ScenarioRunner(scenario, "hardened", tmp_path, SEED)
    owned = [scenario_runner._jobs_of("worker", index) for index in range(3)]
    assert sorted(job for jobs in owned for job in jobs) == sorted(scenario_job_ids(scenario, SEED))
    assert all(len(jobs) == 4 for jobs in owned)
    first, second = owned[0][0], owned[1][0]  # the first two ids: a collision pair
    assert folded(first) == folded(second)


# ---------------------------------------------------------------- payload mixes


def test_a_payload_list_is_a_mix_and_its_largest_size_is_the_scenarios_size() -> None:
    scenario = parse_scenario(
        {"workload": {"payload_bytes": [100, 1048576]}, "processes": [{"role": "writer"}]},
        "test",
    )
    assert scenario.workload.payload_sizes == (100, 1048576)
    assert scenario.workload.payload_bytes == 1048576
    rng = random.Random(4)
    drawn = {choose_size(scenario.workload.payload_sizes, 0, rng) for _ in range(50)}
    assert drawn == {100, 1048576}


@pytest.mark.parametrize("bad", [[], [100, "1k"], [8], 1 << 30])
def test_a_bad_payload_mix_is_reported_with_the_key(bad: object) -> None:
    with pytest.raises(ScenarioError, match=r"workload\.payload_bytes"):
        parse_scenario({"workload": {"payload_bytes": bad}, "processes": [{"role": "writer"}]}, "t")


def test_every_concurrent_default_scenario_checks_descriptors_and_one_saves_1_mib() -> None:
    from harness.scenario.loader import load_suite

    suite = load_suite(Path(__file__).parent.parent / "scenarios")
    concurrent = [s for s in suite if s.kind == "concurrent"]
    assert all("no_descriptor_leak" in s.checkers for s in concurrent)
    assert any(s.workload.payload_sizes == (1 << 20,) for s in concurrent)
    assert sum(len(s.workload.payload_sizes) > 1 for s in concurrent) >= 5


# ---------------------------------------------------------------- descriptor checker


def fds_history(process: str, counts: list[int | None]) -> History:
    records = []
    for number, count in enumerate(counts):
        value: dict[str, Any] = {"calls": number * 16, "limit": 256}
        if count is None:
            value["error"] = "EMFILE: Too many open files"
        else:
            value["open"] = count
        records.append(Record(process, "invoke", "fds", None, value, number, index=2 * number))
        records.append(Record(process, OK, "fds", None, value, number, index=2 * number + 1))
    return History(records)


def test_a_flat_descriptor_count_passes_even_after_an_early_rise() -> None:
    result = run_checker("no_descriptor_leak", fds_history("writer-0", [6, 9, 12, 12, 12, 12]))
    assert result.valid is True, result.summary


def test_a_count_that_keeps_growing_is_a_leak_that_names_c2_and_c6() -> None:
    result = run_checker("no_descriptor_leak", fds_history("writer-0", [6, 22, 38, 54, 70, 86]))
    assert result.valid is False
    assert "C2" in result.summary and "C6" in result.summary


def test_running_out_of_descriptors_is_a_leak() -> None:
    result = run_checker("no_descriptor_leak", fds_history("writer-0", [6, 140, 250, None]))
    assert result.valid is False and "EMFILE" in result.summary


def test_a_process_with_few_calls_proves_nothing() -> None:
    result = run_checker("no_descriptor_leak", fds_history("final", [6, 40]))
    assert result.valid is None


# ---------------------------------------------------------------- recovery checker


class Recorder:
    """A literal history: each call appends an invoke and its completion."""

    def __init__(self) -> None:
        self.records: list[Record] = []

    def op(
        self, process: str, f: str, job: str | None, value: Any, result: Any, start: float
    ) -> None:
        index = len(self.records)
        self.records.append(Record(process, "invoke", f, job, value, start, index=index))
        self.records.append(Record(process, OK, f, job, result, start + 0.005, index=index + 1))

    def save(self, process: str, job: str, seq: int, status: str, start: float) -> None:
        tag = [process, seq]
        self.op(
            process, "save", job, {"tag": tag, "digest": f"d{seq}", "status": status}, None, start
        )

    def read(self, process: str, job: str, tag: list[Any], status: str, start: float) -> None:
        result = {"kind": "job", "tag": tag, "digest": f"d{tag[1]}", "status": status}
        if status == "error":
            result["error"] = "abandoned: failed on recovery"
        self.op(process, "get", job, None, result, start)

    def history(self) -> History:
        return History(self.records)


def restart_history(read_status: str, worker_lives_on: bool) -> History:
    """worker-1 runs job ``a``; worker-0.1 recovers at 0.10 s and reads ``a`` at 0.13 s."""
    history = Recorder()
    history.save("worker-1", "a", 1, "running", 0.0)
    history.op("worker-0.1", "recover", None, None, {}, 0.10)
    history.read("worker-0.1", "a", ["worker-1", 1], read_status, 0.13)
    if worker_lives_on:
        history.save("worker-1", "a", 2, "running", 0.20)
    return history.history()


def test_a_live_workers_job_read_as_failed_after_anothers_recovery_fails_c3() -> None:
    result = run_checker("recovery_spares_live_jobs", restart_history("error", True))
    assert result.valid is False, result.summary
    assert result.counts["failed_live"] == 1
    assert "C3" in result.summary and "worker-1" in result.evidence[0]


def test_a_live_workers_job_left_running_by_anothers_recovery_passes() -> None:
    result = run_checker("recovery_spares_live_jobs", restart_history("running", True))
    assert result.valid is True, result.summary


def test_failing_the_job_of_a_dead_worker_is_what_recovery_is_for() -> None:
    result = run_checker("recovery_spares_live_jobs", restart_history("error", False))
    assert result.valid is None  # nobody was alive through the recovery: nothing at stake


def test_a_job_failed_by_the_restart_after_its_worker_left_is_not_charged_to_a_live_recovery() -> (
    None
):
    """worker-1 lived through worker-0.1's recover() but left job ``a`` running (a save raised)
    and ended; the restart's recover() then failed ``a``, rightly: the final read of ``error``
    is the restart's doing, not the live-time recovery's."""
    history = Recorder()
    history.save("worker-1", "a", 1, "running", 0.0)
    history.op("worker-0.1", "recover", None, None, {}, 0.10)
    history.read("worker-0.1", "a", ["worker-1", 1], "running", 0.13)
    history.save("worker-1", "b", 2, "running", 0.20)  # worker-1 works on, then ends
    history.op("restart", "recover", None, None, {}, 0.40)
    history.read("final", "a", ["worker-1", 1], "error", 0.50)
    result = run_checker("recovery_spares_live_jobs", history.history())
    assert result.valid is True, result.evidence


def test_a_live_workers_job_rolled_back_by_anothers_recovery_fails_c6() -> None:
    history = Recorder()
    history.save("worker-1", "a", 1, "queued", 0.0)
    history.save("worker-1", "a", 2, "running", 0.05)
    history.op("worker-0.1", "recover", None, None, {}, 0.10)
    history.read("worker-0.1", "a", ["worker-1", 1], "queued", 0.13)
    history.save("worker-1", "a", 3, "running", 0.20)
    result = run_checker("recovery_spares_live_jobs", history.history())
    assert result.valid is False, result.summary
    assert result.counts["rolled_back_live"] == 1 and "C6" in result.summary


# ---------------------------------------------------------------- real runs

SCENARIOS: dict[str, dict[str, Any]] = {
    "collisions": {
        "description": "two writers save ids that differ only in case or punctuation",
        "checkers": ["never_raises", "no_torn_read", "acknowledged_writes_survive"],
        "workload": {"jobs": 4, "payload_bytes": 256, "duration": 0.6},
        "processes": [{"role": "writer", "count": 2}, {"role": "reader", "think_ms": 0.5}],
    },
    "collisions-dots": {
        "description": "the same with dotted ids: ab-c, ab_c, ab.c, Ab-c share nothing",
        "checkers": ["never_raises", "no_torn_read", "acknowledged_writes_survive"],
        "workload": {"jobs": 4, "payload_bytes": 256, "duration": 0.6, "dots": True},
        "processes": [{"role": "writer", "count": 2}, {"role": "reader", "think_ms": 0.5}],
    },
    "large": {
        "description": "one writer saves jobs of 1 MiB, a reader polls",
        "checkers": ["never_raises", "no_torn_read", "acknowledged_writes_survive"],
        "workload": {"jobs": 2, "payload_bytes": [1 << 20], "duration": 0.6},
        "processes": [{"role": "writer"}, {"role": "reader", "think_ms": 2}],
    },
    "restart": {
        "description": "worker-0 killed and restarted; its recover() runs while two others work",
        "checkers": ["recovery_spares_live_jobs", "terminal_state"],
        "options": {"recover_on_restart": True},
        "workload": {"jobs": 12, "payload_bytes": 256, "duration": 1.0},
        "processes": [
            # Steps 150 ms apart: a live job failed by the recovery stays failed long enough for
            # the restarted process's reads right after it to see it. (50 ms was not: on a busy
            # machine its 48 reads took longer, and a live worker's next step, or its last,
            # landed first in about one run in six.)
            {"role": "worker", "count": 4, "steps": 5, "think_ms": 150, "restart": True},
            {"role": "reader", "think_ms": 2},
        ],
        "faults": [{"kind": "kill", "target": "worker-0", "at": "random"}],
    },
    "leak": {
        "description": "two writers save their own jobs as fast as they can",
        "checkers": ["never_raises", "no_descriptor_leak"],
        "workload": {"jobs": 2, "payload_bytes": 256, "duration": 0.8},
        "processes": [{"role": "writer", "count": 2}],
    },
}


def spec_of(store: str) -> str:
    return store if store == "hardened" else f"{BROKEN_STORES / store}.py:make_store"


class Runs:
    """Each (store, scenario) run once for the module, judged by the criteria."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.results: dict[tuple[str, str], dict[str, CheckResult]] = {}

    def checks(self, store: str, scenario: str) -> dict[str, CheckResult]:
        key = (store, scenario)
        if key not in self.results:
            parsed = parse_scenario(dict(SCENARIOS[scenario], name=scenario), f"test:{scenario}")
            outcome = runner.run_scenario(
                parsed, spec_of(store), self.folder / f"{store}-{scenario}", SEED
            )
            assert outcome.applicable, outcome.reason
            assert outcome.records, f"{store} on {scenario} recorded nothing: {outcome.notes}"
            history = History(outcome.records)
            self.results[key] = {name: run_checker(name, history) for name in parsed.checkers}
        return self.results[key]

    def criterion(self, store: str, scenario: str, criterion: str) -> CriterionResult:
        data = SCENARIOS[scenario]
        checks = ScenarioChecks(
            scenario,
            tuple(group["role"] for group in data["processes"]),
            self.checks(store, scenario),
            tuple(data["checkers"]),
        )
        return next(c for c in evaluate_all([checks]) if c.id == criterion)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    yield Runs(tmp_path_factory.mktemp("workload-runs"))


DEFECTS = [
    ("folds_ids", "collisions", "C6", "no_torn_read"),
    ("folds_ids", "collisions-dots", "C6", "no_torn_read"),
    ("drops_large_tails", "large", "C6", "no_torn_read"),
    ("fails_live_jobs", "restart", "C3", "recovery_spares_live_jobs"),
    ("leaks_descriptors", "leak", "C2", "no_descriptor_leak"),
    ("leaks_descriptors", "leak", "C6", "no_descriptor_leak"),
]


def explain(result: CriterionResult) -> str:
    return " | ".join([result.summary, *result.evidence])


@pytest.mark.parametrize(
    ("store", "scenario", "criterion", "checker"), DEFECTS, ids=lambda v: str(v)
)
def test_the_criterion_that_names_the_defect_fails_the_broken_store(
    runs: Runs, store: str, scenario: str, criterion: str, checker: str
) -> None:
    result = runs.criterion(store, scenario, criterion)
    assert result.passed is False, f"{store} passed {criterion}: {explain(result)}"
    assert runs.checks(store, scenario)[checker].valid is False, explain(result)


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("store", CORRECT_STORES)
def test_a_correct_store_passes_the_same_criteria(runs: Runs, store: str, scenario: str) -> None:
    for defect_store, defect_scenario, criterion, checker in DEFECTS:
        if defect_scenario != scenario:
            continue
        result = runs.criterion(store, scenario, criterion)
        # Not failed; "n/a" where the scenario's only judge of it can fail but not vouch for it
        # (no leak proves no C2: see harness.criteria).
        assert result.status in ("pass", "n/a"), f"false alarm on {store}: {explain(result)}"
        assert runs.checks(store, scenario)[checker].valid is True, (defect_store, checker)


def test_the_restarted_worker_read_every_job_after_its_recovery(runs: Runs) -> None:
    """The reads that make a live job failed by recovery visible at once, whatever the timing."""
    result = runs.checks("fails_live_jobs", "restart")["recovery_spares_live_jobs"]
    assert result.counts["failed_live"] >= 1
    assert "worker-0.1" in " ".join(result.evidence)
