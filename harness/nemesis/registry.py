"""The fault kinds a scenario file may name, by their TOML ``kind``, and how each is parsed.

The scenario format knows faults only through :func:`parse_fault`: it hands over the
``[[faults]]`` table, the registry reads ``kind`` and lets that kind's class read the rest.
Adding a kind is a module with its class (see :mod:`harness.nemesis.fault`) and one line here::

    >>> from harness.scenario.toml_table import TableReader
    >>> parse_fault(TableReader({"kind": "kill", "target": "writer-0", "times": 2}, "x.toml"))
    RandomKill(target='writer-0', times=2)
"""

from __future__ import annotations

from collections.abc import Callable

from harness.nemesis.damage import JobFileDamage
from harness.nemesis.disk import FullDisk
from harness.nemesis.disk_errors import DiskErrors
from harness.nemesis.fault import Fault
from harness.nemesis.kill import parse_kill
from harness.nemesis.pause import Pause
from harness.nemesis.slow_disk import SlowDisk
from harness.scenario.toml_table import TableReader

# The order is the one error messages list them in.
FAULT_KINDS: dict[str, Callable[[TableReader], Fault]] = {
    "kill": parse_kill,  # at = "syscall" (KillAtSyscall) or "random" (RandomKill)
    "damage": JobFileDamage.from_table,
    "diskfault": DiskErrors.from_table,
    "slowdisk": SlowDisk.from_table,
    "fullfs": FullDisk.from_table,
    "pause": Pause.from_table,
}


def parse_fault(table: TableReader) -> Fault:
    """The fault a ``[[faults]]`` table describes; every key of the table must be its kind's."""
    kind = table.choice("kind", tuple(FAULT_KINDS))
    fault = FAULT_KINDS[kind](table)
    table.reject_unknown(f"the keys of a {kind} fault")
    return fault
