"""Power loss through the API: every state a power cut may leave the service's data folder in,
judged by starting the service on it and asking ``GET /jobs/{id}`` and the download.

A kill keeps the page cache; a power cut keeps only what was made durable. As the store-level
power loss does (:mod:`harness.nemesis.powerloss`, after ALICE and CrashMonkey), nothing is cut:

1. one instance is started on a fresh data folder, which is then copied (the baseline);
2. strace is attached to the server and all its threads, recording every file system call the
   model follows and every ``sendto``/``write`` to a socket;
3. one CSV is submitted over HTTP and polled until done, then downloaded; the instance is
   killed while still traced, so the trace ends where the page cache does;
4. the trace is replayed into the abstract file system from the baseline, and every crash state
   the persistence model allows is enumerated (capped, seeded). Two moments of the trace are
   found from the server's own socket writes: the ``202`` that acknowledged the job, and the
   first answer that said it was ``done``;
5. on each state, in its own folder, the service is started and asked for the job and, when
   done, its result. Each state is a ``crash-state`` event of the ``runner`` saying whether the
   202 (``acknowledged``) and the done answer (``done_seen``) were already sent; the requests
   are the usual recorded HTTP operations, judged by :mod:`harness.checkers.http_crash_states`.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx

from harness.client.http import RecordingClient
from harness.errors import HarnessError
from harness.history.log import HistoryLog
from harness.nemesis.powerloss.crash_states import CrashState, enumerate_crash_states
from harness.nemesis.powerloss.replay import model_trace
from harness.nemesis.powerloss.snapshots import (
    load_snapshot,
    open_descriptors,
    parse_open_descriptors,
    take_snapshot,
)
from harness.nemesis.powerloss.strace_log import (
    RawCall,
    TraceModelError,
    decode_fd,
    decode_iovec,
    decode_string,
    parse_strace,
)
from harness.nemesis.powerloss.syscall_handlers import TRACED_SYSCALLS
from harness.nemesis.syscalls import strace_path, tracer_of
from harness.service.instances import ServiceInstance, ServiceStartError
from harness.service.spec import ServiceSpec
from harness.workload.uploads import make_upload

JOB_BOUND = 30.0  # seconds the traced job has to finish
SOCKET_WRITES = ("sendto", "write", "writev", "send")


class ServicePowerLossError(HarnessError):
    """The trace could not be taken or followed: the scenario is unknown, this says why."""


@dataclass(frozen=True)
class TracedJob:
    """What the traced run did: the job, its result, and the raw calls with the two moments."""

    job_id: str
    download_sha256: str
    calls: list[RawCall]
    acknowledged_at: int  # index of the raw call that sent the 202
    done_at: int  # index of the raw call that sent the first "done" answer


def explore_service_power_loss(
    spec: ServiceSpec,
    run_dir: Path,
    log: HistoryLog,
    histories: Path,
    epoch: float,
    seed: int,
    *,
    max_states: int,
) -> list[str]:
    """Trace one job, enumerate the crash states, check each; the notes for the report."""
    work = run_dir / "powerloss"
    data = work / "data"
    data.mkdir(parents=True)
    traced, baseline_fds = _trace_one_job(spec, data, work, seed)
    baseline = load_snapshot(work / "before")
    baseline.open_files = parse_open_descriptors(baseline_fds)
    roots = {str(data), str(data.resolve())}
    try:
        trace = model_trace(traced.calls, roots, baseline, returned_at=traced.acknowledged_at)
        done_trace = model_trace(traced.calls, roots, baseline, returned_at=traced.done_at)
    except TraceModelError as error:
        raise ServicePowerLossError(
            f"the model cannot follow the server's calls: {error}"
        ) from None
    # A state stands from its crash point until the next call that changes the disk: the one in
    # force when the done answer went out is the last changing point at or before it.
    changing = [0] + [n + 1 for n, call in enumerate(trace.calls) if call.events]
    done_point = max(p for p in changing if p <= (done_trace.acknowledged_after or 0))
    (work / "calls.txt").write_text(trace.listing(), encoding="utf-8")
    rng = random.Random(f"{seed}/service-powerloss")
    exploration = enumerate_crash_states(trace, returned=True, max_states=max_states, rng=rng)
    states = _sample(exploration.states, max_states, done_point, rng)
    for number, state in enumerate(states):
        _check_state(spec, work, log, histories, epoch, number, state, traced, done_point)
    return [
        f"power loss through the API: {len(trace.calls)} store calls traced while one job was "
        f"accepted and run; {exploration.distinct} distinct crash states, {len(states)} checked "
        "by starting the service on each"
    ]


def _sample(
    states: list[CrashState], limit: int, done_point: int, rng: random.Random
) -> list[CrashState]:
    """At most ``limit`` states (each check starts the service): always the first after the 202,
    the states in force when the service said done, the extremes at those points, and the last;
    a seeded sample of the rest."""
    if len(states) <= limit:
        return states
    first_acknowledged = [s for s in states if s.acknowledged][:1]
    after_done = [s for s in states if s.point >= done_point][-2:]
    # The extremes (nothing unsynced persisted, or all of it) where the promises were made:
    # what a service that skips an fsync loses first.
    promised = {state.point for state in first_acknowledged + after_done}
    extremes = [s for s in states if s.extreme and s.point in promised]
    must = {id(s): s for s in [*first_acknowledged, *extremes, *after_done, states[-1]]}
    rest = [s for s in states if id(s) not in must]
    chosen = list(must.values()) + rng.sample(rest, max(0, limit - len(must)))
    return sorted(chosen, key=states.index)


def _trace_one_job(
    spec: ServiceSpec, data: Path, work: Path, seed: int
) -> tuple[TracedJob, dict[str, dict[str, Any]]]:
    instance = ServiceInstance(spec, 0, data=data, run="pl0", logs=work / "logs")
    try:
        instance.start()
    except ServiceStartError as error:
        raise ServicePowerLossError(f"the service did not start: {error}") from None
    try:
        time.sleep(0.3)  # let the start-up's own writes (recovery, a first heartbeat) settle
        take_snapshot(data, work / "before")
        assert instance.pid is not None
        fds = open_descriptors(data, instance.pid)
        log_path = work / "strace.log"
        tracer = _attach(instance.pid, log_path)
        try:
            job_id, sha = _one_job(spec, instance.base_url, seed)
        finally:
            instance.kill()  # still traced: the trace ends where the page cache does
            tracer.wait(timeout=10)
    finally:
        instance.kill()
    calls = parse_strace(log_path.read_text(encoding="utf-8", errors="replace"))
    profile = spec.profile
    accepted = [f"HTTP/1.1 {code} ".encode() for code in profile.accepted_codes]
    done_words = [
        f'"{word}"'.encode() for word, canonical in profile.statuses.items() if canonical == "done"
    ]
    acknowledged = _socket_write(calls, accepted)
    done = _socket_write(calls, done_words, after=acknowledged)
    return TracedJob(job_id, sha, calls, acknowledged, done), fds


def _attach(pid: int, log_path: Path) -> subprocess.Popen[bytes]:
    strace = strace_path()
    if strace is None:
        raise ServicePowerLossError("strace is not installed (install it: apt-get install strace)")
    syscalls = ",".join(f"?{name}" for name in (*TRACED_SYSCALLS, *SOCKET_WRITES))
    command = [strace, "-f", "-y", "-qq", "-xx", "-s", str(1 << 20), "-e", f"trace={syscalls}"]
    command += ["-e", "signal=none", "-o", str(log_path), "-p", str(pid)]
    tracer = subprocess.Popen(command, stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while tracer_of(pid) != tracer.pid:
        if time.monotonic() > deadline or tracer.poll() is not None:
            tracer.send_signal(signal.SIGTERM)
            raise ServicePowerLossError(f"strace could not attach to the server (pid {pid})")
        time.sleep(0.005)
    return tracer


def _one_job(spec: ServiceSpec, base_url: str, seed: int) -> tuple[str, str]:
    """Submit one CSV, poll it until done, download it: the job id and its result's sha256."""
    profile = spec.profile
    upload = make_upload(random.Random(seed), 8)
    with httpx.Client(timeout=10.0) as client:
        answer = client.post(
            profile.submit_url(base_url),
            files={profile.upload_field: (upload.filename, upload.data, "text/csv")},
        )
        body = (
            answer.json()
            if answer.headers.get("content-type", "").startswith("application/json")
            else {}
        )
        job_id = body.get(profile.id_field) if isinstance(body, dict) else None
        if answer.status_code not in profile.accepted_codes or not job_id:
            raise ServicePowerLossError(f"the traced submit answered {answer.status_code}")
        deadline = time.monotonic() + JOB_BOUND
        while time.monotonic() < deadline:
            status = client.get(profile.status_url(base_url, str(job_id))).json()
            if profile.canonical(status.get(profile.status_field)) == "done":
                result = client.get(profile.download_url(base_url, str(job_id)))
                return str(job_id), hashlib.sha256(result.content).hexdigest()
            time.sleep(0.02)
    raise ServicePowerLossError(f"the traced job did not end done within {JOB_BOUND:.0f} s")


def _socket_write(calls: list[RawCall], needles: list[bytes], after: int = -1) -> int:
    """Index of the first write to a socket, after ``after``, whose bytes hold one of ``needles``."""
    for index, call in enumerate(calls):
        if index <= after or call.name not in SOCKET_WRITES or len(call.args) < 2:
            continue
        try:
            _, path = decode_fd(call.args[0])
            if path is None or not path.startswith("socket:"):
                continue
            data = (
                decode_iovec(call.args[1]) if call.name == "writev" else decode_string(call.args[1])
            )
            if any(needle in data for needle in needles):
                return index
        except TraceModelError:
            continue
    raise ServicePowerLossError(
        f"the trace holds no answer with {' or '.join(map(repr, needles))}: strace did not see "
        "the server's replies"
    )


def _check_state(
    spec: ServiceSpec,
    work: Path,
    log: HistoryLog,
    histories: Path,
    epoch: float,
    number: int,
    state: CrashState,
    traced: TracedJob,
    done_point: int,
) -> None:
    folder = work / f"state-{number:03d}"
    for rel in sorted(state.dirs):
        (folder / rel).mkdir(parents=True, exist_ok=True)
    for rel, content in state.files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(content)
    value = {
        "state": number,
        "describe": f"{state.point_label}: {state.description}"[:400],
        "job": traced.job_id,
        "acknowledged": state.acknowledged,
        "done_seen": state.point >= done_point,
        "download_sha256": traced.download_sha256,
    }
    instance = ServiceInstance(
        replace(spec, startup_timeout=15.0), 0, data=folder, run=f"pl{number}", logs=work / "logs"
    )
    try:
        instance.start()
    except ServiceStartError as error:
        log.event(
            "crash-state", traced.job_id, {**value, "started": False, "why": str(error)[:300]}
        )
        return
    try:
        log.event("crash-state", traced.job_id, {**value, "started": True})
        asyncio.run(_ask(spec, instance, histories, epoch, number, traced.job_id))
    finally:
        instance.kill()
        shutil.rmtree(folder, ignore_errors=True)


async def _ask(
    spec: ServiceSpec,
    instance: ServiceInstance,
    histories: Path,
    epoch: float,
    number: int,
    job: str,
) -> None:
    name = f"crash-{number}"
    log = HistoryLog(histories / f"{name}.jsonl", name, epoch)
    try:
        async with httpx.AsyncClient(timeout=10.0) as http:
            client = RecordingClient(spec.profile, log, http)
            answer = await client.status(instance.base_url, instance.name, job)
            if answer is not None and answer.status == "done":
                await client.download(instance.base_url, instance.name, job)
    finally:
        log.close()
