"""The PostgreSQL backend against a real server: its pool, its retries, its schema, its errors.

Each test uses tables of its own (``t_<random>``) and its own ``application_name``, so that it
can find, count and terminate exactly its own server backends in ``pg_stat_activity`` while
other tests (and other users of the server) go on.
"""

from __future__ import annotations

import multiprocessing
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from durable_jobs.errors import JobStoreError, StoreConfigError, StoreUnavailableError
from durable_jobs.postgres_pool import DEFAULT_POOL_MAX, PostgresOptions, redact
from durable_jobs.postgres_store import PostgresJobStore

pytestmark = pytest.mark.postgres


def admin(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(url, autocommit=True, connect_timeout=5)


def backends_of(url: str, application: str) -> list[int]:
    with admin(url) as connection:
        rows = connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (application,)
        ).fetchall()
    return [row[0] for row in rows]


def terminate_backends(url: str, application: str) -> int:
    with admin(url) as connection:
        rows = connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (application,),
        ).fetchall()
    return len(rows)


@pytest.fixture
def open_pg(postgres_url: str) -> Iterator[Callable[..., PostgresJobStore]]:
    """``open_pg(**options)`` opens a store on a fresh table; dropped and closed afterwards."""
    opened: list[PostgresJobStore] = []

    def open_store(**options: object) -> PostgresJobStore:
        query = {"table": f"t_{secrets.token_hex(6)}", **options}
        url = postgres_url + "?" + "&".join(f"{key}={value}" for key, value in query.items())
        store = PostgresJobStore(url)
        opened.append(store)
        return store

    yield open_store
    for store in opened:
        store.drop()
        store.close()


# ---------------------------------------------------------------- the URL


def test_the_store_options_are_taken_out_of_the_url_given_to_libpq() -> None:
    options = PostgresOptions.parse(
        "postgresql://app@db:5433/jobs?table=t1&pool_max=7&sslmode=disable&retry_seconds=3"
    )
    assert options.url == "postgresql://app@db:5433/jobs?sslmode=disable"
    assert (options.table, options.pool_max, options.retry_seconds) == ("t1", 7, 3.0)
    assert PostgresOptions.parse("postgresql://db/jobs").pool_max == DEFAULT_POOL_MAX


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("pool_max=0", "pool_max='0' in the PostgreSQL URL must be a whole number >= 1"),
        ("pool_max=many", "pool_max='many'"),
        (
            "retry_seconds=-1",
            "retry_seconds='-1' in the PostgreSQL URL must be a number of seconds",
        ),
        ("table=Robert');DROP", "is not a plain lower-case SQL name"),
    ],
)
def test_a_bad_store_option_is_refused_before_connecting(query: str, message: str) -> None:
    with pytest.raises(StoreConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        PostgresJobStore(f"postgresql://nobody@127.0.0.1:1/db?{query}")


def test_a_password_never_reaches_a_message() -> None:
    assert redact("postgresql://app:s3cret@db/jobs") == "postgresql://app:***@db/jobs"
    with pytest.raises(StoreUnavailableError) as caught:
        PostgresJobStore("postgresql://app:s3cret@127.0.0.1:1/jobs")
    assert "s3cret" not in str(caught.value)
    assert "check that the server is running" in str(caught.value)


def test_an_unknown_libpq_option_is_a_configuration_error(postgres_url: str) -> None:
    with pytest.raises(StoreConfigError, match="invalid URI query parameter"):
        PostgresJobStore(f"{postgres_url}?no_such_option=1")


def test_a_database_that_does_not_exist_is_named(postgres_url: str) -> None:
    url = postgres_url.rsplit("/", 1)[0] + "/no_such_database_here"
    with pytest.raises(JobStoreError, match='database "no_such_database_here" does not exist'):
        PostgresJobStore(url)


# ---------------------------------------------------------------- the pool


def test_connections_stay_within_the_pool_however_many_threads_call(
    open_pg: Callable[..., PostgresJobStore], postgres_url: str
) -> None:
    application = f"t_pool_{secrets.token_hex(4)}"
    store = open_pg(pool_max=3, application_name=application)
    store.save_job("a1", {"status": "queued", "n": 0})
    peak = 0
    stop = threading.Event()
    errors: list[BaseException] = []

    def hammer(number: int) -> None:
        try:
            for round_number in range(40):
                store.update_job("a1", {f"t{number}": round_number})
                store.get_job("a1")
        except BaseException as error:  # collected, the test fails below with it
            errors.append(error)

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(24)]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        peak = max(peak, len(backends_of(postgres_url, application)))
        stop.wait(0.01)
    for thread in threads:
        thread.join()

    assert errors == []
    assert 1 <= peak <= 3
    assert store.get_job("a1") == {"status": "queued", "n": 0} | {f"t{n}": 39 for n in range(24)}


def test_terminated_backends_are_replaced_and_no_call_fails(
    open_pg: Callable[..., PostgresJobStore], postgres_url: str
) -> None:
    application = f"t_kill_{secrets.token_hex(4)}"
    store = open_pg(application_name=application)
    for number in range(8):
        store.save_job(f"j{number}", {"status": "running", "progress": 0})
    errors: list[BaseException] = []
    done = threading.Event()
    enough = threading.Event()  # set once several connections were cut under the workers
    terminated = 0

    def work(number: int) -> None:
        try:
            # Work until the connections were cut a few times, however fast this machine is
            # (a fixed 100 steps once ended before the third cut: the test proved nothing).
            step = 0
            while not enough.is_set() and step < 20_000:
                step += 1
                store.update_job(f"j{number}", {"progress": step})
                assert store.get_job(f"j{number}")["progress"] == step
            store.save_job(f"j{number}", {"status": "done", "progress": 100})
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    deadline, rounds = time.monotonic() + 60, 0
    while any(thread.is_alive() for thread in threads):
        cut = terminate_backends(postgres_url, application)
        terminated, rounds = terminated + cut, rounds + bool(cut)
        if rounds >= 3 or time.monotonic() > deadline:  # three rounds of cuts under the workers
            enough.set()
        done.wait(0.25)  # a connection lives a quarter of a second, then is cut
    for thread in threads:
        thread.join()

    assert errors == []
    assert terminated >= 3, "the test never cut a connection: it proved nothing"
    assert all(store.get_job(f"j{n}") == {"status": "done", "progress": 100} for n in range(8))


@pytest.fixture
def limited_role(postgres_url: str) -> Iterator[str]:
    """A login role of the test's own, whose connection limit a test may set to 0."""
    role = f"t_role_{secrets.token_hex(4)}"
    with admin(postgres_url) as connection:
        connection.execute(f"CREATE ROLE {role} LOGIN")  # a superuser would ignore the limit
        connection.execute(f"GRANT CREATE ON SCHEMA public TO {role}")
    try:
        yield role
    finally:
        with admin(postgres_url) as connection:
            connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,)
            )
            connection.execute(f"DROP OWNED BY {role}")  # its table and its grant
            connection.execute(f"DROP ROLE IF EXISTS {role}")


def test_a_server_that_refuses_the_store_is_unavailable_within_the_retry_budget(
    postgres_url: str, limited_role: str
) -> None:
    url = postgres_url.replace("postgres@", f"{limited_role}@", 1)
    store = PostgresJobStore(
        f"{url}?table=t_{secrets.token_hex(6)}&read_retry_seconds=1&retry_seconds=1"
        f"&application_name={limited_role}"
    )
    try:
        store.save_job("a1", {"status": "queued"})
        with admin(postgres_url) as connection:  # "too many connections for role": 53300
            connection.execute(f"ALTER ROLE {limited_role} CONNECTION LIMIT 0")
        terminate_backends(postgres_url, limited_role)

        started = time.monotonic()
        with pytest.raises(StoreUnavailableError, match="did not answer for 1 s") as caught:
            store.get_job("a1")
        assert time.monotonic() - started < 6
        assert caught.value.retry_after >= 1
        with pytest.raises(StoreUnavailableError, match="retry later"):
            store.save_job("a1", {"status": "done"})

        with admin(postgres_url) as connection:
            connection.execute(f"ALTER ROLE {limited_role} CONNECTION LIMIT -1")
        deadline = time.monotonic() + 30  # the pool reconnects with its own backoff
        while time.monotonic() < deadline:
            try:
                assert store.get_job("a1") == {"status": "queued"}
                break
            except StoreUnavailableError:
                continue
        else:
            pytest.fail("the store never came back after the server accepted it again")
    finally:
        store.close()
        with admin(postgres_url) as connection:
            connection.execute(f"DROP TABLE IF EXISTS {store.table}")


# ---------------------------------------------------------------- schema creation


def _open_many_times(url: str, tables: list[str], barrier: Any, failures: Any) -> None:
    for table in tables:
        barrier.wait(timeout=60)
        try:
            PostgresJobStore(f"{url}?table={table}").close()
        except Exception as error:
            failures.put(f"{table}: {type(error).__name__}: {error}")


def test_four_processes_creating_a_new_store_at_once_never_collide(postgres_url: str) -> None:
    """The issue saw UniqueViolation in 4 of 20 tries without the advisory lock."""
    tables = [f"t_race_{secrets.token_hex(4)}_{n}" for n in range(20)]
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(4)
    failures = context.Queue()
    processes = [
        context.Process(target=_open_many_times, args=(postgres_url, tables, barrier, failures))
        for _ in range(4)
    ]
    try:
        for process in processes:
            process.start()
        for process in processes:
            process.join(timeout=120)
        assert [process.exitcode for process in processes] == [0, 0, 0, 0]
        reported = []
        while not failures.empty():
            reported.append(failures.get())
        assert reported == []
    finally:
        with admin(postgres_url) as connection:
            for table in tables:
                connection.execute(f"DROP TABLE IF EXISTS {table}")
