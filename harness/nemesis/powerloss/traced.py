"""Running store calls under ``strace``, and cutting the trace at the markers around each call.

The power-loss explorer (:mod:`harness.nemesis.powerloss`) never runs a store in its own process:
:func:`run_traced` starts a child under ``strace -f -y -xx --seccomp-bpf`` (every thread, the path
behind each descriptor, every byte written, and a stop only at the calls the model follows).
The child side is here too: :func:`trace_main` makes each store call between two *markers*
(``open`` of a path that does not exist, which the trace shows as a failed ``openat``)::

    sync(); snapshot -> <name>-before      the durable baseline, as files
    open(.marker-begin-<name>)             the call starts
    store.save_job(...)                    any thread's calls: before the acknowledgement
    open(.marker-end-<name>)               made by the calling thread as soon as it returned
    snapshot -> <name>-after               what the replay must end with
    open(.marker-settled-<name>)           other threads' calls up to here: after it

and :func:`operation_window` cuts one call's system calls out of the whole trace.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from harness.calls import silence_store_logging
from harness.errors import HarnessError
from harness.nemesis.powerloss.operation_trace import Baseline, is_ephemeral
from harness.nemesis.powerloss.statecheck import child_environment, close_store
from harness.nemesis.powerloss.strace_log import RawCall, TraceModelError, decode_string
from harness.nemesis.powerloss.syscall_handlers import TRACED_SYSCALLS
from harness.outcomes import describe_error
from harness.spec import parse_store_spec

TRACE_TIMEOUT = 60.0  # seconds: a few store calls under strace, plus the directory snapshots
_CHILD = "import sys; from harness.nemesis.powerloss.traced import {0}; {0}(sys.argv[1:])"


class TraceError(HarnessError):
    """The trace could not be taken or cut (not the store's fault); the message says why."""


def child_command(entry: str, instructions: Path) -> list[str]:
    """The command line of a child process running ``entry`` of this module."""
    return [sys.executable, "-c", _CHILD.format(entry), os.fspath(instructions)]


def run_child(command: list[str], timeout: float, stderr_path: Path) -> str | None:
    """Run a helper process to its end; None if it succeeded, else what went wrong."""
    with open(stderr_path, "wb") as stderr:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=stderr,
            stderr=stderr,
            env=child_environment(),
            start_new_session=True,  # so a hung store can be killed with everything it started
        )
        try:
            code = process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return f"did not finish within {timeout:.0f} s (hung store?); see {stderr_path}"
    if code != 0:
        tail = stderr_path.read_text(errors="replace").strip().splitlines()[-1:] or [""]
        return f"exit code {code}: {tail[0][:300]} (full output: {stderr_path})"
    return None


@functools.cache
def _has_seccomp_filter(strace: str) -> bool:
    """True when this strace accepts ``--seccomp-bpf`` (strace 5.3 and later)."""
    probe = subprocess.run(
        [strace, "-f", "--seccomp-bpf", "-qq", "-e", "trace=none", "true"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
        timeout=30,
    )
    return probe.returncode == 0


def run_traced(entry: str, instructions: Path, log_path: Path, work: Path, size: int) -> str | None:
    """Run the child ``entry`` under strace, its calls logged to ``log_path``."""
    strace = shutil.which("strace")
    if strace is None:
        raise TraceError("strace is not installed (install it: apt-get install strace)")
    # -f: follow threads and children; -y: the path behind each descriptor; -xx: every string in
    # hex, so paths and data parse exactly; -s: whole buffers, the model needs every byte written.
    limit = max(1 << 20, 4 * size + (1 << 16))
    syscalls = ",".join(
        f"?{name}" for name in TRACED_SYSCALLS
    )  # ?: not an error if the arch lacks it
    command = [
        strace,
        "-f",
        "-y",
        "-qq",
        "-xx",
        # Stop the process only at the calls traced (a seccomp filter), not at every call: the
        # interpreter's start-up makes thousands the model does not need. Older strace (< 5.3)
        # lacks it: the trace is the same, only slower.
        *(["--seccomp-bpf"] if _has_seccomp_filter(strace) else []),
        "-s",
        str(limit),
        "-e",
        f"trace={syscalls}",
        "-e",
        "signal=none",
        "-o",
        os.fspath(log_path),
        *child_command(entry, instructions),
    ]
    return run_child(command, TRACE_TIMEOUT, work / "trace.log")


def operation_window(calls: list[RawCall], work: Path, name: str) -> tuple[list[RawCall], int]:
    """One operation's calls, and how many of them came before it returned.

    The operation is every call between its *begin* marker and its *end* marker (any thread),
    then the calls other threads made after the end marker until the *settled* marker (the
    calling thread's own calls there are the harness's snapshot, not the store's). The end
    marker is made by the calling thread right after the store call returned: it is the
    acknowledgement, and a background thread's fsync after it comes too late.
    """
    marks = {
        os.fspath(work / f".marker-{which}-{name}"): which for which in ("begin", "end", "settled")
    }
    found = _find_markers(calls, marks)
    for which in ("begin", "end", "settled"):
        if which not in found:
            raise TraceError(
                f"the trace has no {which} marker for {name}_job: "
                "strace did not follow the process (is ptrace allowed here?)"
            )
    begin, end, settled = found["begin"], found["end"], found["settled"]
    before = calls[begin + 1 : end]
    caller = calls[end].pid
    after = [call for call in calls[end + 1 : settled] if call.pid != caller]
    return before + after, len(before)


def sequence_window(
    calls: list[RawCall], work: Path, name: str, count: int
) -> tuple[list[RawCall], list[int]]:
    """The calls of a sequence of ``count`` operations, and where in them each one returned.

    As :func:`operation_window`, from the first operation's *begin* marker to the last one's
    *end* marker (then other threads' calls up to *settled*); the markers between operations stay
    in the list (they are outside the store: the replay skips them) so that the index of each
    *end* marker is where its operation returned.
    """
    wanted = {os.fspath(work / f".marker-begin-{name}-0"): "begin"}
    for number in range(count):
        wanted[os.fspath(work / f".marker-end-{name}-{number}")] = f"end-{number}"
    wanted[os.fspath(work / f".marker-settled-{name}")] = "settled"
    found = _find_markers(calls, wanted)
    for which in ("begin", *(f"end-{number}" for number in range(count)), "settled"):
        if which not in found:
            raise TraceError(
                f"the trace has no {which} marker for {name}: strace did not follow the process"
            )
    begin, last, settled = found["begin"], found[f"end-{count - 1}"], found["settled"]
    before = calls[begin + 1 : last]
    ends = [found[f"end-{number}"] - begin - 1 for number in range(count)]
    caller = calls[last].pid
    after = [call for call in calls[last + 1 : settled] if call.pid != caller]
    return before + after, ends


def _find_markers(calls: list[RawCall], wanted: dict[str, str]) -> dict[str, int]:
    """Index of the first failed ``open`` of each marker path (by its role in ``wanted``)."""
    found: dict[str, int] = {}
    for index, call in enumerate(calls):
        if call.name in ("openat", "open") and call.failed:
            path_token = call.args[1] if call.name == "openat" else call.args[0]
            try:
                path = os.fsdecode(decode_string(path_token))
            except TraceModelError:
                continue
            if path in wanted:
                found.setdefault(wanted[path], index)
    return found


def load_tree(folder: Path) -> Baseline:
    """Files and directories of a snapshot, relative to it."""
    files: dict[str, bytes] = {}
    dirs = {""}
    for current, dirnames, filenames in os.walk(folder):
        rel = os.path.relpath(current, folder)
        rel = "" if rel == "." else rel
        dirs.update(os.path.join(rel, name) if rel else name for name in dirnames)
        for name in filenames:
            files[os.path.join(rel, name) if rel else name] = (Path(current) / name).read_bytes()
    return Baseline(files, dirs)


# ---------------------------------------------------------------- the processes' side


def prepare_main(argv: list[str]) -> None:
    """Entry point of the prepare process: save the jobs in order (in each root), then sync."""
    silence_store_logging()
    config = json.loads(Path(argv[0]).read_text())
    spec = parse_store_spec(config["spec"])
    for root in config.get("roots", [config.get("root")]):
        store = spec.open(Path(root))
        for job_id, job in config["jobs"]:
            store.save_job(job_id, job)
        close_store(store)
    os.sync()  # the durable baseline every crash state starts from


def trace_main(argv: list[str]) -> None:
    """Entry point of the traced process: each operation between markers, snapshots around it.

    The snapshots read the store's files from this process, which releases any POSIX lock the
    store holds on them (fcntl locks are per process): harmless here, nothing else runs.
    """
    silence_store_logging()
    config = json.loads(Path(argv[0]).read_text())
    root, work = Path(config["root"]), Path(config["work"])
    store = parse_store_spec(config["spec"]).open(root)
    outcomes: dict[str, Any] = {}
    for operation in config["operations"]:
        name = operation["name"]
        if name == "update":
            call = getattr(store, "update_job", None)
            arguments: tuple[Any, ...] = (operation["job"], operation["update"])
        else:
            call, arguments = store.save_job, (operation["job"], operation["save"])
        if not callable(call):
            continue
        outcomes[name] = _traced_call(root, work, name, call, arguments)
        if outcomes[name]["error"] is not None:
            break  # the next operation's "old" version would be unknown
    close_store(store)
    Path(config["report"]).write_text(json.dumps(outcomes))


def trace_recover_main(argv: list[str]) -> None:
    """Entry point of the traced process of the second cut: ``recover()`` on each root."""
    silence_store_logging()
    config = json.loads(Path(argv[0]).read_text())
    work = Path(config["work"])
    spec = parse_store_spec(config["spec"])
    outcomes: dict[str, Any] = {}
    for number, folder in enumerate(config["roots"]):
        root = Path(folder)
        store = spec.open(root)
        recover = getattr(store, "recover", None)
        if callable(recover):
            outcomes[f"recover-{number}"] = _traced_call(root, work, f"recover-{number}", recover)
        close_store(store)
    Path(config["report"]).write_text(json.dumps(outcomes))


def trace_sequences_main(argv: list[str]) -> None:
    """Entry point of the traced process of the sequences: each in its own root, no sync between.

    Each sequence: sync and snapshot once, then every operation between its own markers
    (``<name>-<k>``), with nothing made durable between them (the point of a multi-operation
    workload: the unsynced effects of one operation meet the next), then the last snapshot.
    """
    silence_store_logging()
    config = json.loads(Path(argv[0]).read_text())
    work = Path(config["work"])
    spec = parse_store_spec(config["spec"])
    outcomes: dict[str, Any] = {}
    for sequence in config["sequences"]:
        root, name = Path(sequence["root"]), sequence["name"]
        store = spec.open(root)
        os.sync()
        _snapshot(root, work / f"{name}-before")
        open_files = _open_files(root)
        returned: list[bool] = []
        error = None
        for number, operation in enumerate(sequence["operations"]):
            _marker(work / f".marker-begin-{name}-{number}")
            try:
                if operation["kind"] == "update":
                    store.update_job(operation["job"], operation["changes"])
                else:
                    store.save_job(operation["job"], operation["job_value"])
            except Exception as caught:
                error = describe_error(caught)
            _marker(work / f".marker-end-{name}-{number}")
            returned.append(error is None)
            if error is not None:
                break  # what the next operation would start from is unknown
        _snapshot(root, work / f"{name}-after")
        _marker(work / f".marker-settled-{name}")
        close_store(store)
        outcomes[name] = {"returned": returned, "error": error, "open_files": open_files}
    Path(config["report"]).write_text(json.dumps(outcomes))


def _traced_call(
    root: Path, work: Path, name: str, call: Any, arguments: tuple[Any, ...] = ()
) -> dict[str, Any]:
    """Make one store call between the markers, with the snapshots the model is checked on."""
    os.sync()  # everything before the operation is durable: the baseline
    _snapshot(root, work / f"{name}-before")
    open_files = _open_files(root)
    _marker(work / f".marker-begin-{name}")
    error = None
    try:
        call(*arguments)
    except Exception as caught:
        error = describe_error(caught)
    _marker(work / f".marker-end-{name}")  # the acknowledgement: the call has returned
    _snapshot(root, work / f"{name}-after")
    _marker(work / f".marker-settled-{name}")  # other threads' calls up to here are modeled
    return {"returned": error is None, "error": error, "open_files": open_files}


def _marker(path: Path) -> None:
    """A call the trace can be cut at: open a path that does not exist."""
    with contextlib.suppress(FileNotFoundError):
        os.close(os.open(path, os.O_RDONLY))


def _snapshot(root: Path, destination: Path) -> None:
    for current, _, filenames in os.walk(root):
        rel = os.path.relpath(current, root)
        (destination / rel).mkdir(parents=True, exist_ok=True)
        for name in filenames:
            if not is_ephemeral(name):
                (destination / rel / name).write_bytes((Path(current) / name).read_bytes())


def _open_files(root: Path) -> dict[str, dict[str, Any]]:
    """Descriptors this process holds under ``root``, with their positions (from /proc)."""
    real = os.path.realpath(root)
    found: dict[str, dict[str, Any]] = {}
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
            info = Path(f"/proc/self/fdinfo/{fd}").read_text()
        except OSError:
            continue  # the descriptor of the listing itself, closed by now
        if target != real and not target.startswith(real + "/"):
            continue
        fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
        position = int(fields.get("pos", "0").strip())
        append = bool(int(fields.get("flags", "0").strip(), 8) & os.O_APPEND)
        found[fd] = {
            "path": os.path.relpath(target, real) if target != real else "",
            "position": position,
            "append": append,
        }
    return found
