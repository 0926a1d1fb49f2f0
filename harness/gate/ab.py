"""Same-run A/B: the base commit's store and the working tree's, timed in the same rounds.

A committed baseline was measured on another day, on a disk in another state; this machine's
disk moves between a quiet and a busy state (fsync 0.45 or 1.4 ms), so a baseline comparison
either refuses half the figures or has to allow several-fold limits. Here both versions run in
the same rounds on the same filesystem, as asv's ``continuous`` does, so disk state and the
machine's other load hit both alike:

* each side is a child process (:mod:`harness.gate.worker`) whose ``durable_jobs`` comes from
  its own tree, its store folder beside the other side's;
* every round times each figure once on each side, back to back, in an order drawn afresh per
  round (figures shuffled, and which side goes first), after warm-up rounds that are not kept;
* every kept round gives a pair (base, new) for each figure, judged by
  :mod:`harness.gate.verdicts`.

Writes, reads and damaged reads run in separate groups of rounds (as in the bench: a read timed
right after an fsync carries the write's aftermath), the garbage collector of both children
collecting between groups only.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from harness.errors import HarnessError

# figure -> (base seconds, new seconds, whether the base side went first in that round)
Pairs = dict[str, tuple[list[float], list[float], list[bool]]]


@dataclass(frozen=True)
class ABPlan:
    """How much an A/B run measures: payloads, and rounds per group of operations."""

    quick: bool
    payloads: tuple[str, ...]
    write_rounds: dict[str, int]  # rounds of save + update, per payload
    read_rounds: dict[str, int]  # rounds of get
    damaged_rounds: dict[str, int]  # rounds of get_damaged
    warmup: int = 10
    max_seconds: float = 30.0  # per group: a slow disk ends a group early, with what it has
    min_rounds: int = 30


AB_QUICK = ABPlan(True, ("1k",), {"1k": 400}, {"1k": 3000}, {"1k": 100})
AB_FULL = ABPlan(
    False,
    ("1k", "64k"),
    {"1k": 800, "64k": 300},
    {"1k": 5000, "64k": 1500},
    {"1k": 200, "64k": 50},
    max_seconds=60.0,
)


class SideError(HarnessError):
    """A side's process died, or could not open its store."""


@dataclass
class Side:
    """One side's child process: ``time(figure)`` runs the figure's operation there once."""

    name: str  # base | new
    process: subprocess.Popen[str]
    stderr: IO[str]
    figures: list[str] = field(default_factory=list)
    durable_jobs: str = ""
    notes: list[str] = field(default_factory=list)

    def _ask(self, line: str) -> dict[str, Any]:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(line + "\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            pass  # the missing reply says why
        return self._read()

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        reply = self.process.stdout.readline()
        if not reply:
            raise SideError(f"the {self.name} side's process ended: {self.stderr_tail()}")
        return json.loads(reply)

    def ready(self) -> None:
        """Wait for the child's first line: its figures, or why its store did not open."""
        reply = self._read()
        if "fatal" in reply:
            raise SideError(f"the {self.name} side could not start: {reply['fatal']}")
        self.figures = reply["ready"]
        self.durable_jobs = reply["durable_jobs"]
        self.notes = reply["notes"]

    def time(self, figure: str) -> float:
        """Seconds of one call of ``figure`` on this side; SideError with the call's error."""
        reply = self._ask(figure)
        if "error" in reply:
            raise SideError(f"it raised on the {self.name} side: {reply['error']}")
        return float(reply["t"])

    def stderr_tail(self) -> str:
        self.stderr.flush()
        self.stderr.seek(0)
        lines = [line for line in self.stderr.read().splitlines() if line.strip()]
        return lines[-1] if lines else "no message"

    def stop(self) -> None:
        """Ask the child to close its store and end; kill it if it does not within 10 s."""
        try:
            if self.process.poll() is None and self.process.stdin is not None:
                self.process.stdin.write("quit\n")
                self.process.stdin.close()
            self.process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        finally:
            self.stderr.close()


def start_side(
    name: str, tree: Path, shim: Path, spec: str, label: str, root: Path, plan: ABPlan
) -> Side:
    """Start one side: its ``durable_jobs`` from ``shim``, ``harness`` from this process's."""
    harness_home = Path(__file__).resolve().parent.parent.parent
    env = dict(os.environ)
    inherited = [entry for entry in env.get("PYTHONPATH", "").split(os.pathsep) if entry]
    env["PYTHONPATH"] = os.pathsep.join([str(shim), str(harness_home), *inherited])
    if name == "base":
        env.pop("JOBHARNESS_INJECT_REGRESSION", None)  # the injection slows the new side only
    # -P: the cwd (the side's tree, so relative specs resolve there) is not put on the path
    command = [sys.executable, "-P", "-m", "harness.gate.worker", spec, label, str(root)]
    stderr = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed by Side.stop)
    process = subprocess.Popen(
        [*command, ",".join(plan.payloads)],
        cwd=tree,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )
    side = Side(name, process, stderr)
    try:
        _pin(process.pid)
        side.ready()
    except BaseException:
        side.stop()
        raise
    return side


def _pin(pid: int) -> None:
    """Both sides on one CPU, the same one: a per-process difference of core (another tenant's
    load on one core, its caches) would otherwise shift one side's every sample, which no
    pairing cancels (measured: get at 1 KB 9 % apart between the sides of unchanged code)."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(pid, {max(os.sched_getaffinity(0))})


def groups(plan: ABPlan, figures: list[str]) -> list[tuple[str, list[str], int]]:
    """The groups of rounds: (name, figures, rounds), writes then reads then damaged reads."""
    found = []
    for payload in plan.payloads:
        of = [f for f in figures if f.endswith(f".{payload}")]
        for name, ops, rounds in (
            ("writes", ("save", "update"), plan.write_rounds),
            ("reads", ("get",), plan.read_rounds),
            ("damaged reads", ("get_damaged",), plan.damaged_rounds),
        ):
            chosen = [f for f in of if f.split(".")[0] in ops]
            if chosen and rounds.get(payload):
                found.append((f"{name} {payload}", chosen, rounds[payload]))
    return found


def measure_ab(
    plan: ABPlan, base: Side, new: Side, *, seed: int | None = None
) -> tuple[Pairs, dict[str, str]]:
    """Time every figure both sides have, in interleaved rounds; the pairs and the errors."""
    rng = random.Random(seed)
    common = [f for f in base.figures if f in new.figures]
    errors = {f: f"only the {s.name} side has it" for s in (base, new) for f in s.figures
              if f not in common}  # fmt: skip
    pairs: Pairs = {f: ([], [], []) for f in common}
    for _name, figures, rounds in groups(plan, common):
        for side in (base, new):
            side.time("gc")
        active = list(figures)
        deadline = float("inf")
        for round_number in range(-plan.warmup, rounds):
            if round_number == 0:
                deadline = time.monotonic() + plan.max_seconds
            if round_number >= plan.min_rounds and time.monotonic() > deadline:
                break
            for figure in rng.sample(active, len(active)):
                try:
                    times = _one_pair(figure, base, new, rng)
                except SideError as error:
                    errors[figure] = str(error)
                    active.remove(figure)
                    continue
                if round_number >= 0:
                    for values, value in zip(pairs[figure], times, strict=True):
                        values.append(value)  # type: ignore[attr-defined]
            if not active:
                break
    return {f: p for f, p in pairs.items() if f not in errors}, errors


def _one_pair(figure: str, base: Side, new: Side, rng: random.Random) -> tuple[float, float, bool]:
    """One call of ``figure`` on each side, back to back, the first side drawn at random:
    (base seconds, new seconds, whether base went first)."""
    if rng.random() < 0.5:
        first = base.time(figure)
        return first, new.time(figure), True
    second = new.time(figure)
    return base.time(figure), second, False
