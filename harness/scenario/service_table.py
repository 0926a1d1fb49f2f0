"""The ``[service]`` table of a service scenario: how many instances, how they are run, how long jobs get.

A scenario of ``kind = "service"`` verifies a running HTTP job service from outside (see
:mod:`harness.service`). Its ``[service]`` table says how the harness runs the instances; the
command itself usually comes from ``jobharness verify --service CMD``, so one scenario file
serves every service::

    [service]
    instances = 2          # instances sharing one data folder (and one store)
    restart = true         # start an instance again after the nemesis killed it
    restart_delay_ms = 300 # ... this long after it died
    final_bound = 30       # seconds every accepted job has, after the last restart, to end
    rows = [5, 40]         # rows of each uploaded CSV: at least, at most (seeded)
    download_share = 0.5   # of the polls that find a job done, how many also download it
    stores = ["file", "sqlite", "postgres"]  # the built-in stores it applies to (default: all)
    hosts = false          # each instance as if on its own machine (unshare --uts --pid)
    power_loss_states = 0  # > 0: power loss through the API instead (that many crash states)
    command = "..."        # optional: this scenario's own service (--service overrides it)
    [service.env]          # optional: extra environment of every instance
    [service.profile]      # optional: the API profile (see harness.service.profile)

Its clients are ``[[processes]]`` of the roles ``submitter`` (uploads CSV files) and
``poller`` (polls job status and downloads results); its faults target ``instance`` (every
instance) or one of them (``instance-0``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.scenario.toml_table import TableReader
from harness.service.profile import profile_from_table

SERVICE_ROLES = ("submitter", "poller")  # the client roles of a service scenario
INSTANCE_ROLE = "instance"  # what its faults target
BUILTIN_STORES = ("file", "sqlite", "postgres")


@dataclass(frozen=True)
class ServiceOptions:
    """A validated ``[service]`` table (see the module docstring for each key)."""

    instances: int = 1
    restart: bool = True
    restart_delay: float = 0.3
    final_bound: float = 30.0
    rows: tuple[int, int] = (5, 40)
    download_share: float = 0.5
    stores: tuple[str, ...] = BUILTIN_STORES
    command: str | None = None
    hosts: bool = False
    power_loss_states: int = 0
    env: dict[str, str] = field(default_factory=dict)
    profile: dict[str, Any] | None = None  # the raw [service.profile] table, validated at load


def parse_service_table(table: TableReader) -> ServiceOptions:
    """Read ``[service]``; the profile table is validated by the profile's own reader."""
    rows = table.integer_list("rows", default=[5, 40], minimum=1, maximum=100_000)
    if len(rows) != 2 or rows[0] > rows[1]:
        raise table.error(
            "rows", "two numbers [at least, at most], the first not above the second", rows
        )
    env = table.table("env")
    for key, value in env.items():
        if not isinstance(value, str):
            raise table.error(f"env.{key}", "a string", value)
    profile = table.table("profile") if table.has("profile") else None
    if profile is not None:
        # Read now, so that a bad profile is a usage error when the file is loaded.
        profile_from_table(profile, table.where, key_prefix=f"{table.prefix}profile.")
    command = table.string("command", default="") or None
    options = ServiceOptions(
        instances=table.integer("instances", default=1, minimum=1, maximum=16),
        restart=table.boolean("restart", default=True),
        restart_delay=table.number("restart_delay_ms", default=300.0, minimum=0.0, maximum=60_000.0)
        / 1000,
        final_bound=table.number("final_bound", default=30.0, minimum=1.0, maximum=3600.0),
        rows=(rows[0], rows[1]),
        download_share=table.number("download_share", default=0.5, minimum=0.0, maximum=1.0),
        stores=tuple(table.string_list("stores", BUILTIN_STORES, default=list(BUILTIN_STORES))),
        command=command,
        hosts=table.boolean("hosts", default=False),
        power_loss_states=table.integer("power_loss_states", default=0, minimum=0, maximum=10_000),
        env=dict(env),
        profile=profile,
    )
    table.reject_unknown("the keys of [service]")
    return options
