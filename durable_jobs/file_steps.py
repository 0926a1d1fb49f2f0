"""The locked steps of :class:`~durable_jobs.file_store.FileJobStore` that its helpers build on.

Recovery (:mod:`~durable_jobs.file_recovery`) and the read path's fallback
(:mod:`~durable_jobs.file_fallback`) change job files only through these steps, under the
job's lock, in the order the store's save uses: so there is one write path to reason about. A
protocol rather than an import of the store, so the helpers never import the module that uses
them.
"""

from __future__ import annotations

from typing import Protocol

from durable_jobs.file_io import FileState
from durable_jobs.file_locks import StripeLock


class StoreSteps(Protocol):
    """What a helper may call on the store (all of it with the job's lock held, but ``_locked``)."""

    _root: str

    def _locked(self, name: str, *, blocking: bool = True) -> StripeLock: ...

    def _next_version(self, name: str, current: FileState) -> int: ...

    def _install(
        self,
        name: str,
        data: bytes,
        *,
        version: int,
        rotate: bool,
        backup_as_well: bool = False,
    ) -> None: ...

    def _write_backup_copy(self, name: str, data: bytes) -> None: ...

    def _fsync_directory(self, action: str, name: str) -> None: ...
