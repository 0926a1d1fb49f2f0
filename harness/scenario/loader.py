"""Scenario files: TOML scripts that say which processes run, which faults hit them, what to check.

A scenario is a small TOML file in ``scenarios/``::

    name = "same-job-writers"
    description = "Four writers save one job while two readers poll it."
    checkers = ["never_raises", "no_torn_read", "acknowledged_writes_survive"]

    [workload]
    jobs = 1               # how many jobs
    payload_bytes = 1024   # size of each job, or a mix: [100, 4096, 1048576] (one drawn per save)
    shared_jobs = true     # every writer writes every job (false: jobs are split between writers)
    duration = 2.0         # seconds of the main phase
    deterministic = false  # true: one store call at a time, in an order the seed fixes
    turns = 120            # deterministic: store calls the main phase grants (default 40 a process)

    [[processes]]
    role = "writer"        # writer | reader | updater | worker
    count = 4

    [[processes]]
    role = "reader"
    count = 2

    [[faults]]             # optional, any number
    kind = "kill"          # kill | damage | diskfault | slowdisk | fullfs | pause
    target = "writer"
    at = "syscall"         # syscall | random
    syscall = "fsync"      # fsync | rename | write
    nth = 2

Each ``[[faults]]`` table is read by its kind's class (:mod:`harness.nemesis.registry` lists
them; each module's docstring shows its keys), which also checks it against the rest of the file
(a kill must target a role the scenario runs). What a scenario's *kind* needs of its
``[options]`` (power loss's) is validated here too, by that kind's own options reader, so a bad
option fails when the file is read.

Every run ends with a **restart** (a fresh process calls the store's ``recover()``, as an
application does at start-up) and a **final read** of every job in a quiet store; the checkers
judge those reads too. :func:`load_scenario` validates everything and raises
:class:`ScenarioError` naming the file, the key and what was expected.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ScenarioError
from harness.nemesis.fault import Fault, ScenarioFacts
from harness.nemesis.powerloss.options import PowerLossOptions
from harness.nemesis.registry import parse_fault
from harness.scenario.service_table import (
    INSTANCE_ROLE,
    SERVICE_ROLES,
    ServiceOptions,
    parse_service_table,
)
from harness.scenario.toml_table import TableReader

ROLES = ("writer", "reader", "updater", "worker")
# What a service scenario judges, from HTTP alone (harness.checkers.http_*).
HTTP_CHECKERS = (
    "http_no_5xx",
    "http_terminal",
    "http_download_stable",
    "http_clear_errors",
    "http_no_loss",
    "http_last_good",
    "http_leases",
    "http_latency",
    "http_crash_states",
)
KINDS = ("concurrent", "latency", "powerloss", "service")
# The kinds that read [options], each with its validator (raises ScenarioError naming the key).
KIND_OPTIONS: dict[str, Callable[[dict[str, Any], str], object]] = {
    "powerloss": PowerLossOptions.from_scenario,
}
TOP_LEVEL_KEYS = (
    "name",
    "description",
    "kind",
    "quick",
    "recover_after",
    "checkers",
    "options",
    "service",
    "seed",
)
CHECKERS = (
    "never_raises",
    "no_torn_read",
    "acknowledged_writes_survive",
    "no_lost_update",
    "recovery_to_last_good",
    "terminal_state",
    "recovery_spares_live_jobs",
    "clear_errors",
    "no_litter",
    "no_descriptor_leak",
    "latency",
    "crash_consistency",
    "crash_backup",
    "crash_litter",
    "performance_budget",
    *HTTP_CHECKERS,
)
DEFAULT_CHECKERS = {  # what a scenario of each kind checks when it does not say
    "concurrent": (
        "never_raises",
        "no_torn_read",
        "acknowledged_writes_survive",
        "clear_errors",
        "no_descriptor_leak",
        "latency",
    ),
    "latency": ("performance_budget",),
    "powerloss": ("crash_consistency", "crash_backup", "crash_litter"),
    "service": HTTP_CHECKERS[:-1],  # http_crash_states: for power_loss_states only
}


@dataclass(frozen=True)
class ProcessGroup:
    """``count`` processes of one role."""

    role: str
    count: int
    ops: int | None = None  # at most this many operations each (None: until the phase ends)
    steps: int = 5  # worker: progress updates per job
    restart: bool = False  # respawn after a kill (a new incarnation)
    think_ms: float = 0.0  # pause between operations (pacing, like a real poller or worker)


TURNS_PER_PROCESS = 40  # a deterministic phase's default store calls, per main-phase process


@dataclass(frozen=True)
class Workload:
    jobs: int = 4
    payload_bytes: int = 1024  # the largest size of the mix (latency and power loss use it)
    shared_jobs: bool = False
    duration: float = 2.0
    samples: int = 200  # latency scenarios: operations measured per figure
    payload_sizes: tuple[int, ...] = ()  # the mix each save draws from (empty: payload_bytes)
    dots: bool = True  # job ids may contain '.' (see harness.workload.job_ids)
    non_ascii: bool = False  # job ids may contain non-ASCII letters
    deterministic: bool = False  # main-phase store calls take turns (harness.runner.turns)
    turns: int = (
        0  # deterministic: the store calls the main phase grants (0: TURNS_PER_PROCESS each)
    )


@dataclass(frozen=True)
class Scenario:
    """A validated scenario file."""

    name: str
    path: str
    description: str
    kind: str
    workload: Workload
    processes: tuple[ProcessGroup, ...]
    faults: tuple[Fault, ...]  # each parsed by its kind's class (harness.nemesis.registry)
    checkers: tuple[str, ...]
    quick: bool = True
    recover_after: bool = True
    options: dict[str, Any] = field(default_factory=dict)  # [options]: read by the kind using it
    service: ServiceOptions | None = None  # [service]: a service scenario's instances
    seed: int | None = None  # always run with this seed, whatever the run's (a hunt's found file)

    def roles(self) -> set[str]:
        return {group.role for group in self.processes}

    def facts(self) -> ScenarioFacts:
        """What a fault may check against the rest of the file.

        A service scenario's faults hit the service's instances, not its clients: the one role
        they may target is ``instance``.
        """
        if self.service is not None:
            targets, known = frozenset({INSTANCE_ROLE}), (INSTANCE_ROLE,)
        else:
            targets, known = frozenset(self.roles()), ROLES
        return ScenarioFacts(
            self.path, targets, known, self.workload.shared_jobs, self.workload.duration
        )

    def in_turns(self) -> Scenario:
        """This scenario in deterministic mode (``--deterministic``): a concurrent scenario's
        store calls take turns; the other kinds have no concurrent main phase and stay as
        they are."""
        if self.kind != "concurrent" or self.workload.deterministic:
            return self
        workload = dataclasses.replace(self.workload, deterministic=True)
        return dataclasses.replace(self, workload=_with_turns(workload, self.processes))

    def scaled(self, factor: float) -> Scenario:
        """A shorter copy for ``--quick``: durations and operation counts times ``factor``."""
        workload = dataclasses.replace(
            self.workload,
            # A service run's clients and instances need a couple of seconds to do anything.
            duration=max(2.0 if self.service else 0.5, self.workload.duration * factor),
            samples=max(30, int(self.workload.samples * factor)),
            turns=max(10, int(self.workload.turns * factor)) if self.workload.turns else 0,
        )
        groups = tuple(
            ProcessGroup(
                g.role,
                g.count,
                None if g.ops is None else max(5, int(g.ops * factor)),
                g.steps,
                g.restart,
                g.think_ms,
            )
            for g in self.processes
        )
        return Scenario(
            self.name,
            self.path,
            self.description,
            self.kind,
            workload,
            groups,
            self.faults,
            self.checkers,
            self.quick,
            self.recover_after,
            self.options,
            self.service,
            self.seed,
        )


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate one scenario file."""
    path = Path(path)
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(where, "(file)", "an existing scenario file", "no such file") from None
    except OSError as error:
        raise ScenarioError(where, "(file)", "a readable file", error.strerror) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(where, "(syntax)", "valid TOML", str(error)) from None
    return parse_scenario(data, where, default_name=path.stem)


def load_suite(folder: str | Path, *, quick: bool = False) -> list[Scenario]:
    """Every ``*.toml`` in ``folder``, sorted by name; with ``quick`` only those marked quick."""
    folder = Path(folder)
    files = sorted(folder.glob("*.toml"))
    if not files:
        raise ScenarioError(str(folder), "(folder)", "at least one *.toml scenario file", "none")
    scenarios = [load_scenario(file) for file in files]
    return [s for s in scenarios if s.quick] if quick else scenarios


def _check_jobs_cover_writers(scenario: Scenario, where: str) -> None:
    """Writers and workers do not mix (they would overwrite each other's jobs), and split jobs
    must give every writer and worker one: a process with none has nothing to do.

    (``jobharness hunt`` found this: one job and two writers crashed the second writer.)
    """
    if scenario.kind != "concurrent":
        return
    if {"writer", "worker"} <= scenario.roles():
        # (hunt found this one too: every job "not terminal" because writers had replaced them)
        raise ScenarioError(
            where,
            "processes",
            "writers or workers, not both: they share the job ids, and a writer's save_job "
            "replaces a worker's job, its status with it",
            "both",
        )
    for role in ("writer", "worker"):
        count = sum(group.count for group in scenario.processes if group.role == role)
        split = role == "worker" or not scenario.workload.shared_jobs
        if split and count > scenario.workload.jobs:
            shared = " (or shared_jobs = true)" if role == "writer" else ""
            raise ScenarioError(
                where,
                "workload.jobs",
                f"at least one job per {role}: {count} {role}s need jobs >= {count}{shared}",
                scenario.workload.jobs,
            )


def parse_scenario(data: dict[str, Any], where: str, default_name: str = "scenario") -> Scenario:
    """Validate a decoded TOML document (see the module docstring for the schema)."""
    reader = TableReader(data, where, "", TOP_LEVEL_KEYS)
    name = reader.string("name", default=default_name)
    description = reader.string("description", default="")
    kind = reader.choice("kind", KINDS, default="concurrent")
    quick = reader.boolean("quick", default=True)
    recover_after = reader.boolean("recover_after", default=True)
    seed = reader.integer("seed", default=None, minimum=0, maximum=2**63 - 1)
    workload = _parse_workload(reader.nested(reader.table("workload"), "workload."))
    processes = _parse_processes(reader, SERVICE_ROLES if kind == "service" else ROLES)
    if kind in ("concurrent", "service") and not processes:
        raise ScenarioError(where, "processes", "at least one [[processes]] table")
    service = None
    if kind == "service":
        service = parse_service_table(reader.nested(reader.table("service"), "service."))
    elif reader.has("service"):
        raise ScenarioError(where, "service", 'a [service] table only with kind = "service"')
    faults = tuple(
        parse_fault(reader.nested(table, f"faults[{index}]."))
        for index, table in enumerate(reader.array_of_tables("faults"))
    )
    default = list(DEFAULT_CHECKERS[kind])
    checkers = tuple(reader.string_list("checkers", CHECKERS, default=default))
    options = reader.table("options")
    reader.reject_unknown()
    workload = _with_turns(workload, processes)
    scenario = Scenario(
        name,
        where,
        description,
        kind,
        workload,
        processes,
        faults,
        checkers,
        quick,
        recover_after,
        options,
        service,
        seed,
    )
    _check_jobs_cover_writers(scenario, where)
    facts = scenario.facts()
    for index, fault in enumerate(scenario.faults):
        fault.check_scenario(facts, f"faults[{index}]")
    check_kind_options = KIND_OPTIONS.get(kind)
    if check_kind_options is not None:
        check_kind_options(dict(options), where)
    return scenario


def _parse_workload(w: TableReader) -> Workload:
    sizes = w.integer_list("payload_bytes", default=[1024], minimum=16, maximum=16 << 20)
    workload = Workload(
        jobs=w.integer("jobs", default=4, minimum=1, maximum=100_000),
        payload_bytes=max(sizes),
        shared_jobs=w.boolean("shared_jobs", default=False),
        duration=w.number("duration", default=2.0, minimum=0.1, maximum=3600),
        samples=w.integer("samples", default=200, minimum=5, maximum=1_000_000),
        payload_sizes=tuple(sizes),
        dots=w.boolean("dots", default=True),
        non_ascii=w.boolean("non_ascii", default=False),
        deterministic=w.boolean("deterministic", default=False),
        turns=w.integer("turns", default=None, minimum=1, maximum=1_000_000) or 0,
    )
    if workload.turns and not workload.deterministic:
        raise ScenarioError(
            w.where, "workload.turns", "turns only with deterministic = true", workload.turns
        )
    w.reject_unknown()
    return workload


def _with_turns(workload: Workload, processes: tuple[ProcessGroup, ...]) -> Workload:
    """A deterministic workload's turns: as given, or :data:`TURNS_PER_PROCESS` a process."""
    if not workload.deterministic or workload.turns:
        return workload
    count = sum(group.count for group in processes)
    return dataclasses.replace(workload, turns=TURNS_PER_PROCESS * max(1, count))


def _parse_processes(reader: TableReader, roles: tuple[str, ...]) -> tuple[ProcessGroup, ...]:
    processes = []
    for index, group_data in enumerate(reader.array_of_tables("processes")):
        g = reader.nested(group_data, f"processes[{index}].")
        processes.append(
            ProcessGroup(
                role=g.choice("role", roles),
                count=g.integer("count", default=1, minimum=1, maximum=64),
                ops=g.integer("ops", default=None, minimum=1, maximum=10_000_000),
                steps=g.integer("steps", default=5, minimum=1, maximum=10_000),
                restart=g.boolean("restart", default=False),
                think_ms=g.number("think_ms", default=0.0, minimum=0.0, maximum=60_000.0),
            )
        )
        g.reject_unknown()
    return tuple(processes)
