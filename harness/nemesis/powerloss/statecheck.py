"""Checking crash states: open the store on each one in child processes, as a restart would.

:func:`check_states` hands the state directories to a few checking processes
(:func:`check_main`), each answering one JSON line per state: :func:`check_state` opens the store
there, runs ``recover()``, reads the job and the bystanders, lists the files the store never had
(litter) and reads the job again with its file damaged (what the backup gives). A process that
hangs on a state or dies is replaced, and only that state is charged with it.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.calls import silence_store_logging
from harness.checkers.no_litter import is_declared, is_temp_name
from harness.nemesis.powerloss.crash_states import CrashState
from harness.nemesis.powerloss.operation_trace import is_ephemeral
from harness.outcomes import describe_error, describe_exit
from harness.payload import summarize_read
from harness.spec import parse_store_spec, store_files_report

if TYPE_CHECKING:
    from harness.nemesis.powerloss.options import PowerLossOptions

_PROJECT_ROOT = Path(__file__).resolve().parents[3]
_CHILD = "import sys; from harness.nemesis.powerloss.statecheck import {0}; {0}(sys.argv[1:])"


def child_environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [os.fspath(_PROJECT_ROOT), env.get("PYTHONPATH")])
    )
    return env


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
    command = [
        sys.executable,
        "-c",
        _CHILD.format("check_main"),
        os.fspath(config),
        os.fspath(batch.tasks_file),
        str(batch.next),
    ]
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


def check_main(argv: list[str]) -> None:
    """Entry point of a checking process: check states from a task list, one JSON line each."""
    config = json.loads(Path(argv[0]).read_text())
    tasks = json.loads(Path(argv[1]).read_text())
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # whatever the store prints must not be mistaken for a result
    silence_store_logging()
    spec = parse_store_spec(config["spec"])
    for index, directory in tasks[int(argv[2]) :]:
        result = check_state(
            spec, Path(directory), config["job"], config["untouched"], config.get("known")
        )
        out.write(json.dumps({"index": index, **result}, default=str) + "\n")


def check_state(
    spec: Any, directory: Path, job: str, untouched: list[str], known: list[str] | None = None
) -> dict[str, Any]:
    """Open the store on one state as a restarting application would: recover, then read.

    With ``known`` (the names the store had before and after the operation), it then lists the
    files ``recover()`` left that are none of them (``litter``), and finally damages the job
    file and reads again, to see what its backup holds (``backup``; None if the store names no
    backup in ``paths_for`` or has no job file in this state).
    """
    try:
        store = spec.open(directory)
    except Exception as error:
        failure = {"kind": "raised", "error": f"opening the store raised {describe_error(error)}"}
        return {
            "read": failure,
            "recover_raised": None,
            "untouched": dict.fromkeys(untouched, failure),
        }
    try:
        recover_raised = None
        recover = getattr(store, "recover", None)
        if callable(recover):
            try:
                recover()
            except Exception as error:
                recover_raised = describe_error(error)
        result = {
            "read": _read(store, job),
            "recover_raised": recover_raised,
            "untouched": {other: _read(store, other) for other in untouched},
        }
        if known is not None:
            owned = store_files_report(store, directory, ()).get("owned", [])
            result["litter"] = _litter(directory, set(known), owned)
            result["backup"] = _read_backup(store, directory, job)
        return result
    finally:
        close_store(store)


def _litter(directory: Path, known: set[str], owned: list[str]) -> list[str]:
    """Files in ``directory`` that the store had neither before nor after the operation.

    A file the store declares as its own (``owned_paths()``: a lock folder, a rollback journal
    SQLite leaves after a cut until its next write) is no litter, unless its name looks
    temporary: the same rule as the no-litter check's (:mod:`harness.checkers.no_litter`).
    """
    found = []
    for current, _, filenames in os.walk(directory):
        for name in filenames:
            rel = os.path.relpath(os.path.join(current, name), directory)
            if rel in known or is_ephemeral(rel):
                continue
            if is_declared(rel, owned) and not is_temp_name(rel):
                continue
            found.append(rel)
    return sorted(found)


def _read_backup(store: Any, directory: Path, job: str) -> dict[str, Any] | None:
    """Damage the job file (garbage, same length) and read the job again: the backup answers."""
    paths_for = getattr(store, "paths_for", None)
    if not callable(paths_for):
        return None
    try:
        paths = paths_for(job)
        main = Path(paths["main"])
        if "backup" not in paths or not main.is_file():
            return None
        size = main.stat().st_size
        with open(main, "r+b") as file:  # in place, as a disk gone bad damages it
            file.write(b"#" * max(size, 16))
    except Exception:  # a store whose paths_for fails is judged elsewhere (the damage scenarios)
        return None
    return _read(store, job)


def _read(store: Any, job: str) -> dict[str, Any]:
    try:
        return summarize_read(store.get_job(job))
    except Exception as error:
        return {"kind": "raised", "error": describe_error(error)}


def close_store(store: Any) -> None:
    close = getattr(store, "close", None)
    if callable(close):
        with contextlib.suppress(Exception):  # closing is not under test
            close()
