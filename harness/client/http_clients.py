"""The clients of a service run: submitters and pollers at work, then the final reads.

A client process (``python -m harness.client.http_clients PLAN.json``, started by
:mod:`harness.service.clients`) runs its plan's simulated clients concurrently on one asyncio
loop, each with its own history file, until the plan's time is up or its stop file appears:

* a **submitter** uploads a seeded CSV (:mod:`harness.workload.uploads`) to a seeded instance,
  keeps a copy under the plan's ``uploads`` folder, and waits its think time;
* a **poller** takes an accepted job from the :class:`JobBoard` (the ok submits in the
  submitters' history files, read as they grow), asks a seeded instance for its status and, when
  it is done, sometimes downloads it.

A request to an instance that is down is recorded (a *fail*: refused) and the client goes on.
:func:`final_reads` is the end of a run: every accepted job polled until it ends or the bound
passes, then every done job downloaded twice.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from harness.client.http import REQUEST_TIMEOUT, RecordingClient
from harness.history.log import OK, HistoryLog, Record
from harness.service.profile import TERMINAL, ApiProfile
from harness.workload.uploads import make_upload

FINAL_POLL = 0.05  # seconds between two final reads of a job that has not ended


@dataclass(frozen=True)
class ClientPlan:
    """What one client process does (written as JSON by the runner)."""

    histories: str
    epoch: float
    profile: dict[str, Any]
    base_urls: dict[str, str]  # instance name -> URL
    submitters: tuple[str, ...]
    pollers: tuple[str, ...]
    duration: float
    seed: int
    rows: tuple[int, int]
    submit_ms: float
    poll_ms: float
    download_share: float
    stop_file: str
    uploads: str
    ready_file: str = ""  # written once the process is set up; then it waits for go_file
    go_file: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClientPlan:
        data = dict(data)
        for key in ("submitters", "pollers", "rows"):
            data[key] = tuple(data[key])
        return cls(**data)


class JobBoard:
    """The jobs accepted so far: ok submits read from ``submitter-*.jsonl`` as they grow."""

    def __init__(self, histories: Path) -> None:
        self.histories = histories
        self._offsets: dict[Path, int] = {}
        self._jobs: list[str] = []
        self._seen: set[str] = set()

    def accepted(self) -> list[str]:
        for path in sorted(self.histories.glob("submitter-*.jsonl")):
            self._read_new(path)
        return list(self._jobs)

    def _read_new(self, path: Path) -> None:
        offset = self._offsets.get(path, 0)
        try:
            with open(path, "rb") as file:
                file.seek(offset)
                chunk = file.read()
        except FileNotFoundError:
            return
        complete = chunk[: chunk.rfind(b"\n") + 1]  # a line still being written waits
        self._offsets[path] = offset + len(complete)
        for line in complete.splitlines():
            try:
                record = Record.from_dict(json.loads(line))
            except (ValueError, KeyError):
                continue
            if (
                record.f == "submit"
                and record.type == OK
                and record.job
                and record.job not in self._seen
            ):
                self._seen.add(record.job)
                self._jobs.append(record.job)


class _Stop:
    """The end of a plan: its time is up, or the runner's stop file exists."""

    def __init__(self, plan: ClientPlan) -> None:
        self.deadline = time.monotonic() + plan.duration + 30.0  # the stop file normally ends it
        self.stop_file = plan.stop_file

    def __call__(self) -> bool:
        return time.monotonic() > self.deadline or os.path.exists(self.stop_file)


def _simulated_client(
    plan: ClientPlan, name: str, http: httpx.AsyncClient
) -> tuple[random.Random, RecordingClient, list[str]]:
    """One simulated client's seeded draws, its recording client (own history file), the instances."""
    log = HistoryLog(Path(plan.histories) / f"{name}.jsonl", name, plan.epoch)
    client = RecordingClient(ApiProfile.from_dict(plan.profile), log, http)
    return random.Random(f"{plan.seed}/{name}"), client, sorted(plan.base_urls)


async def _submitter(plan: ClientPlan, name: str, http: httpx.AsyncClient, stop: _Stop) -> None:
    rng, client, instances = _simulated_client(plan, name, http)
    try:
        while not stop():
            upload = make_upload(rng, rng.randint(*plan.rows))
            path = Path(plan.uploads) / f"{upload.sha256}.csv"
            path.write_bytes(upload.data)
            instance = rng.choice(instances)
            await client.submit(plan.base_urls[instance], instance, upload.data, upload.filename)
            await asyncio.sleep(plan.submit_ms / 1000)
    finally:
        client.log.close()


async def _poller(
    plan: ClientPlan, name: str, http: httpx.AsyncClient, stop: _Stop, board: JobBoard
) -> None:
    rng, client, instances = _simulated_client(plan, name, http)
    try:
        while not stop():
            jobs = board.accepted()
            if not jobs:
                await asyncio.sleep(0.02)
                continue
            job = rng.choice(jobs[-20:] if rng.random() < 0.7 else jobs)  # mostly the young ones
            instance = rng.choice(instances)
            answer = await client.status(plan.base_urls[instance], instance, job)
            if (
                answer is not None
                and answer.status == "done"
                and rng.random() < plan.download_share
            ):
                await client.download(plan.base_urls[instance], instance, job)
            await asyncio.sleep(plan.poll_ms / 1000)
    finally:
        client.log.close()


async def run_clients(plan: ClientPlan) -> None:
    """Every submitter and poller of ``plan``, concurrently, until it is told to stop."""
    Path(plan.uploads).mkdir(parents=True, exist_ok=True)
    stop, board = _Stop(plan), JobBoard(Path(plan.histories))
    limits = httpx.Limits(max_connections=len(plan.pollers) + len(plan.submitters) + 4)
    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT, limits=limits) as http:
        tasks = [_submitter(plan, name, http, stop) for name in plan.submitters]
        tasks += [_poller(plan, name, http, stop, board) for name in plan.pollers]
        await asyncio.gather(*tasks)


def final_reads(
    profile: ApiProfile,
    base_urls: dict[str, str],
    job_ids: list[str],
    log: HistoryLog,
    *,
    bound: float,
    downloads: int = 2,
) -> dict[str, str]:
    """Poll every job until it ends or ``bound`` s pass; download each done job; job -> status."""
    return asyncio.run(_final_reads(profile, base_urls, job_ids, log, bound, downloads))


async def _final_reads(
    profile: ApiProfile,
    base_urls: dict[str, str],
    job_ids: list[str],
    log: HistoryLog,
    bound: float,
    downloads: int,
) -> dict[str, str]:
    last: dict[str, str] = {job: "no answer" for job in job_ids}
    deadline = time.monotonic() + bound
    instances = sorted(base_urls)
    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT) as http:
        client = RecordingClient(profile, log, http)
        waiting = list(job_ids)
        turn = 0
        while waiting and time.monotonic() < deadline:
            still = []
            for job in waiting:
                instance = instances[turn % len(instances)]
                turn += 1
                answer = await client.status(base_urls[instance], instance, job)
                if answer is not None and answer.code == 200:
                    last[job] = answer.status or f"unmapped {answer.body!r:.40}"
                if last[job] not in (*TERMINAL, "unknown"):
                    still.append(job)
            waiting = still
            if waiting:
                await asyncio.sleep(FINAL_POLL)
        for job in job_ids:
            if last[job] == "done":
                for number in range(downloads):
                    instance = instances[(turn + number) % len(instances)]
                    await client.download(base_urls[instance], instance, job)
    return last


GO_TIMEOUT = 60.0  # seconds a ready client process waits for the runner's go


def wait_for_go(plan: ClientPlan) -> bool:
    """Say ready, then wait (a bounded poll) until the runner says go; False if it never does.

    Starting an interpreter and importing httpx takes longer than a short main phase: without
    this handshake the first second of the phase would have no client at all.
    """
    if not plan.ready_file:
        return True
    Path(plan.ready_file).touch()
    deadline = time.monotonic() + GO_TIMEOUT
    while time.monotonic() < deadline:
        if os.path.exists(plan.go_file):
            return True
        if os.path.exists(plan.stop_file):
            return False
        time.sleep(0.005)
    return False


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m harness.client.http_clients PLAN.json", file=sys.stderr)
        return 2
    plan = ClientPlan.from_dict(json.loads(Path(argv[0]).read_text()))
    if not wait_for_go(plan):
        print(f"no go from the runner within {GO_TIMEOUT:.0f} s", file=sys.stderr)
        return 1
    asyncio.run(run_clients(plan))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
