"""Deterministic mode, the process's side: each store call waits for its turn from the runner.

In a ``deterministic = true`` scenario (``--deterministic``) the main phase's processes do not
race: before every store call a process *asks* for a turn and blocks until the runner *grants*
one, and it says *done* when the call has returned and been recorded. The runner
(:mod:`harness.runner.turns`) grants one turn at a time, only once every live process is
asking, and picks who goes from a seeded random number generator, so the seed fixes the order
of the store calls (and so the operation numbers of the history) as well as the faults; a kill
at the n-th system call stays exact because the calls between two turns are one process's.

The protocol is one byte a message over two pipes per process: ``a`` (ask) and ``d`` (done)
from the process, ``g`` (go) and ``s`` (stop: the phase's turns are spent) from the runner.
Messages go with ``writev``/``readv`` and never ``write``/``read``: the fault injector counts a
store's ``write`` calls, and a turn must not count as one (the history does the same).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

ASK, DONE, GO, STOP = b"a", b"d", b"g", b"s"


class TurnsEnded(BaseException):
    """The runner said *stop*: the phase's turns are spent, so the role's work is done.

    A ``BaseException`` so that no ``except Exception`` in a role or a store call catches it.
    """


@dataclass(frozen=True)
class TurnPipes:
    """The process's ends of its two pipes (plain descriptors: they cross ``fork`` as they are)."""

    grants: int  # read end: go / stop from the runner
    asks: int  # write end: ask / done to the runner
    inherited: tuple[int, ...] = ()  # the runner's ends of other processes' pipes, closed at start


class Turns:
    """The process-wide turn taker :func:`harness.client.calls.recorded` goes through."""

    def __init__(self, pipes: TurnPipes) -> None:
        self.pipes = pipes
        for fd in pipes.inherited:  # another process's pipe held open here would hide its end
            with contextlib.suppress(OSError):
                os.close(fd)

    def wait_for_turn(self) -> None:
        """Ask, and block until the runner says go; raise :class:`TurnsEnded` on stop."""
        os.writev(self.pipes.asks, [ASK])
        answer = bytearray(1)
        if os.readv(self.pipes.grants, [answer]) == 0 or bytes(answer) == STOP:
            raise TurnsEnded  # stop, or the runner is gone: either way no more turns
        if bytes(answer) != GO:
            raise RuntimeError(f"deterministic mode: unexpected message {bytes(answer)!r}")

    def turn_done(self) -> None:
        os.writev(self.pipes.asks, [DONE])


_turns: Turns | None = None


def use_turns(pipes: TurnPipes | None) -> None:
    """Take turns from ``pipes`` in this process (None: free-running, the default)."""
    global _turns
    _turns = Turns(pipes) if pipes is not None else None


def current() -> Turns | None:
    return _turns
