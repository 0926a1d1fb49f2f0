"""Open file descriptors of a harness process: a lowered limit, and samples of the count.

A store that opens a file on every save and never closes it works for a while, then every
``open`` of the process fails with ``EMFILE``: reads raise (an HTTP 500 in the incident's service)
and saves fail. A long-lived service meets that after days; the harness makes it happen within
a run by lowering the soft ``RLIMIT_NOFILE`` of every store process to :data:`OPEN_FILES_LIMIT`
and recording the count of open descriptors as the run goes:

    {"process": "writer-0", "f": "fds", "value": {"open": 9, "calls": 64, "limit": 256}, ...}

one sample when the store is open (``calls`` 0), one every :data:`SAMPLE_EVERY` store calls, one
at the end. ``harness.checkers.no_descriptor_leak`` judges the samples: a count that keeps growing with
the calls is a leak.

The sampler is process-wide (one per harness process, installed by :func:`start_sampling`),
because every store call of every role goes through one recording helper
(``harness.client.calls.recorded``), which then needs no extra argument to count.
"""

from __future__ import annotations

import errno
import os
import resource

from harness.history.log import OK, HistoryLog

OPEN_FILES_LIMIT = 256  # low enough for a leak of one descriptor per save to run out in a run
SAMPLE_EVERY = 16  # store calls between two samples


def lower_open_files_limit(limit: int = OPEN_FILES_LIMIT) -> int:
    """Lower this process's soft limit on open files to ``limit`` (never raise it); return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = limit if hard == resource.RLIM_INFINITY else min(limit, hard)
    if soft == resource.RLIM_INFINITY or soft > wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        return wanted
    return soft


def count_open_descriptors() -> int:
    """How many descriptors this process has open (the listing's own one excluded)."""
    return len(os.listdir("/proc/self/fd")) - 1


class DescriptorSampler:
    """Records the open-descriptor count of this process every ``every`` store calls."""

    def __init__(self, log: HistoryLog, every: int = SAMPLE_EVERY) -> None:
        self.log = log
        self.every = every
        self.calls = 0
        self.limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]

    def sample(self) -> None:
        value: dict[str, object] = {"calls": self.calls, "limit": self.limit}
        try:
            value["open"] = count_open_descriptors()
        except OSError as error:
            if error.errno != errno.EMFILE:
                return  # no /proc here: nothing to record
            # Listing needs one descriptor: none is left, which is the leak's end state.
            value["error"] = f"EMFILE: {error.strerror}"
        self.log.event("fds", None, value, OK)

    def after_call(self) -> None:
        self.calls += 1
        if self.calls % self.every == 0:
            self.sample()


_sampler: DescriptorSampler | None = None


def start_sampling(log: HistoryLog) -> None:
    """Install this process's sampler and take the first sample (the store just opened)."""
    global _sampler
    _sampler = DescriptorSampler(log)
    _sampler.sample()


def note_call() -> None:
    """Count one store call (a no-op in a process that did not start sampling)."""
    if _sampler is not None:
        _sampler.after_call()


def stop_sampling() -> None:
    """Take the last sample, unless the last call already took it, and uninstall the sampler."""
    global _sampler
    if _sampler is not None and _sampler.calls % _sampler.every:
        _sampler.sample()
    _sampler = None


__all__ = [
    "OPEN_FILES_LIMIT",
    "SAMPLE_EVERY",
    "DescriptorSampler",
    "count_open_descriptors",
    "lower_open_files_limit",
    "note_call",
    "start_sampling",
    "stop_sampling",
]
