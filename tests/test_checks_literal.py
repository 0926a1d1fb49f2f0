"""C8 (litter whatever its name) and C5 (errors judged against the injected fault) on literal
histories: no processes, no disk, milliseconds each.

Histories are written out by hand as in ``tests/test_checkers_literal.py``: a ``setup`` event
carrying what the runner records (each job's files, the store's declared files, the files
present before the main phase), nemesis faults, the reads and writes whose messages are judged,
and the final ``inventory``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from histories import Pair, history, op

from harness.checkers import CheckResult, run_checker
from harness.checkers.clear_errors import names_job
from harness.checkers.no_litter import is_declared, is_temp_name
from harness.criteria import ScenarioChecks, evaluate_all
from harness.history.log import FAIL, INFO, History
from harness.store.spec import store_files_report


def check(name: str, h: History) -> CheckResult:
    result = run_checker(name, h)
    assert not result.crashed, result.summary
    return result


def setup(
    files: list[str],
    owned: list[str] | None = None,
    layout: dict[str, dict[str, str]] | None = None,
    **extra: Any,
) -> Pair:
    """The setup event: jobs j0 and j1 in the incident's layout unless ``layout`` says otherwise."""
    layout = layout or {
        job: {"main": f"{job}.json", "backup": f"{job}.json.bak"} for job in ("j0", "j1")
    }
    value = {"layout": layout, "owned": owned or [], "files": files, **extra}
    return op("nemesis", "setup", None, 0.1, 0.1, value, value)


def inventory(*paths: str) -> Pair:
    files = {"files": [{"path": path, "size": 10} for path in paths]}
    return op("nemesis", "inventory", None, 9.0, 9.0, files, files)


def recover() -> Pair:
    return op("restart", "recover", None, 8.0, 8.1)


JOB_FILES = ("j0.json", "j0.json.bak", "j1.json", "j1.json.bak")

# ---------------------------------------------------------------- C8: names


@pytest.mark.parametrize(
    "name",
    ["tmpk3j_x9q2", "tmpabc12345.json", "j0.json.3f.partial", ".#j0.json", "#j0.json#", "j0~"],
)
def test_tempfile_partial_and_editor_names_are_temp_names(name: str) -> None:
    assert is_temp_name(name)
    assert is_temp_name(f"sub/{name}")


@pytest.mark.parametrize("name", ["jobs.log", "tmp/j0.json", "template.json", "j0/job.json.bak"])
def test_permanent_names_are_not_temp_names(name: str) -> None:
    assert not is_temp_name(name)


@pytest.mark.parametrize(
    ("path", "patterns", "declared"),
    [
        (".locks/07.lock", [".locks/"], True),
        (".locks/a/b.lock", [".locks"], True),
        ("j0/.lock", ["*/.lock"], True),
        ("jobs.db-wal", ["jobs.db-*"], True),
        ("jobs.db-wal", ["jobs.db"], False),
        ("anything", ["*"], False),  # a wildcard-only pattern would own every file
        ("anything", ["*/*", "**"], False),
    ],
)
def test_a_declaration_owns_its_paths_globs_and_folders(
    path: str, patterns: list[str], declared: bool
) -> None:
    assert is_declared(path, patterns) is declared


# ---------------------------------------------------------------- C8: the rule


def test_a_file_that_appeared_during_the_run_and_is_not_declared_is_litter() -> None:
    h = history(setup(["j0.json"]), recover(), inventory(*JOB_FILES, "j0.json.incoming-5f2c"))
    result = check("no_litter", h)
    assert result.valid is False
    assert result.counts["undeclared_files"] == 1
    assert "j0.json.incoming-5f2c" in result.evidence[0]
    assert "not declared by owned_paths()" in result.evidence[0]
    assert "recover() left them" in result.summary


def test_a_declared_file_is_not_litter() -> None:
    h = history(
        setup([], owned=["jobs.log", ".locks/"]),
        recover(),
        inventory("jobs.log", ".locks/00.lock", ".locks/63.lock"),
    )
    assert check("no_litter", h).valid is True


def test_a_file_present_before_the_run_is_not_litter() -> None:
    h = history(setup(["README", "j0.json"]), recover(), inventory("README", *JOB_FILES))
    assert check("no_litter", h).valid is True


def test_job_files_found_through_paths_for_are_not_litter() -> None:
    layout = {"j0": {"main": "j0/job.json", "backup": "j0/job.json.bak"}}
    h = history(setup([], layout=layout), recover(), inventory("j0/job.json", "j0/job.json.bak"))
    assert check("no_litter", h).valid is True


def test_a_job_file_of_a_job_the_store_does_not_place_there_is_litter() -> None:
    """The incident's layout is assumed only for jobs of the run: ``j7.json`` is nobody's."""
    h = history(setup([]), recover(), inventory(*JOB_FILES, "j7.json"))
    assert check("no_litter", h).valid is False


@pytest.mark.parametrize("name", ["tmpk3j_x9q2", "j0.json.1.partial", ".j0.json.ab.tmp"])
def test_a_temp_name_is_litter_even_when_declared_or_there_before_the_run(name: str) -> None:
    h = history(setup([name], owned=[name, "tmp*"]), recover(), inventory(*JOB_FILES, name))
    result = check("no_litter", h)
    assert result.valid is False
    assert result.evidence == (name,)
    assert result.counts["temp_files"] == 1


def test_a_declaration_of_every_file_is_ignored_and_said() -> None:
    h = history(setup([], owned=["*"]), recover(), inventory(*JOB_FILES, "stray.dat"))
    result = check("no_litter", h)
    assert result.valid is False
    assert "declared patterns ['*'] ignored" in result.summary


def test_a_store_without_recover_is_named_as_the_cause() -> None:
    h = history(
        setup([]),
        op("restart", "recover", None, 8.0, 8.0, {"absent": True}, {"absent": True}, FAIL),
        inventory(*JOB_FILES, "tmpk3j_x9q2"),
    )
    assert "the store has no recover()" in check("no_litter", h).summary


def test_an_owned_paths_that_raised_is_reported() -> None:
    h = history(
        setup([], owned_error="owned_paths() raised OSError: boom"),
        recover(),
        inventory(*JOB_FILES, "jobs.log"),
    )
    result = check("no_litter", h)
    assert result.valid is False
    assert "owned_paths() raised OSError: boom" in result.summary


def test_a_history_without_a_setup_snapshot_is_judged_by_names_only() -> None:
    """Histories saved before the snapshot existed: an odd name cannot be judged, and it says so."""
    result = check("no_litter", history(recover(), inventory(*JOB_FILES, "stray.dat")))
    assert result.valid is True
    assert "only temp-looking names were judged" in result.summary


def test_c8_fails_on_litter_whatever_its_name() -> None:
    h = history(setup([]), recover(), inventory(*JOB_FILES, "j0.json.incoming-5f2c"))
    checks = ScenarioChecks("worker-kill", ("worker",), {"no_litter": check("no_litter", h)})
    c8 = next(result for result in evaluate_all([checks]) if result.id == "C8")
    assert c8.passed is False
    assert "j0.json.incoming-5f2c" in " ".join(c8.evidence)


# ---------------------------------------------------------------- the store's report at setup


class _Declares:
    def __init__(self, root: Path) -> None:
        self.root = root

    def paths_for(self, job_id: str) -> dict[str, Path]:
        if job_id == "bad":
            raise ValueError("not a job id")
        return {"main": self.root / job_id / "job.json", "backup": self.root / job_id / "job.bak"}

    def owned_paths(self) -> list[object]:
        return [self.root / ".locks", "jobs.log", "/elsewhere/file"]


def test_the_setup_report_gives_paths_relative_to_the_root(tmp_path: Path) -> None:
    report = store_files_report(_Declares(tmp_path), tmp_path, ["j0", "bad"])
    assert report["layout"]["j0"] == {"main": "j0/job.json", "backup": "j0/job.bak"}
    # paths_for raised for "bad": no guessed layout, the cause recorded instead
    assert "bad" not in report["layout"]
    assert report["paths_error"] == "ValueError: not a job id (paths_for('bad'))"
    assert report["owned"] == [".locks", "jobs.log", "/elsewhere/file"]


def test_an_owned_paths_that_raises_is_reported_not_raised(tmp_path: Path) -> None:
    class Raises:
        def owned_paths(self) -> list[str]:
            raise RuntimeError("no")

    report = store_files_report(Raises(), tmp_path, [])
    assert report["owned"] == []
    assert report["owned_error"] == "owned_paths() raised RuntimeError: no"


# ---------------------------------------------------------------- C5: naming the job


@pytest.mark.parametrize(
    ("message", "job", "named"),
    [
        ("cannot save job 'j1': No space left on device", "j1", True),
        ("/data/jobs/j1.json: checksum mismatch", "j1", True),
        ("job j10 is damaged", "j1", False),
        ("job xj1 is damaged", "j1", False),
        ("job a.b is damaged", "a.b", True),
        ("Could not load this job right now", "j1", False),
    ],
)
def test_a_message_names_the_job_by_its_id_or_its_file(message: str, job: str, named: bool) -> None:
    assert names_job(message, job) is named


def test_a_message_may_name_the_job_by_a_file_of_another_name() -> None:
    assert names_job("folder 7f/ has a damaged job.json.bak", "j1", ("7f/job.json.bak",))


# ---------------------------------------------------------------- C5: judged against the fault


def damage(job: str, at: float, how: str = "garbage", files: str = "both") -> Pair:
    applied = ["main", "backup"] if files == "both" else [files]
    value = {"file": files, "how": how}
    return op("nemesis", "damage", job, at, at, value, dict(value, applied=applied))


def read_error(job: str, at: float, message: str) -> Pair:
    result = {"kind": "error", "error": message}
    return op("reader-0", "get", job, at, at + 0.01, None, result)


def judged(*pairs: Pair) -> CheckResult:
    return check("clear_errors", history(*pairs))


RETRY_LATER = "Could not load this job right now, please try again later"
BARE_JSON = "JSONDecodeError: Expecting value: line 1 column 1 (char 0)"


def test_try_again_later_for_a_damaged_job_fails_three_ways() -> None:
    result = judged(damage("j0", 1.0), read_error("j0", 2.0, RETRY_LATER))
    assert result.valid is False
    evidence = result.evidence[0]
    assert "does not name the job" in evidence
    assert "does not name the cause (damaged file)" in evidence
    assert "tells the user to retry a permanent failure" in evidence


def test_a_bare_json_decode_error_for_a_damaged_job_fails() -> None:
    result = judged(damage("j0", 1.0, "empty"), read_error("j0", 2.0, BARE_JSON))
    assert result.valid is False
    assert "does not name the job" in result.evidence[0]
    assert "does not name the cause (damaged file)" in result.evidence[0]


@pytest.mark.parametrize(
    "message",
    [
        "job 'j0': job file: checksum mismatch (stored 1a2b, computed 3c4d); backup: truncated",
        "job 'j0': job file: empty file (0 bytes); backup: not JSON: 12 bytes of unreadable content",
        "j0.json is corrupt and so is j0.json.bak: restore the job from your records",
    ],
)
def test_a_message_naming_the_job_and_the_damage_passes(message: str) -> None:
    assert judged(damage("j0", 1.0), read_error("j0", 2.0, message)).valid is True


def test_naming_the_job_and_the_damage_does_not_excuse_advice_to_retry() -> None:
    message = "job j0: both copies are damaged, retry in a minute"
    result = judged(damage("j0", 1.0), read_error("j0", 2.0, message))
    assert result.valid is False
    assert "retry a permanent failure" in result.evidence[0]


def test_a_deleted_file_must_be_called_missing_not_damaged() -> None:
    deleted = damage("j0", 1.0, "delete", "main")
    backup = damage("j0", 1.1, "delete", "backup")
    wrong = judged(deleted, backup, read_error("j0", 2.0, "job j0: job file is full of garbage"))
    right = judged(deleted, backup, read_error("j0", 2.0, "job j0: job file and backup missing"))
    assert wrong.valid is False and "does not name the cause (deleted file)" in wrong.evidence[0]
    assert right.valid is True


def test_with_one_file_deleted_and_the_other_damaged_naming_either_cause_passes() -> None:
    h = (damage("j0", 1.0, "delete", "main"), damage("j0", 1.1, "garbage", "backup"))
    assert judged(*h, read_error("j0", 2.0, "job j0: job file missing")).valid is True
    assert judged(*h, read_error("j0", 2.0, "job j0: backup corrupt")).valid is True


def test_damage_to_another_job_is_not_a_cause_for_this_one() -> None:
    """j1 was damaged, not j0: j0's error is judged without a fault, on naming the job only."""
    result = judged(damage("j1", 1.0), read_error("j0", 2.0, "could not read job j0"))
    assert result.valid is True


def test_damage_after_the_read_is_not_its_cause() -> None:
    assert judged(read_error("j0", 1.0, "could not read job j0"), damage("j0", 2.0)).valid is True


def test_an_error_no_fault_explains_must_still_name_the_job() -> None:
    result = judged(read_error("j0", 1.0, "could not read the job file"))
    assert result.valid is False
    assert "does not name the job" in result.evidence[0]


def write_raised(process: str, job: str, at: float, message: str, f: str = "save") -> Pair:
    return op(process, f, job, at, at + 0.01, None, {"raised": True}, INFO, message)


def disk_fault(process: str, error: str, start: float, end: float) -> list[Pair]:
    return [
        op("nemesis", "diskfault", None, start, start, {"process": process, "error": error}),
        op("nemesis", "diskfault-end", None, end, end, {"process": process}),
    ]


@pytest.mark.parametrize(
    ("error", "message", "clear"),
    [
        ("ENOSPC", "DurabilityError: cannot save job 'j0': No space left on device", True),
        ("ENOSPC", "DurabilityError: cannot save job 'j0': disk full, free space and retry", True),
        ("ENOSPC", "DurabilityError: cannot save job 'j0': write failed", False),
        ("EIO", "OSError: [Errno 5] saving job 'j0' failed: Input/output error", True),
        ("EIO", "OSError: [Errno 5] Input/output error", False),  # which job?
        ("EIO", "DurabilityError: cannot save job 'j0': No space left on device", False),
    ],
)
def test_a_write_under_an_injected_disk_error_must_name_it_and_the_job(
    error: str, message: str, clear: bool
) -> None:
    h = (*disk_fault("writer-0", error, 0.5, 3.0), write_raised("writer-0", "j0", 1.0, message))
    assert judged(*h).valid is clear


def test_a_write_while_the_disk_is_full_must_say_so() -> None:
    full = (
        op("nemesis", "diskfull", None, 0.5, 0.5, {"size_kb": 512}),
        op("nemesis", "diskfull-end", None, 3.0, 3.0, {}),
    )
    message = "DurabilityError: cannot save job 'j0': rename failed"
    assert judged(*full, write_raised("writer-1", "j0", 1.0, message)).valid is False


def test_an_update_of_a_damaged_job_must_name_the_damage() -> None:
    vague = "JobStoreError: job 'j0' cannot be updated right now"
    clear = "JobUnreadableError: job 'j0' cannot be updated: job file: truncated; backup: empty"
    h = damage("j0", 1.0, "truncate")
    assert judged(h, write_raised("updater-0", "j0", 2.0, vague, "update")).valid is False
    assert judged(h, write_raised("updater-0", "j0", 2.0, clear, "update")).valid is True


def test_a_read_that_raised_is_judged_too() -> None:
    raised = op("reader-0", "get", "j0", 2.0, 2.01, None, {"raised": True}, FAIL, BARE_JSON)
    assert judged(damage("j0", 1.0), raised).valid is False


def failed_job(message: str) -> Pair:
    result = {"kind": "job", "tag": ["worker-0", 3], "status": "error", "error": message}
    return op("final", "get", "w0-0", 5.0, 5.01, None, result)


KILL = op("nemesis", "kill", None, 1.0, 1.0, {"process": "worker-0"}, {"process": "worker-0"})


@pytest.mark.parametrize(
    ("message", "clear"),
    [
        ("abandoned: the worker stopped while the job was 'running'; resubmit it", True),
        ("the worker process was killed mid-job; failed on recovery", True),
        ("failed", False),
        ("the job could not be completed", False),
    ],
)
def test_a_job_failed_after_its_worker_was_killed_must_say_why(message: str, clear: bool) -> None:
    """A failed job's own error need not repeat the job's id: it is stored in the job."""
    assert judged(KILL, failed_job(message)).valid is clear


def test_c5_fails_on_a_retry_later_message() -> None:
    h = history(damage("j0", 1.0), read_error("j0", 2.0, RETRY_LATER))
    checks = ScenarioChecks("damage-both", ("reader",), {"clear_errors": check("clear_errors", h)})
    c5 = next(result for result in evaluate_all([checks]) if result.id == "C5")
    assert c5.passed is False
    assert "try again later" in " ".join(c5.evidence)
