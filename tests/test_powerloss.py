"""Power-loss exploration: the persistence model on hand-written traces, the strace parser on real
output, the crash-consistency checker on literal histories, and the whole exploration end to end.

Traces in the model tests are written the way ``strace -f -y`` prints them without ``-xx`` (plain
strings are easier to read); the parser tests use lines copied from real ``-xx`` output.
"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path
from typing import Any

import pytest

from harness.checkers import run_checker
from harness.errors import ScenarioError
from harness.history.log import History, Record
from harness.nemesis.powerloss import PowerLossOptions
from harness.nemesis.powerloss.check_pool import check_states
from harness.nemesis.powerloss.crash_states import CrashState, enumerate_crash_states
from harness.nemesis.powerloss.operation_trace import Baseline, OpenFile
from harness.nemesis.powerloss.replay import model_trace
from harness.nemesis.powerloss.strace_log import TraceModelError, parse_strace
from harness.nemesis.syscalls import can_inject
from harness.runner import run_scenario
from harness.scenario.loader import Scenario, load_scenario

ROOT = "/r"
SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "power-loss.toml"


def explore(
    trace_text: str,
    files: dict[str, bytes],
    *,
    returned: bool = True,
    max_states: int = 400,
    open_files: dict[int, OpenFile] | None = None,
) -> list[CrashState]:
    baseline = Baseline(dict(files), {""}, open_files or {})
    trace = model_trace(parse_strace(trace_text), [ROOT], baseline)
    exploration = enumerate_crash_states(
        trace, returned=returned, max_states=max_states, rng=random.Random(7)
    )
    return exploration.states


def acknowledged(states: list[CrashState]) -> list[dict[str, bytes]]:
    return [dict(state.files) for state in states if state.acknowledged]


# The incident's phase 4.7.0 save: temp file, fsync, rename; no fsync of the directory.
SEED_SAVE = """\
9 openat(AT_FDCWD</w>, "/r/a.json.tmp", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0666) = 3</r/a.json.tmp>
9 write(3</r/a.json.tmp>, "new", 3) = 3
9 fsync(3</r/a.json.tmp>) = 0
9 close(3</r/a.json.tmp>) = 0
9 rename("/r/a.json.tmp", "/r/a.json") = 0
"""
DIRECTORY_FSYNC = """\
9 openat(AT_FDCWD</w>, "/r", O_RDONLY|O_CLOEXEC|O_DIRECTORY) = 4</r>
9 fsync(4</r>) = 0
9 close(4</r>) = 0
"""
# The hardened save: unique temp, fsync, current file to .bak, temp over it, fsync the directory.
HARDENED_SAVE = (
    """\
9 openat(AT_FDCWD</w>, "/r/.a.json.x1.tmp", O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC, 0644) = 3</r/.a.json.x1.tmp>
9 write(3</r/.a.json.x1.tmp>, "new", 3) = 3
9 fsync(3</r/.a.json.x1.tmp>) = 0
9 close(3</r/.a.json.x1.tmp>) = 0
9 rename("/r/a.json", "/r/a.json.bak") = 0
9 rename("/r/.a.json.x1.tmp", "/r/a.json") = 0
"""
    + DIRECTORY_FSYNC
)


# ---------------------------------------------------------------- the persistence model


def test_rename_without_a_directory_fsync_can_be_undone() -> None:
    states = explore(SEED_SAVE, {"a.json": b"old"})
    after_return = acknowledged(states)
    assert {"a.json": b"new"} in after_return
    assert any(files.get("a.json") == b"old" for files in after_return)  # the lost write


def test_a_directory_fsync_makes_earlier_renames_durable() -> None:
    states = explore(SEED_SAVE + DIRECTORY_FSYNC, {"a.json": b"old"})
    assert acknowledged(states) == [{"a.json": b"new"}]


def test_data_written_after_the_last_fsync_may_be_lost_or_torn() -> None:
    naive = """\
9 openat(AT_FDCWD</w>, "/r/a.json", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0666) = 3</r/a.json>
9 write(3</r/a.json>, "0123456789", 10) = 10
9 close(3</r/a.json>) = 0
"""
    contents = {files["a.json"] for files in acknowledged(explore(naive, {"a.json": b"old"}))}
    assert contents == {b"old", b"", b"01234", bytes(10), b"0123456789"}


def test_an_fsynced_file_renamed_and_dir_fsynced_survives() -> None:
    states = explore(HARDENED_SAVE, {"a.json": b"old", "a.json.bak": b"older"})
    assert acknowledged(states) == [{"a.json": b"new", "a.json.bak": b"old"}]
    for state in states:  # before the return: the old version, or it as the complete backup
        files = state.files
        assert files.get("a.json") in (b"old", b"new") or files["a.json.bak"] == b"old"


def test_fsync_of_a_file_does_not_make_its_name_durable() -> None:
    create = """\
9 openat(AT_FDCWD</w>, "/r/b.json", O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC, 0644) = 3</r/b.json>
9 write(3</r/b.json>, "data", 4) = 4
9 fsync(3</r/b.json>) = 0
9 close(3</r/b.json>) = 0
"""
    after_return = acknowledged(explore(create, {}))
    assert after_return == [{}, {"b.json": b"data"}]


def test_a_new_file_never_fsynced_may_be_empty() -> None:
    create = (
        """\
9 openat(AT_FDCWD</w>, "/r/b.json", O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC, 0644) = 3</r/b.json>
9 write(3</r/b.json>, "data", 4) = 4
9 close(3</r/b.json>) = 0
"""
        + DIRECTORY_FSYNC
    )
    assert {"b.json": b""} in acknowledged(explore(create, {}))


def test_a_crash_may_come_before_the_first_call() -> None:
    states = explore(SEED_SAVE + DIRECTORY_FSYNC, {"a.json": b"old"})
    assert states[0].point == 0 and dict(states[0].files) == {"a.json": b"old"}
    assert not states[0].acknowledged


def test_nothing_is_acknowledged_when_the_operation_raised() -> None:
    states = explore(SEED_SAVE + DIRECTORY_FSYNC, {"a.json": b"old"}, returned=False)
    assert not any(state.acknowledged for state in states)


def test_states_are_deduplicated_and_capped_keeping_the_extremes() -> None:
    writes = "".join(f'9 write(3</r/log>, "record-{n}", 8) = 8\n' for n in range(6))
    trace_text = (
        '9 openat(AT_FDCWD</w>, "/r/log", O_WRONLY|O_CREAT|O_APPEND, 0644) = 3</r/log>\n'
        + writes
        + '9 openat(AT_FDCWD</w>, "/r/other", O_WRONLY|O_CREAT, 0644) = 4</r/other>\n'
        + "".join(f'9 write(4</r/other>, "x{n}", 2) = 2\n' for n in range(6))
    )
    baseline = Baseline({}, {""})
    trace = model_trace(parse_strace(trace_text), [ROOT], baseline)
    everything = enumerate_crash_states(
        trace, returned=True, max_states=100_000, rng=random.Random(1)
    )
    capped = enumerate_crash_states(trace, returned=True, max_states=20, rng=random.Random(1))
    again = enumerate_crash_states(trace, returned=True, max_states=20, rng=random.Random(1))
    keys = [state.key() for state in everything.states]
    assert len(keys) == len(set(keys))
    assert capped.sampled_out == capped.distinct - len(capped.states) > 0
    extremes = {state.key() for state in everything.states if state.extreme}
    assert extremes <= {state.key() for state in capped.states}
    assert [s.key() for s in capped.states] == [s.key() for s in again.states]  # seeded


def test_shared_memory_files_are_left_out() -> None:
    sqlite_like = """\
9 pwrite64(5</r/jobs.db-shm>, "\\x00", 1, 32767) = 1
9 pwrite64(4</r/jobs.db-wal>, "frame", 5, 0) = 5
9 fdatasync(4</r/jobs.db-wal>) = 0
"""
    open_files = {4: OpenFile("jobs.db-wal"), 6: OpenFile("jobs.db")}
    states = explore(sqlite_like, {"jobs.db": b"db", "jobs.db-wal": b""}, open_files=open_files)
    assert acknowledged(states) == [{"jobs.db": b"db", "jobs.db-wal": b"frame"}]


def test_a_descriptor_opened_before_the_trace_needs_its_position() -> None:
    with pytest.raises(TraceModelError, match="open descriptors"):
        explore('9 write(4</r/jobs.db-wal>, "frame", 5) = 5\n', {"jobs.db-wal": b"head"})
    states = explore(
        '9 write(4</r/jobs.db-wal>, "frame", 5) = 5\n',
        {"jobs.db-wal": b"head"},
        open_files={4: OpenFile("jobs.db-wal", position=4)},
    )
    assert {"jobs.db-wal": b"headframe"} in acknowledged(states)


def test_a_truncated_buffer_is_an_error_not_a_guess() -> None:
    with pytest.raises(TraceModelError, match="-s limit"):
        explore(
            '9 openat(AT_FDCWD</w>, "/r/a", O_WRONLY|O_CREAT, 0644) = 3</r/a>\n'
            '9 write(3</r/a>, "abc"..., 100) = 100\n',
            {},
        )


def test_calls_outside_the_store_are_ignored() -> None:
    trace_text = (
        '9 openat(AT_FDCWD</w>, "/usr/lib/x.py", O_RDONLY|O_CLOEXEC) = 3</usr/lib/x.py>\n'
        '9 write(1<pipe:[77]>, "log line", 8) = 8\n'
        "9 close(3</usr/lib/x.py>) = 0\n"
    )
    baseline = Baseline({"a.json": b"old"}, {""})
    trace = model_trace(parse_strace(trace_text), [ROOT], baseline)
    assert trace.calls == []


# ---------------------------------------------------------------- the strace parser

# Real `strace -f -y -xx` output of a hardened-style save under /tmp/s, then shutil.copyfile.
REAL_TRACE = r"""26919 openat(AT_FDCWD<\x2f\x74\x6d\x70\x2f\x73>, "\x2f\x74\x6d\x70\x2f\x73\x2f\x62", O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC, 0644) = 3<\x2f\x74\x6d\x70\x2f\x73\x2f\x62>
26919 write(3<\x2f\x74\x6d\x70\x2f\x73\x2f\x62>, "\x7b\x22\x76\x22\x3a\x32\x7d\x0a", 8) = 8
26919 fsync(3<\x2f\x74\x6d\x70\x2f\x73\x2f\x62>) = 0
26919 close(3<\x2f\x74\x6d\x70\x2f\x73\x2f\x62>) = 0
26919 rename("\x2f\x74\x6d\x70\x2f\x73\x2f\x61", "\x2f\x74\x6d\x70\x2f\x73\x2f\x61\x2e\x62\x61\x6b") = 0
26919 rename("\x2f\x74\x6d\x70\x2f\x73\x2f\x62", "\x2f\x74\x6d\x70\x2f\x73\x2f\x61") = 0
26919 openat(AT_FDCWD<\x2f\x74\x6d\x70\x2f\x73>, "\x2f\x74\x6d\x70\x2f\x73", O_RDONLY|O_CLOEXEC|O_DIRECTORY) = 3<\x2f\x74\x6d\x70\x2f\x73>
26919 fsync(3<\x2f\x74\x6d\x70\x2f\x73>) = 0
26919 close(3<\x2f\x74\x6d\x70\x2f\x73>) = 0
26919 openat(AT_FDCWD<\x2f\x74\x6d\x70\x2f\x73>, "\x2f\x74\x6d\x70\x2f\x73\x2f\x61", O_RDONLY|O_CLOEXEC) = 3<\x2f\x74\x6d\x70\x2f\x73\x2f\x61>
26919 lseek(3<\x2f\x74\x6d\x70\x2f\x73\x2f\x61>, 0, SEEK_CUR) = 0
26919 openat(AT_FDCWD<\x2f\x74\x6d\x70\x2f\x73>, "\x2f\x74\x6d\x70\x2f\x73\x2f\x63", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0666) = 4<\x2f\x74\x6d\x70\x2f\x73\x2f\x63>
26919 lseek(4<\x2f\x74\x6d\x70\x2f\x73\x2f\x63>, 0, SEEK_CUR) = 0
26919 sendfile(4<\x2f\x74\x6d\x70\x2f\x73\x2f\x63>, 3<\x2f\x74\x6d\x70\x2f\x73\x2f\x61>, [0] => [8], 8388608) = 8
26919 sendfile(4<\x2f\x74\x6d\x70\x2f\x73\x2f\x63>, 3<\x2f\x74\x6d\x70\x2f\x73\x2f\x61>, [8], 8388608) = 0
26919 close(4<\x2f\x74\x6d\x70\x2f\x73\x2f\x63>) = 0
26919 close(3<\x2f\x74\x6d\x70\x2f\x73\x2f\x61>) = 0
26919 openat(AT_FDCWD<\x2f\x74\x6d\x70\x2f\x73>, "\x2f\x74\x6d\x70\x2f\x6d\x61\x72\x6b", O_RDONLY|O_CLOEXEC) = -1 ENOENT (No such file or directory)
"""  # noqa: E501


def test_the_parser_reads_real_strace_output() -> None:
    calls = parse_strace(REAL_TRACE)
    assert [call.name for call in calls[:3]] == ["openat", "write", "fsync"]
    assert calls[0].result == 3 and calls[0].annotation == "/tmp/s/b"
    assert calls[-1].failed and calls[-1].error == "ENOENT"
    assert calls[13].args[2] == "[0] => [8]"


def test_a_real_trace_replays_to_what_the_disk_held() -> None:
    baseline = Baseline({"a": b"old"}, {""})
    trace = model_trace(parse_strace(REAL_TRACE), ["/tmp/s"], baseline)
    assert trace.final_files() == {"a": b'{"v":2}\n', "a.bak": b"old", "c": b'{"v":2}\n'}
    labels = [call.label for call in trace.calls]
    assert "rename(b -> a)" in labels and "fsync(./)" in labels
    assert "sendfile(c <- a, 8 B at 0)" in labels


def test_interrupted_calls_are_joined() -> None:
    text = (
        '7 write(3</r/a>, "ab", 2 <unfinished ...>\n'
        "8 fsync(4</r/b>) = 0\n"
        "7 <... write resumed>) = 2\n"
        "--- SIGCHLD {si_signo=SIGCHLD} ---\n"
    )
    calls = parse_strace(text)
    assert [(call.pid, call.name, call.result) for call in calls] == [
        (8, "fsync", 0),
        (7, "write", 2),
    ]
    assert calls[1].args == ("3</r/a>", '"ab"', "2")


def test_vectored_and_positioned_writes_land_where_the_kernel_puts_them() -> None:
    text = """\
9 openat(AT_FDCWD</w>, "/r/a", O_WRONLY|O_CREAT|O_APPEND, 0644) = 3</r/a>
9 writev(3</r/a>, [{iov_base="ab,c", iov_len=4}, {iov_base="d\\"e", iov_len=3}], 2) = 7
9 pwritev2(3</r/a>, [{iov_base="xy", iov_len=2}], 1, 1, 0) = 2
9 ftruncate(3</r/a>, 8) = 0
"""
    trace = model_trace(parse_strace(text), [ROOT], Baseline({"a": b"0"}, {""}))
    # O_APPEND: Linux appends even a positioned write.
    assert trace.final_files() == {"a": b'0ab,cd"e'}


# ---------------------------------------------------------------- the checker


def crash_history(*states: tuple[dict[str, Any], dict[str, Any]]) -> History:
    records = []
    for number, (value, result) in enumerate(states):
        records.append(
            Record("powerloss", "invoke", "crash_state", "j0", value, number, index=2 * number)
        )
        records.append(
            Record(
                "powerloss", "ok", "crash_state", "j0", result, number + 0.5, index=2 * number + 1
            )
        )
    return History(records)


OLD = {"tag": ["powerloss", 1], "digest": "aaaa"}
NEW = {"tag": ["powerloss", 2], "digest": "bbbb"}


def state(
    acknowledged: bool, read: dict[str, Any], **result: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    value = {
        "point": "after #5 rename(a -> b)",
        "acknowledged": acknowledged,
        "state": "s",
        "old": OLD,
        "new": NEW,
    }
    value["untouched"] = {"j1": OLD} if "untouched" in result else {}
    return value, {"read": read, "recover_raised": result.get("recover_raised"), **result}


def job(version: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "job", **version}


def test_old_or_new_before_the_return_and_new_after_it_is_consistent() -> None:
    history = crash_history(state(False, job(OLD)), state(False, job(NEW)), state(True, job(NEW)))
    result = run_checker("crash_consistency", history)
    assert result.valid is True and result.counts["states"] == 3


def test_an_acknowledged_state_holding_the_old_version_is_a_lost_write() -> None:
    result = run_checker("crash_consistency", crash_history(state(True, job(OLD))))
    assert result.valid is False
    assert result.counts["acknowledged write lost"] == 1
    assert "acknowledged write lost after a power cut at after #5 rename" in result.evidence[0]


def test_errors_exceptions_and_foreign_content_are_inconsistent() -> None:
    history = crash_history(
        state(False, {"kind": "raised", "error": "JSONDecodeError"}),
        state(False, {"kind": "error", "error": "empty file"}),
        state(False, {"kind": "job", "tag": None, "digest": "cccc"}),
        state(False, {"kind": "job", "tag": ["setup", 0], "digest": "dddd"}),
    )
    result = run_checker("crash_consistency", history)
    assert result.valid is False and result.counts["inconsistent"] == 4
    assert result.counts["job raised"] == result.counts["job error"] == 1
    assert result.counts["content nobody wrote"] == 2
    assert any("an older one?" in line for line in result.evidence)


def test_recover_raising_or_another_job_changing_is_inconsistent() -> None:
    history = crash_history(
        state(False, job(OLD), recover_raised="OSError: boom"),
        state(True, job(NEW), untouched={"j1": {"kind": "none"}}),
    )
    result = run_checker("crash_consistency", history)
    assert result.valid is False
    assert result.counts["recover() raised"] == 1 and result.counts["other job changed"] == 1


def test_a_history_without_crash_states_is_not_applicable() -> None:
    assert run_checker("crash_consistency", History([])).valid is None


# ---------------------------------------------------------------- checking processes

FLAKY_STORE = """
import os, threading
from pathlib import Path

class Store:
    def __init__(self, root):
        self.root = Path(root)
    def save_job(self, job_id, job):
        raise NotImplementedError
    def get_job(self, job_id):
        if (self.root / "hang").exists():
            threading.Event().wait()  # a store that never answers
        if (self.root / "crash").exists():
            os._exit(3)  # a store that takes its process down
        return None

def make(root):
    return Store(root)
"""


def test_a_hanging_or_crashing_state_is_charged_alone(tmp_path: Path) -> None:
    store_file = tmp_path / "flaky.py"
    store_file.write_text(FLAKY_STORE)
    directories = []
    for number, trouble in enumerate(["", "hang", "", "crash", ""]):
        directory = tmp_path / "states" / f"s{number}"
        directory.mkdir(parents=True)
        if trouble:
            (directory / trouble).touch()
        directories.append(directory)
    options = PowerLossOptions(state_timeout=1.0, workers=1)
    results = check_states(directories, f"{store_file}:make", "j0", [], options)
    reads = [result["read"] for result in results]
    assert [read["kind"] for read in reads] == ["none", "raised", "none", "raised", "none"]
    assert "hung" in reads[1]["error"] and "exit code 3" in reads[3]["error"]


# ---------------------------------------------------------------- end to end


def run_power_loss(store: str, tmp_path: Path, scenario: Scenario | None = None) -> Any:
    reason = can_inject()
    if reason:
        pytest.skip(f"power-loss exploration needs strace: {reason}")
    scenario = scenario or load_scenario(SCENARIO)
    outcome = run_scenario(scenario, store, tmp_path / store, seed=1)
    assert outcome.applicable, outcome.reason
    return outcome, run_checker("crash_consistency", History(outcome.records))


def test_the_hardened_store_survives_every_power_loss_state(tmp_path: Path) -> None:
    outcome, result = run_power_loss("hardened", tmp_path)
    assert result.valid is True, result.evidence
    assert result.counts["states"] >= 10
    assert any("crash points" in note for note in outcome.notes)


def test_the_cap_keeps_the_extremes_so_the_lost_write_is_still_found(tmp_path: Path) -> None:
    scenario = dataclasses.replace(
        load_scenario(SCENARIO), options={"max_states": 3, "update": False}
    )
    outcome, result = run_power_loss("phase470", tmp_path, scenario)
    assert any("sampled out (options.max_states = 3)" in note for note in outcome.notes)
    assert result.counts.get("acknowledged write lost", 0) > 0


def test_a_bad_option_names_the_key_and_what_was_expected() -> None:
    with pytest.raises(ScenarioError, match=r"options.max_states: expected an integer from 1"):
        PowerLossOptions.from_scenario({"max_states": "many"}, "power-loss.toml")


def test_the_seed_design_loses_an_acknowledged_write_on_power_loss(tmp_path: Path) -> None:
    _, result = run_power_loss("phase470", tmp_path)
    assert result.valid is False
    assert result.counts.get("acknowledged write lost", 0) > 0
    assert "acknowledged write lost" in result.evidence[0]
    assert "lost create(j0.json.tmp), rename(j0.json.tmp -> j0.json)" in " ".join(result.evidence)


@pytest.mark.parametrize(("store", "consistent"), [("sqlite", True), ("naive", False)])
def test_sqlite_survives_and_the_naive_store_tears(
    store: str, consistent: bool, tmp_path: Path
) -> None:
    _, result = run_power_loss(store, tmp_path)
    assert result.valid is consistent, result.evidence
    if not consistent:
        assert result.counts.get("job raised", 0) > 0  # an empty or torn file: JSONDecodeError
