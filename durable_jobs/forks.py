"""Which side of a ``fork`` this process is on, for state a child must not inherit.

A forked child shares its parent's open file descriptions, and with them ``flock`` locks, so
the file store's per-thread descriptors (lock stripes, the directory) must be opened again in
the child, and its temp file names must differ from the parent's. Checking ``os.getpid()`` on
every save answers that with a system call each time; :data:`generation` answers it with an
attribute read: it counts the forks between the first process and this one, bumped in every
child by :func:`os.register_at_fork`.

>>> from durable_jobs import forks
>>> before = forks.generation
>>> forks.generation == before  # no fork happened in between
True
"""

from __future__ import annotations

import os

generation = 0


def _count_the_fork() -> None:
    global generation
    generation += 1


os.register_at_fork(after_in_child=_count_the_fork)
