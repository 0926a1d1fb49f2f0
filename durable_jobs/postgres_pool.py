"""How the PostgreSQL backend talks to its server: a bounded pool, retries, and errors it names.

:class:`PostgresConnections` owns everything between a statement and the server, so that
:mod:`durable_jobs.postgres_store` only says *what* to run::

    connections = PostgresConnections(PostgresOptions.parse(url))
    body = connections.run("read job 'a1'", lambda c: c.execute(sql, ("a1",)).fetchone(), read=True)

* **A bounded pool** (``psycopg_pool``), at most ``pool_max`` connections per store and process
  (default :data:`DEFAULT_POOL_MAX`), opened lazily and again after a ``fork`` (a socket shared
  with the parent must never be used by the child). A connection a statement has finished
  with is kept in a small last-in-first-out stack of the store's (``_idle``), taken first by
  the next statement, and given back to the pool itself whenever a thread waits there: the pool
  still bounds every connection, but a statement does not pay the pool's bookkeeping (13 us
  a statement here, against a read budget of +0.1 ms over a bare connection) and reuses the
  warm connection it used last instead of the pool's oldest. ``uvicorn --workers 3`` with hundreds of
  pollers therefore holds at most ``3 x pool_max`` server connections, where one connection per
  thread ran the server out of ``max_connections``.
* **Retries of idempotent statements** while the server cannot be reached: a dropped connection
  (``pg_terminate_backend``, a server restart) is replaced and the statement run again, with
  backoff, for up to ``retry_seconds`` (writes, default :data:`DEFAULT_RETRY_SECONDS`) or
  ``read_retry_seconds`` (reads, default :data:`DEFAULT_READ_RETRY_SECONDS`: a status poll is
  better answered "retry later" quickly than held). Every statement of the store is idempotent
  in its effect: an upsert of a whole body, a merge of the same keys, a delete.
* **Errors in the store's terms**: a server that stays unreachable is
  :class:`~durable_jobs.errors.StoreUnavailableError` (retry later), anything else a
  :class:`~durable_jobs.errors.JobStoreError` naming the statement, the driver's message and
  the fix. Passwords in the URL never reach a message.

URL options (removed before the URL goes to libpq): ``table``, ``pool_max``, ``retry_seconds``,
``read_retry_seconds``, e.g. ``postgresql://app@db/jobs?table=jobs&pool_max=10``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from durable_jobs.errors import JobStoreError, StoreConfigError, StoreUnavailableError

try:
    from psycopg.pq import TransactionStatus

    _IDLE: Any = TransactionStatus.IDLE
except ImportError:  # no driver: only the file backends are usable, and this module is unused
    _IDLE = None

log = logging.getLogger("durable_jobs.postgres")

T = TypeVar("T")

DEFAULT_TABLE = "jobs"
DEFAULT_POOL_MAX = 5
DEFAULT_RETRY_SECONDS = 10.0
DEFAULT_READ_RETRY_SECONDS = 2.0
DEFAULT_APPLICATION_NAME = "durable_jobs"
FIRST_BACKOFF_SECONDS, MAX_BACKOFF_SECONDS = 0.05, 1.0
WAIT_SLICE_SECONDS = 0.05
_TABLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
# Parents that survived a fork: never closed (that would end the parent's sessions: libpq sends
# its Terminate message down the shared socket) and never collected while the child runs.
_POOLS_OF_PARENT: list[Any] = []


@dataclass(frozen=True, slots=True)
class PostgresOptions:
    """A PostgreSQL store URL split into what libpq reads and what the store reads."""

    url: str
    table: str = DEFAULT_TABLE
    pool_max: int = DEFAULT_POOL_MAX
    retry_seconds: float = DEFAULT_RETRY_SECONDS
    read_retry_seconds: float = DEFAULT_READ_RETRY_SECONDS
    connect_timeout: float = 5.0

    @classmethod
    def parse(cls, url: str, *, connect_timeout: float = 5.0) -> PostgresOptions:
        """Take the store's options out of ``url``; :class:`StoreConfigError` for a bad one."""
        try:
            parts = urlsplit(url)
            query = parse_qsl(parts.query, keep_blank_values=True)
        except ValueError as error:
            message = f"cannot parse the PostgreSQL URL {redact(url)!r}: {error}"
            raise StoreConfigError(message) from None
        options = dict(query)
        table = options.pop("table", DEFAULT_TABLE)
        if not _TABLE_NAME.fullmatch(table):
            raise StoreConfigError(
                f"table={table!r} in the PostgreSQL URL is not a plain lower-case SQL name"
            )
        store_keys = ("table", "pool_max", "retry_seconds", "read_retry_seconds")
        libpq_query = [(key, value) for key, value in query if key not in store_keys]
        return cls(
            # quote, not quote_plus: libpq decodes %20 in a URI, but not '+'.
            url=urlunsplit(parts._replace(query=urlencode(libpq_query, quote_via=quote))),
            table=table,
            pool_max=_positive_int(options.pop("pool_max", None), "pool_max", DEFAULT_POOL_MAX),
            retry_seconds=_seconds(
                options.pop("retry_seconds", None), "retry_seconds", DEFAULT_RETRY_SECONDS
            ),
            read_retry_seconds=_seconds(
                options.pop("read_retry_seconds", None),
                "read_retry_seconds",
                DEFAULT_READ_RETRY_SECONDS,
            ),
            connect_timeout=connect_timeout,
        )


class PostgresConnections:
    """The store's pool of server connections, and the retry loop every statement runs in."""

    def __init__(self, options: PostgresOptions) -> None:
        import psycopg  # imported here so the file backends work without the driver

        self.options = options
        self._psycopg = psycopg
        self._lock = threading.Lock()
        self._pool: Any = None
        self._idle: list[Any] = []  # taken from the pool, not in use; the latest last
        self._waiting = 0  # threads waiting inside the pool for a connection
        self._pid = os.getpid()

    def connect_once(self) -> Any:
        """A connection of its own, outside the pool (schema set-up); errors name the fix."""
        try:
            return self._psycopg.connect(self.options.url, **self._connection_kwargs())
        except self._psycopg.Error as error:
            raise open_error(self.options.url, error) from error

    def run(self, what: str, statement: Callable[[Any], T], *, read: bool = False) -> T:
        """``statement(connection)`` on a pooled connection, retried while the server is away.

        ``what`` names the call in messages ("save job 'a1'"). A driver error that retrying
        cannot cure is raised at once as :class:`JobStoreError`; one that outlasts the budget as
        :class:`StoreUnavailableError`.
        """
        budget = self.options.read_retry_seconds if read else self.options.retry_seconds
        deadline = time.monotonic() + budget
        backoff = FIRST_BACKOFF_SECONDS
        attempt = dead_in_a_row = 1
        while True:
            try:
                return self._on_pooled_connection(statement, deadline)
            except self._psycopg.OperationalError as error:
                # OperationalError: the connection failed or was ended (57P01 admin shutdown,
                # 57P03 starting up, 53300 too many clients, the pool's own timeout). Anything
                # else (a constraint, a type, a permission) would fail again the same way.
                left = deadline - time.monotonic()
                if left <= 0:
                    raise self._unavailable(what, error, budget, attempt) from error
                log.warning("%s: attempt %d failed (%s); retrying", what, attempt, describe(error))
                attempt += 1
                if (
                    getattr(error, "dead_connection", False)
                    and dead_in_a_row <= self.options.pool_max
                ):
                    # An open connection found dead (its backend terminated): the next one
                    # may be alive, so no wait, once for each connection the pool may hold.
                    dead_in_a_row += 1
                    continue
                dead_in_a_row = 1
                time.sleep(min(backoff, left))
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
            except self._psycopg.Error as error:
                raise JobStoreError(f"cannot {what}: {describe(error)}") from error

    def _on_pooled_connection(self, statement: Callable[[Any], T], deadline: float) -> T:
        pool = self._current_pool()
        try:
            connection = self._idle.pop()  # the one used last: warm, and no pool bookkeeping
        except IndexError:
            connection = self._take_from_pool(pool, deadline)
        try:
            result = statement(connection)
        except BaseException as error:
            if connection.broken:
                error.dead_connection = True  # type: ignore[attr-defined]  # read by run()
            pool.putconn(connection)  # a broken connection is discarded and replaced
            raise
        self._give_back(pool, connection)
        return result

    def _take_from_pool(self, pool: Any, deadline: float) -> Any:
        """A connection from the pool itself, waiting for one until ``deadline``."""
        from psycopg_pool import PoolTimeout

        with self._lock:
            self._waiting += 1  # from now on, connections go back to the pool, not to _idle
        try:
            while True:
                try:
                    return pool.getconn(timeout=WAIT_SLICE_SECONDS)
                except PoolTimeout:
                    # One may have gone to _idle just before this thread said it was waiting.
                    with contextlib.suppress(IndexError):
                        return self._idle.pop()
                    if time.monotonic() >= deadline:
                        raise
        finally:
            with self._lock:
                self._waiting -= 1

    def _give_back(self, pool: Any, connection: Any) -> None:
        """Keep a healthy connection for the next statement, unless another thread waits."""
        if self._waiting or connection.info.transaction_status != _IDLE or connection.closed:
            pool.putconn(connection)
        else:
            self._idle.append(connection)

    def close(self) -> None:
        """Close the pool (its connections end); the next statement opens a new one."""
        with self._lock:
            pool, self._pool = self._pool, None
            idle, self._idle = self._idle, []
        if pool is not None and self._pid == os.getpid():
            for connection in idle:
                pool.putconn(connection)
            pool.close(timeout=5.0)

    def _current_pool(self) -> Any:
        if self._pool is not None and self._pid == os.getpid():
            return self._pool
        with self._lock:
            if self._pid != os.getpid():
                if self._pool is not None:
                    _POOLS_OF_PARENT.append((self._pool, self._idle))
                self._pool, self._idle, self._pid = None, [], os.getpid()
            if self._pool is None:
                from psycopg_pool import ConnectionPool

                self._pool = ConnectionPool(
                    self.options.url,
                    min_size=1,
                    max_size=self.options.pool_max,
                    kwargs=self._connection_kwargs(),
                    open=True,
                    name=f"durable_jobs.{self.options.table}",
                    timeout=self.options.retry_seconds,
                )
                self._wait_for_first_connection(self._pool)
            return self._pool

    def _wait_for_first_connection(self, pool: Any) -> None:
        """Let the pool's first connection arrive before the first statement asks for one.

        Otherwise that statement finds the pool empty and makes it grow to two connections,
        which it then hands out in turn (first in, first out): every call of a one-thread
        caller would wake a different server backend, whose caches are cold (+0.1 ms a read).
        """
        from psycopg_pool import PoolTimeout

        # A server that is away is the statement's retries' business, not this wait's.
        with contextlib.suppress(PoolTimeout):
            pool.wait(timeout=self.options.connect_timeout)

    def _connection_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "autocommit": True,  # each statement is its own transaction
            "connect_timeout": max(1, int(self.options.connect_timeout)),
        }
        if "application_name" not in urlsplit(self.options.url).query:
            kwargs["application_name"] = DEFAULT_APPLICATION_NAME  # who it is, in pg_stat_activity
        return kwargs

    def _unavailable(
        self, what: str, error: BaseException, budget: float, attempts: int
    ) -> StoreUnavailableError:
        parts = urlsplit(self.options.url)
        return StoreUnavailableError(
            f"cannot {what}: PostgreSQL at {parts.hostname or 'localhost'}:{parts.port or 5432} "
            f"did not answer for {budget:g} s ({attempts} attempts; last: {describe(error)}); "
            "retry later, and check that the server is up and accepts connections "
            f"(max_connections; this store uses at most pool_max={self.options.pool_max})",
            retry_after=min(max(budget, 1.0), 5.0),
        )


def open_error(url: str, error: BaseException) -> JobStoreError:
    """The error for a store that could not be opened: a bad URL, or a server out of reach."""
    shown = redact(url)
    if isinstance(error, StoreConfigError):
        return error
    text = describe(error)
    if "invalid" in text or "ProgrammingError" in text:
        return StoreConfigError(
            f"cannot open the PostgreSQL store {shown!r}: {text}; fix the URL "
            "(postgresql://user@host:port/dbname?table=name&pool_max=N)"
        )
    return StoreUnavailableError(
        f"cannot open the PostgreSQL store {shown!r}: {text}; check that the server is running "
        "and that the URL's host, port, user and database are right"
    )


def redact(url: str) -> str:
    """``url`` with its password replaced by ``***``."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
        return urlunsplit(parts._replace(netloc=netloc))
    except ValueError:
        return "<unparsable URL>"


def describe(error: BaseException) -> str:
    """``Type: message`` on one line (libpq's messages run over several)."""
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}"


def _positive_int(value: str | None, name: str, default: int) -> int:
    if value is None:
        return default
    if not value.isdigit() or int(value) < 1:
        raise StoreConfigError(
            f"{name}={value!r} in the PostgreSQL URL must be a whole number >= 1, such as {name}=5"
        )
    return int(value)


def _seconds(value: str | None, name: str, default: float) -> float:
    if value is None:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < 3600:
        raise StoreConfigError(
            f"{name}={value!r} in the PostgreSQL URL must be a number of seconds from 0 to 3600, "
            f"such as {name}={default:g}"
        )
    return seconds
