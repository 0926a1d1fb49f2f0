"""The PostgreSQL backend (psycopg 3): one row per job, the database does the durability.

PostgreSQL commits are atomic and durable (with the server's default ``fsync=on`` and
``synchronous_commit=on``), so there are no temp files, no backups and no checksums here. An
update is a single statement, ``UPDATE ... SET body = body || changes``, which the server applies
atomically under the row lock: concurrent updates of different fields cannot lose each other.

URL: ``postgresql://user@host:port/dbname?table=jobs`` (``table`` is optional; tests use it to
keep their rows apart). Connections are per thread and per process.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

from durable_jobs.encoding import encode_job_body
from durable_jobs.errors import (
    DurabilityError,
    InvalidJobError,
    JobNotFoundError,
    JobStoreError,
    StoreConfigError,
)
from durable_jobs.ids import validate_job_id
from durable_jobs.lifecycle import abandonment_changes, is_abandoned

_TABLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_ESCAPED_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")  # an escape, not an escaped backslash


class PostgresJobStore:
    """Jobs as rows of ``<table>(id text primary key, body jsonb, version bigint, updated)``."""

    def __init__(self, url: str, *, connect_timeout: float = 5.0) -> None:
        import psycopg  # imported here so the file backends work without the driver

        self._psycopg = psycopg
        parts = urlsplit(url)
        options = parse_qs(parts.query)
        self.table = options.pop("table", ["jobs"])[-1]
        if not _TABLE_NAME.fullmatch(self.table):
            raise StoreConfigError(
                f"table={self.table!r} in the PostgreSQL URL is not a plain lower-case SQL name"
            )
        self.url = urlunsplit(
            parts._replace(query="&".join(f"{k}={v[-1]}" for k, v in options.items()))
        )
        self.connect_timeout = connect_timeout
        self._local = threading.local()
        self._pid = os.getpid()
        with self._connection() as connection:
            connection.execute(
                f"CREATE TABLE IF NOT EXISTS {self.table} ("
                " id text PRIMARY KEY, body jsonb NOT NULL, version bigint NOT NULL,"
                " updated double precision NOT NULL)"
            )

    def __repr__(self) -> str:
        return f"PostgresJobStore({self.url!r}, table={self.table!r})"

    def save_job(self, job_id: str, job: dict[str, Any]) -> None:
        name = validate_job_id(job_id)
        body = _jsonb_text(job)
        try:
            with self._connection() as connection:
                connection.execute(
                    f"INSERT INTO {self.table} (id, body, version, updated) "
                    "VALUES (%s, %s::jsonb, 1, %s) ON CONFLICT (id) DO UPDATE SET "
                    f"body = excluded.body, version = {self.table}.version + 1, "
                    "updated = excluded.updated",
                    (name, body, time.time()),
                )
        except self._psycopg.Error as error:
            raise DurabilityError(f"cannot save job {name!r}: {_describe(error)}") from error

    def get_job(self, job_id: str) -> dict[str, Any] | None:
        name = validate_job_id(job_id)
        try:
            with self._connection() as connection:
                row = connection.execute(
                    f"SELECT body FROM {self.table} WHERE id = %s", (name,)
                ).fetchone()
        except Exception as error:
            return {
                "id": name,
                "status": "unknown",
                "error": f"cannot read job {name!r} from the database: {_describe(error)}",
            }
        return None if row is None else row[0]

    def update_job(self, job_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        name = validate_job_id(job_id)
        patch = _jsonb_text(changes)
        try:
            with self._connection() as connection:
                row = connection.execute(
                    f"UPDATE {self.table} SET body = body || %s::jsonb, version = version + 1, "
                    "updated = %s WHERE id = %s RETURNING body",
                    (patch, time.time(), name),
                ).fetchone()
        except self._psycopg.Error as error:
            raise DurabilityError(f"cannot update job {name!r}: {_describe(error)}") from error
        if row is None:
            raise JobNotFoundError(f"job {name!r} does not exist")
        return row[0]

    def delete_job(self, job_id: str) -> bool:
        name = validate_job_id(job_id)
        try:
            with self._connection() as connection:
                cursor = connection.execute(f"DELETE FROM {self.table} WHERE id = %s", (name,))
        except self._psycopg.Error as error:
            raise DurabilityError(f"cannot delete job {name!r}: {_describe(error)}") from error
        return cursor.rowcount > 0

    def list_jobs(self) -> list[str]:
        try:
            with self._connection() as connection:
                rows = connection.execute(f"SELECT id FROM {self.table} ORDER BY id").fetchall()
        except self._psycopg.Error as error:
            raise JobStoreError(f"cannot list jobs: {_describe(error)}") from error
        return [row[0] for row in rows]

    def recover(self) -> dict[str, Any]:
        """Fail every non-terminal job that no live process owns."""
        failed: list[str] = []
        with self._connection() as connection:
            rows = connection.execute(
                f"SELECT id, body, version FROM {self.table} WHERE body ? 'status' "
                "AND body->>'status' NOT IN ('done', 'error')"
            ).fetchall()
        for job_id, job, version in rows:
            if is_abandoned(job):
                changes = abandonment_changes(job)
                with self._connection() as connection:
                    # Only the version judged abandoned: a job that finished, or that a live
                    # worker claimed, since the SELECT has a new version and is left alone.
                    cursor = connection.execute(
                        f"UPDATE {self.table} SET body = body || %s::jsonb, "
                        "version = version + 1, updated = %s "
                        "WHERE id = %s AND version = %s",
                        (_jsonb_text(changes), time.time(), job_id, version),
                    )
                if cursor.rowcount:
                    failed.append(job_id)
        return {"abandoned_jobs_failed": failed}

    def latency_floor(self) -> dict[str, str]:
        """The medium a performance budget must judge this store against (see jobharness).

        A PostgreSQL store pays a round trip to its server and the server's commit on every
        call: its floor is a one-row write and read over a connection like this one, to the
        same server, not a local file read no PostgreSQL store can match.
        """
        return {"medium": "postgresql", "url": self.url}

    def drop(self) -> None:
        """Drop the table (tests and benchmarks clean up with this)."""
        with self._connection() as connection:
            connection.execute(f"DROP TABLE IF EXISTS {self.table}")

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    def _connection(self) -> Any:
        """This thread's connection in autocommit mode (each statement is a transaction)."""
        if os.getpid() != self._pid:
            self._local = threading.local()  # never reuse a socket inherited across fork
            self._pid = os.getpid()
        connection = getattr(self._local, "connection", None)
        if connection is None or connection.closed:
            connection = self._psycopg.connect(
                self.url, autocommit=True, connect_timeout=max(1, int(self.connect_timeout))
            )
            self._local.connection = connection
        return _Borrowed(connection)


class _Borrowed:
    """Context manager that hands out the thread's connection and drops it if it broke."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def __enter__(self) -> Any:
        return self.connection

    def __exit__(self, kind: object, error: object, traceback: object) -> None:
        if kind is not None and self.connection.broken:
            self.connection.close()


def _jsonb_text(value: object) -> str:
    body = encode_job_body(value).decode("ascii")
    if "\\u0000" in body and _ESCAPED_NUL.search(body):
        raise InvalidJobError(
            "PostgreSQL jsonb cannot store the NUL character (\\u0000) in a string; "
            "remove it or use the file or SQLite backend"
        )
    if "\\ud" in body and _has_lone_surrogate(body):
        # The server would refuse it too, but as a DataError that reads like a failed write.
        raise InvalidJobError(
            "PostgreSQL jsonb cannot store a lone surrogate (\\ud800-\\udfff) in a string; "
            "encode the text as valid Unicode or use the file or SQLite backend"
        )
    return body


def _has_lone_surrogate(body: str) -> bool:
    """True when a string in the JSON ``body`` holds a surrogate that is not part of a pair."""
    try:
        json.dumps(json.loads(body), ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {str(error).strip()}"
