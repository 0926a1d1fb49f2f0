"""The child processes' side of power loss: each entry point opens the store and does one job.

The explorer starts every child with :func:`~harness.nemesis.powerloss.processes.child_command`
and one JSON instructions file; the children write what happened to a report file (or, for the
checking processes, one JSON line per state on their standard output):

======================  ========================================================================
prepare_main            save the jobs in order (in each root), then ``sync()``: the baseline
trace_main              under strace: each operation (a save, then an update) between markers
trace_recover_main      under strace: ``recover()`` on each crash state of the second cut
trace_sequences_main    under strace: each sequence of operations, nothing synced in between
check_main              open the store on crash states, one after the other (no strace)
======================  ========================================================================

A traced call is made between the markers of :mod:`harness.nemesis.powerloss.markers`, with a
``sync()`` and a snapshot before it (the durable baseline) and a snapshot after it (what the
replay must end with). Nothing here writes to the store's folder but the store itself.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from harness.client.calls import silence_store_logging
from harness.history.outcomes import describe_error
from harness.nemesis.powerloss.markers import make_marker, marker_path
from harness.nemesis.powerloss.snapshots import open_descriptors, take_snapshot
from harness.nemesis.powerloss.state_checks import check_state
from harness.store.handle import StoreHandle
from harness.store.spec import parse_store_spec


def prepare_main(argv: list[str]) -> None:
    """Entry point of the prepare process: save the jobs in order (in each root), then sync."""
    config = json.loads(Path(argv[0]).read_text())
    spec = parse_store_spec(config["spec"])
    for root in config.get("roots", [config.get("root")]):
        with StoreHandle.open(spec, root) as handle:
            for job_id, job in config["jobs"]:
                handle.store.save_job(job_id, job)
    os.sync()  # the durable baseline every crash state starts from


def trace_main(argv: list[str]) -> None:
    """Entry point of the traced process: each operation between markers, snapshots around it.

    The snapshots read the store's files from this process, which releases any POSIX lock the
    store holds on them (fcntl locks are per process): harmless here, nothing else runs.
    """
    config = json.loads(Path(argv[0]).read_text())
    root, work = Path(config["root"]), Path(config["work"])
    handle = StoreHandle.open(config["spec"], root)
    outcomes: dict[str, Any] = {}
    for operation in config["operations"]:
        name = operation["name"]
        if name == "update":
            if not handle.has("update_job"):
                continue
            call = handle.store.update_job
            arguments: tuple[Any, ...] = (operation["job"], operation["update"])
        else:
            call, arguments = handle.store.save_job, (operation["job"], operation["save"])
        outcomes[name] = _traced_call(root, work, name, call, arguments)
        if outcomes[name]["error"] is not None:
            break  # the next operation's "old" version would be unknown
    handle.close_quietly()
    Path(config["report"]).write_text(json.dumps(outcomes))


def trace_recover_main(argv: list[str]) -> None:
    """Entry point of the traced process of the second cut: ``recover()`` on each root."""
    config = json.loads(Path(argv[0]).read_text())
    work = Path(config["work"])
    spec = parse_store_spec(config["spec"])
    outcomes: dict[str, Any] = {}
    for number, folder in enumerate(config["roots"]):
        root = Path(folder)
        with StoreHandle.open(spec, root) as handle:
            if handle.has("recover"):
                name = f"recover-{number}"
                outcomes[name] = _traced_call(root, work, name, handle.store.recover)
    Path(config["report"]).write_text(json.dumps(outcomes))


def trace_sequences_main(argv: list[str]) -> None:
    """Entry point of the traced process of the sequences: each in its own root, no sync between.

    Each sequence: sync and snapshot once, then every operation between its own markers
    (``<name>-<k>``), with nothing made durable between them (the point of a multi-operation
    workload: the unsynced effects of one operation meet the next), then the last snapshot.
    """
    config = json.loads(Path(argv[0]).read_text())
    work = Path(config["work"])
    spec = parse_store_spec(config["spec"])
    outcomes: dict[str, Any] = {}
    for sequence in config["sequences"]:
        root, name = Path(sequence["root"]), sequence["name"]
        handle = StoreHandle.open(spec, root)
        store = handle.store
        os.sync()
        take_snapshot(root, work / f"{name}-before")
        open_files = open_descriptors(root)
        returned: list[bool] = []
        error = None
        for number, operation in enumerate(sequence["operations"]):
            make_marker(marker_path(work, "begin", f"{name}-{number}"))
            try:
                if operation["kind"] == "update":
                    store.update_job(operation["job"], operation["changes"])
                else:
                    store.save_job(operation["job"], operation["job_value"])
            except Exception as caught:
                error = describe_error(caught)
            make_marker(marker_path(work, "end", f"{name}-{number}"))
            returned.append(error is None)
            if error is not None:
                break  # what the next operation would start from is unknown
        take_snapshot(root, work / f"{name}-after")
        make_marker(marker_path(work, "settled", name))
        handle.close_quietly()
        outcomes[name] = {"returned": returned, "error": error, "open_files": open_files}
    Path(config["report"]).write_text(json.dumps(outcomes))


def check_main(argv: list[str]) -> None:
    """Entry point of a checking process: check states from a task list, one JSON line each."""
    config = json.loads(Path(argv[0]).read_text())
    tasks = json.loads(Path(argv[1]).read_text())
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # whatever the store prints must not be mistaken for a result
    silence_store_logging()  # each state's opening does it too; the imports come first
    spec = parse_store_spec(config["spec"])
    for index, directory in tasks[int(argv[2]) :]:
        result = check_state(
            spec, Path(directory), config["job"], config["untouched"], config.get("known")
        )
        out.write(json.dumps({"index": index, **result}, default=str) + "\n")


def _traced_call(
    root: Path, work: Path, name: str, call: Any, arguments: tuple[Any, ...] = ()
) -> dict[str, Any]:
    """Make one store call between the markers, with the snapshots the model is checked on."""
    os.sync()  # everything before the operation is durable: the baseline
    take_snapshot(root, work / f"{name}-before")
    open_files = open_descriptors(root)
    make_marker(marker_path(work, "begin", name))
    error = None
    try:
        call(*arguments)
    except Exception as caught:
        error = describe_error(caught)
    make_marker(marker_path(work, "end", name))  # the acknowledgement: the call has returned
    take_snapshot(root, work / f"{name}-after")
    make_marker(marker_path(work, "settled", name))  # other threads' calls up to here are modeled
    return {"returned": error is None, "error": error, "open_files": open_files}
