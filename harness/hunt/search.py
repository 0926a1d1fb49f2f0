"""The hunt: Hypothesis draws schedules, each runs as a real scenario, a failure is shrunk.

:func:`hunt` hands :func:`hypothesis.find` a condition that writes the schedule as a scenario
file, runs it against the store through the same runner and checkers as ``verify``
(:class:`~harness.suite.StoreTarget`, :func:`~harness.suite.judge_outcome`) and says whether a
rollout criterion failed. ``find`` searches until one fails, then shrinks it: it tries simpler
schedules (fewer faults, fewer processes, smaller numbers) and keeps each that still fails.

Three things keep it honest:

* **the budget**: once ``budget_s`` is spent the condition raises :class:`BudgetSpent`, which
  ends the search or the shrinking at once; the smallest failing schedule seen so far is kept by
  the hunt itself, so a budget that runs out mid-shrink loses nothing found;
* **flakiness**: a free-running schedule's failure may depend on how the processes
  interleaved (a deterministic one's may not: its processes take turns, see
  :mod:`harness.runner.turns`); a schedule counts as failing only if it fails twice in a row,
  Hypothesis reports a shrunk example that did not fail again as flaky, and the hunt falls
  back to the smallest schedule that failed; :func:`confirm` says how often the found one
  failed again, and on the same operation numbers;
* **the database**: Hypothesis's example database under the hunt folder keeps the choices that
  made a failing schedule, so the next hunt of the same store tries it first.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.criteria import ScenarioChecks, evaluate_all
from harness.errors import ConfigError
from harness.hunt.found import DATABASE
from harness.hunt.schedule import Schedule, to_toml
from harness.results import CriterionResult

Progress = Callable[["HuntState"], None]


class BudgetSpent(BaseException):  # a signal to stop, not an error
    """The hunt's time is up: raised through Hypothesis, which lets a BaseException pass."""


@dataclass
class Trial:
    """One schedule run: its file, its seed, and the criteria it failed (none: it held)."""

    schedule: Schedule
    path: Path
    seed: int
    failed: list[CriterionResult]


@dataclass
class HuntState:
    """What the hunt has seen: counts for the progress line and the smallest failure."""

    started: float
    budget_s: float
    tried: int = 0
    failing: int = 0
    invalid: int = 0
    flaky: int = 0  # failed once, passed when run again with the same seed
    unjudged: int = 0  # ran, but judged no criterion (the harness could not follow the run)
    unjudged_reason: str = ""
    smallest: Trial | None = None
    shrinks: int = 0  # times a smaller failing schedule replaced the smallest one

    @property
    def spent(self) -> bool:
        return time.monotonic() - self.started >= self.budget_s

    def judge(self, schedule: Schedule, spec: str, out: Path, seed: int, say: Progress) -> bool:
        """Run one schedule (the hunt's condition): True when a rollout criterion failed."""
        if self.spent:
            raise BudgetSpent  # not an Exception: Hypothesis stops at once instead of judging it
        self.tried += 1
        trial_seed = schedule_seed(schedule, seed)
        folder = out / "trials" / f"{self.tried:04d}"
        ran = run_schedule(schedule, spec, folder, trial_seed)
        if ran is None:
            self.invalid += 1
            return False
        if not ran.judged:
            self.unjudged += 1
            self.unjudged_reason = self.unjudged_reason or ran.reason
        failed = ran.failed
        if failed:
            # Only a failure that repeats counts: in a free-running schedule one that needed a
            # lucky interleaving would lead the shrinking astray and replay as a pass.
            again = run_schedule(schedule, spec, folder / "again", trial_seed)
            if not (again and again.failed):
                self.flaky += 1
                say(self)
                return False
            self.failing += 1
            trial = Trial(schedule, folder / "scenario.toml", trial_seed, failed)
            if self.smallest is None or schedule.size() < self.smallest.schedule.size():
                self.shrinks += self.smallest is not None
                self.smallest = trial
        say(self)
        return bool(failed)

    def line(self) -> str:
        left = max(0.0, self.budget_s - (time.monotonic() - self.started))
        smallest = ""
        if self.smallest is not None:
            faults, processes, free = self.smallest.schedule.size()[:3]
            how = "free-running" if free else "deterministic"
            smallest = (
                f"; smallest failure: {faults} fault(s), {processes} process(es), {how}, "
                f"after {self.shrinks} shrinking step(s)"
            )
        return (
            f"hunt: {self.tried} schedules tried, {self.failing} failed (twice in a row), "
            f"{self.flaky} failed once only, {self.unjudged} not judged, {self.invalid} invalid"
            f"{smallest}; {left:.0f} s of budget left"
        )


def schedule_seed(schedule: Schedule, seed: int) -> int:
    """The run seed of a schedule: the same schedule always runs with the same seed."""
    digest = hashlib.sha256(f"{seed}/{schedule!r}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 10**9


def scenario_name(schedule: Schedule) -> str:
    """A schedule's scenario name, ``hunt-<8 hex digits>``: the same schedule always has the
    same name (the faults, job ids and payloads are drawn from the seed and the scenario's
    name, so a replay must keep both), and found files of one store do not collide."""
    return "hunt-" + hashlib.sha256(repr(schedule).encode()).hexdigest()[:8]


@dataclass(frozen=True)
class Ran:
    """What one run of a schedule showed: the criteria it failed, and whether it judged any
    criterion at all (a run the harness could not judge, e.g. the store never opened, is no
    evidence either way), with the reason when it did not."""

    failed: list[CriterionResult]
    judged: bool
    reason: str = ""


def run_schedule(schedule: Schedule, spec: str, folder: Path, seed: int) -> Ran | None:
    """Run one schedule as a scenario; what it showed, or None if it is not valid here."""
    from harness.scenario.loader import load_scenario
    from harness.suite import StoreTarget, judge_outcome

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "scenario.toml"
    path.write_text(to_toml(schedule, scenario_name(schedule), seed=seed))
    try:
        scenario = load_scenario(path)
    except ConfigError:
        return None  # e.g. a pause too long for so short a phase: not a schedule of this store
    outcome = StoreTarget(spec).run(scenario, folder / "run", seed, lambda message: None)
    result = judge_outcome(scenario, outcome, folder)
    criteria = [c for c in evaluate_all([ScenarioChecks.of(result)]) if not c.id.startswith("P")]
    failed = [c for c in criteria if c.status == "fail"]
    judged = any(c.status in ("pass", "fail") for c in criteria)
    return Ran(failed, judged, "" if judged else result.reason)


@dataclass(frozen=True)
class HuntResult:
    """What a hunt found: the smallest failing schedule (if any), how often it failed again."""

    found: Trial | None
    tried: int
    failing: int
    invalid: int
    seconds: float
    shrunk_by_hypothesis: bool
    reruns: tuple[bool, ...] = ()
    same_operations: tuple[bool, ...] = ()  # per re-run: it failed on the same operation numbers
    interrupted: KeyboardInterrupt | None = None
    unjudged: int = 0
    unjudged_reason: str = ""


def hunt(
    spec: str,
    out: Path,
    *,
    budget_s: float,
    seed: int,
    max_examples: int = 10_000,
    progress: Progress | None = None,
    same_schedules: bool = False,
    job_files: bool = True,
) -> HuntResult:
    """Search schedules against ``spec`` for ``budget_s`` seconds; shrink the first failure.

    ``same_schedules`` draws the same schedules in the same order on every call (Hypothesis's
    ``derandomize``, without the database): what a test needs to judge the same hunt twice.
    ``job_files=False`` (the preflight found no file per job) leaves out damage and power cuts.
    """
    from harness.hunt.strategies import schedules

    state = HuntState(time.monotonic(), budget_s)
    say = progress or (lambda line: None)

    def fails(schedule: Schedule) -> bool:
        return state.judge(schedule, spec, out, seed, say)

    rules = _settings(max_examples, same_schedules, out)
    key = f"jobharness-hunt/{spec}".encode()
    ended = "flaky"
    interrupted: KeyboardInterrupt | None = None
    attempt = 0
    try:
        # The first search replays the database's failures first (no random= then: a seeded
        # search does not use the database, Hypothesis's rule). When a shrink ends flaky (a
        # free-running failure that did not repeat), the rest of the budget goes to fresh ones.
        while ended == "flaky" and not state.spent and not (attempt and same_schedules):
            ended = _search(fails, rules, key, attempt, seed, lambda: schedules(job_files))
            attempt += 1
    except KeyboardInterrupt as stop:  # Ctrl-C or SIGTERM: what was found is kept and written
        interrupted = stop
    return HuntResult(
        state.smallest,
        state.tried,
        state.failing,
        state.invalid,
        time.monotonic() - state.started,
        ended == "shrunk" and not state.spent,
        interrupted=interrupted,
        unjudged=state.unjudged,
        unjudged_reason=state.unjudged_reason,
    )


def _settings(max_examples: int, same_schedules: bool, out: Path) -> Any:
    """Hypothesis's settings for a hunt: no deadline, quiet, the database beside ``out``
    (none for ``same_schedules``, which derandomizes instead)."""
    from hypothesis import Phase, Verbosity, settings
    from hypothesis.database import DirectoryBasedExampleDatabase

    database = None if same_schedules else DirectoryBasedExampleDatabase(str(out.parent / DATABASE))
    return settings(
        max_examples=max_examples,
        deadline=None,
        database=database,
        derandomize=same_schedules,
        phases=(Phase.reuse, Phase.generate, Phase.shrink),
        verbosity=Verbosity.quiet,  # the hunt says what it found; Hypothesis's own lines would not
    )


def _search(
    fails: Callable[[Schedule], bool],
    rules: Any,
    key: bytes,
    attempt: int,
    seed: int,
    schedules: Callable[[], Any],
) -> str:
    """One Hypothesis search and shrink: ``shrunk`` (a failure, shrunk to its end), ``flaky``
    (the shrunk one did not fail again: worth searching on) or ``stop`` (time is up, or
    nothing failed in ``max_examples``)."""
    import random

    from hypothesis import find
    from hypothesis.errors import Flaky, NoSuchExample

    draw = random.Random(f"{seed}/{attempt}") if attempt else None
    try:
        find(schedules(), fails, settings=rules, database_key=key, random=draw)
    except Flaky:
        return "flaky"
    except (NoSuchExample, BudgetSpent):
        return "stop"
    return "shrunk"


def deterministic_twin(trial: Trial, spec: str, folder: Path, seed: int) -> Trial | None:
    """A free-running failure's deterministic twin (:func:`~harness.hunt.strategies.twins_of`),
    if one fails twice too: it replays on the same operation numbers, which the free one cannot.

    Hypothesis tries deterministic schedules first, but shrinks a free-running failure on its
    own terms; a race the turns hide (a torn read, a lost update) has no twin.
    """
    from harness.hunt.strategies import twins_of

    if trial.schedule.deterministic:
        return None
    for index, twin in enumerate(twins_of(trial.schedule)):
        twin_seed = schedule_seed(twin, seed)
        where = folder / f"twin-{index + 1}"
        first = run_schedule(twin, spec, where, twin_seed)
        if first and first.failed:
            again = run_schedule(twin, spec, where / "again", twin_seed)
            if again and again.failed:
                return Trial(twin, where / "scenario.toml", twin_seed, first.failed)
    return None


def confirm(
    trial: Trial, spec: str, folder: Path, runs: int
) -> tuple[tuple[bool, ...], tuple[bool, ...]]:
    """Run the found schedule ``runs`` more times (same seed): whether each failed again, and
    whether it failed the same criteria on the same operation numbers (what a deterministic
    schedule promises; a free-running one usually fails elsewhere in its history)."""
    again, same = [], []
    for index in range(runs):
        ran = run_schedule(trial.schedule, spec, folder / f"rerun-{index + 1}", trial.seed)
        again.append(bool(ran and ran.failed))
        same.append(
            bool(ran and failing_operations(ran.failed) == failing_operations(trial.failed))
        )
    return tuple(again), tuple(same)


def failing_operations(failed: list[CriterionResult]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Each failed criterion with the operation numbers its evidence names (``op #N``)."""
    return tuple(
        (criterion.id, tuple(re.findall(r"op #(\d+)", " ".join(criterion.evidence))))
        for criterion in sorted(failed, key=lambda criterion: criterion.id)
    )
