"""The SQLite backend: one row per job in one database file.

SQLite does the hard parts itself: a commit is atomic and, with ``journal_mode=WAL`` and
``synchronous=FULL``, durable when it returns (the WAL is fsynced at every commit). A save is an
upsert; an update is ``BEGIN IMMEDIATE`` (take the write lock first, so two read-modify-writes
cannot interleave and lose each other's fields), read, merge, write, commit. Appending to the WAL
costs one fsync, against the file backend's two plus a rename, so it is the faster choice when a
single database file is acceptable.

There is no per-job file to damage and no backup: SQLite detects a damaged page itself
(``database disk image is malformed``), and ``get_job`` turns that into an error dict.
Connections are per thread (SQLite connections must not be shared between threads) and per
process (each worker process opens its own after a fork).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from durable_jobs.encoding import RECOVERED_KEY, encode_job_body
from durable_jobs.errors import (
    DurabilityError,
    JobNotFoundError,
    JobStoreError,
    JobUnreadableError,
    StoreConfigError,
    StoreUnavailableError,
    describe_os_error,
)
from durable_jobs.ids import validate_job_id
from durable_jobs.leases import check_expectation, parse_expect
from durable_jobs.lifecycle import abandonment_changes, is_abandoned

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id      TEXT PRIMARY KEY,
    body    TEXT NOT NULL,
    version INTEGER NOT NULL,
    updated REAL NOT NULL
)
"""
BUSY_TIMEOUT_MS = 30_000


class SqliteJobStore:
    """Jobs as rows of ``jobs(id, body, version, updated)`` in a WAL-mode SQLite database."""

    # The durability settings of every connection. WAL with FULL: the log is fsynced at every
    # commit, so a commit that returned survives a power cut (NORMAL, the usual WAL setting,
    # may lose the last commits). A subclass may choose another correct pair.
    JOURNAL_MODE = "WAL"
    SYNCHRONOUS = "FULL"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._pid = os.getpid()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._transaction(immediate=True) as connection:
                connection.execute(_SCHEMA)
        except OSError as error:
            raise StoreConfigError(
                f"cannot open the SQLite store {self.path}: {describe_os_error(error)}"
            ) from error
        except sqlite3.Error as error:
            raise StoreConfigError(
                f"cannot open the SQLite store {self.path}: {self._explain(error)}"
            ) from error

    def __repr__(self) -> str:
        return f"SqliteJobStore({os.fspath(self.path)!r})"

    def owned_paths(self) -> list[str]:
        """The database and the files SQLite keeps beside it (WAL, shared memory, journal)."""
        return [
            os.fspath(self.path.absolute()) + suffix for suffix in ("", "-wal", "-shm", "-journal")
        ]

    def save_job(self, job_id: str, job: dict[str, Any]) -> None:
        """Insert or replace the job; durable when this returns."""
        name = validate_job_id(job_id)
        body = encode_job_body(job).decode("ascii")
        try:
            # One statement in autocommit mode is its own transaction: no BEGIN/COMMIT needed.
            self._connection().execute(
                "INSERT INTO jobs (id, body, version, updated) VALUES (?, ?, 1, ?) "
                "ON CONFLICT (id) DO UPDATE SET body = excluded.body, "
                "version = jobs.version + 1, updated = excluded.updated",
                (name, body, time.time()),
            )
        except sqlite3.Error as error:
            raise self._write_error(f"cannot save job {name!r}", error) from error

    def get_job(self, job_id: str) -> dict[str, Any] | None:
        """The job, ``None`` if it does not exist, or an error dict; never raises for state."""
        name = validate_job_id(job_id)
        try:
            row = (
                self._connection().execute("SELECT body FROM jobs WHERE id = ?", (name,)).fetchone()
            )
            if row is None:
                return None
            job = json.loads(row[0])
            if not isinstance(job, dict):
                return _error_job(
                    name, f"stored job {name!r} is a {type(job).__name__}, not an object"
                )
            return job
        except sqlite3.Error as error:
            if _is_transient(error):
                raise StoreUnavailableError(
                    f"cannot read job {name!r} from {self.path}: {self._explain(error)}"
                ) from error
            return _error_job(
                name, f"cannot read job {name!r} from {self.path}: {self._explain(error)}"
            )
        except Exception as error:
            return _error_job(
                name, f"cannot read job {name!r} from {self.path}: {_describe(error)}"
            )

    def update_job(
        self, job_id: str, changes: dict[str, Any], *, expect: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Merge ``changes`` into the job in one ``BEGIN IMMEDIATE`` transaction.

        With ``expect`` (see :mod:`durable_jobs.leases`), the stored job is checked inside the
        same transaction, under the write lock, and :class:`LeaseLostError` leaves it unchanged.
        """
        name = validate_job_id(job_id)
        encode_job_body(changes)
        expected = parse_expect(expect)
        try:
            with self._transaction(immediate=True) as connection:
                row = connection.execute("SELECT body FROM jobs WHERE id = ?", (name,)).fetchone()
                if row is None:
                    raise JobNotFoundError(f"job {name!r} does not exist")
                try:
                    job = json.loads(row[0])
                except ValueError as error:
                    raise JobUnreadableError(f"job {name!r} is not valid JSON: {error}") from None
                if not isinstance(job, dict):
                    raise JobUnreadableError(
                        f"job {name!r} is stored as a {type(job).__name__}, not an object"
                    )
                check_expectation(name, job, expected)
                job.update(changes)
                job.pop(RECOVERED_KEY, None)  # never stored, so never returned as stored
                connection.execute(
                    "UPDATE jobs SET body = ?, version = version + 1, updated = ? WHERE id = ?",
                    (encode_job_body(job).decode("ascii"), time.time(), name),
                )
        except sqlite3.Error as error:
            raise self._write_error(f"cannot update job {name!r}", error) from error
        return job

    def delete_job(self, job_id: str) -> bool:
        name = validate_job_id(job_id)
        try:
            with self._transaction(immediate=True) as connection:
                cursor = connection.execute("DELETE FROM jobs WHERE id = ?", (name,))
        except sqlite3.Error as error:
            raise self._write_error(f"cannot delete job {name!r}", error) from error
        return cursor.rowcount > 0

    def list_jobs(self) -> list[str]:
        try:
            rows = self._connection().execute("SELECT id FROM jobs ORDER BY id").fetchall()
        except sqlite3.Error as error:
            message = f"cannot list jobs in {self.path}: {self._explain(error)}"
            if _is_transient(error):
                raise StoreUnavailableError(message) from error
            raise JobStoreError(message) from error
        return [row[0] for row in rows]

    def recover(self) -> dict[str, Any]:
        """Check the database and fail every abandoned job (see :meth:`rescue_abandoned`)."""
        try:
            check = self._connection().execute("PRAGMA quick_check").fetchone()[0]
        except sqlite3.Error as error:
            raise self._write_error(f"cannot recover {self.path}", error) from error
        report = self.rescue_abandoned()
        if check != "ok":
            report["integrity"] = check
        return report

    def rescue_abandoned(self) -> dict[str, Any]:
        """Fail every non-terminal job nothing live holds (a dead owner, an expired lease).

        Cheap enough to run every few seconds while other processes use the database: each job
        is judged and failed in one write transaction, so a job its worker renewed or finished
        meanwhile is judged on what the worker wrote.
        """
        report: dict[str, Any] = {"abandoned_jobs_failed": [], "unreadable": {}}
        try:
            job_ids = (
                self._connection()
                .execute(
                    "SELECT id FROM jobs WHERE json_valid(body) = 0 OR ("
                    "json_type(body, '$.status') IS NOT NULL "
                    "AND json_extract(body, '$.status') NOT IN ('done', 'error'))"
                    " ORDER BY id"
                )
                .fetchall()
            )
        except sqlite3.Error as error:
            raise self._write_error(f"cannot recover {self.path}", error) from error
        for (job_id,) in job_ids:
            try:
                if self._fail_if_abandoned(job_id):
                    report["abandoned_jobs_failed"].append(job_id)
            except (sqlite3.Error, ValueError) as error:
                report["unreadable"][job_id] = _describe(error)
        return report

    def _fail_if_abandoned(self, job_id: str) -> bool:
        with self._transaction(immediate=True) as tx:
            row = tx.execute("SELECT body FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                return False
            job = json.loads(row[0])
            if not isinstance(job, dict) or not is_abandoned(job):
                return False
            job.update(abandonment_changes(job))
            tx.execute(
                "UPDATE jobs SET body = ?, version = version + 1, updated = ? WHERE id = ?",
                (encode_job_body(job).decode("ascii"), time.time(), job_id),
            )
        return True

    def latency_floor(self) -> dict[str, str]:
        """The medium a performance budget must judge this store against: a local file.

        SQLite is a library over a local file, in the caller's process: no round trip to pay,
        reads from the same page cache as a plain file read, and a WAL commit costs one fsync,
        less than a durable file replace. So the file floors are ones it can meet, and a
        one-row SQLite floor would let the store's own pragmas set the budget that judges them.
        """
        return {"medium": "file"}

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    # ---------------------------------------------------------------- errors

    def _write_error(self, what: str, error: sqlite3.Error) -> JobStoreError:
        """A failed write in the store's terms: busy is transient, the rest not durable."""
        message = f"{what}: {self._explain(error)}"
        if _is_transient(error):
            return StoreUnavailableError(message, retry_after=1.0)
        return DurabilityError(f"{message}; the job is unchanged")

    def _explain(self, error: sqlite3.Error) -> str:
        """SQLite's message, and what to do about it."""
        code = _primary_code(error)
        where = self.path.parent
        if code in (SQLITE_CANTOPEN, SQLITE_READONLY, SQLITE_PERM):
            # SQLite says "unable to open database file" for several causes; ask the system.
            code = _why_not_writable(where) or code
        fix = _SQLITE_FIXES.get(code, "")
        if getattr(error, "sqlite_errorcode", None) in SQLITE_IOERR_SYNCS:
            fix = _FSYNC_FIX  # SQLite drops the errno of a failed fsync: name both causes
        return f"{_describe(error)}{fix.format(folder=where)}"

    # ---------------------------------------------------------------- connections

    def _connection(self) -> sqlite3.Connection:
        if os.getpid() != self._pid:
            # Forked: a connection inherited from the parent must never be used in the child.
            self._local = threading.local()
            self._pid = os.getpid()
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None
            )
            connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            connection.execute(f"PRAGMA journal_mode = {self.JOURNAL_MODE}")
            connection.execute(f"PRAGMA synchronous = {self.SYNCHRONOUS}")
            self._local.connection = connection
        return connection

    def _transaction(self, *, immediate: bool) -> _Transaction:
        return _Transaction(self._connection(), immediate)


class _Transaction:
    """``with`` block around BEGIN ... COMMIT, rolled back on any exception."""

    def __init__(self, connection: sqlite3.Connection, immediate: bool) -> None:
        self.connection = connection
        self.immediate = immediate

    def __enter__(self) -> sqlite3.Connection:
        self.connection.execute("BEGIN IMMEDIATE" if self.immediate else "BEGIN")
        return self.connection

    def __exit__(self, kind: object, error: object, traceback: object) -> None:
        try:
            if kind is None:
                self.connection.execute("COMMIT")
        finally:
            # After an exception, or a COMMIT that failed, leave the connection usable.
            if self.connection.in_transaction:
                self.connection.execute("ROLLBACK")


# Extended codes of a failed fsync of the database or journal file, or of its folder. SQLite
# reports every fsync failure as one of these, without the errno: on Linux an fsync fails with
# EIO (the device) or ENOSPC (no space for the data the page cache held), so the message names
# both and how to tell them apart.
SQLITE_IOERR_SYNCS = (10 | 4 << 8, 10 | 5 << 8)  # SQLITE_IOERR_FSYNC, SQLITE_IOERR_DIR_FSYNC
_FSYNC_FIX = (
    " (fsync failed: EIO, a device error, or ENOSPC, no space left under {folder}; "
    "SQLite does not say which: check the free space (df) and the kernel log (dmesg))"
)

# Primary result codes (https://sqlite.org/rescode.html) and the fix each calls for.
SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY, SQLITE_IOERR, SQLITE_FULL = 5, 6, 8, 10, 13
SQLITE_CANTOPEN, SQLITE_PERM, SQLITE_CORRUPT, SQLITE_NOTADB = 14, 3, 11, 26
_SQLITE_FIXES = {
    SQLITE_BUSY: " (another process held the write lock too long; retry)",
    SQLITE_LOCKED: " (another connection held a lock too long; retry)",
    SQLITE_READONLY: " (EROFS/EACCES: the database file or {folder} is read-only; remount it "
    "read-write or give the service's user write access)",
    SQLITE_PERM: " (EACCES: give the service's user write access to {folder})",
    SQLITE_CANTOPEN: " (the file or its folder {folder} cannot be opened or created: check that "
    "it exists, is writable, and is not mounted read-only)",
    SQLITE_IOERR: " (an I/O error from the device; check the disk under {folder} (dmesg))",
    SQLITE_FULL: " (ENOSPC: no space left under {folder}; free space)",
    SQLITE_CORRUPT: " (the database file is damaged; restore it from a backup)",
    SQLITE_NOTADB: " (the file is not an SQLite database; point the URL at a .db file)",
}


def _why_not_writable(folder: Path) -> int | None:
    """SQLITE_READONLY if ``folder`` is on a read-only mount, SQLITE_PERM if not writable."""
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return SQLITE_READONLY
    except OSError:
        return None
    return None if os.access(folder, os.W_OK) else SQLITE_PERM


def _primary_code(error: sqlite3.Error) -> int | None:
    code = getattr(error, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def _is_transient(error: sqlite3.Error) -> bool:
    return _primary_code(error) in (SQLITE_BUSY, SQLITE_LOCKED)


def _error_job(name: str, reason: str) -> dict[str, Any]:
    return {"id": name, "status": "unknown", "error": reason}


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"
