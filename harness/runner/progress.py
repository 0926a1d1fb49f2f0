"""Progress display: a live bar on a terminal (rich), plain lines otherwise; both with an ETA.

Plain lines keep CI logs readable::

    [ 3/14] same-job-writers: running
    [ 3/14] same-job-writers: pass (3.9 s; about 1 min 10 s left)
    [ 4/14] kill-random: waiting 3 s for reader-1: get(j2)

A store call that does not return is named every second from the second second on, so a hung
store never looks like a frozen screen. The time left (:class:`Eta`) comes from each scenario's
planned duration (its main phase), scaled by how long the finished ones took against their plan:
set-up, checks and recovery cost about as much again as the phase itself, and the ratio learns it.

On a terminal the bar redraws every second from a SIGALRM timer, not a thread: the runner
forks processes, and threads and fork do not mix (an interval timer is not inherited by a
forked child, and a child that inherited the handler ignores the signal).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Sequence
from types import FrameType, TracebackType
from typing import Any

FIRST_GUESS = 2.0  # seconds taken per planned second, until a scenario has finished


class Eta:
    """The time left: planned seconds still to run, times the ratio the finished ones took."""

    def __init__(self, planned: Sequence[float]) -> None:
        self.planned = [max(0.1, float(seconds)) for seconds in planned]
        self.taken: list[float] = []
        self.current_started: float | None = None
        self.started_at: dict[str, float] = {}

    def start(self, index: int) -> None:
        """Scenario ``index`` (1-based) started."""
        if len(self.taken) < index - 1:
            self.taken += [0.0] * (index - 1 - len(self.taken))
        self.current_started = time.monotonic()

    def finish(self, took: float) -> None:
        self.taken.append(took)
        self.current_started = None

    def note(self, scenario: str, index: int, message: str) -> float | None:
        """Follow one progress message; the seconds the scenario took when it says its verdict."""
        if scenario not in self.started_at:
            self.started_at[scenario] = time.monotonic()
            self.start(index)
        if message not in VERDICT_STYLES:
            return None
        took = time.monotonic() - self.started_at[scenario]
        self.finish(took)
        return took

    def seconds_left(self) -> float:
        done = len(self.taken)
        planned_done = sum(self.planned[:done])
        ratio = sum(self.taken) / planned_done if done and planned_done else FIRST_GUESS
        left = sum(self.planned[done + 1 :]) * ratio
        if done < len(self.planned):
            elapsed = time.monotonic() - self.current_started if self.current_started else 0.0
            left += max(0.0, self.planned[done] * ratio - elapsed)
        return left

    def text(self) -> str:
        left = round(self.seconds_left())
        if len(self.taken) >= len(self.planned):
            return "done"
        minutes, seconds = divmod(left, 60)
        return f"about {minutes} min {seconds} s left" if minutes else f"about {seconds} s left"


VERDICT_STYLES = {"pass": "green", "FAIL": "bold red", "UNKNOWN": "bold yellow", "n/a": "yellow"}


class PlainProgress:
    """One line per scenario event, flushed at once (for logs and pipes)."""

    def __init__(self, planned: Sequence[float]) -> None:
        self.total = len(planned)
        self.eta = Eta(planned)

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def update(self, scenario: str, index: int, total: int, message: str) -> None:
        took = self.eta.note(scenario, index, message)
        if took is not None:
            left = f"; {self.eta.text()}" if index < total else ""
            print(f"[{index:>2}/{total}] {scenario}: {message} ({took:.1f} s{left})", flush=True)
        elif message == "running" or message.startswith("waiting"):
            print(f"[{index:>2}/{total}] {scenario}: {message}", flush=True)


class RichProgress:
    """A rich progress bar with the current scenario and phase; finished scenarios stay listed."""

    def __init__(self, planned: Sequence[float]) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        total = len(planned)
        self.eta = Eta(planned)
        self._busy = False  # an update is drawing: the timer's tick skips
        self._pid = os.getpid()

        self.console = Console()
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            TextColumn("{task.fields[eta]}"),
            console=self.console,
            auto_refresh=False,
            transient=True,
        )
        self.task = self.progress.add_task("starting", total=total, eta="")

    def __enter__(self) -> RichProgress:
        self.progress.start()
        signal.signal(signal.SIGALRM, self._tick)
        signal.setitimer(signal.ITIMER_REAL, 1.0, 1.0)
        return self

    def _tick(self, signum: int, frame: FrameType | None) -> None:
        if os.getpid() != self._pid or self._busy:
            return  # a forked child that kept the handler, or a redraw already under way
        self._redraw()

    def _redraw(self) -> None:
        self.progress.update(self.task, eta=self.eta.text())
        self.progress.refresh()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        self.progress.stop()

    def update(self, scenario: str, index: int, total: int, message: str) -> None:
        self._busy = True
        try:
            took = self.eta.note(scenario, index, message)
            if took is not None:
                style = VERDICT_STYLES[message]
                self.progress.console.print(
                    f"[{index:>2}/{total}] {scenario}: [{style}]{message}[/] ({took:.1f} s)"
                )
                self.progress.update(self.task, completed=index)
            else:
                self.progress.update(self.task, description=f"{scenario}: {message}")
            self._redraw()
        finally:
            self._busy = False


def make_progress(planned: Sequence[float]) -> Any:
    """The display for a run of scenarios planned to take ``planned`` seconds each."""
    return RichProgress(planned) if sys.stdout.isatty() else PlainProgress(planned)
