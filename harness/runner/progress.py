"""Progress display: a live line per scenario on a terminal (rich), plain lines otherwise.

Plain lines keep CI logs readable::

    [ 3/14] same-job-writers: running
    [ 3/14] same-job-writers: pass (3.9 s)
    [ 4/14] kill-random: waiting 3 s for reader-1: get(j2)

A store call that does not return is named every second from the second second on, so a hung
store never looks like a frozen screen.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Any

VERDICT_STYLES = {"pass": "green", "FAIL": "bold red", "UNKNOWN": "bold yellow", "n/a": "yellow"}


class PlainProgress:
    """One line per scenario event, flushed at once (for logs and pipes)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.started: dict[str, float] = {}

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
        self.started.setdefault(scenario, time.monotonic())
        if message in VERDICT_STYLES:
            took = time.monotonic() - self.started[scenario]
            print(f"[{index:>2}/{total}] {scenario}: {message} ({took:.1f} s)", flush=True)
        elif message == "running" or message.startswith("waiting"):
            print(f"[{index:>2}/{total}] {scenario}: {message}", flush=True)


class RichProgress:
    """A rich progress bar with the current scenario and phase; finished scenarios stay listed."""

    def __init__(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.console = Console()
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=self.console,
            auto_refresh=False,
            transient=True,
        )
        self.task = self.progress.add_task("starting", total=total)
        self.started: dict[str, float] = {}

    def __enter__(self) -> RichProgress:
        self.progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.progress.stop()

    def update(self, scenario: str, index: int, total: int, message: str) -> None:
        self.started.setdefault(scenario, time.monotonic())
        if message in VERDICT_STYLES:
            took = time.monotonic() - self.started[scenario]
            style = VERDICT_STYLES[message]
            self.progress.console.print(
                f"[{index:>2}/{total}] {scenario}: [{style}]{message}[/] ({took:.1f} s)"
            )
            self.progress.update(self.task, completed=index)
        else:
            self.progress.update(self.task, description=f"{scenario}: {message}")
        self.progress.refresh()  # no refresh thread: the runner forks processes, threads and fork don't mix


def make_progress(total: int) -> Any:
    return RichProgress(total) if sys.stdout.isatty() else PlainProgress(total)
