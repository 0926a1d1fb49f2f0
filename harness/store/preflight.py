"""Preflight: before any scenario runs, prove the store can be opened, written and read at all.

A store that cannot be opened must not reach the scenarios: each would fail in the same way, and
the checkers, finding no operation to judge, would have nothing to say against it. So, before
the first scenario, one child process walks the store through the steps every scenario needs,
each under a time limit, and the first step that fails stops the run with one line naming the
cause (exit 2, verdict *unknown*):

=========  ===========================================================================
step       what must hold
=========  ===========================================================================
import     the spec's module imports and names a callable factory
signature  the factory can be called with one argument (the store's root folder)
open       ``factory(root)`` returns, and the object has callable ``save_job``/``get_job``
save       ``save_job`` of a probe job returns
read       ``get_job`` of the probe returns a dict with every field the probe was saved with
recover    ``recover()``, when the store has it, returns
=========  ===========================================================================

The child runs in a throw-away root folder (and, for the built-in PostgreSQL store, its own
table, dropped after), so the probe never shows up in a scenario's history.

>>> result = run_preflight("hardened")                   # doctest: +SKIP
>>> result.ok, result.took_s < 5                         # doctest: +SKIP
(True, True)
>>> run_preflight("tests/broken_stores/hangs_at_open.py:make_store").reason  # doctest: +SKIP
'open: make_store(root) did not return within 10 s'
"""

from __future__ import annotations

import contextlib
import inspect
import os
import shutil
import signal
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import multiprocess

from harness.client.calls import silence_store_logging
from harness.errors import StoreSpecError
from harness.history.outcomes import describe_error, describe_exit
from harness.results.verify_report import Preflight
from harness.store.handle import StoreHandle
from harness.store.spec import parse_store_spec

STEP_TIMEOUT = 10.0  # seconds each step may take before the store counts as hung
PROBE_ID = "jobharness-preflight-probe"
STEPS = ("import", "signature", "open", "save", "read", "recover")


def run_preflight(spec: str, timeout: float = STEP_TIMEOUT) -> Preflight:
    """Walk the store named by ``spec`` through :data:`STEPS` in a child process.

    The answer is the record the report keeps: ``ok``, or the failed ``step`` and a one-line
    ``reason``; ``took_s``; the store's ``capabilities`` when it passed.
    """
    started = time.monotonic()
    context = multiprocess.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    root = Path(tempfile.mkdtemp(prefix="jobharness-preflight-"))
    child = context.Process(target=_probe, args=(spec, root, sender), daemon=True)
    child.start()
    sender.close()  # the child holds the only writing end: EOF means it is gone
    step = STEPS[0]
    try:
        while True:
            if not receiver.poll(timeout):
                return _failed(step, _hung(step, spec, timeout), started)
            try:
                message = receiver.recv()
            except EOFError:
                child.join(timeout)
                return _failed(
                    step,
                    f"{step}: the process died ({describe_exit(child.exitcode)})"
                    f" during {_call(step, spec)}",
                    started,
                )
            kind, done, detail = message
            if kind == "error":
                return _failed(done, f"{done}: {detail}", started)
            if done == STEPS[-1]:
                return Preflight(True, took_s=_since(started), capabilities=detail)
            step = STEPS[STEPS.index(done) + 1]  # what the child is doing now
    finally:
        if child.is_alive():
            os.kill(child.pid, signal.SIGKILL)
        child.join(5)
        with contextlib.suppress(ValueError):  # its sentinel pipe, now (see close_process)
            child.close()
        receiver.close()
        _remove(spec, root)


def _failed(step: str, reason: str, started: float) -> Preflight:
    return Preflight(False, step=step, reason=reason, took_s=_since(started))


def _since(started: float) -> float:
    return round(time.monotonic() - started, 3)


def _hung(step: str, spec: str, timeout: float) -> str:
    return f"{step}: {_call(step, spec)} did not return within {timeout:.0f} s"


def _call(step: str, spec: str) -> str:
    factory = spec.rpartition(":")[2] if ":" in spec else f"{spec} factory"
    return {
        "import": f"importing {spec}",
        "signature": f"inspecting {factory}",
        "open": f"{factory}(root)",
        "save": f"save_job({PROBE_ID!r}, job)",
        "read": f"get_job({PROBE_ID!r})",
        "recover": "recover()",
    }[step]


def _remove(spec: str, root: Path) -> None:
    # The probe's table may not exist: the store may have failed before creating it.
    with contextlib.suppress(Exception):
        parse_store_spec(spec).cleanup(root)
    shutil.rmtree(root, ignore_errors=True)


# ---------------------------------------------------------------- the child


def _probe(spec: str, root: Path, pipe: Any) -> None:
    """The child: one message per step begun (``start``), ended (``done``) or failed (``error``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    silence_store_logging()  # before the import: a store module may log as it loads
    step = "import"
    try:
        parsed = parse_store_spec(spec)
        factory = parsed.load_factory()
        pipe.send(("done", step, None))
        step = "signature"
        problem = _signature_problem(factory)
        if problem:
            pipe.send(("error", step, problem))
            return
        pipe.send(("done", step, None))
        step = "open"
        handle = StoreHandle.open(parsed, root)  # the factory just imported, called with root
        pipe.send(("done", step, None))
        step = "save"
        probe = _probe_job()
        handle.store.save_job(PROBE_ID, dict(probe))
        pipe.send(("done", step, None))
        step = "read"
        problem = _round_trip_problem(probe, handle.store.get_job(PROBE_ID))
        if problem:
            pipe.send(("error", step, problem))
            return
        pipe.send(("done", step, None))
        step = "recover"
        if handle.has("recover"):
            handle.recover()
        found = dict(handle.capabilities, job_files=_has_job_files(handle))
        handle.close()
        pipe.send(("done", step, found))
    except StoreSpecError as error:  # already one sentence naming the fix
        pipe.send(("error", step, str(error)))
    except BaseException as error:  # SystemExit out of a store call is a finding too
        pipe.send(("error", step, f"{describe_error(error, 200)}{_where(error)}"))
    finally:
        pipe.close()


def _has_job_files(handle: StoreHandle) -> bool:
    """Whether the probe job has a file of its own (declared by ``paths_for``, or found at
    ``<root>/<id>.json``): what damage and power cuts need to aim at."""
    try:
        return any(path.exists() for path in handle.paths_for(PROBE_ID).values())
    except Exception:
        return False


def _signature_problem(factory: Any) -> str | None:
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return None  # a builtin or C callable: nothing to inspect, the call will tell
    try:
        signature.bind(Path("."))
    except TypeError as error:
        name = getattr(factory, "__qualname__", repr(factory))
        return (
            f"{name}{signature} cannot be called as factory(root): {error}; the harness calls "
            "the factory with one argument, the store's root folder (a pathlib.Path)"
        )
    return None


def _probe_job() -> dict[str, Any]:
    # A finished job: recover() has nothing to end or repair in the probe's folder, so the
    # preflight asks only that it returns, not what it does to a job of ours.
    return {
        "job_id": PROBE_ID,
        "status": "done",
        "progress": 1.0,
        "created_at": "2026-01-01T00:00:00+00:00",
        "note": "written by the jobharness preflight",
    }


def _round_trip_problem(probe: dict[str, Any], read: Any) -> str | None:
    if not isinstance(read, dict):
        return (
            f"get_job({PROBE_ID!r}) returned {type(read).__name__} {_short(read)} for the job "
            "just saved; it must return the job as a dict"
        )
    differs = [key for key, value in probe.items() if read.get(key) != value]
    if differs:
        key = differs[0]
        return (
            f"get_job({PROBE_ID!r}) returned the job just saved with {key}={_short(read.get(key))}"
            f" instead of {_short(probe[key])} ({len(differs)} of {len(probe)} fields differ)"
        )
    return None


def _where(error: BaseException) -> str:
    """`` (at store.py:12 in make_store)``: where the store raised, its innermost own frame.

    Frames of the harness and of the import machinery are skipped: the user wants the line of
    their store that raised, not ours.
    """
    harness_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # harness/
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if not frame.filename.startswith((harness_dir, "<frozen"))
    ]
    if not frames:
        return ""
    frame = frames[-1]
    return f" (at {frame.filename}:{frame.lineno} in {frame.name})"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
