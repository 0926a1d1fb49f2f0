"""Where a service keeps each job's files, as the damage fault needs them, found from its profile.

The store-level damage fault asks the store (``paths_for``) where a job's files are; a service
under test answers no such question, so its API profile says it instead, with patterns under the
data folder (``[files] main = "jobs/{id}.json"``, globs allowed). :class:`JobFiles` is the
mapping the fault reads as ``run.setup["paths"]``: its keys are the jobs accepted so far (read
live from the submitters' histories), and each value the job's files that exist right now.

It is true (the fault is applicable) when the profile declares job files, even before the first
job is accepted; a service whose profile declares none has nothing per job to damage, and a
damage scenario is *not applicable* to it, as to a store that keeps jobs in a database.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

GLOB_CHARACTERS = frozenset("*?[")


class JobFiles(Mapping[str, dict[str, str]]):
    """Job id -> ``{"main": path, "backup": path}`` (only the files that exist), live."""

    def __init__(
        self, data: Path, patterns: Mapping[str, str], accepted: Callable[[], list[str]]
    ) -> None:
        self.data = data
        self.patterns = dict(patterns)
        self._accepted = accepted

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def __iter__(self) -> Iterator[str]:
        return iter(self._accepted() if self.patterns else [])

    def __len__(self) -> int:
        return len(self._accepted()) if self.patterns else 0

    def __getitem__(self, job_id: str) -> dict[str, str]:
        found = {}
        for which, pattern in self.patterns.items():
            path = self.find(pattern, job_id)
            if path is not None:
                found[which] = path
        return found

    def find(self, pattern: str, job_id: str) -> str | None:
        """The file ``pattern`` names for ``job_id``: the pattern itself, or its one glob match."""
        relative = pattern.replace("{id}", job_id)
        path = os.fspath(self.data / relative)
        if not GLOB_CHARACTERS & set(relative):
            return path if os.path.exists(path) else None
        matches = sorted(glob.glob(path, recursive=True))
        return matches[0] if matches else None
