"""Deterministic mode, the runner's side: one store call at a time, in an order the seed fixes.

A free-running main phase lets the processes race, so two runs with one seed interleave their
calls differently (one had 596 read errors, its replay 477) and ``op #N`` of a failure's
evidence is another operation in the replay. In a ``deterministic = true`` scenario the
:class:`TurnGiver` makes the interleaving part of the seed:

* every main-phase process takes a turn before each store call
  (:mod:`harness.client.turns`); the giver grants a turn only when no call is in flight and
  every live process that is not stopped is asking (a process still opening the store, or
  ending, is waited for), and picks among the askers with a seeded random number generator;
* the faults' timed actions (``TimedAction.at``, seconds) run between turns, at the turn their
  time maps to (``at / duration`` of the phase's ``turns``), so a damage or a random kill
  always lands between the same two calls; a kill at the n-th system call is exact as ever;
* a process stopped by a pause gets no turn until it is continued; when every live process is
  stopped, the next action runs at once (nothing else could happen before it);
* after ``turns`` turns the actions that undo a fault run, the askers are told *stop* one at a
  time (each ends before the next is told), and the phase ends when every process has ended.

What deterministic mode gives up: two store calls never overlap, so a defect that needs two
calls in flight at once (a lost update between two read-modify-writes, a temp file shared by
two writers) does not show; the free-running mode finds those. A wall-clock limit
(:data:`SECONDS_PER_TURN` a turn, at least the phase's own ``duration`` plus ``Timeouts.op``)
still ends a run whose store hangs; the history then says how many turns were given.
"""

from __future__ import annotations

import math
import os
import random
import select
import time
from dataclasses import dataclass, field

from harness.client.turns import ASK, DONE, GO, STOP, TurnPipes
from harness.nemesis.fault import TimedAction

SECONDS_PER_TURN = 0.5  # the wall-clock allowance per turn before the phase is cut short


@dataclass
class _Channel:
    """The runner's ends of one process's pipes, and what that process last said."""

    grants: int  # write end: go / stop
    asks: int  # read end: ask / done
    asking: bool = False
    ended: bool = False  # its pipe said end-of-file: the process is gone or going
    closed: bool = False


@dataclass
class TurnGiver:
    """Grants the main phase's turns; see the module docstring."""

    turns: int
    rng: random.Random
    given: int = 0
    in_flight: str | None = None
    stopping: bool = False
    channels: dict[str, _Channel] = field(default_factory=dict)

    def pipes_for(self, name: str) -> TurnPipes:
        """Open a process's two pipes before it is forked; the child's ends, for its config."""
        grants_read, grants_write = os.pipe()
        asks_read, asks_write = os.pipe()
        inherited = tuple(
            fd for c in self.channels.values() if not c.closed for fd in (c.grants, c.asks)
        )
        self.channels[name] = _Channel(grants_write, asks_read)
        return TurnPipes(grants_read, asks_write, inherited)

    @staticmethod
    def forked(pipes: TurnPipes) -> None:
        """After the fork: the child's ends belong to the child only (so its death shows here)."""
        os.close(pipes.grants)
        os.close(pipes.asks)

    def listen(self, timeout: float) -> None:
        """Read what the processes said within ``timeout`` seconds."""
        open_channels = {
            c.asks: (name, c) for name, c in self.channels.items() if not (c.closed or c.ended)
        }
        if not open_channels:
            time.sleep(timeout)
            return
        readable, _, _ = select.select(list(open_channels), [], [], timeout)
        for fd in readable:
            name, channel = open_channels[fd]
            message = os.read(fd, 64)
            if not message:
                # Gone (a kill at a system call, mid-call): its turn ends only once the
                # supervisor has recorded how it ended (close), so that record comes before
                # the next process's call in the history.
                channel.ended, channel.asking = True, False
                continue
            for byte in message:
                if bytes([byte]) == ASK:
                    channel.asking = True
                elif bytes([byte]) == DONE and self.in_flight == name:
                    self.in_flight = None

    def close(self, name: str) -> None:
        """The process ended: its call in flight (if any) ended with it."""
        channel = self.channels.get(name)
        if channel is None or channel.closed:
            return
        channel.closed = True
        channel.asking = False
        for fd in (channel.grants, channel.asks):
            os.close(fd)
        if self.in_flight == name:
            self.in_flight = None

    def close_all(self) -> None:
        for name in list(self.channels):
            self.close(name)

    def settled(self, live: list[tuple[str, bool]]) -> bool:
        """No call in flight and every live, not stopped process (``(name, stopped)``) asking."""
        if self.in_flight is not None:
            return False
        return all(stopped or self._asking(name) for name, stopped in live)

    def askers(self, live: list[tuple[str, bool]]) -> list[str]:
        return sorted(name for name, stopped in live if not stopped and self._asking(name))

    def grant(self, askers: list[str]) -> str:
        """Give the next turn to one of ``askers`` (seeded), or tell them all to stop."""
        if self.given >= self.turns or self.stopping:
            # One at a time, like the turns: each ending process's last records (its final
            # descriptor sample) are written before the next one is told.
            self.stopping = True
            self._send(askers[0], STOP)
            return ""
        name = self.rng.choice(askers)
        self._send(name, GO)
        self.in_flight = name
        self.given += 1
        return name

    def turn_of(self, action: TimedAction, duration: float) -> int:
        """The turn before which a timed action runs: its share of the phase, in turns."""
        share = action.at / duration if duration > 0 else 0.0
        return min(self.turns, max(0, math.floor(share * self.turns)))

    def _asking(self, name: str) -> bool:
        channel = self.channels.get(name)
        return channel is not None and channel.asking

    def _send(self, name: str, message: bytes) -> None:
        channel = self.channels[name]
        channel.asking = False
        try:
            os.writev(channel.grants, [message])
        except OSError:  # it died between asking and now: its end shows at the next look
            self.close(name)
