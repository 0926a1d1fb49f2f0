"""Each fault kind reads its own ``[[faults]]`` table: its keys, defaults, bounds and messages.

A mistake in a fault table names the file, the key (``faults[N].key``) and what was expected, as
every scenario error does; a kind the registry does not know, or a key its kind does not read,
is refused, and the scenario files of the default suite keep loading unchanged.
"""

from __future__ import annotations

import doctest
from pathlib import Path
from typing import Any

import pytest

from harness.errors import ScenarioError
from harness.nemesis import registry
from harness.nemesis.damage import DAMAGE_HOWS, JobFileDamage
from harness.nemesis.disk import FullDisk
from harness.nemesis.disk_errors import DiskErrors
from harness.nemesis.fault import NotRunnable
from harness.nemesis.kill import KillAtSyscall, RandomKill
from harness.nemesis.pause import Pause
from harness.nemesis.slow_disk import SlowDisk
from harness.nemesis.syscalls import SYSCALL_GROUPS, AttachedInjector
from harness.scenario.loader import load_suite, parse_scenario

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
WRITERS = [{"role": "writer", "count": 2}, {"role": "reader"}]


def scenario_with(*faults: dict[str, Any], **workload: Any) -> Any:
    data = {"workload": {"duration": 2.0, **workload}, "processes": WRITERS, "faults": list(faults)}
    return parse_scenario(data, "faults.toml")


def error_of(*faults: dict[str, Any], **workload: Any) -> str:
    with pytest.raises(ScenarioError) as caught:
        scenario_with(*faults, **workload)
    return str(caught.value)


@pytest.mark.parametrize(
    ("table", "fault"),
    [
        ({"kind": "kill", "at": "random", "times": 3}, RandomKill(target="writer", times=3)),
        ({"kind": "kill"}, RandomKill()),  # at = "random" is the default
        (
            {"kind": "kill", "target": "writer-1", "at": "syscall", "syscall": "rename", "nth": 2},
            KillAtSyscall(target="writer-1", syscall="rename", nth=2),
        ),
        (
            {"kind": "damage", "file": "both", "how": ["empty"], "times": 2},
            JobFileDamage(file="both", how=("empty",), times=2),
        ),
        ({"kind": "damage"}, JobFileDamage(how=DAMAGE_HOWS)),
        (
            {"kind": "diskfault", "target": "writer-0", "error": "EIO", "nth": 2, "every": 3},
            DiskErrors(target="writer-0", error="EIO", nth=2, every=3),
        ),
        (
            {"kind": "slowdisk", "syscall": "fsync", "delay_ms": 15},
            SlowDisk(syscall="fsync", delay_ms=15.0),
        ),
        ({"kind": "fullfs", "size_kb": 512, "times": 2}, FullDisk(size_kb=512, times=2)),
        ({"kind": "pause", "times": 2, "ms": 250}, Pause(times=2, seconds=0.25)),
        (
            {"kind": "pause", "target": "reader", "seconds": 0.5},
            Pause(target="reader", seconds=0.5),
        ),
    ],
)
def test_each_kind_reads_its_own_table_into_its_own_class(
    table: dict[str, Any], fault: object
) -> None:
    assert scenario_with(table).faults == (fault,)


@pytest.mark.parametrize(
    ("table", "key", "expected"),
    [
        ({"kind": "meteor"}, "kind", "one of 'kill', 'damage', 'diskfault', 'slowdisk', 'fullfs'"),
        ({"kind": "kill", "at": "dawn"}, "at", "one of 'syscall', 'random'"),
        ({"kind": "kill", "at": "syscall", "syscall": "ioctl"}, "syscall", "one of 'fsync'"),
        ({"kind": "kill", "at": "syscall", "nth": 0}, "nth", "an integer from 1 to 1000000"),
        ({"kind": "kill", "times": -1}, "times", "an integer from 1 to 10000"),
        ({"kind": "kill", "target": "painter"}, "target", "a role (writer, reader"),
        ({"kind": "kill", "target": "worker"}, "target", "a role that the scenario runs"),
        ({"kind": "damage", "file": "disk"}, "file", "one of 'main', 'backup', 'both'"),
        ({"kind": "damage", "how": ["melt"]}, "how", "names from truncate, empty"),
        ({"kind": "diskfault", "error": "EPERM"}, "error", "one of 'ENOSPC', 'EIO'"),
        ({"kind": "diskfault", "every": -2}, "every", "an integer from 0 to 1000000"),
        ({"kind": "slowdisk"}, "delay_ms", "a delay above 0 for a slowdisk fault"),
        ({"kind": "slowdisk", "delay_ms": "15"}, "delay_ms", "a number from 0 to 10000"),
        ({"kind": "fullfs", "size_kb": 8}, "size_kb", "an integer from 16 to 1048576"),
        ({"kind": "pause"}, "seconds", "how long each pause lasts: seconds = N or ms = N"),
        ({"kind": "pause", "ms": 10, "seconds": 1}, "ms", "either seconds or ms"),
        ({"kind": "pause", "ms": 0.5}, "ms", "a number from 1 to 60000"),
        ({"kind": "pause", "seconds": 61}, "seconds", "a number from 0.001 to 60"),
        ({"kind": "pause", "ms": 100, "times": 0}, "times", "an integer from 1 to 1000"),
        ({"kind": "pause", "ms": 100, "target": "worker-0"}, "target", "a role that the scen"),
    ],
)
def test_a_bad_fault_table_names_the_file_the_key_and_what_was_expected(
    table: dict[str, Any], key: str, expected: str
) -> None:
    message = error_of(table)
    assert message.startswith(f"faults.toml: faults[0].{key}: expected"), message
    assert expected in message, message


def test_a_key_of_another_kind_is_refused_and_the_message_lists_the_kinds_keys() -> None:
    message = error_of({"kind": "kill", "at": "random", "delay_ms": 15})
    assert message.startswith("faults.toml: faults[0].delay_ms: expected one of the keys of a")
    assert "kill fault: at, kind, target, times" in message
    assert message.endswith("got an unknown key")


def test_a_fault_kind_unknown_to_the_registry_lists_every_registered_kind() -> None:
    message = error_of({"kind": "earthquake"})
    assert "faults[0].kind" in message and "'earthquake'" in message
    for kind in registry.FAULT_KINDS:
        assert repr(kind) in message
    assert set(registry.FAULT_KINDS) >= {"kill", "damage", "diskfault", "slowdisk", "fullfs"}
    assert "pause" in registry.FAULT_KINDS


def test_damage_needs_one_writer_per_job() -> None:
    message = error_of({"kind": "damage"}, shared_jobs=True)
    assert message.startswith("faults.toml: faults[0]: expected no damage faults when")


def test_pauses_must_fit_in_the_main_phase() -> None:
    assert scenario_with({"kind": "pause", "times": 2, "ms": 600}).faults  # 1.2 s of 2 s: fits
    message = error_of({"kind": "pause", "times": 3, "ms": 500})
    assert message.startswith("faults.toml: faults[0]: expected pauses that fit in the main")
    assert "3 x 0.5 s = 1.5 s" in message


def test_older_scenario_files_may_give_a_target_to_faults_that_hit_no_process() -> None:
    faults = scenario_with({"kind": "damage", "target": "writer"}, {"kind": "fullfs"}).faults
    assert [fault.kind for fault in faults] == ["damage", "fullfs"]


def test_the_default_suite_loads_each_fault_into_its_class() -> None:
    kinds = {type(f).__name__ for s in load_suite(SCENARIOS) for f in s.faults}
    assert kinds == {
        "JobFileDamage",
        "DiskErrors",
        "FullDisk",
        "KillAtSyscall",
        "RandomKill",
        "SlowDisk",
        "Pause",
    }


def test_quick_scaling_keeps_the_fault_objects() -> None:
    scenario = scenario_with({"kind": "pause", "ms": 300}, {"kind": "kill", "times": 2})
    assert scenario.scaled(0.35).faults == scenario.faults


def test_a_damage_that_cannot_be_aimed_makes_the_scenario_unknown_not_na() -> None:
    damage = JobFileDamage()
    error = "OSError: no such volume (paths_for('j0'))"
    assert damage.check_store({"paths_error": error, "paths": {}}) == NotRunnable(
        f"the harness could not aim the damage: the store's paths_for raised: {error}",
        unknown=True,
    )
    lacking = damage.check_store({"paths": {}})
    assert lacking is not None and not lacking.unknown and "no per-job file" in lacking.reason
    assert damage.check_store({"paths": {"j0": {"main": "/x/j0.json"}}}) is None


def test_the_syscall_groups_belong_to_the_strace_mechanism_not_the_scenario_format() -> None:
    source = Path(SCENARIOS.parent / "harness" / "nemesis" / "syscalls.py").read_text()
    assert "harness.scenario.loader" not in source
    assert SYSCALL_GROUPS["fsync"] == ("fsync", "fdatasync")


def test_the_registry_example_holds() -> None:
    result = doctest.testmod(registry)
    assert result.failed == 0 and result.attempted > 0


def test_a_call_strace_delayed_or_failed_counts_as_fired(tmp_path: Path) -> None:
    log = tmp_path / "strace.log"
    log.write_text(
        "7 fsync(3</s/j0.json>) = 0 (DELAYED)\n"
        '7 rename("/s/.j0.tmp", "/s/j0.json") = -1 ENOSPC (No space left on device) (INJECTED)\n'
        "7 fsync(3</s/j1.json>) = 0\n"
        '7 write(4</s/.j1.tmp>, "{}", 2 <unfinished ...> = ?\n'
        "7 +++ killed by SIGKILL +++\n"
    )
    injector = AttachedInjector.__new__(AttachedInjector)  # the log alone: no strace attached
    injector.log_path = log
    assert [line.split()[1].split("(")[0] for line in injector.injected_calls()] == [
        "fsync",
        "rename",
        "write",
    ]
