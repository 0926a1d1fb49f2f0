"""The deeper power-loss model: synchronous writes, out-of-order pages, the acknowledgement point,
calls the model cannot follow, and seeded sampling.

The model tests replay hand-written ``strace -f -y`` traces (plain strings, as in
``tests/test_powerloss.py``); the end-to-end tests run the power-loss scenario on the stores of
``tests/broken_stores/`` (each a correct base with one change, or a correct but unusual control)
and read the verdict of the criterion that names the defect.
"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path
from typing import Any

import pytest

from harness.checkers import run_checker
from harness.criteria import CriterionResult, ScenarioChecks, evaluate_all
from harness.history.log import History
from harness.nemesis import disk
from harness.nemesis.powerloss.crash_states import CrashState, enumerate_crash_states
from harness.nemesis.powerloss.markers import operation_window
from harness.nemesis.powerloss.operation_trace import Baseline
from harness.nemesis.powerloss.replay import model_trace
from harness.nemesis.powerloss.strace_log import TraceModelError, parse_strace
from harness.nemesis.syscalls import can_inject
from harness.runner import RunOutcome, run_scenario
from harness.scenario.loader import Scenario, load_scenario

ROOT = "/r"
TESTS = Path(__file__).resolve().parent
SCENARIO = TESTS.parent / "scenarios" / "power-loss.toml"
BROKEN = TESTS / "broken_stores"


def explore(
    trace_text: str,
    files: dict[str, bytes],
    *,
    returned_at: int | None = None,
    page_samples: int = 8,
    seed: int = 7,
    max_states: int = 400,
) -> list[CrashState]:
    trace = model_trace(
        parse_strace(trace_text), [ROOT], Baseline(dict(files), {""}), returned_at=returned_at
    )
    exploration = enumerate_crash_states(
        trace,
        returned=True,
        max_states=max_states,
        rng=random.Random(seed),
        page_samples=page_samples,
    )
    return exploration.states


def acknowledged(states: list[CrashState]) -> list[dict[str, bytes]]:
    return [dict(state.files) for state in states if state.acknowledged]


# ---------------------------------------------------------------- synchronous writes

DSYNC_SAVE = """\
9 openat(AT_FDCWD</w>, "/r/a.tmp", O_WRONLY|O_CREAT|O_EXCL|O_DSYNC|O_CLOEXEC, 0644) = 3</r/a.tmp>
9 write(3</r/a.tmp>, "new", 3) = 3
9 close(3</r/a.tmp>) = 0
9 rename("/r/a.tmp", "/r/a") = 0
9 openat(AT_FDCWD</w>, "/r", O_RDONLY|O_CLOEXEC|O_DIRECTORY) = 4</r>
9 fsync(4</r>) = 0
9 close(4</r>) = 0
"""


def test_a_write_through_an_o_dsync_descriptor_is_durable_when_it_returns() -> None:
    states = explore(DSYNC_SAVE, {"a": b"old"})
    assert acknowledged(states) == [{"a": b"new"}]
    assert all(files.get("a") in (b"old", b"new") for files in map(dict, (s.files for s in states)))


def test_without_o_dsync_the_same_save_can_leave_an_empty_file() -> None:
    plain = DSYNC_SAVE.replace("|O_DSYNC", "")
    assert {"a": b""} in acknowledged(explore(plain, {"a": b"old"}))


def test_o_sync_and_a_pwritev2_dsync_flag_are_durable_too() -> None:
    o_sync = DSYNC_SAVE.replace("O_DSYNC", "O_SYNC")
    assert acknowledged(explore(o_sync, {"a": b"old"})) == [{"a": b"new"}]
    flagged = DSYNC_SAVE.replace("|O_DSYNC", "").replace(
        '9 write(3</r/a.tmp>, "new", 3) = 3',
        '9 pwritev2(3</r/a.tmp>, [{iov_base="new", iov_len=3}], 1, 0, RWF_DSYNC) = 3',
    )
    assert acknowledged(explore(flagged, {"a": b"old"})) == [{"a": b"new"}]


def test_o_dsync_makes_no_name_durable() -> None:
    no_directory_fsync = DSYNC_SAVE.split('9 openat(AT_FDCWD</w>, "/r", ')[0]
    assert {"a": b"old"} in acknowledged(explore(no_directory_fsync, {"a": b"old"}))


# ---------------------------------------------------------------- pages out of order

HEADER = b"B"
SLOT = b"slot-B-data"
SLOT_THEN_HEADER = f"""\
9 openat(AT_FDCWD</w>, "/r/j", O_RDWR|O_CLOEXEC) = 3</r/j>
9 pwrite64(3</r/j>, "{SLOT.decode()}", {len(SLOT)}, 8192) = {len(SLOT)}
9 pwrite64(3</r/j>, "B", 1, 0) = 1
9 fsync(3</r/j>) = 0
9 close(3</r/j>) = 0
"""
OLD_SLOT = b"older-data!"  # what the slot held before: the version before the old one
OLD_FILE = b"A" + bytes(8191) + OLD_SLOT


def header_and_slot(files: dict[str, bytes]) -> tuple[bytes, bytes]:
    data = files["j"]
    return data[:1], data[8192 : 8192 + len(SLOT)]


def test_unsynced_pages_may_reach_the_disk_out_of_order() -> None:
    states = explore(SLOT_THEN_HEADER, {"j": OLD_FILE})
    seen = {header_and_slot(dict(state.files)) for state in states}
    assert (HEADER, OLD_SLOT) in seen  # the header page persisted, the slot page did not
    out_of_order = [s for s in states if "out of order" in s.description]
    assert out_of_order and "page(s) 0 (of 4096 B)" in " ".join(s.description for s in states)


def test_in_order_only_the_header_never_persists_before_its_slot() -> None:
    states = explore(SLOT_THEN_HEADER, {"j": OLD_FILE}, page_samples=0)
    for state in states:
        header, slot = header_and_slot(dict(state.files))
        assert header != HEADER or slot == SLOT


def test_a_barrier_between_slot_and_header_leaves_no_out_of_order_state() -> None:
    with_barrier = SLOT_THEN_HEADER.replace(
        '9 pwrite64(3</r/j>, "B"', '9 fsync(3</r/j>) = 0\n9 pwrite64(3</r/j>, "B"'
    )
    for state in explore(with_barrier, {"j": OLD_FILE}):
        header, slot = header_and_slot(dict(state.files))
        assert header != HEADER or slot == SLOT


def test_page_variants_are_capped_by_a_seeded_sample() -> None:
    writes = "".join(
        f'9 pwrite64(3</r/j>, "p{page}", 2, {page * 4096}) = 2\n' for page in range(12)
    )
    trace = '9 openat(AT_FDCWD</w>, "/r/j", O_RDWR|O_CREAT, 0644) = 3</r/j>\n' + writes
    capped = explore(trace, {}, page_samples=3)
    assert sum("out of order" in s.description and s.point == 13 for s in capped) <= 3
    again = explore(trace, {}, page_samples=3)
    assert [s.key() for s in capped] == [s.key() for s in again]


# ---------------------------------------------------------------- the acknowledgement point

BACKGROUND_FSYNC = """\
9 openat(AT_FDCWD</w>, "/r/a.tmp", O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC, 0644) = 3</r/a.tmp>
9 write(3</r/a.tmp>, "new", 3) = 3
9 fsync(3</r/a.tmp>) = 0
9 close(3</r/a.tmp>) = 0
9 rename("/r/a.tmp", "/r/a") = 0
9 openat(AT_FDCWD</w>, "/w/.marker-end-save", O_RDONLY|O_CLOEXEC) = -1 ENOENT (No such file)
9 openat(AT_FDCWD</w>, "/r/a", O_RDONLY|O_CLOEXEC) = 5</r/a>
10 openat(AT_FDCWD</w>, "/r", O_RDONLY|O_CLOEXEC|O_DIRECTORY) = 4</r>
10 fsync(4</r>) = 0
9 close(5</r/a>) = 0
10 close(4</r>) = 0
9 openat(AT_FDCWD</w>, "/w/.marker-settled-save", O_RDONLY|O_CLOEXEC) = -1 ENOENT (No such file)
"""


def window_of(text: str) -> tuple[list[Any], int]:
    begin = '9 openat(AT_FDCWD</w>, "/w/.marker-begin-save", O_RDONLY) = -1 ENOENT (No such file)\n'
    return operation_window(parse_strace(begin + text), Path("/w"), "save")


def test_other_threads_calls_after_the_return_marker_come_after_the_acknowledgement() -> None:
    calls, returned_at = window_of(BACKGROUND_FSYNC)
    assert returned_at == 5
    assert [call.pid for call in calls[returned_at:]] == [10, 10, 10]  # the caller's reads left out
    trace = model_trace(calls, [ROOT], Baseline({"a": b"old"}, {""}), returned_at=returned_at)
    assert "the store call returned here" in trace.listing()
    states = enumerate_crash_states(trace, returned=True, max_states=400, rng=random.Random(1))
    # At the return, the rename was not durable: the background fsync came too late.
    assert {"a": b"old"} in acknowledged(states.states)


def test_a_background_fsync_before_the_return_marker_counts() -> None:
    before_return = BACKGROUND_FSYNC.replace("10 fsync(4</r>) = 0\n", "").replace(
        "9 rename", '10 openat(AT_FDCWD</w>, "/r", O_RDONLY|O_DIRECTORY) = 6</r>\n9 rename'
    )
    before_return = before_return.replace(
        '9 openat(AT_FDCWD</w>, "/w/.marker-end',
        '10 fsync(6</r>) = 0\n9 openat(AT_FDCWD</w>, "/w/.marker-end',
    )
    calls, returned_at = window_of(before_return)
    trace = model_trace(calls, [ROOT], Baseline({"a": b"old"}, {""}), returned_at=returned_at)
    states = enumerate_crash_states(trace, returned=True, max_states=400, rng=random.Random(1))
    assert acknowledged(states.states) == [{"a": b"new"}]


# ---------------------------------------------------------------- calls the model cannot follow


@pytest.mark.parametrize(
    ("line", "named"),
    [
        (
            "9 mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED, 3</r/a>, 0) = 0x7f0000000000\n",
            "mmap(a, PROT_READ|PROT_WRITE, MAP_SHARED)",
        ),
        (
            '9 openat(AT_FDCWD</w>, "/r", O_WRONLY|O_TMPFILE, 0600) = 4</r/#123>(deleted)\n',
            "openat(., O_TMPFILE)",
        ),
        (
            '9 renameat2(AT_FDCWD</w>, "/r/b", AT_FDCWD</w>, "/r/a", RENAME_EXCHANGE) = 0\n',
            "renameat2(b, a, RENAME_EXCHANGE)",
        ),
        ('9 symlink("a.v2", "/r/a.link") = 0\n', "symlink(a.v2 as a.link)"),
        (
            '9 symlinkat("a.v2", AT_FDCWD</w>, "/r/a.link") = 0\n',
            "symlinkat(a.v2 as a.link)",
        ),
    ],
)
def test_a_call_the_model_cannot_follow_is_named_not_guessed(line: str, named: str) -> None:
    opened = '9 openat(AT_FDCWD</w>, "/r/a", O_RDWR, 0644) = 3</r/a>\n'
    with pytest.raises(TraceModelError) as caught:
        model_trace(parse_strace(opened + line), [ROOT], Baseline({"a": b"x", "b": b"y"}, {""}))
    assert str(caught.value).startswith(named)


def test_a_private_or_read_only_mapping_is_harmless() -> None:
    text = (
        '9 openat(AT_FDCWD</w>, "/r/a", O_RDWR, 0644) = 3</r/a>\n'
        "9 mmap(NULL, 4096, PROT_READ, MAP_SHARED, 3</r/a>, 0) = 0x7f0000000000\n"
        "9 mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE, 3</r/a>, 0) = 0x7f0000001000\n"
        "9 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0\n"
    )
    trace = model_trace(parse_strace(text), [ROOT], Baseline({"a": b"x"}, {""}))
    assert trace.changing_calls == []


# ---------------------------------------------------------------- the same seed


def test_the_same_seed_gives_the_same_crash_states_and_another_seed_another_sample() -> None:
    writes = "".join(f'9 write(3</r/log>, "record-{n}", 8) = 8\n' for n in range(8))
    trace = '9 openat(AT_FDCWD</w>, "/r/log", O_WRONLY|O_CREAT, 0644) = 3</r/log>\n' + writes
    first = explore(trace, {}, seed=5, max_states=12)
    again = explore(trace, {}, seed=5, max_states=12)
    other = explore(trace, {}, seed=6, max_states=12)
    assert [s.key() for s in first] == [s.key() for s in again]
    assert {s.key() for s in first} != {s.key() for s in other}


# ---------------------------------------------------------------- end to end


def run_power_loss(
    spec: str, run_dir: Path, *, seed: int = 1, extra: dict[str, Any] | None = None
) -> tuple[RunOutcome, dict[str, CriterionResult]]:
    reason = can_inject()
    if reason:
        pytest.skip(f"power-loss exploration needs strace: {reason}")
    scenario: Scenario = load_scenario(SCENARIO)
    if extra:
        scenario = dataclasses.replace(scenario, options={**dict(scenario.options), **extra})
    outcome = run_scenario(scenario, spec, run_dir, seed=seed)
    assert outcome.applicable, outcome.reason
    history = History(outcome.records)
    checks = ScenarioChecks(
        scenario.name,
        tuple(sorted(scenario.roles())),
        {name: run_checker(name, history) for name in scenario.checkers},
        tuple(scenario.checkers),
    )
    return outcome, {result.id: result for result in evaluate_all([checks])}


def unknown_reasons(outcome: RunOutcome) -> list[str]:
    return [
        record.value["reason"]
        for record in outcome.records
        if record.f == "unknown" and record.type == "invoke" and isinstance(record.value, dict)
    ]


def crash_states(outcome: RunOutcome) -> list[Any]:
    return [r for r in outcome.records if r.f == "crash_state" and r.type == "invoke"]


CONTROLS = BROKEN.parent / "controls"


@pytest.mark.parametrize(
    "store",
    [
        "/dsync_temp",
        "/slots",
        "hardened",
        "sqlite",
        "/base",
        # their declared files (a lock, SQLite's rollback journal) are theirs, not litter
        "controls/folder_store",
        "controls/sqlite_rollback",
        "controls/log_store",
    ],
)
def test_correct_stores_pass_power_loss(store: str, tmp_path: Path) -> None:
    name = store.lstrip("/").removeprefix("controls/")
    if store.startswith("controls/"):
        spec = f"{CONTROLS / name}.py:make_store"
    else:
        spec = f"{BROKEN / name}.py:make_store" if store.startswith("/") else store
    outcome, criteria = run_power_loss(spec, tmp_path / name)
    assert criteria["C6"].passed is True, criteria["C6"].evidence
    assert criteria["C7"].passed is not False, criteria["C7"].evidence  # n/a without a backup
    assert criteria["C8"].passed is True, criteria["C8"].evidence
    assert not unknown_reasons(outcome)


def test_slot_then_header_fails_c6_only_with_out_of_order_pages(tmp_path: Path) -> None:
    spec = f"{BROKEN / 'slot_then_header'}.py:make_store"
    _, criteria = run_power_loss(spec, tmp_path / "paged")
    assert criteria["C6"].passed is False
    assert "out of order" in " ".join(criteria["C6"].evidence)
    _, in_order = run_power_loss(spec, tmp_path / "in-order", extra={"page_samples": 0})
    assert in_order["C6"].passed is True  # the defect is only visible out of order


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_background_fsync_after_the_return_fails_c6_in_every_run(seed: int, tmp_path: Path) -> None:
    spec = f"{BROKEN / 'background_fsync'}.py:make_store"
    _, criteria = run_power_loss(spec, tmp_path / "run", seed=seed)
    assert criteria["C6"].passed is False
    assert "acknowledged write lost" in " ".join(criteria["C6"].evidence)


def test_background_fsync_fails_c6_on_a_tmpfs_too(tmp_path: Path) -> None:
    reason = disk.can_mount()
    if reason:
        pytest.skip(f"cannot mount a tmpfs here: {reason}")
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    disk.mount_tmpfs(mount, 64 * 1024)
    try:
        for seed in (1, 2):
            spec = f"{BROKEN / 'background_fsync'}.py:make_store"
            _, criteria = run_power_loss(spec, mount / f"run-{seed}", seed=seed)
            assert criteria["C6"].passed is False, seed
    finally:
        disk.unmount(mount)


@pytest.mark.parametrize(
    ("factory", "named"),
    [
        ("make_mmap_store", "mmap("),
        ("make_tmpfile_store", "O_TMPFILE"),
        ("make_exchange_store", "RENAME_EXCHANGE"),
        ("make_symlink_store", "symlink("),
    ],
)
def test_an_untraceable_store_makes_the_scenario_unknown_naming_the_call(
    factory: str, named: str, tmp_path: Path
) -> None:
    outcome, criteria = run_power_loss(f"{BROKEN / 'untraceable'}.py:{factory}", tmp_path / "run")
    reasons = unknown_reasons(outcome)
    assert len(reasons) == 2, reasons  # the save and the update: the run went on after the first
    assert all(named in reason for reason in reasons)
    assert crash_states(outcome) == []  # nothing judged on a guess
    assert criteria["C6"].passed is not True


def test_the_same_seed_gives_the_same_set_of_crash_states(tmp_path: Path) -> None:
    # phase470 names its temp file after the job, so two runs trace the same calls.
    extra = {"max_states": 5}
    first, _ = run_power_loss("phase470", tmp_path / "a", seed=4, extra=extra)
    again, _ = run_power_loss("phase470", tmp_path / "b", seed=4, extra=extra)

    def states(outcome: RunOutcome) -> set[tuple[str, str, str]]:
        return {
            (r.value["operation"], r.value["point"], r.value["state"])
            for r in crash_states(outcome)
        }

    assert states(first) == states(again) and len(states(first)) >= 5


# ---------------------------------------------------------------- backup, litter, second cut


@pytest.mark.parametrize(("store", "criterion"), [("leaves_litter", "C8"), ("no_recover", "C8")])
def test_temp_files_left_after_a_power_cut_fail_c8(
    store: str, criterion: str, tmp_path: Path
) -> None:
    _, criteria = run_power_loss(f"{BROKEN / store}.py:make_store", tmp_path / "run")
    assert criteria[criterion].passed is False
    assert "recover() left .j0.json." in " ".join(criteria[criterion].evidence)
    assert criteria["C6"].passed is True  # the job itself is fine: only the litter is wrong


def test_a_backup_that_is_never_refreshed_fails_c7_after_a_power_cut(tmp_path: Path) -> None:
    _, criteria = run_power_loss(f"{BROKEN / 'old_backup'}.py:make_store", tmp_path / "run")
    assert criteria["C7"].passed is False
    assert "with the job file damaged" in " ".join(criteria["C7"].evidence)


def test_an_in_place_rewrite_in_recover_fails_c6_only_with_a_second_cut(tmp_path: Path) -> None:
    spec = f"{BROKEN / 'rewrites_in_recover'}.py:make_store"
    outcome, criteria = run_power_loss(spec, tmp_path / "cut")
    assert criteria["C6"].passed is False
    assert "of recover(), after a first cut" in " ".join(criteria["C6"].evidence)
    assert any("second power cut during recover()" in note for note in outcome.notes)
    _, single = run_power_loss(spec, tmp_path / "single", extra={"recover_cuts": 0})
    assert single["C6"].passed is True  # one power cut alone never shows it
