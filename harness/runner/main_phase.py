"""The main phase of a ``concurrent`` scenario: processes at work while the faults hit them.

1. every process of the scenario starts, opens the store itself and says it is ready;
2. each fault arms what it attaches to a process (strace), so that nothing slips through before
   it counts, and gives its timed actions for the phase (``Fault.schedule``, seeded);
3. *go*: the runner runs the actions as their time comes, and watches every process
   (:class:`~harness.runner.processes.Supervisor`): a hung call gets its process killed, a
   process killed by a fault may be restarted; a process still running ``Timeouts.op`` after the
   phase ended is killed as hung;
   In deterministic mode (``deterministic = true``) the processes take turns instead, one store
   call at a time, and the actions run between turns (:mod:`harness.runner.turns`);
4. the actions that undo a fault (``always``) run even if the phase ended early, then every fault
   is released;
5. the **restart** (a fresh process calls ``recover()``, unless ``recover_after = false``), the
   **final** read of every job, and the **inventory** of the store's folder.
"""

from __future__ import annotations

import math
import random
import time

from harness.history.log import OK
from harness.nemesis.fault import TimedAction
from harness.runner.inventory import list_files
from harness.runner.phase import Phase, PhaseRun
from harness.runner.turns import SECONDS_PER_TURN, TurnGiver

POLL = 0.01  # seconds between two looks at the processes and the fault schedule


class ConcurrentPhase(Phase):
    """Writers, readers, updaters and workers at once, under the scenario's faults."""

    def run(self, run: PhaseRun) -> None:
        run_main(run)
        if run.scenario.recover_after:
            run_side(run, "restart", "restart")
        run_side(run, "final", "final")
        assert run.nemesis is not None
        run.nemesis.event("inventory", None, {"files": list_files(run.root)}, kind=OK)


def run_main(run: PhaseRun) -> None:
    """Steps 1 to 4 of the module docstring."""
    assert run.nemesis is not None
    scenario, supervisor = run.scenario, run.supervisor
    duration = scenario.workload.duration
    run.progress("starting processes")
    giver = None
    if scenario.workload.deterministic:  # every store call waits for its turn (runner/turns.py)
        giver = TurnGiver(scenario.workload.turns, random.Random(f"{run.seed}/turns"))
        supervisor.turns = giver
    for group in scenario.processes:
        for index in range(group.count):
            handle = supervisor.spawn(run.plan.main_config(group.role, index), group.restart)
            if giver is not None:  # one at a time: the openings' records keep their order too
                handle.ready.wait(run.timeouts.start)
    for handle in supervisor.running:
        if not handle.ready.wait(run.timeouts.start):
            run.note(f"{handle.name} did not open the store within {run.timeouts.start:.0f} s")
    for fault in scenario.faults:
        for handle in list(supervisor.running):
            fault.arm(run, handle)
    actions = [
        action for fault in scenario.faults for action in fault.schedule(run, duration, run.rng)
    ]
    actions.sort(key=lambda action: action.at)
    run.progress("running")
    go_time = time.monotonic()
    main = {"phase": "main", "duration": duration}
    if giver is not None:
        main.update(deterministic=True, turns=giver.turns)
    run.nemesis.event("phase", None, main)
    for fault in scenario.faults:
        fault.start(run)
    supervisor.go.set()
    if giver is None:
        left = _supervise(run, actions, go_time, duration)
    else:
        left = supervise_in_turns(run, giver, actions, go_time, duration)
        supervisor.turns = None
        giver.close_all()
    for action in left:
        if action.always:
            action.action()  # always undo a fault (free the disk), even if everyone finished early
    for fault in scenario.faults:
        fault.release(run)
    run.nemesis.event("phase", None, {"phase": "main-end"})


def _supervise(
    run: PhaseRun, actions: list[TimedAction], go_time: float, duration: float
) -> list[TimedAction]:
    """Run the actions on time and watch the processes until all have ended; the actions left."""
    supervisor = run.supervisor
    phase_end = go_time + duration
    hard_stop = phase_end + run.timeouts.op
    while True:
        now = time.monotonic()
        while actions and actions[0].at <= now - go_time:
            actions.pop(0).action()
        supervisor.watch(phase_end)
        if not supervisor.unended():  # not alive(): one that just died is recorded first
            return actions
        if now > hard_stop:
            supervisor.kill_overdue(hard_stop)
            supervisor.watch(phase_end)
        time.sleep(POLL)


def run_side(run: PhaseRun, role: str, name: str) -> None:
    """One process of ``role`` (restart, final) on every job, to its end."""
    assert run.nemesis is not None
    run.progress(role)
    run.nemesis.event("phase", None, {"phase": role})
    config = run.plan.config(name, role, 0, jobs=run.plan.all_jobs)
    run.supervisor.run_to_end(config, run.timeouts.side_phase)


def supervise_in_turns(
    run: PhaseRun, giver: TurnGiver, actions: list[TimedAction], go_time: float, duration: float
) -> list[TimedAction]:
    """The deterministic main phase: turns, the faults' actions between them, the processes
    watched; returns the actions left (the caller runs those that undo a fault)."""
    supervisor = run.supervisor
    pending = sorted(actions, key=lambda action: giver.turn_of(action, duration))  # stable
    limit = go_time + max(duration, giver.turns * SECONDS_PER_TURN)
    hard_stop = limit + run.timeouts.op
    while True:
        giver.listen(POLL)
        supervisor.watch(0.0 if giver.stopping else math.inf)  # respawn while turns are left
        for name in supervisor.ends:
            giver.close(name)
        # A process that died since watch() stays in until its end is recorded (its kill or
        # crash, and its respawn, belong before anything else in the history).
        live = [(handle.name, handle.is_stopped) for handle in supervisor.unended()]
        if not live:
            return pending
        now = time.monotonic()
        if now > limit and not giver.stopping:
            giver.stopping = True
            run.note(
                f"deterministic mode: {giver.given} of {giver.turns} turns given in "
                f"{now - go_time:.0f} s; the phase was cut short (a slow or hung store?)"
            )
        if now > hard_stop:
            supervisor.kill_overdue(hard_stop)
        if not giver.settled(live):
            continue
        askers = giver.askers(live)
        if pending and (
            giver.stopping or not askers or giver.turn_of(pending[0], duration) <= giver.given
        ):
            action = pending.pop(0)
            if action.always or not giver.stopping:  # past the last turn, only undoing runs
                action.action()
            continue
        if askers:
            giver.grant(askers)
