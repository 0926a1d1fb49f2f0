"""Shared fixtures: a fresh store of each backend, the PostgreSQL URL, and real job servers.

PostgreSQL tests run against the real server on this machine (127.0.0.1:5432, trust auth). Each
test gets its own table, dropped afterwards. Where no server is reachable they are skipped with
the reason, unless ``DURABLE_JOBS_REQUIRE_POSTGRES=1`` (set by ``.ci/run``) makes that a failure.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from running_services import ServiceProcess, launch_service

from durable_jobs import open_store

POSTGRES_URL = os.environ.get(
    "DURABLE_JOBS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)
HARDENED_BACKENDS = ("file", "sqlite", "postgres")


TREND_FOLDER = pytest.StashKey[Path]()
REPORTS_BEFORE = pytest.StashKey[dict[str, tuple[int, int]]]()


def pytest_configure(config: pytest.Config) -> None:
    """The tests' runs append to a trend log of their own, never to the user's.

    Set here, before any test, and over any JOBHARNESS_TREND the shell had: a developer's own
    log (or reports/trend.jsonl of the checkout) must not collect the test suite's runs, whose
    deliberately broken stores would read as regressions. A test of where the log goes by
    default removes the variable itself (monkeypatch.delenv).
    """
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="jobharness-tests-trend-"))
    os.environ["JOBHARNESS_TREND"] = os.fspath(folder / "trend.jsonl")
    os.environ.pop("JOBHARNESS_HISTORY", None)
    config.stash[TREND_FOLDER] = folder


def _reports_here() -> dict[str, tuple[int, int]]:
    """The checkout's reports/ folder: each entry's size and mtime."""
    folder = Path(__file__).resolve().parent.parent / "reports"
    if not folder.is_dir():
        return {}
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir()}


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[REPORTS_BEFORE] = _reports_here()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if a test wrote into the checkout's reports/ (the user's runs and trend)."""
    before = session.config.stash.get(REPORTS_BEFORE, None)
    if before is None:
        return
    after = _reports_here()
    changed = sorted(
        name for name in after.keys() | before.keys() if after.get(name) != before.get(name)
    )
    if changed:
        print(f"\ntests wrote into the checkout's reports/ (give them --out): {', '.join(changed)}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_unconfigure(config: pytest.Config) -> None:
    import shutil

    shutil.rmtree(config.stash.get(TREND_FOLDER, None) or "/nonexistent", ignore_errors=True)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--soak", action="store_true", help="also run the long soak tests")
    parser.addoption(
        "--gate-power",
        action="store_true",
        help="also run the short power table of the A/B gate (every injection, busy disk; ~1 min)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--gate-power"):
        skip_power = pytest.mark.skip(reason="gate power table: run with --gate-power")
        for item in items:
            if "gate_power" in item.keywords:
                item.add_marker(skip_power)
    if config.getoption("--soak"):
        return
    skip = pytest.mark.skip(reason="soak test: run with --soak")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def postgres_available() -> str | None:
    """None when the server answers, else the reason it does not."""
    try:
        import psycopg

        with psycopg.connect(POSTGRES_URL, connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except Exception as error:
        return f"PostgreSQL at {POSTGRES_URL} is not reachable: {error}"
    return None


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The server URL, or a skip (a failure under DURABLE_JOBS_REQUIRE_POSTGRES=1)."""
    reason = postgres_available()
    if reason:
        if os.environ.get("DURABLE_JOBS_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return POSTGRES_URL


def store_url(backend: str, tmp_path: Path, postgres: str | None = None) -> str:
    """A URL for a fresh, empty store of ``backend`` under ``tmp_path``."""
    if backend == "file":
        return f"file://{tmp_path / 'jobs'}"
    if backend == "sqlite":
        return f"sqlite://{tmp_path / 'jobs.db'}"
    if backend == "postgres":
        assert postgres is not None
        return f"{postgres}?table=t_{secrets.token_hex(6)}"
    if backend in ("phase470", "naive"):
        return f"{backend}://{tmp_path / 'jobs'}"
    raise ValueError(backend)


@pytest.fixture
def make_store(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[[str], Any]]:
    """``make_store(backend)`` opens a fresh store; PostgreSQL tables are dropped afterwards."""
    opened: list[Any] = []

    def make(backend: str) -> Any:
        postgres = request.getfixturevalue("postgres_url") if backend == "postgres" else None
        store = open_store(store_url(backend, tmp_path / backend, postgres))
        opened.append(store)
        return store

    yield make
    for store in opened:
        if hasattr(store, "drop"):
            store.drop()
        if hasattr(store, "close"):
            store.close()


@pytest.fixture(params=HARDENED_BACKENDS)
def store(request: pytest.FixtureRequest, make_store: Callable[[str], Any]) -> Any:
    """A fresh store of each hardened backend in turn."""
    return make_store(request.param)


@pytest.fixture
def start_service(tmp_path: Path) -> Iterator[Callable[..., ServiceProcess]]:
    """``start_service(store_url, options=...)`` starts servers in ``tmp_path``, stopped after."""
    started: list[ServiceProcess] = []

    def start(store_url: str | None = None, **kwargs: Any) -> ServiceProcess:
        service = launch_service(tmp_path, store_url or f"file://{tmp_path / 'jobs'}", **kwargs)
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    """A headless Chromium under DevTools (tests/devtools.py), closed after the test."""
    from devtools import started_browser

    with started_browser(tmp_path) as devtools:
        yield devtools
