"""Damage to job files, done the way real damage happens: in place, while the store runs.

======== ==============================================================================
truncate  cut the file at a random length (a write that never finished)
empty     truncate to 0 bytes (the "empty JSON file" of the incident)
garbage   overwrite every byte with random bytes, same length (a disk gone bad)
bitflip   flip the low bit of one digit: the file is *still valid JSON*, only a number
          changed (only a checksum can tell)
delete    remove the file (an operator's ``rm``, a lost directory entry)
======== ==============================================================================

Each function returns a description of what it did (for the history) or raises
``FileNotFoundError`` when there was no file to damage.

The fault (:class:`JobFileDamage`) damages a seeded random job's files at seeded random moments
of the main phase, the kinds of damage taken in turn::

    [[faults]]
    kind = "damage"
    file = "main"                       # main | backup | both (the paths paths_for gives)
    how = ["truncate", "garbage"]       # damage kinds, in turn (default: all five)
    times = 4

It needs one writer per job (``workload.shared_jobs = false``), so that the version a damage
destroys is known, and a store that says where each job's files are.
"""

from __future__ import annotations

import functools
import os
import random
from dataclasses import dataclass
from typing import Any

from harness.errors import HarnessError, ScenarioError
from harness.history.fault_windows import files_damaged
from harness.history.log import OK
from harness.nemesis.fault import (
    Fault,
    FaultRun,
    NotRunnable,
    ScenarioFacts,
    TimedAction,
    check_target,
)
from harness.scenario.toml_table import TableReader

DAMAGE_FILES = ("main", "backup", "both")
DAMAGE_HOWS = ("truncate", "empty", "garbage", "bitflip", "delete")


class DamageSkipped(HarnessError):
    """The damage could not be applied to the file as it was at that moment (says why)."""


def damage_file(path: str, how: str, rng: random.Random) -> dict[str, Any]:
    """Apply damage ``how`` to ``path``; return what was done."""
    size = os.path.getsize(path)
    if how == "truncate":
        length = rng.randrange(1, size) if size > 1 else 0
        os.truncate(path, length)
        return {"how": how, "size": size, "length": length}
    if how == "empty":
        os.truncate(path, 0)
        return {"how": how, "size": size}
    if how == "garbage":
        fd = os.open(path, os.O_WRONLY)
        try:
            os.pwrite(fd, rng.randbytes(max(size, 16)), 0)
        finally:
            os.close(fd)
        return {"how": how, "size": size}
    if how == "bitflip":
        return _flip_digit(path, size, rng)
    if how == "delete":
        os.unlink(path)
        return {"how": how, "size": size}
    raise ValueError(f"unknown damage {how!r}")


def _flip_digit(path: str, size: int, rng: random.Random) -> dict[str, Any]:
    """Flip the lowest bit of a random ASCII digit ('4' <-> '5'): the JSON stays valid."""
    with open(path, "rb") as source:
        data = source.read()
    if not data:
        # Emptied between the stat and the read (a store that truncates in place): nothing to
        # flip, and damage that did not happen must not be recorded as applied.
        raise DamageSkipped("the file was empty when the bit flip read it")
    digits = [index for index, byte in enumerate(data) if 0x30 <= byte <= 0x39]
    if not digits:
        # No digit to flip: flip a bit of a letter instead ('a' <-> '`'); may break the JSON.
        digits = [index for index, byte in enumerate(data) if 0x61 <= byte <= 0x7A] or [0]
    offset = rng.choice(digits)
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, bytes([data[offset] ^ 1]), offset)
    finally:
        os.close(fd)
    return {
        "how": "bitflip",
        "size": size,
        "offset": offset,
        "was": chr(data[offset]),
        "now": chr(data[offset] ^ 1),
    }


@dataclass(frozen=True)
class JobFileDamage(Fault):
    """``times`` damages of one job's ``file``, the kinds of ``how`` taken in turn."""

    kind = "damage"
    file: str = "main"
    how: tuple[str, ...] = DAMAGE_HOWS
    times: int = 1
    target: str = "writer"  # accepted for older scenario files; damage hits files, not processes

    @classmethod
    def from_table(cls, table: TableReader) -> JobFileDamage:
        return cls(
            file=table.choice("file", DAMAGE_FILES, default="main"),
            how=tuple(table.string_list("how", DAMAGE_HOWS, default=list(DAMAGE_HOWS))),
            times=table.integer("times", default=1, minimum=1, maximum=10_000),
            target=table.string("target", default="writer"),
        )

    def check_scenario(self, facts: ScenarioFacts, key: str) -> None:
        check_target(self.target, facts, key, must_run=False)
        if facts.shared_jobs:
            # With several writers per job the version a damage destroys is ambiguous, and so is
            # the version the store should fall back to: the checker could not be exact.
            raise ScenarioError(
                facts.where,
                key,
                "no damage faults when workload.shared_jobs = true "
                "(damage needs one writer per job so the destroyed version is known)",
            )

    def check_store(self, setup: dict[str, Any]) -> NotRunnable | None:
        error = setup.get("paths_error")
        if error:
            # Guessed paths might damage the wrong files, or none: the harness could not aim
            # the damage, so it cannot say whether the store would have survived it.
            return NotRunnable(
                f"the harness could not aim the damage: the store's paths_for raised: {error}",
                unknown=True,
            )
        if not setup.get("paths"):
            return NotRunnable(
                "the store does not say where it keeps job files (no paths_for(job_id), and no "
                "<root>/<job_id>.json files): there is no per-job file to damage"
            )
        return None

    def schedule(self, run: FaultRun, duration: float, rng: random.Random) -> list[TimedAction]:
        actions = []
        for number in range(self.times):
            at = (number + rng.uniform(0.3, 0.7)) / self.times * duration * 0.8
            how = self.how[number % len(self.how)]
            actions.append(TimedAction(at, functools.partial(self._damage, run, rng, how)))
        return actions

    def _damage(self, run: FaultRun, rng: random.Random, how: str) -> None:
        assert run.nemesis is not None
        paths = run.setup.get("paths", {})
        jobs = sorted(paths)  # a service's jobs appear as they are accepted: maybe none yet
        if not jobs:
            run.note(f"a damage ({how}) was skipped: no job existed yet at its time")
            return
        job = rng.choice(jobs)
        files = ["main", "backup"] if self.file == "both" else [self.file]
        token = run.nemesis.invoke("damage", job, {"file": self.file, "how": how})
        done = {which: _damage_one(paths[job].get(which), how, rng) for which in files}
        applied = [which for which in files if "skipped" not in done[which]]
        label = f"damage {job}: {how} of {self.file}"
        result = {"file": self.file, "how": how, "applied": applied, "detail": done}
        run.nemesis.complete(token, OK, {**result, **files_damaged(job, applied, how, label)})


def _damage_one(path: str | None, how: str, rng: random.Random) -> dict[str, Any]:
    """Damage one file; what was done, or why it was skipped."""
    if not path:
        return {"skipped": "the store has no such file"}
    try:
        return damage_file(path, how, rng)
    except FileNotFoundError:
        return {"skipped": "file did not exist at that moment"}
    except DamageSkipped as skipped:
        return {"skipped": str(skipped)}
    except OSError as error:
        return {"skipped": f"{type(error).__name__}: {error}"}
