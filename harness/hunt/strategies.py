"""Hypothesis strategies for fault schedules (:class:`~harness.hunt.schedule.Schedule`).

Every choice is drawn so that Hypothesis's shrinking makes the schedule simpler: lists shrink to
fewer elements (fewer process groups, fewer faults), integers to smaller ones (fewer processes,
the first system call rather than the fifth), ``sampled_from`` to the first option (so the
options are listed simplest first: one writer before an updater, a kill before a pause).
A fault's target is drawn among the processes the schedule has, so every schedule validates.
A schedule is deterministic (its processes take turns, a number of turns drawn) or, the less
simple choice, free-running.
"""

from __future__ import annotations

import dataclasses

from hypothesis import strategies as st

from harness.hunt.schedule import Fault, PowerCut, Processes, Schedule

PAYLOADS = (100, 2048, 65536)
SYSCALLS = ("rename", "fsync", "write")
DAMAGE_HOWS = ("empty", "truncate", "garbage", "bitflip", "delete")
FAULT_KINDS = ("kill_syscall", "kill_random", "damage", "diskfault", "pause")
# For a store with no file per job: every kind but damage, which would have nothing to hit.
FILELESS_KINDS = ("kill_syscall", "kill_random", "diskfault", "pause")


def schedules(job_files: bool = True) -> st.SearchStrategy[Schedule]:
    """Processes under faults (three draws in four, and the simpler: ``one_of`` shrinks to its
    first), or a power cut during the store's calls. ``job_files=False`` (a store with no file
    per job, such as a database): neither damage nor power cuts, which would judge nothing."""
    if not job_files:
        return process_schedules(FILELESS_KINDS)
    return st.one_of(process_schedules(), process_schedules(), process_schedules(), power_cuts())


@st.composite
def power_cuts(draw: st.DrawFn) -> Schedule:
    """A power cut (a ``powerloss`` scenario): the operations it cuts during, how many crash
    states of each are opened, page write-back variants and cuts during ``recover()``."""
    cut = PowerCut(
        sequences=draw(st.integers(0, 3)),
        max_states=draw(st.integers(10, 60)),
        page_samples=draw(st.integers(0, 4)),
        recover_cuts=draw(st.integers(0, 2)),
    )
    payload = draw(st.sampled_from(PAYLOADS))
    return Schedule(2, (payload,), 1.0, (), (), None, cut)


@st.composite
def process_schedules(draw: st.DrawFn, kinds: tuple[str, ...] = FAULT_KINDS) -> Schedule:
    """A short scenario: writers or workers (1-3; not both, they would overwrite each other's
    jobs), up to two groups of readers or updaters, up to four faults."""
    main_role = draw(st.sampled_from(("writer", "worker")))
    count = draw(st.integers(1, 3))
    others = draw(
        st.lists(
            st.tuples(st.sampled_from(("reader", "updater")), st.integers(1, 2)),
            max_size=2,
            unique_by=lambda pair: pair[0],
        )
    )
    processes = (Processes(main_role, count), *(Processes(r, n) for r, n in others))
    names = [f"{group.role}-{i}" for group in processes for i in range(group.count)]
    killable = [name for name in names if not name.startswith("reader")]
    faults = tuple(draw(st.lists(_fault(killable, kinds), max_size=4)))
    # Split jobs give every writer and worker one at least (the loader insists).
    needed = max(group.count for group in processes if group.role in ("writer", "worker"))
    # Deterministic first (False shrinks first): its failures replay with the same operation
    # numbers; free-running only where a defect needs two calls in flight at once.
    free = draw(st.booleans())
    return Schedule(
        jobs=needed + draw(st.integers(0, 3)),
        payload_bytes=tuple(sorted(draw(st.sets(st.sampled_from(PAYLOADS), min_size=1)))),
        duration=draw(st.sampled_from((0.6, 1.0, 1.5))),
        processes=processes,
        faults=faults,
        turns=None if free else draw(st.integers(10, 80)),
    )


# What the faults do, and so which checkers judge them (beyond the base ones).
AFTER_A_KILL = ("no_litter", "no_descriptor_leak")
AFTER_DAMAGE = ("recovery_to_last_good",)


def kill_at(who: str, call: str, nth: int) -> Fault:
    keys = (("at", "syscall"), ("syscall", call), ("nth", nth))
    return Fault("kill", who, keys, f"kill {who} at {call} #{nth}", AFTER_A_KILL)


def twins_of(schedule: Schedule) -> list[Schedule]:
    """A free-running schedule's deterministic twins, simplest first: the same schedule in
    turns, then with one random-time kill made a kill at the first rename, fsync or write (in
    turns a random kill lands between two calls, where it leaves nothing half done)."""
    twins = [dataclasses.replace(schedule, turns=turns) for turns in TWIN_TURNS]
    for index, fault in enumerate(schedule.faults):
        for stand_in in fault.in_turns:
            faults = (*schedule.faults[:index], stand_in, *schedule.faults[index + 1 :])
            twins.append(dataclasses.replace(schedule, faults=faults, turns=TWIN_TURNS[0]))
    return twins


TWIN_TURNS = (40, 120)


def kill_random(who: str) -> Fault:
    # In turns a random kill lands between two calls: its twins kill at a first system call.
    stand_ins = tuple(kill_at(who, call, 1) for call in SYSCALLS)
    label = f"kill {who} at a random time"
    return Fault("kill", who, (("at", "random"),), label, AFTER_A_KILL, stand_ins)


def _damage(file: str, hows: list[str], times: int) -> Fault:
    keys = (("file", file), ("how", hows), ("times", times))
    label = f"damage {file} ({', '.join(hows)}) x{times}"
    return Fault("damage", None, keys, label, AFTER_DAMAGE)


def _disk_error(who: str, call: str, error: str, nth: int) -> Fault:
    keys = (("syscall", call), ("error", error), ("nth", nth))
    return Fault("diskfault", who, keys, f"{error} on {who}'s {call} #{nth}", AFTER_A_KILL)


def _pause(who: str, ms: int) -> Fault:
    return Fault("pause", who, (("ms", ms),), f"pause {who} {ms} ms")


def _fault(killable: list[str], allowed: tuple[str, ...]) -> st.SearchStrategy[Fault]:
    target = st.sampled_from(killable)
    kinds = {
        "kill_syscall": st.builds(kill_at, target, st.sampled_from(SYSCALLS), st.integers(1, 6)),
        "kill_random": st.builds(kill_random, target),
        "damage": st.builds(
            _damage,
            st.sampled_from(("main", "backup", "both")),
            st.lists(st.sampled_from(DAMAGE_HOWS), min_size=1, max_size=3, unique=True),
            st.integers(1, 6),
        ),
        "diskfault": st.builds(
            _disk_error,
            target,
            st.sampled_from(("write", "fsync")),
            st.sampled_from(("ENOSPC", "EIO")),
            st.integers(1, 4),
        ),
        "pause": st.builds(_pause, target, st.sampled_from((100, 250))),
    }
    return st.sampled_from(allowed).flatmap(lambda kind: kinds[kind])
