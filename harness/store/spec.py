"""Store specs: how the user names the job store under test.

A spec is one of:

* a built-in name: ``hardened`` (the default), ``sqlite``, ``postgres``, ``phase470``, ``naive``;
* ``package.module:factory``, imported like any module;
* ``path/to/file.py:factory``, loaded from that file.

``factory(root: pathlib.Path)`` returns an object with ``save_job(job_id, job)`` and
``get_job(job_id)``, and optionally ``update_job(job_id, changes)``, ``recover()``,
``paths_for(job_id) -> {"main": Path, "backup": Path}`` (where the store keeps a job's files, so
damage can be aimed at them; without it the incident's layout ``root/<id>.json[.bak]`` is
assumed; a ``paths_for`` that raises is reported, never replaced by that guess: see
:func:`job_paths`), ``latency_floor() -> {"medium": ...}`` (the medium the performance budget's
floors are measured on; a local file when absent, see :mod:`harness.floors`),
``owned_paths() -> list of globs`` (the store's own permanent files that are not one job's: a
lock folder, a WAL, a log holding every job; see below) and ``close()``.
Every worker process calls the factory itself, with the same root, as separate application
processes would, so a spec travels between processes as its text, never as an object.

**Declaring the store's own files.** After the restart, the no-litter check (C8) treats every
file of the store's folder that appeared during the run as litter, unless it is a job's current
file or its backup (``paths_for``, or the incident's layout) or the store declares it with
``owned_paths()``. It returns paths or glob patterns, relative to the root (absolute paths
under the root are accepted too); ``*`` matches across ``/``, and a pattern naming a folder
owns everything inside it. A name that looks temporary (``*.tmp``, ``tmpXXXXXXXX``,
``*.partial``, ``.#*``, ``*~``...) is litter even when declared: a declaration keeps permanent
files, it cannot excuse a leftover one. Patterns made only of wildcards (``*``) are ignored.

>>> class LogStore:
...     def owned_paths(self):
...         return ["jobs.log", ".locks/"]
>>> store_files_report(LogStore(), "/data/jobs", ["j0"])["owned"]
['jobs.log', '.locks/']
>>> store_files_report(LogStore(), "/data/jobs", ["j0"])["layout"]
{'j0': {'main': 'j0.json', 'backup': 'j0.json.bak'}}

>>> parse_store_spec("hardened").kind
'builtin'
>>> parse_store_spec("my_app.jobs:make_store").target
'my_app.jobs'
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import HarnessError, StoreSpecError
from harness.history.outcomes import describe_error

REQUIRED_METHODS = ("save_job", "get_job")
OPTIONAL_METHODS = (
    "update_job",
    "recover",
    "paths_for",
    "list_jobs",
    "owned_paths",
    "latency_floor",
    "close",
)
INCIDENT_SUFFIXES = {"main": ".json", "backup": ".json.bak"}
"""The incident's layout, ``<root>/<id>.json`` and its backup: the default without ``paths_for``."""


def hardened_store(root: Path) -> Any:
    """The hardened file backend of durable_jobs (the embedded default)."""
    from durable_jobs.file_store import FileJobStore

    return FileJobStore(root)


def sqlite_store(root: Path) -> Any:
    """The SQLite backend of durable_jobs, one database file in ``root``."""
    from durable_jobs.sqlite_store import SqliteJobStore

    return SqliteJobStore(Path(root) / "jobs.db")


def postgres_store(root: Path) -> Any:
    """The PostgreSQL backend; each run gets its own table, named after its root directory.

    The server comes from ``$JOBHARNESS_POSTGRES_URL`` (default: the local server, database test).
    """
    from durable_jobs.postgres_store import PostgresJobStore

    url = os.environ.get("JOBHARNESS_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    table = (
        "jh_"
        + hashlib.blake2b(os.fspath(Path(root).absolute()).encode(), digest_size=6).hexdigest()
    )
    return PostgresJobStore(f"{url}{'&' if '?' in url else '?'}table={table}")


def drop_postgres_table(root: Path) -> None:
    """Remove the table a run of the built-in postgres store created (called after the run)."""
    store = postgres_store(root)
    try:
        store.drop()
    finally:
        store.close()


def phase470_store(root: Path) -> Any:
    """The incident's phase 4.7.0 design, kept with its defects."""
    from durable_jobs.legacy import Phase470JobStore

    return Phase470JobStore(root)


def naive_store(root: Path) -> Any:
    """The pre-fix design: json.dump straight into the job file."""
    from durable_jobs.legacy import NaiveJobStore

    return NaiveJobStore(root)


BUILTIN_STORES: dict[str, Callable[[Path], Any]] = {
    "hardened": hardened_store,
    "sqlite": sqlite_store,
    "postgres": postgres_store,
    "phase470": phase470_store,
    "naive": naive_store,
}
DEFAULT_STORE = "hardened"
# Built-in stores that keep state outside their root folder, and how to remove it after a run.
BUILTIN_CLEANUP: dict[str, Callable[[Path], None]] = {"postgres": drop_postgres_table}


@dataclass(frozen=True)
class StoreSpec:
    """A parsed spec: ``kind`` is builtin, module or file; ``target`` what to import."""

    text: str
    kind: str
    target: str
    attribute: str

    def __str__(self) -> str:
        return self.text

    @property
    def is_builtin(self) -> bool:
        return self.kind == "builtin"

    def load_factory(self) -> Callable[[Path], Any]:
        """Import the factory; raise :class:`StoreSpecError` saying why it cannot be loaded."""
        if self.kind == "builtin":
            return BUILTIN_STORES[self.target]
        if self.kind == "file":
            module = _load_file_module(self.target, self.text)
        else:
            module = _import_module(self.target, self.text)
        factory = getattr(module, self.attribute, None)
        if factory is None:
            names = sorted(name for name in vars(module) if not name.startswith("_"))
            raise StoreSpecError(
                f"store spec {self.text!r}: {self.target} has no attribute {self.attribute!r}"
                f" (it defines: {', '.join(names[:12]) or 'nothing public'})"
            )
        if not callable(factory):
            raise StoreSpecError(
                f"store spec {self.text!r}: {self.attribute} is a {type(factory).__name__}, "
                "not a callable factory(root) -> store"
            )
        return factory

    def cleanup(self, root: Path) -> None:
        """Remove what a built-in store keeps outside ``root`` (a PostgreSQL table)."""
        if self.kind == "builtin" and self.target in BUILTIN_CLEANUP:
            BUILTIN_CLEANUP[self.target](Path(root))

    def open(self, root: Path) -> Any:
        """Call the factory with ``root`` and check the object it returns."""
        store = self.load_factory()(Path(root))
        check_store_object(store, self.text)
        return store


def parse_store_spec(text: str | None) -> StoreSpec:
    """Parse a ``--store`` value; raise :class:`StoreSpecError` with the accepted forms."""
    text = (text or DEFAULT_STORE).strip()
    if text in BUILTIN_STORES:
        return StoreSpec(text, "builtin", text, "")
    target, sep, attribute = text.rpartition(":")
    if not sep or not target or not attribute:
        raise StoreSpecError(
            f"store spec {text!r} is not a built-in store ({', '.join(BUILTIN_STORES)}), "
            "package.module:factory, or path/to/file.py:factory"
        )
    if not attribute.isidentifier():
        raise StoreSpecError(f"store spec {text!r}: {attribute!r} is not a Python name")
    if target.endswith(".py") or os.sep in target:
        path = Path(target).expanduser()
        if not path.is_file():
            raise StoreSpecError(f"store spec {text!r}: file {target} does not exist")
        return StoreSpec(text, "file", os.fspath(path.absolute()), attribute)
    if not all(part.isidentifier() for part in target.split(".")):
        raise StoreSpecError(f"store spec {text!r}: {target!r} is not a module name")
    return StoreSpec(text, "module", target, attribute)


def check_store_object(store: object, spec_text: str) -> None:
    """Raise :class:`StoreSpecError` if ``store`` lacks the two required methods."""
    missing = [name for name in REQUIRED_METHODS if not callable(getattr(store, name, None))]
    if missing:
        raise StoreSpecError(
            f"store spec {spec_text!r}: the factory returned {type(store).__name__}, which has no "
            f"{' or '.join(name + '()' for name in missing)}; a store needs save_job(job_id, job) and get_job(job_id)"
        )


def storage_medium(store: object) -> str:
    """Where the store keeps its data: ``file`` (under its root folder) unless it says otherwise.

    Read from the optional ``latency_floor()`` declaration (``{"medium": "postgresql", ...}``),
    which names the medium for the performance budget too. A declaration that raises or says
    nothing usable counts as ``file``: the scenarios that need files then run, and find out.

    >>> storage_medium(object())
    'file'
    """
    declare = getattr(store, "latency_floor", None)
    if not callable(declare):
        return "file"
    try:
        declared = declare()
    except Exception:  # the latency scenario reports a declaration that raises
        return "file"
    medium = declared.get("medium") if isinstance(declared, dict) else None
    return medium if isinstance(medium, str) and medium else "file"


def capabilities(store: object) -> dict[str, bool]:
    """Which optional methods the store offers (scenarios needing others are not applicable)."""
    return {name: callable(getattr(store, name, None)) for name in OPTIONAL_METHODS}


class StorePathsError(HarnessError):
    """The store's ``paths_for`` raised, or did not answer with paths.

    The message is the cause and the call, ``<Type>: <message> (paths_for('<job>'))``; the fix
    is in the store (``paths_for(job_id)`` must return ``{"main": Path, "backup": Path}``). The
    harness does not fall back to the incident's layout then: the files it would aim at might
    not be the job's, and damage aimed there would pass for a store that recovered.
    """


def incident_layout(root: str | os.PathLike[str], job_id: str) -> dict[str, Path]:
    """The incident's layout, the default of a store without ``paths_for``.

    >>> incident_layout("/data/jobs", "j0")["backup"]
    PosixPath('/data/jobs/j0.json.bak')
    """
    return {role: Path(root) / f"{job_id}{suffix}" for role, suffix in INCIDENT_SUFFIXES.items()}


def job_paths(store: object, root: str | os.PathLike[str], job_id: str) -> dict[str, Path]:
    """Where the store keeps job ``job_id``'s files, by role (``main``, ``backup``...).

    The store's ``paths_for`` when it has one, else :func:`incident_layout`; raises
    :class:`StorePathsError` when ``paths_for`` raised or answered something that is not a
    mapping of paths, never a guess.

    >>> class Refuses:
    ...     def paths_for(self, job_id):
    ...         raise ValueError("not a job id")
    >>> job_paths(Refuses(), "/data/jobs", "j0")
    Traceback (most recent call last):
    ...
    harness.store.spec.StorePathsError: ValueError: not a job id (paths_for('j0'))
    """
    paths_for = getattr(store, "paths_for", None)
    if not callable(paths_for):
        return incident_layout(root, job_id)
    call = f"paths_for({job_id!r})"
    try:
        answer = paths_for(job_id)
    except Exception as error:
        raise StorePathsError(f"{describe_error(error)} ({call})") from error
    if not isinstance(answer, Mapping):
        raise StorePathsError(
            f"TypeError: returned {type(answer).__name__}, not a mapping of paths ({call})"
        )
    try:
        return {str(role): Path(os.fspath(path)) for role, path in answer.items()}
    except TypeError as error:
        raise StorePathsError(f"{describe_error(error)} ({call})") from error


def store_files_report(
    store: object, root: str | os.PathLike[str], jobs: Iterable[str]
) -> dict[str, Any]:
    """Which files of ``root`` the store says are its own, for the no-litter check.

    ``layout``: each job's files by role (``main``, ``backup``, any other key ``paths_for``
    returns), relative to ``root``; the incident's layout when the store has no ``paths_for``.
    A job whose ``paths_for`` raised gets no layout (no guess), and ``paths_error`` says why
    (the first such job). ``owned``: what ``owned_paths()`` declares, relative to ``root``.
    ``owned_error``: why ``owned_paths()`` could not be used, when it raised.
    """
    base = os.fspath(Path(root).absolute())
    layout: dict[str, dict[str, str]] = {}
    report: dict[str, Any] = {"layout": layout, "owned": []}
    for job_id in jobs:
        try:
            found = job_paths(store, base, job_id)
        except StorePathsError as error:
            report.setdefault("paths_error", str(error))
            continue
        layout[job_id] = {role: _relative(path, base) for role, path in found.items()}
    owned_paths = getattr(store, "owned_paths", None)
    if callable(owned_paths):
        try:
            report["owned"] = [_relative(path, base) for path in owned_paths()]
        except Exception as error:
            report["owned_error"] = f"owned_paths() raised {type(error).__name__}: {error}"
    return report


def _relative(path: object, base: str) -> str:
    """``path`` relative to ``base`` when it is under it; as given (in ``/`` form) otherwise."""
    text = os.fspath(path)  # type: ignore[arg-type]
    if os.path.isabs(text):
        absolute = os.path.abspath(text)
        if absolute == base or absolute.startswith(base.rstrip(os.sep) + os.sep):
            suffix = "/" if text.endswith("/") and absolute != base else ""
            return os.path.relpath(absolute, base).replace(os.sep, "/") + suffix
    return text.replace(os.sep, "/")


def _import_module(name: str, spec_text: str) -> Any:
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())  # like `python -m`: modules of the working directory
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        raise StoreSpecError(
            f"store spec {spec_text!r}: cannot import {name!r}: {error} "
            "(is it installed, or is the working directory the project root?)"
        ) from None
    except Exception as error:
        raise StoreSpecError(
            f"store spec {spec_text!r}: importing {name!r} failed: {type(error).__name__}: {error}"
        ) from None


def _load_file_module(path: str, spec_text: str) -> Any:
    module_name = "jobharness_store_" + hashlib.blake2b(path.encode(), digest_size=6).hexdigest()
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise StoreSpecError(f"store spec {spec_text!r}: {path} cannot be loaded as Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    # The file's own folder goes on sys.path, so it can import its neighbours.
    folder = os.path.dirname(path)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as error:
        del sys.modules[module_name]
        raise StoreSpecError(
            f"store spec {spec_text!r}: syntax error in {path} line {error.lineno}: {error.msg}"
        ) from None
    except Exception as error:
        del sys.modules[module_name]
        raise StoreSpecError(
            f"store spec {spec_text!r}: running {path} failed: {type(error).__name__}: {error}"
        ) from None
    return module
