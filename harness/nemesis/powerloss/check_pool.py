"""Checking many crash states at once: write each into a directory, hand them to a few processes.

:func:`materialize` writes each :class:`~harness.nemesis.powerloss.crash_states.CrashState` into
a directory of its own; :func:`check_states` splits the directories between a few checking
processes (``options.workers``, each running
:func:`~harness.nemesis.powerloss.children.check_main` on its share) and collects one answer per
state, in order::

    directories = materialize(exploration.states, work / "states", "save")
    results = check_states(directories, spec, "j0", ["j1"], options, known)

A process that hangs on a state (no answer within ``options.state_timeout``) or dies is killed and
replaced, and only the state it was working on is charged with it (a ``raised`` read saying so):
one bad state does not cost the others their verdict.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.history.outcomes import describe_exit
from harness.nemesis.powerloss.crash_states import CrashState
from harness.nemesis.powerloss.processes import child_command, child_environment

if TYPE_CHECKING:
    from harness.nemesis.powerloss.options import PowerLossOptions


def materialize(states: list[CrashState], folder: Path, name: str) -> list[Path]:
    """Write each state into its own directory; return them in order."""
    directories = []
    for number, state in enumerate(states):
        directory = folder / f"{name}-{number:04d}"
        directory.mkdir(parents=True)
        for rel in sorted(state.dirs):
            if rel:
                (directory / rel).mkdir(parents=True, exist_ok=True)
        for rel, content in state.files.items():
            (directory / rel).write_bytes(content)
        directories.append(directory)
    return directories


@dataclass
class _Batch:
    """One checking process and the states it has yet to report."""

    tasks: list[tuple[int, str]]
    tasks_file: Path
    next: int = 0
    process: subprocess.Popen[bytes] | None = None
    buffer: bytes = b""
    deadline: float = 0.0


def check_states(
    directories: list[Path],
    spec: str,
    job: str,
    untouched: list[str],
    options: PowerLossOptions,
    known: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Open the store on each directory in checking processes; one result per directory.

    A state whose check hangs past ``options.state_timeout`` or kills its process gets a
    ``raised`` read saying so; its process is replaced and the others carry on.
    """
    if not directories:
        return []
    folder = directories[0].parent
    config = folder / "check.json"
    config.write_text(
        json.dumps({"spec": spec, "job": job, "untouched": untouched, "known": known})
    )
    tasks = [(index, os.fspath(directory)) for index, directory in enumerate(directories)]
    count = max(1, min(options.workers, len(tasks) // 8 + 1))
    batches = [
        _Batch(tasks[number::count], folder / f"check-tasks-{number}.json")
        for number in range(count)
    ]
    results: dict[int, dict[str, Any]] = {}
    selector = selectors.DefaultSelector()
    for batch in batches:
        batch.tasks_file.write_text(json.dumps(batch.tasks))
        _start(batch, config, selector, options.state_timeout)
    try:
        while any(batch.process is not None for batch in batches):
            for key, _ in selector.select(timeout=0.2):
                _read_results(key.data, selector, results, config, options.state_timeout)
            now = time.monotonic()
            for batch in batches:
                if batch.process is not None and now > batch.deadline:
                    _charge(
                        batch,
                        results,
                        f"hung: no answer within {options.state_timeout:g} s (killed)",
                    )
                    _stop(batch, selector)
                    _start(batch, config, selector, options.state_timeout)
    finally:
        for batch in batches:
            _stop(batch, selector)
        selector.close()
    return [results[index] for index in range(len(tasks))]


def _start(batch: _Batch, config: Path, selector: selectors.BaseSelector, timeout: float) -> None:
    if batch.next >= len(batch.tasks):
        return
    command = child_command("check_main", config, batch.tasks_file, str(batch.next))
    batch.process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=child_environment(),
        start_new_session=True,
    )
    assert batch.process.stdout is not None
    os.set_blocking(batch.process.stdout.fileno(), False)
    selector.register(batch.process.stdout, selectors.EVENT_READ, batch)
    batch.buffer = b""
    batch.deadline = time.monotonic() + timeout + 10.0  # the first state also pays for imports


def _read_results(
    batch: _Batch,
    selector: selectors.BaseSelector,
    results: dict[int, dict[str, Any]],
    config: Path,
    timeout: float,
) -> None:
    assert batch.process is not None and batch.process.stdout is not None
    chunk = batch.process.stdout.read()
    if chunk:
        batch.buffer += chunk
        *lines, batch.buffer = batch.buffer.split(b"\n")
        for line in lines:
            answer = json.loads(line)
            results[answer.pop("index")] = answer
            batch.next += 1
            batch.deadline = time.monotonic() + timeout
        return
    if chunk is None:
        return  # spurious wake-up
    try:
        code = batch.process.wait(timeout)  # its output is closed: it is on its way out
    except subprocess.TimeoutExpired:
        os.killpg(batch.process.pid, signal.SIGKILL)
        code = batch.process.wait()
    _charge(batch, results, f"the checking process died on this state ({describe_exit(code)})")
    _stop(batch, selector)
    _start(batch, config, selector, timeout)


def _charge(batch: _Batch, results: dict[int, dict[str, Any]], what: str) -> None:
    """Blame the state the process was working on (if any is left), and move past it."""
    if batch.next >= len(batch.tasks):
        return  # every state answered; the process only failed to exit
    index = batch.tasks[batch.next][0]
    failure = {"kind": "raised", "error": what}
    results[index] = {"read": failure, "recover_raised": None, "untouched": {}}
    batch.next += 1


def _stop(batch: _Batch, selector: selectors.BaseSelector) -> None:
    process = batch.process
    if process is None:
        return
    assert process.stdout is not None
    selector.unregister(process.stdout)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    process.stdout.close()
    batch.process = None
