"""A PostgreSQL server of a test's own, which the test may stop and start at will.

The shared server on 5432 serves every test and helper running at the same time: restarting it
would fail their work. :class:`PrivateCluster` runs a second server (``initdb`` + ``pg_ctl`` as
user ``postgres``) in a temporary folder, on a free port of 127.0.0.1, with trust
authentication; :meth:`PrivateCluster.outage` stops it for a while and starts it again, which is
what a database restart looks like to its clients: connections refused, then accepted again.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from running_services import free_port


def postgres_binaries() -> Path | None:
    """The newest ``/usr/lib/postgresql/N/bin`` holding ``initdb`` and ``pg_ctl``, if any."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version_of)
    return Path(found[-1]).parent if found else None


def _version_of(path: str) -> int:
    part = Path(path).parent.parent.name
    return int(part) if part.isdigit() else 0


@dataclass
class PrivateCluster:
    """A running private server; :attr:`url` is its ``test`` database as user ``postgres``."""

    binaries: Path
    folder: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/test"

    @classmethod
    def create(cls) -> PrivateCluster:
        """initdb, start, and create the ``test`` database (a few seconds)."""
        binaries = postgres_binaries()
        if binaries is None or os.geteuid() != 0 or shutil.which("runuser") is None:
            raise RuntimeError("needs root, runuser and PostgreSQL's initdb")
        folder = Path(tempfile.mkdtemp(prefix="dj-test-pg-", dir="/tmp"))
        shutil.chown(folder, "postgres", "postgres")
        cluster = cls(binaries, folder, free_port())
        cluster._as_postgres(
            "initdb", "-D", str(folder / "data"), "-A", "trust", "-U", "postgres", "--no-sync"
        )
        cluster.start()
        cluster._as_postgres("createdb", "-h", "127.0.0.1", "-p", str(cluster.port), "test")
        return cluster

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
            "-c max_connections=40 -c shared_buffers=16MB"
        )
        self._pg_ctl(
            "start", "-w", "-t", "60", "-l", str(self.folder / "server.log"), "-o", options
        )

    def stop(self) -> None:
        """Fast shutdown: every session ends at once, as in a restart."""
        self._pg_ctl("stop", "-w", "-t", "60", "-m", "fast")

    def outage(self, seconds: float) -> float:
        """Stop the server, keep it down ``seconds``, start it; return how long it was down."""
        started = time.monotonic()
        self.stop()
        threading.Event().wait(seconds)  # the outage's length is the fault, not a guess
        self.start()
        return time.monotonic() - started

    def destroy(self) -> None:
        subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(self.binaries / "pg_ctl"),
                "-D",
                str(self.folder / "data"),
                "stop",
                "-m",
                "immediate",
            ],
            capture_output=True,
            check=False,
            timeout=60,
        )
        shutil.rmtree(self.folder, ignore_errors=True)

    def _pg_ctl(self, *arguments: str) -> None:
        self._as_postgres("pg_ctl", "-D", str(self.folder / "data"), *arguments)

    def _as_postgres(self, program: str, *arguments: str) -> None:
        command = ["runuser", "-u", "postgres", "--", str(self.binaries / program), *arguments]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed: {done.stderr.strip() or done.stdout.strip()}")
