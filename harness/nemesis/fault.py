"""What a fault is to the runner: one small interface, one class per kind.

Jepsen's nemeses are objects with the same few verbs whatever they break; here a fault kind is a
subclass of :class:`Fault`, parsed from its own ``[[faults]]`` table, and the runner calls the
same methods on every fault, in the order of a run:

=======================  =========================================================================
at load                  ``from_table(table)`` reads the kind's keys (a :class:`TableReader`);
                         ``check_scenario(facts, key)`` checks it against the rest of the file
preflight                ``unavailable_reason()``: can it run on this machine? (strace, root)
after setup              ``check_store(setup)``: does the store have what it needs? (job files)
before setup             ``prepare(run)``: e.g. mount the small filesystem the store will live on
processes ready          ``arm(run, process)``: e.g. attach strace to a process it targets
before *go*              ``schedule(run, duration, rng)``: its timed actions in the main phase
at *go*                  ``start(run)``: a fault in force for the whole phase opens its window
after the main phase     ``release(run)``: detach, free the disk, close windows, note what never fired
always, last             ``cleanup(run)``: undo what must never outlive a run (mounts, stopped
                         processes), also after an error or Ctrl-C
=======================  =========================================================================

Every method has a default that does nothing, so a kind writes only what it does. The runner
never asks which kind a fault is: adding one is a module with its class and a line in
:mod:`harness.nemesis.registry`. Each fault records what it does as operations of the process
``nemesis``, with the generic fields of :mod:`harness.history.fault_windows`, so no checker needs to know
the new kind either.

The runner is seen through :class:`FaultRun` and each process through :class:`FaultTarget`
(protocols: this module imports neither the runner nor the scenario format).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

from harness.errors import ScenarioError
from harness.history.log import HistoryLog
from harness.scenario.toml_table import TableReader


@dataclass(frozen=True)
class ScenarioFacts:
    """What a fault may check against the rest of its scenario file."""

    where: str  # the file, for error messages
    roles: frozenset[str]  # the roles the scenario runs
    known_roles: tuple[str, ...]  # every role a scenario may run (writer, reader, ...)
    shared_jobs: bool
    duration: float  # seconds of the main phase (before --quick scales it)


@dataclass(frozen=True)
class NotRunnable:
    """Why a scenario cannot be judged on this store: *n/a*, or *unknown* when ``unknown``.

    n/a: the store lacks what the fault needs (no job files to damage). Unknown: the harness
    could not find out what it needed (the store's ``paths_for`` raised), so it did not see.
    """

    reason: str
    unknown: bool = False


@dataclass(frozen=True)
class TimedAction:
    """Something a fault does ``at`` seconds after *go*.

    ``always``: run it at the end of the phase even if its time has not come (every process
    finished early): what undoes a fault (freeing the disk, continuing a stopped process) must
    never be skipped.
    """

    at: float
    action: Callable[[], None]
    always: bool = False


class Attachment(Protocol):
    """Something a fault attached to one process (an strace tracer), ended when the process ends."""

    def explain_exit(self, exitcode: int | None) -> str | None:
        """Why the process ended, when this fault ended it ("killed by nemesis: ..."), else None."""

    def detach(self) -> None:
        """Stop affecting the process; close its window; note a fault that never fired.

        Called when the process ends and again at release: it must do its work once.
        """


class FaultTarget(Protocol):
    """A process of the main phase, as a fault sees it."""

    @property
    def name(self) -> str: ...  # writer-0, or writer-0.1 for a second incarnation

    @property
    def role(self) -> str: ...

    @property
    def pid(self) -> int | None: ...

    def is_alive(self) -> bool: ...

    @property
    def is_stopped(self) -> bool: ...  # stopped by a fault (SIGSTOP) and not yet continued

    def attach(self, attachment: Attachment) -> None:
        """Keep ``attachment`` with the process: detached when it ends, asked why it ended."""

    def stop(self) -> bool:
        """SIGSTOP the process (its stopped time is not charged to its calls); False if gone."""

    def resume(self) -> float:
        """SIGCONT a stopped process; the seconds it was stopped (0.0 if it was not)."""


class FaultRun(Protocol):
    """The run, as a fault sees it."""

    nemesis: HistoryLog | None  # where faults record what they do
    root: Path  # the store's folder
    run_dir: Path  # the scenario's run folder (trace logs go here)
    setup: dict[str, Any]  # what the setup process reported (job paths, capabilities)

    def note(self, text: str) -> None:
        """Add a line to the scenario's notes in the report."""

    def targets(self, target: str) -> list[FaultTarget]:
        """The main-phase processes a target names: a role (``writer``) or one (``writer-0``)."""

    def kill(self, process: FaultTarget, how: str) -> None:
        """SIGKILL ``process`` as the nemesis ("killed by nemesis: how"; it may be restarted)."""


class Fault:
    """One entry of a scenario's fault schedule; see the module docstring for the life cycle.

    Subclasses are frozen dataclasses (a scenario is a value: ``--quick`` copies it), with a
    class attribute ``kind``, the TOML kind name, and a ``from_table`` constructor.
    """

    kind: ClassVar[str]

    @classmethod
    def from_table(cls, table: TableReader) -> Fault:
        """Read this kind's keys from its ``[[faults]]`` table (the registry has read ``kind``)."""
        raise NotImplementedError

    def check_scenario(self, facts: ScenarioFacts, key: str) -> None:
        """Raise :class:`~harness.errors.ScenarioError` at ``key`` if the scenario contradicts it."""

    def unavailable_reason(self) -> str | None:
        """Why this machine cannot run the fault (strace missing, not root), or None."""
        return None

    def check_store(self, setup: dict[str, Any]) -> NotRunnable | None:
        """Why the store, as its setup reported it, cannot take this fault, or None."""
        return None

    def prepare(self, run: FaultRun) -> None:
        """Before the setup process runs (the store's folder is not created yet)."""

    def arm(self, run: FaultRun, process: FaultTarget) -> None:
        """Once for each main-phase process, when all are ready and before *go*."""

    def schedule(self, run: FaultRun, duration: float, rng: random.Random) -> list[TimedAction]:
        """The timed actions of the main phase (``rng``: the run's seeded nemesis draws)."""
        return []

    def start(self, run: FaultRun) -> None:
        """At *go*."""

    def release(self, run: FaultRun) -> None:
        """After the main phase, once every process has ended."""

    def cleanup(self, run: FaultRun) -> None:
        """At the very end of the run, whatever happened (errors and Ctrl-C included)."""


def is_target(process: FaultTarget, target: str) -> bool:
    """Whether ``target`` (a role, or one process like ``writer-0``) names ``process``."""
    return process.name == target if "-" in target else process.role == target


def check_target(target: str, facts: ScenarioFacts, key: str, *, must_run: bool = True) -> None:
    """A target is a role or one process of it (``writer-0``), of a role the scenario runs."""
    role = target.split("-")[0]
    if role not in facts.known_roles:
        raise ScenarioError(
            facts.where,
            f"{key}.target",
            f"a role ({', '.join(facts.known_roles)}) or a process like writer-0",
            target,
        )
    if must_run and role not in facts.roles:
        raise ScenarioError(
            facts.where,
            f"{key}.target",
            f"a role that the scenario runs ({', '.join(sorted(facts.roles)) or 'none'})",
            target,
        )
