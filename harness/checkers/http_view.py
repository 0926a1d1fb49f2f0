"""A service run's history as the ``http_*`` checkers read it: jobs, answers, phases and outages.

Not a checker: the one place that knows the history format of a service run (see
:mod:`harness.client.http` for the requests, :mod:`harness.service.run` for the ``runner``
events), so each checker states only its rule. Read once per history and kept in its cache.

* an **accepted** job is an ok ``submit``; its id is in the completion's value (``id``);
* an **answer** is an ok ``status`` or ``download`` (an HTTP answer came, whatever its code);
* an **outage** covers a request when, on the instance it asked (or on every instance), a fault
  window whose calls may fail was open (injected ENOSPC/EIO, a full disk), or the run was in its
  restart phase: there the profile's outage codes (503) are allowed answers;
* the ``runner``'s ``profile`` event carries the codes and the rescue bound, ``expected`` events
  the download the harness computed for a job of the built-in service.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.history.fault_windows import STOPPED, FaultLog, faults_of
from harness.history.log import OK, History, Operation

TERMINAL = ("done", "error")


@dataclass
class ServiceView:
    """What the HTTP checkers need of one service history."""

    accepted: dict[str, Operation] = field(default_factory=dict)  # job -> its ok submit
    answers: list[Operation] = field(default_factory=list)  # ok status/download, by end time
    submits: list[Operation] = field(default_factory=list)
    phases: dict[str, float] = field(default_factory=dict)  # phase -> when it started
    final_bound: float | None = None
    outage_codes: tuple[int, ...] = (503,)
    rescue_bound: float | None = None
    pollers: int | None = None
    expected: dict[str, str] = field(default_factory=dict)  # job -> sha256 of its download
    faults: FaultLog | None = None
    instances: set[str] = field(default_factory=set)
    exits: list[tuple[str, float]] = field(default_factory=list)  # (instance, when it ended)
    store_reads: dict[str, Any] | None = None  # get_job timed through the store, same run

    def ended_between(self, instance: str | None, start: float, end: float) -> bool:
        """Whether ``instance`` ended (killed, crashed, stopped) between ``start`` and ``end``."""
        return any(name == instance and start <= at <= end for name, at in self.exits)

    def of_job(self, job: str, f: str = "status") -> list[Operation]:
        return [op for op in self.answers if op.job == job and op.f == f]

    def in_restart(self, op: Operation) -> bool:
        start, end = self.phases.get("restart"), self.phases.get("final")
        return start is not None and op.end >= start and (end is None or op.start <= end)

    def in_outage(self, op: Operation) -> bool:
        """An outage the harness made covers this request (see the module docstring)."""
        if self.in_restart(op):
            return True
        instance = instance_of(op)
        for window in self.faults.windows if self.faults else ():
            if not window.calls_may_fail:
                continue
            if window.process not in (None, instance):
                continue
            if window.start <= op.end and op.start <= window.end:
                return True
        return False

    def disturbed(self, instance: str, start: float, end: float) -> bool:
        """Whether a fault, or the restart, touched ``instance`` between ``start`` and ``end``."""
        restart = self.phases.get("restart")
        if restart is not None and end >= restart:
            return True  # the harness's own restart stops every instance, and its running jobs
        faults = self.faults
        if faults is None:
            return False
        for window in faults.windows:
            touches = window.process in (None, instance) and window.start <= end
            if (
                touches
                and start <= window.end
                and (window.calls_may_fail or window.effect == STOPPED)
            ):
                return True
        return any(
            mark.process == instance and start <= mark.op.start <= end for mark in faults.kills()
        )

    def code(self, op: Operation) -> int | None:
        return op.result.get("code") if isinstance(op.result, dict) else None

    def status(self, op: Operation) -> str | None:
        return op.result.get("status") if isinstance(op.result, dict) else None


def instance_of(op: Operation) -> str | None:
    for carrier in (op.result, op.value):
        if isinstance(carrier, dict) and carrier.get("instance"):
            return str(carrier["instance"])
    return None


def service_view(history: History) -> ServiceView:
    """The view of ``history``, read once and kept in its cache."""
    view = history.cache.get("service_view")
    if view is None:
        view = history.cache["service_view"] = _read(history)
    return view


def _read(history: History) -> ServiceView:
    view = ServiceView(faults=faults_of(history))
    for op in history.operations:
        value: dict[str, Any] = op.value if isinstance(op.value, dict) else {}
        if op.process == "runner":
            _runner_event(view, op, value)
        elif op.f == "submit":
            view.submits.append(op)
            job = op.result.get("id") if isinstance(op.result, dict) else None
            if op.type == OK and job:
                view.accepted.setdefault(str(job), op)
        elif op.f in ("status", "download") and op.type == OK:
            view.answers.append(op)
        instance = instance_of(op)
        if instance and op.process != "runner":
            view.instances.add(instance)
    view.answers.sort(key=lambda op: op.end)
    return view


def _runner_event(view: ServiceView, op: Operation, value: dict[str, Any]) -> None:
    if op.f == "phase" and value.get("phase"):
        view.phases.setdefault(str(value["phase"]), op.start)
        if value.get("bound") is not None:
            view.final_bound = float(value["bound"])
    elif op.f == "profile":
        view.outage_codes = tuple(value.get("outage_codes") or (503,))
        view.rescue_bound = value.get("rescue_bound")
        view.pollers = value.get("pollers")
    elif op.f == "store-reads":
        view.store_reads = value
    elif op.f == "instance-exit" and value.get("instance"):
        view.exits.append((str(value["instance"]), op.start))
    elif op.f == "expected" and op.job and value.get("sha256"):
        view.expected[op.job] = str(value["sha256"])
