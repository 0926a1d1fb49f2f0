"""Control store: SQLite in rollback-journal mode with ``synchronous=EXTRA``. Unusual, correct.

The built-in SQLite store uses a write-ahead log (``journal_mode=WAL``, ``synchronous=FULL``).
The older rollback journal (``journal_mode=DELETE``) is as safe: each commit writes the old
pages to ``jobs.db-journal``, fsyncs it, writes the database, fsyncs it, and deletes the
journal; ``synchronous=EXTRA`` also fsyncs the directory after that delete, so a committed
transaction cannot be rolled back by a power cut bringing the journal's name back. Readers and
writers exclude each other (the busy timeout makes them wait), which is slower, not wrong.

Its files are the built-in store's: ``jobs.db`` and, during a transaction, ``jobs.db-journal``,
both declared by the inherited ``owned_paths()``. A journal left by a writer killed mid-commit
is a *hot journal*: the next connection rolls it back and deletes it.
"""

from __future__ import annotations

from pathlib import Path

from durable_jobs.sqlite_store import SqliteJobStore


class RollbackJournalStore(SqliteJobStore):
    """The built-in SQLite store, with a rollback journal and ``synchronous=EXTRA``."""

    JOURNAL_MODE = "DELETE"
    SYNCHRONOUS = "EXTRA"


def make_store(root: Path) -> RollbackJournalStore:
    """The harness factory: ``--store tests/controls/sqlite_rollback.py:make_store``."""
    return RollbackJournalStore(Path(root) / "jobs.db")
