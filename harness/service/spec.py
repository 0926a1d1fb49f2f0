"""The service under test: the command that starts one instance, and what it needs around it.

``--service`` takes a command line (split as a shell would, run without a shell) with fields the
harness fills for each instance:

==============  ==========================================================================
``{port}``      the port the instance must listen on, on 127.0.0.1 (kept across restarts)
``{data}``      the run's data folder, shared by every instance (fresh for each scenario)
``{instance}``  the instance's number (0, 1, ...)
``{run}``       a short lowercase hex token unique to the scenario run (a table name, say)
==============  ==========================================================================

The command must *be* the server (``exec`` it from a wrapper script): its pid is what the faults
signal and what strace attaches to. ``builtin`` runs this repository's own service
(:mod:`durable_jobs.service`) on the store ``--store`` names; the harness runs it with a 2 s lease
(0.4 s heartbeat and rescue interval) so that a rescue fits in a scenario, and a 2 ms delay per
row so that a job runs long enough for a fault to find it running.

>>> parse_service("node server.js --port {port} --data {data}").argv(port=8001, data=Path("/d"), instance=0, run="ab12")
['node', 'server.js', '--port', '8001', '--data', '/d']
"""

from __future__ import annotations

import os
import shlex
import string
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from harness.errors import ConfigError
from harness.service.profile import DEFAULT_PROFILE, FILE_STORE_FILES, ApiProfile

FIELDS = ("port", "data", "instance", "run")
BUILTIN_STORES = ("file", "sqlite", "postgres")
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
BUILTIN_ENV = {
    "DURABLE_JOBS_LEASE_SECONDS": "2",
    "DURABLE_JOBS_HEARTBEAT_SECONDS": "0.4",
    "DURABLE_JOBS_RESCUE_SECONDS": "0.4",
    "DURABLE_JOBS_ROW_DELAY": "0.002",
}


@dataclass(frozen=True)
class ServiceSpec:
    """How to start one instance of the service, and how to speak to it."""

    command: tuple[str, ...]
    label: str
    profile: ApiProfile = DEFAULT_PROFILE
    env: Mapping[str, str] = field(default_factory=dict)
    builtin: str | None = None  # the built-in service's store: file, sqlite or postgres
    startup_timeout: float = 30.0

    def argv(self, *, port: int, data: Path, instance: int, run: str) -> list[str]:
        values = {"port": str(port), "data": os.fspath(data), "instance": str(instance), "run": run}
        return [word.format_map(values) for word in self.command]

    def describe(self) -> str:
        return self.label if self.builtin else f"{self.label} (profile {self.profile.name})"

    def postgres_url(self, run: str) -> str | None:
        """The built-in PostgreSQL store's URL for one run (None for other services)."""
        if self.builtin != "postgres":
            return None
        return _with_table(postgres_base_url(), f"jobs_{run}")


def parse_service(
    text: str, *, store: str = "file", profile: ApiProfile | None = None
) -> ServiceSpec:
    """``builtin[:store]`` or a command line; a mistake is a ConfigError that says the fix."""
    text = text.strip()
    head, _, named_store = text.partition(":")
    if head == "builtin":
        spec = builtin_service(named_store or store)
        return replace(spec, profile=profile) if profile is not None else spec
    try:
        words = tuple(shlex.split(text))
    except ValueError as error:
        raise ConfigError(
            f"--service {text!r}: {error} (quote the command as a shell would)"
        ) from None
    if not words:
        raise ConfigError("--service: empty command; give the command that starts your server")
    for word in words:
        for _, name, _, _ in string.Formatter().parse(word):
            if name is not None and name not in FIELDS:
                raise ConfigError(
                    f"--service: unknown field {{{name}}} in {word!r}; the harness fills "
                    + ", ".join(f"{{{f}}}" for f in FIELDS)
                    + " (write {{ and }} for literal braces)"
                )
    if not any("{port}" in word for word in words):
        raise ConfigError(
            f"--service {text!r}: no {{port}} in the command; the harness picks each instance's "
            "port and the server must listen on it"
        )
    return ServiceSpec(words, text, profile or DEFAULT_PROFILE)


def builtin_service(store: str) -> ServiceSpec:
    """This repository's service (durable_jobs.service) on one of its stores."""
    if store not in BUILTIN_STORES:
        raise ConfigError(
            f"--service builtin:{store}: the built-in service runs on {', '.join(BUILTIN_STORES)}"
        )
    urls = {
        "file": "file:{data}/jobs",
        "sqlite": "sqlite:///{data}/jobs.db",
        "postgres": _with_table(postgres_base_url(), "jobs_{run}"),
    }
    command = (
        sys.executable,
        "-m",
        "durable_jobs.service",
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
        "--store",
        urls[store].replace("%7B", "{").replace("%7D", "}"),
        "--results",
        "{data}/results",
        "--log-level",
        "warning",
    )
    files = FILE_STORE_FILES if store == "file" else {}
    profile = replace(DEFAULT_PROFILE, name=f"incident ({store} store)", job_files=files)
    return ServiceSpec(command, f"builtin:{store}", profile, dict(BUILTIN_ENV), store)


def postgres_base_url() -> str:
    return os.environ.get("JOBHARNESS_POSTGRES_URL") or DEFAULT_POSTGRES_URL


def _with_table(url: str, table: str) -> str:
    """``url`` with ``table=`` set in its query (other options kept)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "table"] + [("table", table)]
    return urlunsplit(parts._replace(query=urlencode(query, safe="{}")))
