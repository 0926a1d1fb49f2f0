"""StoreHandle: one store opened from a spec, and what the harness asks of it besides the job calls.

Every harness process that opens a store (a client's role, the preflight's probe, power loss's
children) needs the same few things from it beyond ``save_job``/``get_job``: which optional
methods it has, where it keeps its data, where one job's files are, its own files, a recovery,
a close. A :class:`StoreHandle` holds the store object the spec's factory returned and answers
those questions in one way everywhere::

    >>> import tempfile
    >>> handle = StoreHandle.open("hardened", Path(tempfile.mkdtemp()))
    >>> handle.has("recover"), handle.medium
    (True, 'file')
    >>> handle.paths_for("j0")["main"].name
    'j0.json'
    >>> handle.close()

Opening quiets the store's logging first (:func:`harness.client.calls.silence_store_logging`): a store's
warnings would flood the terminal, and their ``write(2)`` calls would be counted by the fault
injection as the store's own. The store's own calls are made on :attr:`StoreHandle.store`, so
that a recorded call times the store alone.

**Where a job's files are, never guessed.** :meth:`StoreHandle.paths_for` gives the store's own
answer when it has ``paths_for``. A store without it keeps the documented default, the incident's
layout ``<root>/<id>.json`` and ``.json.bak`` (which a caller uses only where those files
exist). A ``paths_for`` that raises, or answers something that is not a mapping of paths, raises
:class:`~harness.store.spec.StorePathsError`, whose message names the call (``ValueError: bad id
(paths_for('j0'))``): the caller records it and aims nothing, because damage aimed at guessed
paths may hit the wrong files and pass for a store that recovered.

A bench opens many stores from built-in names (``StoreHandle.open("sqlite", root)``, then
:meth:`StoreHandle.discard` to close it and drop what it keeps outside its folder); the timer
takes the one its process opened.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from harness.client.calls import silence_store_logging
from harness.errors import HarnessError
from harness.store.spec import (
    StorePathsError,
    StoreSpec,
    capabilities,
    job_paths,
    parse_store_spec,
    storage_medium,
    store_files_report,
)

__all__ = ["StoreHandle", "StorePathsError"]


@dataclass
class StoreHandle:
    """The store object a spec's factory returned for ``root``, and the questions around it."""

    store: Any
    spec: StoreSpec
    root: Path

    @classmethod
    def open(cls, spec: str | StoreSpec, root: str | os.PathLike[str]) -> StoreHandle:
        """Quiet the store's logging, then call the spec's factory with ``root``.

        Raises :class:`~harness.errors.StoreSpecError` for a spec that names no usable store,
        and whatever the factory raises (the caller reports it: it is the store's finding).
        """
        silence_store_logging()
        parsed = spec if isinstance(spec, StoreSpec) else parse_store_spec(spec)
        return cls(parsed.open(Path(root)), parsed, Path(root))

    # ------------------------------------------------------------ what the store can do

    def has(self, method: str) -> bool:
        """Whether the store offers ``method`` (``recover``, ``paths_for``, ``close``...)."""
        return callable(getattr(self.store, method, None))

    @property
    def capabilities(self) -> dict[str, bool]:
        """Each optional method by name, offered or not (recorded in the history)."""
        return capabilities(self.store)

    @property
    def medium(self) -> str:
        """Where the store keeps its data: ``file`` unless ``latency_floor()`` names another."""
        return storage_medium(self.store)

    # ------------------------------------------------------------ where its files are

    def paths_for(self, job_id: str) -> dict[str, Path]:
        """Where job ``job_id``'s files are, by role (``main``, ``backup``...).

        The store's ``paths_for`` when it has one, else the incident's layout; raises
        :class:`StorePathsError` when the store's ``paths_for`` raised or answered no paths.
        """
        return job_paths(self.store, self.root, job_id)

    def job_file(self, job_id: str, role: str = "main") -> Path | None:
        """The file of ``role`` that holds job ``job_id``, or None where it is not known.

        A declared path is returned as declared; the incident's layout only where that file
        exists. Raises :class:`StorePathsError` as :meth:`paths_for` does.
        """
        path = self.paths_for(job_id).get(role)
        if path is None or (not self.has("paths_for") and not path.exists()):
            return None
        return path

    def files_report(self, jobs: Iterable[str]) -> dict[str, Any]:
        """Each job's files and the store's own, relative to ``root`` (``store_files_report``)."""
        return store_files_report(self.store, self.root, jobs)

    def owned_paths(self) -> list[str]:
        """What the store declares as its own files besides the jobs' (``[]`` without it).

        As the store returned them (what ``owned_paths()`` raises propagates);
        :meth:`files_report` gives them relative to ``root``, a raise reported.
        """
        if not self.has("owned_paths"):
            return []
        return [os.fspath(path) for path in self.store.owned_paths()]

    # ------------------------------------------------------------ recovery and the end

    def recover(self) -> Any:
        """Call the store's ``recover()`` and return what it returned (check :meth:`has` first)."""
        if not self.has("recover"):
            raise HarnessError("the store has no recover(); ask handle.has('recover') first")
        return self.store.recover()

    def close(self) -> None:
        """Close the store if it can be closed; what ``close()`` raises is the caller's to see."""
        if self.has("close"):
            self.store.close()

    def close_quietly(self) -> None:
        """Close the store, ignoring what ``close()`` raises (closing is not under test here)."""
        with contextlib.suppress(Exception):
            self.close()

    def discard(self) -> None:
        """Close quietly, then remove what a built-in store keeps outside ``root`` (a table)."""
        self.close_quietly()
        with contextlib.suppress(Exception):  # cleanup must go on
            self.spec.cleanup(self.root)

    def __enter__(self) -> StoreHandle:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close_quietly()
