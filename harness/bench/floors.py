"""Latency floors: the least a write and a read cost on the medium the store keeps its jobs on.

The performance budget (:mod:`harness.checkers.performance_budget`) never judges a store's absolute
times, which move with the machine; it judges them against a *floor* measured in the same run,
interleaved with the store's calls. A floor must be something no store on that medium can beat,
or the budget raises a false alarm no store can fix. A PostgreSQL store cannot read a job faster
than one round trip to its server, however fast a local file read is; so each medium has its own:

==========  ==========================================================================
medium      floor_write / floor_read
==========  ==========================================================================
file        unique temp file, write, fsync, rename, fsync of the directory /
            open, read, ``json.loads`` (the default: a store that declares nothing)
postgresql  ``INSERT ... ON CONFLICT DO UPDATE`` of one small row in a scratch table,
            committed / ``SELECT`` of that row by key and ``json.loads``, over a new
            psycopg connection to the store's own URL (autocommit, like the store)
(custom)    the store's own two callables, named by the store
==========  ==========================================================================

A store names its medium with an optional method ``latency_floor()`` returning a dict::

    def latency_floor(self):
        return {"medium": "postgresql", "url": self.url}       # a known medium

    def latency_floor(self):                                    # any other medium
        return {"medium": "redis", "write": lambda: r.set("floor", BODY),
                "read": lambda: json.loads(r.get("floor"))}

With no such method the medium is ``file``. The built-in SQLite store declares ``file`` on
purpose: SQLite is a library over a local file in the store's own process, so there is no
round trip to pay; its reads come from the same page cache as a plain read, and a commit in WAL
mode costs one fsync, less than the durable replace. A one-row SQLite floor would also let a
store's own choices (journal mode, synchronous level) set its own budget, which is what the
write budget is there to judge.

>>> import tempfile
>>> floor = file_floor(Path(tempfile.mkdtemp()), b'{"id": "t0"}')
>>> floor.read()
{'id': 't0'}
>>> floor.medium, floor.declared_by
('file', 'default')
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import HarnessError

FILE, POSTGRESQL = "file", "postgresql"
FLOOR_ROW = "t0"


class FloorError(HarnessError):
    """The store's ``latency_floor()`` declaration cannot be measured.

    Causes: it did not return a dict, named no ``medium``, named a medium the harness does not
    know without giving ``write`` and ``read`` callables, or the floor's medium could not be
    reached (no psycopg, the server refused). Fix: return one of the forms documented in
    :mod:`harness.bench.floors`. The budget is then *unknown*, never judged against the wrong floor.
    """


@dataclass
class Floor:
    """A floor ready to time: what it does, in words for the report, and the two calls."""

    medium: str
    write_text: str
    read_text: str
    write: Callable[[], object]
    read: Callable[[], object]
    declared_by: str = "default"  # "default" (no declaration) or "store"
    close: Callable[[], object] = field(default=lambda: None)

    def describe(self) -> dict[str, str]:
        """What the history records about the floor (the checker names it in every budget)."""
        return {
            "medium": self.medium,
            "declared_by": self.declared_by,
            "write": self.write_text,
            "read": self.read_text,
        }


def floor_for(store: Any, folder: Path, body: bytes) -> Floor:
    """The floor of ``store``'s medium; ``folder`` is scratch space beside the store's root.

    ``body`` is what the floor writes and reads back: the same bytes as the job the store is
    timed with, so the two differ only in what the store does beyond the medium.
    Raises :class:`FloorError` when the store's declaration cannot be measured.
    """
    declare = getattr(store, "latency_floor", None)
    if not callable(declare):
        return file_floor(folder, body)
    try:
        declared = declare()
    except Exception as error:
        raise FloorError(
            f"latency_floor() raised {type(error).__name__}: {error}; "
            "it must return a dict such as {'medium': 'file'}"
        ) from None
    if not isinstance(declared, dict) or not isinstance(declared.get("medium"), str):
        raise FloorError(
            f"latency_floor() returned {declared!r}; expected a dict with a 'medium' name, "
            "e.g. {'medium': 'file'} or {'medium': 'postgresql', 'url': ...}"
        )
    medium = declared["medium"]
    if callable(declared.get("write")) and callable(declared.get("read")):
        return _custom_floor(medium, declared)
    if medium == FILE:
        floor = file_floor(folder, body)
    elif medium == POSTGRESQL and isinstance(declared.get("url"), str):
        floor = postgres_floor(declared["url"], body)
    else:
        raise FloorError(
            f"latency_floor() named medium {medium!r}, which the harness cannot measure by "
            "itself; give 'write' and 'read' callables, or name 'file' or 'postgresql' "
            "(with its 'url')"
        )
    floor.declared_by = "store"
    return floor


# ---------------------------------------------------------------- file


def file_floor(folder: Path, body: bytes) -> Floor:
    """The local-file floors, in ``folder`` (on the same filesystem as the store's root)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = os.fspath(folder / f"{FLOOR_ROW}.json")
    floor_durable_replace(folder, path, body)  # so the first read has a file
    return Floor(
        FILE,
        "durable replace of a file: temp file, write, fsync, rename, fsync of the directory",
        "plain file read: open, read, json.loads",
        lambda: floor_durable_replace(folder, path, body),
        lambda: floor_plain_read(path),
    )


def floor_durable_replace(folder: Path, path: str, body: bytes) -> None:
    """The minimal durable atomic replace; any crash-safe file store pays at least this."""
    temp = f"{path}.{secrets.token_hex(6)}.tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, body)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temp, path)
    directory = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


class MinimalReplace:
    """The cheapest durable atomic replace there is: the bench's ``floor_write_minimal`` figure.

    :func:`floor_durable_replace` is what any store *reasonably* pays (a unique temp name, the
    directory opened for its fsync). This one pays only what a crash-safe replace cannot skip,
    so the hardened save's distance to it (``ratio_minimal``) is what the store adds beyond the
    disk: a FIXED temp name (one writer only, so no name to invent), created with ``O_EXCL`` (a
    left-over temp is unlinked once, when the floor is made), write, fsync (the bytes are on disk
    before the name points at them: a crash after the rename must not find an empty file),
    close, rename over the target, and fsync of a directory descriptor opened once and kept open
    (the rename itself is durable only once its directory is). Call :meth:`close` at the end.
    """

    def __init__(self, folder: Path, path: str, body: bytes) -> None:
        self.path, self.body = path, body
        self.temp = f"{path}.minimal.tmp"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.temp)  # left over by a run that was killed between open and rename
        self.directory = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)

    def write(self) -> None:
        """One durable replace of the target with the body."""
        fd = os.open(self.temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        try:
            view = memoryview(self.body)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(self.temp, self.path)
        os.fsync(self.directory)

    def close(self) -> None:
        """Close the directory descriptor (the floor cannot write after this)."""
        os.close(self.directory)


def floor_plain_read(path: str) -> object:
    """The minimal read of a JSON job file."""
    with open(path, "rb") as source:
        return json.loads(source.read())


# ---------------------------------------------------------------- postgresql


def postgres_floor(url: str, body: bytes) -> Floor:
    """One-row write and read in a scratch table, over a psycopg connection to ``url``.

    The table is a plain one, not ``TEMPORARY`` or ``UNLOGGED``: those skip the write-ahead log,
    so their commits would not wait for the fsync every durable store's commit waits for, and
    the floor would be one no correct store can reach. It is dropped by ``close()``.
    """
    try:
        import psycopg
    except ImportError:
        raise FloorError(
            "the store declared medium 'postgresql' but psycopg is not installed here "
            "(pip install 'psycopg[binary]')"
        ) from None
    table = f"jobharness_floor_{secrets.token_hex(4)}"
    text = body.decode("utf-8")
    try:
        connection = psycopg.connect(url, autocommit=True, connect_timeout=5)
        connection.execute(f"CREATE TABLE {table} (id text PRIMARY KEY, body text NOT NULL)")
    except psycopg.Error as error:
        raise FloorError(
            f"cannot measure the PostgreSQL floor at {_without_password(url)}: "
            f"{type(error).__name__}: {str(error).strip()}"
        ) from None
    upsert = (
        f"INSERT INTO {table} (id, body) VALUES (%s, %s) "
        "ON CONFLICT (id) DO UPDATE SET body = excluded.body"
    )
    select = f"SELECT body FROM {table} WHERE id = %s"

    def write() -> None:
        connection.execute(upsert, (FLOOR_ROW, text))  # autocommit: committed on return

    def read() -> object:
        row = connection.execute(select, (FLOOR_ROW,)).fetchone()
        return json.loads(row[0])

    def close() -> None:
        try:
            connection.execute(f"DROP TABLE IF EXISTS {table}")
        finally:
            connection.close()

    write()  # so the first read finds its row
    return Floor(
        POSTGRESQL,
        "one-row INSERT ... ON CONFLICT DO UPDATE, committed, over psycopg to the store's server",
        "one-row SELECT by key and json.loads, over psycopg to the store's server",
        write,
        read,
        close=close,
    )


def _without_password(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


# ---------------------------------------------------------------- custom


def _custom_floor(medium: str, declared: dict[str, Any]) -> Floor:
    close = declared.get("close")
    what = str(declared.get("describe") or f"the store's own {medium} floor")
    return Floor(
        medium,
        f"{what} (write)",
        f"{what} (read)",
        declared["write"],
        declared["read"],
        declared_by="store",
        close=close if callable(close) else (lambda: None),
    )
