"""Every checker on tiny literal histories: no processes, no disk, a few milliseconds each.

A history here is written out by hand, operation by operation, with round times so the order of
events is obvious::

    h = history(
        save("writer-0", "j0", 1, 1.0, 1.1),      # version 1 acknowledged at 1.1
        read("reader-0", "j0", 0, 2.0, 2.1),      # a read at 2.0 returns version 0: stale
    )

Versions are the seq of writer ``writer-0`` (seq 0 is the ``setup`` version); payloads and digests
are built with the harness's own :mod:`harness.workload.payload`, exactly as the client records them.
Some tests pin false alarms found while proving the checkers on correct stores (a read killed
mid-call, a read racing the nemesis, a damage racing a save): they say so in their docstring.
"""

from __future__ import annotations

import ast
import random
from pathlib import Path
from typing import Any

import pytest
from histories import Pair, history, op

from harness.checkers import CheckResult, run_checker
from harness.checkers.clear_errors import is_clear
from harness.checkers.no_litter import is_temp_name
from harness.criteria import CRITERIA, ScenarioChecks, evaluate
from harness.history.log import FAIL, INFO, OK, History
from harness.workload.payload import make_job, summarize_read, write_record

# ---------------------------------------------------------------- building histories


def job_of(job: str, seq: int, status: str | None = None) -> dict[str, Any]:
    """The payload version ``seq`` of ``job`` (seq 0 is written by ``setup``)."""
    writer = "setup" if seq == 0 else "writer-0"
    payload = make_job(job, writer, seq, 64, random.Random(f"{job}/{seq}"))
    if status is not None:
        payload["status"] = status
    return payload


def save(
    process: str,
    job: str,
    seq: int,
    start: float,
    end: float,
    kind: str = OK,
    status: str | None = None,
) -> Pair:
    result = {"raised": True} if kind == INFO else None
    return op(
        process, "save", job, start, end, write_record(job_of(job, seq, status)), result, kind
    )


def read(
    process: str,
    job: str,
    seq: int | None,
    start: float,
    end: float,
    final: bool = False,
    status: str | None = None,
) -> Pair:
    """A read returning version ``seq`` (None: the job does not exist)."""
    found = None if seq is None else job_of(job, seq, status)
    return read_returning(process, job, found, start, end, final)


def read_returning(
    process: str, job: str, found: object, start: float, end: float, final: bool = False
) -> Pair:
    return op(
        process, "get", job, start, end, {"final": True} if final else None, summarize_read(found)
    )


def read_error(
    process: str,
    job: str,
    start: float,
    end: float,
    message: str | None = None,
) -> Pair:
    message = f"job {job}: job file damaged; backup damaged" if message is None else message
    return read_returning(
        process, job, {"id": job, "status": "unknown", "error": message}, start, end
    )


def damage(job: str, files: str, start: float, end: float, how: str = "garbage") -> Pair:
    applied = ["main", "backup"] if files == "both" else [files]
    return op(
        "nemesis",
        "damage",
        job,
        start,
        end,
        {"file": files, "how": how},
        {"file": files, "how": how, "applied": applied},
    )


def event(f: str, at: float, value: Any = None, result: Any = None) -> Pair:
    return op("nemesis", f, None, at, at, value, result)


def check(name: str, h: History) -> CheckResult:
    result = run_checker(name, h)
    assert not result.crashed, result.summary
    return result


def versions_0_1_2(job: str = "j0") -> list[Pair]:
    """Setup's version 0, then versions 1 and 2, each acknowledged a second apart."""
    return [
        save("setup", job, 0, 0.0, 0.1),
        save("writer-0", job, 1, 1.0, 1.1),
        save("writer-0", job, 2, 2.0, 2.1),
    ]


# ---------------------------------------------------------------- never_raises


def test_a_history_where_nothing_raised_passes_never_raises() -> None:
    h = history(*versions_0_1_2(), read("reader-0", "j0", 2, 3.0, 3.1))
    assert check("never_raises", h).valid is True


def test_a_read_that_raised_is_caught_by_never_raises() -> None:
    h = history(
        *versions_0_1_2(),
        op("reader-0", "get", "j0", 3.0, 3.1, None, {"raised": True}, FAIL, "JSONDecodeError: x"),
    )
    result = check("never_raises", h)
    assert result.valid is False
    assert result.counts["get_raised"] == 1
    assert "JSONDecodeError" in result.evidence[0]


def test_a_write_that_raised_with_no_fault_injected_is_caught() -> None:
    h = history(*versions_0_1_2(), save("writer-0", "j0", 3, 3.0, 3.1, kind=INFO))
    result = check("never_raises", h)
    assert result.valid is False
    assert result.counts["write_raised_without_fault"] == 1


def test_an_update_of_a_job_not_yet_created_may_say_not_found_but_not_after() -> None:
    """update_job of a missing job raises "not found" by contract (a false alarm jobharness
    hunt found, an updater beside workers); once the job was saved, the same error is a loss."""
    missing = "JobNotFoundError: job 'j1' does not exist"
    early = history(
        *versions_0_1_2(),
        op("updater-0", "update", "j1", 0.2, 0.3, {"changes": {"u0": 1}}, {"raised": True},
           INFO, missing),
        save("worker-0", "j1", 0, 1.0, 1.1),
    )  # fmt: skip
    assert check("never_raises", early).valid is True
    late = history(
        *versions_0_1_2(),
        save("worker-0", "j1", 0, 1.0, 1.1),
        op("updater-0", "update", "j1", 2.0, 2.1, {"changes": {"u0": 1}}, {"raised": True},
           INFO, missing),
    )  # fmt: skip
    assert check("never_raises", late).counts["write_raised_without_fault"] == 1


def test_an_update_of_a_job_whose_every_copy_was_damaged_may_raise() -> None:
    """Both copies garbage: update_job has nothing to read and must fail (hunt found this false
    alarm); once a save wrote the job again, an update that raises is a failure again."""
    unreadable = "JobUnreadableError: job 'j0' cannot be updated: job file: not JSON"
    h = history(
        *versions_0_1_2(),
        damage("j0", "both", 2.5, 2.6),
        op("updater-0", "update", "j0", 3.0, 3.1, {"changes": {"u0": 1}}, {"raised": True},
           INFO, unreadable),
    )  # fmt: skip
    assert check("never_raises", h).valid is True
    rewritten = history(
        *versions_0_1_2(),
        damage("j0", "both", 2.5, 2.6),
        save("writer-0", "j0", 3, 2.8, 2.9),
        op("updater-0", "update", "j0", 3.0, 3.1, {"changes": {"u0": 1}}, {"raised": True},
           INFO, unreadable),
    )  # fmt: skip
    assert check("never_raises", rewritten).valid is False


def test_a_write_that_raised_under_an_injected_disk_fault_is_excused() -> None:
    h = history(
        *versions_0_1_2(),
        event("diskfault", 2.5, {"process": "writer-0", "error": "ENOSPC"}),
        save("writer-0", "j0", 3, 3.0, 3.1, kind=INFO),
        event("diskfault-end", 4.0, {"process": "writer-0"}),
    )
    result = check("never_raises", h)
    assert result.valid is True
    assert result.counts["write_raised_under_fault"] == 1


def test_a_fault_on_another_process_does_not_excuse_a_write() -> None:
    h = history(
        *versions_0_1_2(),
        event("diskfault", 2.5, {"process": "writer-1", "error": "EIO"}),
        save("writer-0", "j0", 3, 3.0, 3.1, kind=INFO),
        event("diskfault-end", 4.0, {"process": "writer-1"}),
    )
    assert check("never_raises", h).valid is False


def test_a_call_that_hung_is_reported_by_never_raises() -> None:
    hung = op(
        "reader-0",
        "get",
        "j0",
        3.0,
        20.0,
        None,
        None,
        INFO,
        "timed out: still running 15 s after the phase ended",
    )
    result = check("never_raises", history(*versions_0_1_2(), hung))
    assert result.valid is False
    assert result.counts["hung"] == 1
    assert "hung" in result.summary


def test_a_process_that_died_by_itself_is_reported_by_never_raises() -> None:
    result = check(
        "never_raises",
        history(*versions_0_1_2(), event("crash", 2.5, {"process": "writer-0", "exit": -9})),
    )
    assert result.valid is False
    assert "died by itself" in result.summary


# ---------------------------------------------------------------- no_torn_read


def test_reads_of_complete_writes_pass_no_torn_read() -> None:
    h = history(
        *versions_0_1_2(), read("reader-0", "j0", 1, 1.5, 1.6), read("reader-0", "j0", 2, 3.0, 3.1)
    )
    assert check("no_torn_read", h).valid is True


def test_a_tagged_job_with_other_content_is_a_garbled_read() -> None:
    flipped = job_of("j0", 2)
    flipped["data"] = ("1" if flipped["data"][0] == "0" else "0") + flipped["data"][1:]
    result = check(
        "no_torn_read",
        history(*versions_0_1_2(), read_returning("reader-0", "j0", flipped, 3.0, 3.1)),
    )
    assert result.valid is False
    assert result.counts["garbled"] == 1


def test_every_torn_read_is_marked_for_the_timeline_though_five_are_described() -> None:
    reads = [read_returning("reader-0", "j0", {"id": "j0"}, 3.0 + n, 3.1 + n) for n in range(12)]
    result = check("no_torn_read", history(*versions_0_1_2(), *reads))
    assert result.valid is False and len(result.evidence) == 5
    assert len(result.problem_operations()) == 12


def test_a_job_with_no_tag_is_foreign_content() -> None:
    result = check(
        "no_torn_read",
        history(*versions_0_1_2(), read_returning("reader-0", "j0", {"id": "j0"}, 3.0, 3.1)),
    )
    assert result.valid is False
    assert result.counts["foreign"] == 1


def test_a_tag_no_writer_used_is_foreign_content() -> None:
    stranger = make_job("j0", "writer-9", 4, 64, random.Random(1))
    result = check(
        "no_torn_read",
        history(*versions_0_1_2(), read_returning("reader-0", "j0", stranger, 3.0, 3.1)),
    )
    assert result.counts["foreign"] == 1


def test_a_read_that_returned_no_dict_is_invalid() -> None:
    result = check(
        "no_torn_read",
        history(*versions_0_1_2(), read_returning("reader-0", "j0", "oops", 3.0, 3.1)),
    )
    assert result.valid is False
    assert result.counts["invalid"] == 1


def test_a_status_other_than_the_written_one_is_garbled() -> None:
    h = history(
        save("writer-0", "j0", 1, 1.0, 1.1, status="running"),
        read("reader-0", "j0", 1, 2.0, 2.1, status="done"),
    )
    assert check("no_torn_read", h).counts["garbled"] == 1


def test_a_read_killed_mid_call_is_not_a_torn_read() -> None:
    """Regression: an *info* read (no result) was once judged 'invalid' content."""
    killed = op(
        "reader-0",
        "get",
        "j0",
        3.0,
        3.5,
        None,
        None,
        INFO,
        "killed by nemesis: SIGKILL at a random time",
    )
    assert check("no_torn_read", history(*versions_0_1_2(), killed)).valid is True


# ---------------------------------------------------------------- acknowledged_writes_survive


def test_a_read_of_the_last_acknowledged_version_passes() -> None:
    h = history(
        *versions_0_1_2(),
        read("reader-0", "j0", 2, 3.0, 3.1),
        read("final", "j0", 2, 4.0, 4.1, final=True),
    )
    result = check("acknowledged_writes_survive", h)
    assert result.valid is True
    assert result.counts["final_reads"] == 1


def test_a_stale_read_after_an_acknowledged_write_is_caught() -> None:
    result = check(
        "acknowledged_writes_survive",
        history(*versions_0_1_2(), read("reader-0", "j0", 1, 3.0, 3.1)),
    )
    assert result.valid is False
    assert result.counts["stale"] == 1
    assert "writer-0#2" in result.evidence[0]


@pytest.mark.parametrize("seq", [1, 2])
def test_a_read_concurrent_with_a_write_may_return_either_version(seq: int) -> None:
    h = history(
        save("setup", "j0", 0, 0.0, 0.1),
        save("writer-0", "j0", 1, 1.0, 1.1),
        save("writer-0", "j0", 2, 2.0, 3.0),  # still running while the read looks
        read("reader-0", "j0", seq, 2.2, 2.4),
    )
    assert check("acknowledged_writes_survive", h).valid is True


@pytest.mark.parametrize("seq", [1, 2])
def test_an_info_write_may_or_may_not_be_visible(seq: int) -> None:
    h = history(
        save("setup", "j0", 0, 0.0, 0.1),
        save("writer-0", "j0", 1, 1.0, 1.1),
        save("writer-0", "j0", 2, 2.0, 2.1, kind=INFO),  # killed: outcome unknown
        read("reader-0", "j0", seq, 3.0, 3.1),
        read("final", "j0", seq, 4.0, 4.1, final=True),
    )
    assert check("acknowledged_writes_survive", h).valid is True


def test_an_info_write_does_not_excuse_a_version_older_than_the_acknowledged_one() -> None:
    h = history(
        save("setup", "j0", 0, 0.0, 0.1),
        save("writer-0", "j0", 1, 1.0, 1.1),
        save("writer-0", "j0", 2, 2.0, 2.1, kind=INFO),
        read("reader-0", "j0", 0, 3.0, 3.1),
    )
    assert check("acknowledged_writes_survive", h).counts["stale"] == 1


def test_a_value_from_the_future_is_caught() -> None:
    h = history(
        save("setup", "j0", 0, 0.0, 0.1),
        read("reader-0", "j0", 1, 0.5, 0.6),
        save("writer-0", "j0", 1, 1.0, 1.1),
    )
    assert check("acknowledged_writes_survive", h).counts["future"] == 1


def test_a_job_gone_after_an_acknowledged_write_is_lost() -> None:
    result = check(
        "acknowledged_writes_survive",
        history(*versions_0_1_2(), read("final", "j0", None, 3.0, 3.1, final=True)),
    )
    assert result.valid is False
    assert result.counts["lost"] == 1
    assert "for good" in result.summary


def test_an_error_dict_with_no_damage_is_an_unreadable_acknowledged_write() -> None:
    result = check(
        "acknowledged_writes_survive",
        history(*versions_0_1_2(), read_error("reader-0", "j0", 3.0, 3.1)),
    )
    assert result.counts["unreadable"] == 1


def test_a_final_read_that_raised_loses_the_job() -> None:
    raised = op(
        "final", "get", "j0", 3.0, 3.1, {"final": True}, {"raised": True}, FAIL, "OSError: EIO"
    )
    result = check("acknowledged_writes_survive", history(*versions_0_1_2(), raised))
    assert result.valid is False
    assert result.counts["raised"] == 1


def test_a_job_recovered_as_error_after_its_worker_died_is_not_garbled() -> None:
    h = history(
        save("worker-0", "j0", 1, 1.0, 1.1, status="running"),
        op("restart", "recover", None, 2.0, 2.1),
        read("final", "j0", 1, 3.0, 3.1, final=True, status="error"),
    )
    assert check("no_torn_read", h).valid is True
    assert check("acknowledged_writes_survive", h).valid is True


# ---------------------------------------------------------------- recovery_to_last_good


def test_recovery_is_not_applicable_without_damage() -> None:
    assert (
        check(
            "recovery_to_last_good", history(*versions_0_1_2(), read("reader-0", "j0", 2, 3.0, 3.1))
        ).valid
        is None
    )


def test_a_damaged_file_excuses_exactly_the_version_before_the_destroyed_one() -> None:
    h = history(
        *versions_0_1_2(), damage("j0", "main", 3.0, 3.01), read("reader-0", "j0", 1, 3.5, 3.6)
    )
    assert check("recovery_to_last_good", h).valid is True
    assert (
        check("acknowledged_writes_survive", h).valid is None
    )  # the only read is in the damage window


def test_a_damaged_file_does_not_excuse_an_older_version() -> None:
    h = history(
        *versions_0_1_2(), damage("j0", "main", 3.0, 3.01), read("reader-0", "j0", 0, 3.5, 3.6)
    )
    result = check("recovery_to_last_good", h)
    assert result.valid is False
    assert result.counts["older_than_backup"] == 1


def test_a_damage_that_spans_a_save_may_have_destroyed_the_new_version() -> None:
    """A bit flip reads the file, then writes a byte back by its path: a save that renamed its
    file in between got the flip. The version before *that* one is then a fair answer."""
    h = history(
        *versions_0_1_2(),
        damage("j0", "main", 3.0, 3.4, how="bitflip"),
        save("writer-0", "j0", 3, 3.1, 3.2),  # renamed in while the damage was under way
        read("reader-0", "j0", 2, 3.5, 3.6),
    )
    assert check("recovery_to_last_good", h).valid is True


def test_a_damage_that_spans_a_save_still_does_not_excuse_an_older_version() -> None:
    h = history(
        *versions_0_1_2(),
        damage("j0", "main", 3.0, 3.4, how="bitflip"),
        save("writer-0", "j0", 3, 3.1, 3.2),
        read("reader-0", "j0", 0, 3.5, 3.6),
    )
    result = check("recovery_to_last_good", h)
    assert result.valid is False
    assert result.counts["older_than_backup"] == 1


def test_a_damage_during_a_save_may_keep_the_older_backup() -> None:
    """The job file is damaged while a save is under way: a careful store does not rotate the
    damaged file into its backup, so after a second damage the backup holds the version from
    before the first one, and serving it is right."""
    h = history(
        *versions_0_1_2(),
        save("writer-0", "j0", 3, 3.0, 3.3),
        damage("j0", "main", 3.1, 3.15),  # version 2 destroyed while save 3 was in flight
        damage("j0", "main", 4.0, 4.01, how="bitflip"),  # version 3 destroyed
        read("reader-0", "j0", 1, 4.5, 4.6),
    )
    assert check("recovery_to_last_good", h).valid is True


def test_an_error_while_the_backup_is_intact_is_caught() -> None:
    h = history(
        *versions_0_1_2(), damage("j0", "main", 3.0, 3.01), read_error("reader-0", "j0", 3.5, 3.6)
    )
    result = check("recovery_to_last_good", h)
    assert result.valid is False
    assert result.counts["backup_not_used"] == 1


def test_a_read_that_raised_while_the_backup_is_intact_is_caught() -> None:
    raised = op(
        "reader-0", "get", "j0", 3.5, 3.6, None, {"raised": True}, FAIL, "ValueError: bad checksum"
    )
    result = check(
        "recovery_to_last_good", history(*versions_0_1_2(), damage("j0", "main", 3.0, 3.01), raised)
    )
    assert result.valid is False
    assert result.counts["backup_not_used"] == 1


def test_saves_that_each_found_the_job_file_damaged_leave_no_backup_to_recover_from() -> None:
    """Found by a hunt: the job file is damaged before every save, so no save had a good version
    to rotate into the backup, and a careful store has none; its error is honest."""
    h = history(
        save("setup", "j0", 0, 0.0, 0.1),
        damage("j0", "main", 1.0, 1.01),
        save("writer-0", "j0", 1, 1.5, 1.6),  # the damaged version 0 is not rotated
        damage("j0", "main", 2.0, 2.01),
        save("writer-0", "j0", 2, 2.5, 2.6),
        damage("j0", "main", 3.0, 3.01),
        read_error("reader-0", "j0", 3.5, 3.6, "job j0: job file damaged; backup missing"),
    )
    assert check("recovery_to_last_good", h).valid is True


def test_one_save_that_found_the_job_file_intact_makes_a_backup_to_recover_from() -> None:
    h = history(
        *versions_0_1_2(),  # save 2 rotated the intact version 1 into the backup
        damage("j0", "main", 2.5, 2.51),
        save("writer-0", "j0", 3, 2.7, 2.8),  # found the job file damaged: the backup stays 1
        damage("j0", "main", 3.0, 3.01),
        read_error("reader-0", "j0", 3.5, 3.6),
    )
    result = check("recovery_to_last_good", h)
    assert result.valid is False
    assert result.counts["backup_not_used"] == 1


def test_with_both_copies_damaged_an_error_is_accepted() -> None:
    h = history(
        *versions_0_1_2(), damage("j0", "both", 3.0, 3.01), read_error("reader-0", "j0", 3.5, 3.6)
    )
    assert check("recovery_to_last_good", h).valid is True


def test_with_both_copies_damaged_an_older_version_is_accepted() -> None:
    h = history(
        *versions_0_1_2(), damage("j0", "both", 3.0, 3.01), read("reader-0", "j0", 0, 3.5, 3.6)
    )
    assert check("recovery_to_last_good", h).valid is True


def test_damage_to_the_first_version_accepts_an_error() -> None:
    h = history(
        save("setup", "j0", 0, 0.0, 0.1),
        damage("j0", "main", 1.0, 1.01),
        read_error("reader-0", "j0", 1.5, 1.6),
    )
    assert check("recovery_to_last_good", h).valid is True


def test_a_store_without_backup_files_is_reported_as_keeping_none() -> None:
    layout = event("setup", 0.0, None, {"paths": {"j0": ["main"]}})
    h = history(
        layout,
        *versions_0_1_2(),
        damage("j0", "main", 3.0, 3.01),
        read_error("reader-0", "j0", 3.5, 3.6),
    )
    result = check("recovery_to_last_good", h)
    assert result.valid is False
    assert result.counts["no_backup"] == 1


def test_a_save_after_the_damage_closes_the_damage_window() -> None:
    h = history(
        *versions_0_1_2(),
        damage("j0", "main", 3.0, 3.01),
        save("writer-0", "j0", 3, 4.0, 4.1),
        read("reader-0", "j0", 1, 5.0, 5.1),  # the backup's version, after a newer save
    )
    assert check("acknowledged_writes_survive", h).counts["stale"] == 1


def test_a_second_damage_before_a_save_may_fall_back_past_the_destroyed_version() -> None:
    h = history(
        *versions_0_1_2(),
        damage("j0", "main", 3.0, 3.01),  # destroys 2; the backup holds 1
        save(
            "writer-0", "j0", 3, 4.0, 4.1
        ),  # replaces a damaged file: a careful store keeps 1 as backup
        damage("j0", "main", 5.0, 5.01),  # destroys 3
        read("reader-0", "j0", 1, 5.5, 5.6),
    )
    assert check("recovery_to_last_good", h).valid is True


def test_a_read_that_ends_while_the_damage_is_being_applied_may_see_it() -> None:
    """Regression: damage was dated at its completion, though the nemesis changes the file
    first; a correct store's read in between was judged stale (seen with hardened)."""
    h = history(
        *versions_0_1_2(),
        damage("j0", "main", 3.0, 3.2),  # the file is changed at some instant in [3.0, 3.2]
        read("reader-0", "j0", 1, 3.05, 3.1),  # ... and this read saw it: the backup's version
    )
    assert check("acknowledged_writes_survive", h).valid in (True, None)


def test_one_save_after_both_copies_were_damaged_does_not_restore_the_backup() -> None:
    """A save over a damaged job file has no good version to rotate into the backup."""
    h = history(
        *versions_0_1_2(),
        damage("j0", "both", 3.0, 3.01),  # destroys 2 and the backup (1)
        save("writer-0", "j0", 3, 4.0, 4.1),  # job file 3; backup still the damaged copy
        damage("j0", "main", 5.0, 5.01),  # destroys 3: no intact version is left
        read_error("reader-0", "j0", 5.5, 5.6),
    )
    assert check("recovery_to_last_good", h).valid is True


def test_a_damage_during_a_save_may_be_rotated_into_the_backup() -> None:
    """Regression: the save in flight renames the freshly damaged job file to the backup, so
    a read between its two renames finds no intact copy (seen with hardened)."""
    h = history(
        save("setup", "j0", 0, 0.0, 0.1),
        save("writer-0", "j0", 1, 1.0, 1.1),
        save("writer-0", "j0", 2, 2.0, 2.5),  # read the job file at 2.0, rotates it at 2.4
        damage("j0", "main", 2.1, 2.11),  # destroys 1 before the rotation
        read_error("reader-0", "j0", 2.42, 2.43),  # job file gone, backup damaged
    )
    assert check("recovery_to_last_good", h).valid is True


def test_a_backup_damaged_just_after_the_job_file_excuses_an_error() -> None:
    """Regression: two faults a moment apart, the job file then the backup; a read after both
    finds no intact copy, which the model once missed (it only looked at earlier damage)."""
    h = history(
        *versions_0_1_2(),
        damage("j0", "main", 3.0, 3.01),
        damage("j0", "backup", 3.02, 3.03),
        read_error("reader-0", "j0", 3.04, 3.05),
    )
    assert check("recovery_to_last_good", h).valid is True


def test_a_backup_damaged_after_the_read_does_not_excuse_its_error() -> None:
    h = history(
        *versions_0_1_2(),
        damage("j0", "main", 3.0, 3.01),
        read_error("reader-0", "j0", 3.04, 3.05),
        damage("j0", "backup", 3.2, 3.21),
    )
    result = check("recovery_to_last_good", h)
    assert result.valid is False and "backup_not_used" in result.summary


# ---------------------------------------------------------------- no_lost_update


def fields_read(
    process: str, job: str, start: float, end: float, fields: dict[str, Any], final: bool = False
) -> Pair:
    result = summarize_read(dict(job_of(job, 0), **fields), tuple(fields))
    return op(process, "get", job, start, end, {"final": True} if final else None, result)


def update(
    process: str, job: str, name: str, seq: int, start: float, end: float, kind: str = OK
) -> Pair:
    return op(process, "update", job, start, end, {"changes": {name: seq}}, None, kind)


def test_updates_all_present_pass_no_lost_update() -> None:
    h = history(
        save("setup", "j0", 0, 0.0, 0.1),
        update("updater-0", "j0", "u0", 1, 1.0, 1.1),
        update("updater-1", "j0", "u1", 1, 1.0, 1.2),
        fields_read("final", "j0", 2.0, 2.1, {"u0": 1, "u1": 1}, final=True),
    )
    assert check("no_lost_update", h).valid is True


def test_a_field_update_lost_by_a_concurrent_update_is_caught() -> None:
    h = history(
        save("setup", "j0", 0, 0.0, 0.1),
        update("updater-0", "j0", "u0", 1, 1.0, 1.1),
        update("updater-1", "j0", "u1", 1, 1.0, 1.2),
        fields_read("final", "j0", 2.0, 2.1, {"u0": 1, "u1": None}, final=True),
    )
    result = check("no_lost_update", h)
    assert result.valid is False
    assert "u1=None" in result.evidence[0]
    assert "lost for good" in result.summary


def test_a_save_after_an_update_replaces_it_legitimately() -> None:
    """save_job replaces the whole job: an update it followed is gone, not lost (a false alarm
    jobharness hunt found with one writer and one updater); a later update must stay."""
    replaced = history(
        save("setup", "j0", 0, 0.0, 0.1),
        update("updater-0", "j0", "u0", 1, 1.0, 1.1),
        save("writer-0", "j0", 1, 1.5, 1.6),
        fields_read("final", "j0", 2.0, 2.1, {"u0": None}, final=True),
    )
    assert check("no_lost_update", replaced).valid is True
    updated_again = history(
        save("setup", "j0", 0, 0.0, 0.1),
        update("updater-0", "j0", "u0", 1, 1.0, 1.1),
        save("writer-0", "j0", 1, 1.5, 1.6),
        update("updater-0", "j0", "u0", 2, 1.7, 1.8),
        fields_read("final", "j0", 2.0, 2.1, {"u0": None}, final=True),
    )
    assert check("no_lost_update", updated_again).valid is False


def test_an_update_whose_version_a_damage_destroyed_is_gone_with_it() -> None:
    """Found by a hunt of the hardened store: an update, then its job file deleted; the store
    served the backup, the version before the update. A later update of another field carries
    the first one along, so a damage after it must not excuse the first; nor does a damage of
    the backup alone."""
    destroyed = history(
        save("setup", "j0", 0, 0.0, 0.1),
        update("updater-0", "j0", "u0", 1, 1.0, 1.1),
        damage("j0", "main", 1.5, 1.51, how="delete"),
        fields_read("final", "j0", 2.0, 2.1, {"u0": None}, final=True),
    )
    assert check("no_lost_update", destroyed).valid is True
    carried = history(
        save("setup", "j0", 0, 0.0, 0.1),
        update("updater-0", "j0", "u0", 1, 1.0, 1.1),
        update("updater-1", "j0", "u1", 1, 1.2, 1.3),  # its version holds u0=1 too
        damage("j0", "main", 1.5, 1.51, how="delete"),
        fields_read("final", "j0", 2.0, 2.1, {"u0": None, "u1": None}, final=True),
    )
    result = check("no_lost_update", carried)
    assert result.valid is False
    assert "u0=None" in result.evidence[0] and len(result.evidence) == 1
    backup_only = history(
        save("setup", "j0", 0, 0.0, 0.1),
        update("updater-0", "j0", "u0", 1, 1.0, 1.1),
        damage("j0", "backup", 1.5, 1.51),
        fields_read("final", "j0", 2.0, 2.1, {"u0": None}, final=True),
    )
    assert check("no_lost_update", backup_only).valid is False


def test_an_older_value_of_a_field_is_a_lost_update() -> None:
    h = history(
        save("setup", "j0", 0, 0.0, 0.1),
        update("updater-0", "j0", "u0", 1, 1.0, 1.1),
        update("updater-0", "j0", "u0", 2, 2.0, 2.1),
        fields_read("reader-0", "j0", 3.0, 3.1, {"u0": 1}),
    )
    assert check("no_lost_update", h).valid is False


def test_an_update_still_running_when_the_read_began_may_be_missing() -> None:
    h = history(
        save("setup", "j0", 0, 0.0, 0.1),
        update("updater-0", "j0", "u0", 1, 1.0, 3.0),
        fields_read("reader-0", "j0", 2.0, 2.1, {"u0": None}),
    )
    assert check("no_lost_update", h).valid is True


def test_an_update_that_raised_may_be_missing() -> None:
    h = history(
        save("setup", "j0", 0, 0.0, 0.1),
        update("updater-0", "j0", "u0", 1, 1.0, 1.1, kind=INFO),
        fields_read("final", "j0", 2.0, 2.1, {"u0": None}, final=True),
    )
    assert check("no_lost_update", h).valid is True


# ---------------------------------------------------------------- terminal_state


def worker_run(final_status: str | None, with_recover: bool = True, killed: bool = True) -> History:
    pairs = [
        event("scenario", 0.0, {"roles": ["worker", "reader"]}),
        save("worker-0", "w0-0", 1, 1.0, 1.1, status="running"),
    ]
    if killed:
        pairs.append(event("kill", 1.5, {"process": "worker-0"}))
    if with_recover:
        pairs.append(op("restart", "recover", None, 2.0, 2.1))
    else:
        pairs.append(
            op("restart", "recover", None, 2.0, 2.0, {"absent": True}, {"absent": True}, FAIL)
        )
    seq = None if final_status is None else 1
    pairs.append(read("final", "w0-0", seq, 3.0, 3.1, final=True, status=final_status))
    return history(*pairs)


def test_a_job_stuck_running_after_the_restart_is_caught() -> None:
    result = check("terminal_state", worker_run("running"))
    assert result.valid is False
    assert result.counts["stuck_running"] == 1


def test_a_store_without_recover_is_named_when_a_job_is_stuck() -> None:
    result = check("terminal_state", worker_run("running", with_recover=False))
    assert result.valid is False
    assert "no recover()" in result.summary


@pytest.mark.parametrize("status", ["done", "error"])
def test_jobs_done_or_error_after_the_restart_pass(status: str) -> None:
    assert check("terminal_state", worker_run(status)).valid is True


def test_a_job_never_created_is_not_stuck() -> None:
    assert check("terminal_state", worker_run(None)).valid is True


def test_terminal_state_proves_nothing_when_no_worker_was_killed() -> None:
    assert check("terminal_state", worker_run("running", killed=False)).valid is None


# ---------------------------------------------------------------- no_litter


@pytest.mark.parametrize(
    "name",
    [
        ".j0.json.a1b2c3.tmp",
        "j0.json.tmp",
        "j0.tmp.3",
        ".tmpXYZ",
        "j0.json~",
        "j0.part",
        ".j0.json.swp",
        "x.temp",
    ],
)
def test_temporary_names_are_litter(name: str) -> None:
    assert is_temp_name(name)
    assert is_temp_name(f"sub/{name}")


@pytest.mark.parametrize(
    "name", ["j0.json", "j0.json.bak", ".locks/07.lock", "jobs.db-wal", "tmp/j0.json"]
)
def test_job_backup_lock_and_database_files_are_not_litter(name: str) -> None:
    assert not is_temp_name(name)


def inventory(*paths: str) -> Pair:
    return event("inventory", 9.0, None, {"files": [{"path": path, "size": 10} for path in paths]})


def test_a_temp_file_left_after_the_restart_is_caught() -> None:
    result = check(
        "no_litter",
        history(op("restart", "recover", None, 1.0, 1.1), inventory("j0.json", ".j0.json.ab.tmp")),
    )
    assert result.valid is False
    assert result.evidence == (".j0.json.ab.tmp",)
    assert "recover() left them" in result.summary


def test_a_clean_store_directory_passes_no_litter() -> None:
    assert (
        check("no_litter", history(inventory("j0.json", "j0.json.bak", ".locks/j0.lock"))).valid
        is True
    )


def test_no_litter_is_not_applicable_without_an_inventory() -> None:
    assert check("no_litter", history(*versions_0_1_2())).valid is None


# ---------------------------------------------------------------- clear_errors


@pytest.mark.parametrize(
    "message", ["", "error", "Error.", "  unknown ", "failed", "oops", None, 42]
)
def test_vague_messages_are_not_clear(message: object) -> None:
    assert not is_clear(message)


@pytest.mark.parametrize(
    "message",
    ["job file is damaged: checksum mismatch; backup missing", "No space left on device (ENOSPC)"],
)
def test_messages_naming_a_cause_are_clear(message: str) -> None:
    assert is_clear(message)


def test_an_error_dict_with_a_vague_message_is_caught() -> None:
    result = check(
        "clear_errors", history(*versions_0_1_2(), read_error("reader-0", "j0", 3.0, 3.1, "error"))
    )
    assert result.valid is False
    assert "'error'" in result.evidence[0]


def test_an_error_dict_naming_its_cause_passes() -> None:
    assert (
        check(
            "clear_errors", history(*versions_0_1_2(), read_error("reader-0", "j0", 3.0, 3.1))
        ).valid
        is True
    )


def test_a_failed_job_must_name_its_cause() -> None:
    failed = dict(job_of("j0", 1, "error"), error="")
    h = history(
        save("worker-0", "j0", 1, 1.0, 1.1, status="running"),
        read_returning("final", "j0", failed, 2.0, 2.1, True),
    )
    assert check("clear_errors", h).valid is False


@pytest.mark.parametrize(
    ("message", "clear"),
    [
        ("DurabilityError: could not save the job", False),
        ("OSError: [Errno 28] No space left on device: '/data/.j0.json.5f.tmp'", True),
        ("OSError: [Errno 28] No space left on device", False),  # which job?
    ],
)
def test_a_write_raised_under_enospc_must_say_so(message: str, clear: bool) -> None:
    h = history(
        event("diskfault", 0.5, {"process": "writer-0", "error": "ENOSPC"}),
        op(
            "writer-0",
            "save",
            "j0",
            1.0,
            1.1,
            write_record(job_of("j0", 1)),
            {"raised": True},
            INFO,
            message,
        ),
        event("diskfault-end", 2.0, {"process": "writer-0"}),
    )
    assert check("clear_errors", h).valid is clear


def test_not_found_for_a_job_not_yet_created_need_not_name_an_injected_fault() -> None:
    """Under ENOSPC, an update of a job no one has saved yet says "does not exist": clear, and
    not caused by the fault (hunt found this false alarm beside workers)."""
    h = history(
        event("diskfault", 0.5, {"process": "updater-0", "error": "ENOSPC"}),
        op("updater-0", "update", "j1", 1.0, 1.1, {"changes": {"u0": 1}}, {"raised": True},
           INFO, "JobNotFoundError: job 'j1' does not exist"),
        event("diskfault-end", 2.0, {"process": "updater-0"}),
        save("worker-0", "j1", 0, 2.5, 2.6),
    )  # fmt: skip
    assert check("clear_errors", h).valid is True


def test_clear_errors_is_not_applicable_when_no_error_was_reported() -> None:
    assert check("clear_errors", history(*versions_0_1_2())).valid is None


# ------------------------------------------------- latency, crash_consistency, performance_budget


def test_latency_reports_figures_and_never_fails() -> None:
    h = history(*versions_0_1_2(), read("reader-0", "j0", 2, 3.0, 3.5))
    result = check("latency", h)
    assert result.valid is True
    assert {"save", "get"} <= set(result.figures)


def crash_state(acknowledged: bool, got: object) -> Pair:
    old, new = write_record(job_of("j0", 1)), write_record(job_of("j0", 2))
    value = {
        "old": old,
        "new": new,
        "acknowledged": acknowledged,
        "point": "after fsync #2",
        "state": "dir entry undone",
    }
    return op("powerloss", "crash_state", "j0", 1.0, 1.1, value, {"read": summarize_read(got)})


@pytest.mark.parametrize(("acknowledged", "seq"), [(True, 2), (False, 1), (False, 2)])
def test_a_power_cut_may_leave_the_old_version_only_before_the_write_returned(
    acknowledged: bool, seq: int
) -> None:
    assert (
        check("crash_consistency", history(crash_state(acknowledged, job_of("j0", seq)))).valid
        is True
    )


def test_an_acknowledged_write_lost_to_a_power_cut_is_caught() -> None:
    result = check("crash_consistency", history(crash_state(True, job_of("j0", 1))))
    assert result.valid is False
    assert result.counts["acknowledged write lost"] == 1


def test_content_nobody_wrote_after_a_power_cut_is_caught() -> None:
    result = check(
        "crash_consistency", history(crash_state(False, {"id": "j0", "written_by": ["x", 1]}))
    )
    assert result.counts["content nobody wrote"] == 1


def timed(name: str, at: float, milliseconds: float) -> Pair:
    return op("timer-0", name, "t0", at, at + milliseconds / 1000, elapsed=milliseconds / 1000)


def latency_run(get_ms: float) -> History:
    pairs = []
    for round_number in range(20):
        at = round_number * 1.0
        pairs += [
            timed("floor_write", at, 1.0),
            timed("save", at + 0.1, 1.2),
            timed("naive_save", at + 0.2, 0.1),
            timed("floor_read", at + 0.3, 0.05),
            timed("get", at + 0.4, get_ms),
            timed("naive_get", at + 0.5, 0.04),
        ]
    return history(*pairs)


def test_a_read_within_the_budget_passes_performance_budget() -> None:
    assert check("performance_budget", latency_run(0.06)).valid is True


def test_a_read_far_over_its_floor_fails_performance_budget() -> None:
    result = check("performance_budget", latency_run(5.0))
    assert result.valid is False
    assert "get p50" in result.evidence[0]


# ---------------------------------------------------------------- a checker that crashes


def malformed_history() -> History:
    """A save whose tag is a number: the read checkers cannot build their model from it."""
    return history(
        op("writer-0", "save", "j0", 1.0, 1.1, {"tag": 5, "digest": "x"}),
        read("reader-0", "j0", 1, 2.0, 2.1),
    )


def test_a_crashed_checker_yields_an_unknown_verdict() -> None:
    result = run_checker("no_torn_read", malformed_history())
    assert result.crashed is True
    assert result.valid is None
    assert result.summary.startswith("checker crashed: TypeError")
    assert result.evidence  # the end of the traceback, for the report


def test_criteria_treat_a_crashed_checker_as_unknown_never_as_a_pass() -> None:
    crashed = run_checker("no_torn_read", malformed_history())
    c6 = next(criterion for criterion in CRITERIA if criterion.id == "C6")
    verdict = evaluate(
        c6, [ScenarioChecks("writers", ("writer", "reader"), {"no_torn_read": crashed})]
    )
    assert verdict.status == "unknown"
    assert verdict.passed is None
    assert "checker crashed" in verdict.summary


def test_a_checker_with_nothing_to_judge_leaves_its_criterion_unknown() -> None:
    nothing = CheckResult("no_torn_read", None, "no reads in this history")
    c6 = next(criterion for criterion in CRITERIA if criterion.id == "C6")
    verdict = evaluate(c6, [ScenarioChecks("writers", ("writer",), {"no_torn_read": nothing})])
    assert verdict.status == "unknown"
    assert "no reads in this history" in verdict.summary


# ---------------------------------------------------------------- what checkers may import

# The history model, and arithmetic on it (percentiles: harness.stats imports nothing).
# The history model: records, the write tags, percentiles, and the fault vocabulary of a history
# (harness.history.fault_windows reads fault events and imports only harness.history.log itself).
CHECKER_IMPORTS = (
    "harness.history.log",
    "harness.history.fault_windows",
    "harness.workload.payload",
    "harness.stats",
    "harness.checkers",
)
HARNESS = Path(__file__).resolve().parent.parent / "harness"


def harness_imports(path: Path) -> set[str]:
    """Every harness module ``path`` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return {name for name in found if name.split(".")[0] == "harness"}


def source_of(module: str) -> Path:
    path = HARNESS.parent / Path(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def test_checkers_import_only_the_history_model() -> None:
    """So a saved run can always be re-judged: no runner, nemesis, report or results, not even
    through the modules a checker imports."""
    seen: set[str] = set()
    waiting = [f"harness.checkers.{path.stem}" for path in (HARNESS / "checkers").glob("*.py")]
    while waiting:
        module = waiting.pop()
        if module not in seen and source_of(module).is_file():
            seen.add(module)
            waiting.extend(harness_imports(source_of(module)))
    outside = {
        name
        for name in seen
        if not any(name == allowed or name.startswith(allowed + ".") for allowed in CHECKER_IMPORTS)
    }
    assert len(seen) > 15 and outside == set()
    assert harness_imports(HARNESS / "suite.py") - set(CHECKER_IMPORTS), (
        "the finder must see imports outside the history model"
    )
