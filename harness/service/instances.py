"""Instances of the service under test: started, watched, signalled, stopped and started again.

A :class:`ServiceInstance` is one server process the harness started from the service's command
(:mod:`harness.service.spec`), in its own session so that a signal reaches the whole process
group, with its output in a log file under the run folder. It is a fault target
(:class:`harness.nemesis.fault.FaultTarget`, role ``instance``, name ``instance-N``): the kill,
pause and strace faults act on it exactly as on a store process. It keeps its port across
restarts, so clients keep their URL; each start is a new *incarnation*.

With ``host`` set, the instance runs as if on its own machine: in new UTS and PID namespaces
(``unshare --uts --pid --fork``) with its own hostname, so a process-liveness check by host and
pid cannot see the other instances' processes and only leases can tell who is alive. The pid the
faults act on is then the server's, not ``unshare``'s.

A :class:`Fleet` is the instances of one run on one data folder.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from harness.errors import HarnessError
from harness.history.outcomes import describe_exit
from harness.nemesis.fault import Attachment
from harness.service.spec import ServiceSpec

HEALTH_POLL = 0.02  # seconds between two health probes while an instance starts
TERMINATE_GRACE = 15.0  # seconds between SIGTERM and SIGKILL


class ServiceStartError(HarnessError):
    """An instance did not start: the message names the command, why, and the log's last lines."""


class ServiceInstance:
    """One instance of the service (see the module docstring)."""

    role = "instance"

    def __init__(
        self,
        spec: ServiceSpec,
        index: int,
        *,
        data: Path,
        run: str,
        logs: Path,
        port: int | None = None,
        host: str | None = None,
    ) -> None:
        self.spec, self.index, self.data, self.run, self.logs = spec, index, data, run, logs
        self.host = host
        self.port = port or free_port()
        self.incarnation = -1
        self.process: subprocess.Popen[bytes] | None = None
        self.attachments: list[Attachment] = []
        self.stops: list[list[float]] = []
        self.log_path = logs / f"instance-{index}.log"
        self._lock = threading.RLock()
        self._server_pid: int | None = None

    @property
    def name(self) -> str:
        return f"instance-{self.index}"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """The server's pid (inside ``unshare``, the child it forked), None when not running."""
        with self._lock:
            if self.process is None or self.process.poll() is not None:
                return None
            if self.host is None:
                return self.process.pid
            if self._server_pid is None:
                self._server_pid = _only_child(self.process.pid)
            return self._server_pid

    # ------------------------------------------------------------ life cycle

    def start(self) -> None:
        """Start a new incarnation and wait until its health URL answers 200."""
        with self._lock:
            if self.process is not None and self.process.poll() is None:
                raise ServiceStartError(f"{self.name} is already running")
            self.logs.mkdir(parents=True, exist_ok=True)
            self.incarnation += 1
            self.attachments, self._server_pid = [], None
            argv = self.spec.argv(port=self.port, data=self.data, instance=self.index, run=self.run)
            if self.host is not None:
                argv = [*HOST_LAUNCHER, self.host, "--", *argv]
            env = {k: v for k, v in os.environ.items() if not k.startswith("DURABLE_JOBS_")}
            env.update(self.spec.env, PYTHONUNBUFFERED="1")
            with open(self.log_path, "ab") as log:
                log.write(f"--- incarnation {self.incarnation}: {' '.join(argv)}\n".encode())
                log.flush()
                try:
                    self.process = subprocess.Popen(
                        argv,
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        env=env,
                        start_new_session=True,
                    )
                except OSError as error:
                    raise ServiceStartError(
                        f"{self.name}: cannot run {argv[0]!r}: {error.strerror}"
                    ) from None
        self._wait_healthy()

    def _wait_healthy(self) -> None:
        url = self.spec.profile.health_url(self.base_url)
        deadline = time.monotonic() + self.spec.startup_timeout
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                assert self.process is not None
                code = self.process.poll()
                if code is not None:
                    raise ServiceStartError(
                        f"{self.name} exited with {describe_exit(code)} before {url} answered "
                        f"(command: {' '.join(self.spec.command)}); its log ends:\n{self.log_tail()}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(url).status_code == 200:
                        return
                time.sleep(HEALTH_POLL)
        self.kill()
        raise ServiceStartError(
            f"{self.name}: no 200 from {url} within {self.spec.startup_timeout:.0f} s (is the "
            f"health path right? see the profile's [paths] health); its log ends:\n{self.log_tail()}"
        )

    def is_alive(self) -> bool:
        with self._lock:
            return self.process is not None and self.process.poll() is None

    def poll_exit(self) -> int | None:
        """The exit code once this incarnation has ended (its attachments then detached)."""
        with self._lock:
            if self.process is None:
                return None
            code = self.process.poll()
        if code is not None:
            self._detach_all()
        return code

    def explain_exit(self) -> str:
        """Why this incarnation ended: a fault's words when one ended it, else the exit code."""
        code = self.process.returncode if self.process is not None else None
        for attachment in self.attachments:
            why = attachment.explain_exit(code)
            if why:
                return why
        return describe_exit(code)

    def _detach_all(self) -> None:
        attachments, self.attachments = self.attachments, []
        for attachment in attachments:
            attachment.detach()
        self.attachments = attachments  # kept for explain_exit; detach() runs only once each

    def attach(self, attachment: Attachment) -> None:
        self.attachments.append(attachment)

    # ------------------------------------------------------------ signals

    def _signal(self, number: int) -> bool:
        with self._lock:
            if self.process is None or self.process.poll() is not None:
                return False
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, number)
                return True
            return False

    def kill(self) -> None:
        """SIGKILL the process group, and reap it."""
        self._signal(signal.SIGKILL)
        if self.process is not None:
            self.process.wait()
        self._resumed_by_death()

    def terminate(self, timeout: float = TERMINATE_GRACE) -> None:
        """SIGTERM (a graceful stop), then SIGKILL if it has not ended within ``timeout``."""
        if self.is_stopped:
            self.resume()
        if self._signal(signal.SIGTERM) and self.process is not None:
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    @property
    def is_stopped(self) -> bool:
        return bool(self.stops) and self.stops[-1][1] == 0.0

    def stop(self) -> bool:
        """SIGSTOP the process group; False if it is gone or already stopped."""
        if self.is_stopped or not self._signal(signal.SIGSTOP):
            return False
        self.stops.append([time.monotonic(), 0.0])
        return True

    def resume(self) -> float:
        """SIGCONT a stopped instance; the seconds it was stopped (0.0 if it was not)."""
        if not self.is_stopped:
            return 0.0
        self._signal(signal.SIGCONT)
        span = self.stops[-1]
        span[1] = time.monotonic()
        return span[1] - span[0]

    def _resumed_by_death(self) -> None:
        if self.is_stopped:
            self.stops[-1][1] = time.monotonic()

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.strip().splitlines()[-lines:]) or "(empty log)"


class Fleet:
    """The instances of one run, on one data folder."""

    def __init__(
        self,
        spec: ServiceSpec,
        count: int,
        *,
        data: Path,
        run: str,
        logs: Path,
        hosts: bool = False,
    ) -> None:
        self.spec, self.run = spec, run
        self.instances = [
            ServiceInstance(
                spec, n, data=data, run=run, logs=logs, host=f"host-{n}" if hosts else None
            )
            for n in range(count)
        ]

    def start_all(self) -> None:
        """Start every instance that is not running, in parallel; the first failure raises."""
        errors: list[ServiceStartError] = []

        def start(instance: ServiceInstance) -> None:
            try:
                instance.start()
            except ServiceStartError as error:
                errors.append(error)

        threads = [
            threading.Thread(target=start, args=(i,)) for i in self.instances if not i.is_alive()
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]

    def terminate_all(self) -> None:
        threads = [threading.Thread(target=i.terminate) for i in self.instances]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def kill_all(self) -> None:
        for instance in self.instances:
            instance.kill()

    def alive(self) -> list[ServiceInstance]:
        return [instance for instance in self.instances if instance.is_alive()]

    def cleanup(self) -> None:
        """Drop what the run left outside its data folder: the built-in's PostgreSQL table."""
        url = self.spec.postgres_url(self.run)
        if url is None:
            return
        from durable_jobs.postgres_store import PostgresJobStore

        with contextlib.suppress(Exception):  # the verdict stands; a table left is only litter
            store = PostgresJobStore(url)
            store.drop()
            store.close()


# python -m harness.service.host NAME -- argv: set the hostname, then exec the server.
HOST_LAUNCHER = [
    "unshare",
    "--uts",
    "--pid",
    "--fork",
    "--kill-child",
    sys.executable,
    "-m",
    "harness.service.host",
]


def _only_child(pid: int) -> int | None:
    """The one child of ``pid`` (``unshare --fork``'s server), or None if it has none yet."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return None
    return int(children[0]) if children else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
