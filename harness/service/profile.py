"""The API profile: how a job service's HTTP API maps onto the words the checkers judge in.

The checkers speak the incident's API (``POST /jobs`` with a multipart CSV answered 202 with an
id, ``GET /jobs/{id}``, ``GET /jobs/{id}/download``, statuses queued/running/done/error/unknown),
which is the default. A service written otherwise (in another language, with other paths, field
names or status words) is verified through a small TOML file::

    name = "node-fixture"
    max_instances = 1                # it runs as one instance only: many-instance scenarios n/a
    [paths]
    submit = "/api/jobs"
    status = "/api/jobs/{id}"
    download = "/api/jobs/{id}/result"
    health = "/health"
    [fields]
    upload = "csv"                   # the multipart field of the file
    id = "jobId"                     # in the submit answer and the status answer
    status = "state"
    error = "message"
    [statuses]                       # the service's word = the canonical word
    pending = "queued"
    working = "running"
    finished = "done"
    failed = "error"
    [answers]
    accepted = [201]                 # a submit answered so, with an id, is accepted
    outage = [503]                   # 5xx codes allowed while the harness injects an outage
    [files]                          # the job's files under {data} (globs allowed), for damage
    main = "jobs/{id}.json"
    backup = "jobs/{id}.json.bak"

>>> DEFAULT_PROFILE.canonical("running"), DEFAULT_PROFILE.canonical("finished")
('running', None)
>>> DEFAULT_PROFILE.status_url("http://127.0.0.1:8000", "j1")
'http://127.0.0.1:8000/jobs/j1'
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import quote

from harness.errors import ConfigError, ScenarioError
from harness.scenario.toml_table import TableReader

CANONICAL = ("queued", "running", "done", "error", "unknown")
TERMINAL = ("done", "error")
FILE_ROLES = ("main", "backup")


@dataclass(frozen=True)
class ApiProfile:
    """A service's API in the checkers' words (the defaults are the incident's API)."""

    name: str = "incident"
    submit_path: str = "/jobs"
    upload_field: str = "file"
    status_path: str = "/jobs/{id}"
    download_path: str = "/jobs/{id}/download"
    health_path: str = "/healthz"
    accepted_codes: tuple[int, ...] = (202,)
    id_field: str = "id"
    status_field: str = "status"
    error_field: str = "error"
    statuses: Mapping[str, str] = field(default_factory=lambda: {w: w for w in CANONICAL})
    outage_codes: tuple[int, ...] = (503,)
    job_files: Mapping[str, str] = field(default_factory=dict)
    max_instances: int = 16

    def canonical(self, word: object) -> str | None:
        """The canonical status for the service's ``word``; None when absent or unmapped."""
        return self.statuses.get(word) if isinstance(word, str) else None

    def submit_url(self, base_url: str) -> str:
        return base_url + self.submit_path

    def status_url(self, base_url: str, job_id: str) -> str:
        return base_url + self.status_path.replace("{id}", quote(job_id, safe=""))

    def download_url(self, base_url: str, job_id: str) -> str:
        return base_url + self.download_path.replace("{id}", quote(job_id, safe=""))

    def health_url(self, base_url: str) -> str:
        return base_url + self.health_path

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (the client processes get the profile in their plan)."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["statuses"], data["job_files"] = dict(self.statuses), dict(self.job_files)
        data["accepted_codes"], data["outage_codes"] = (
            list(self.accepted_codes),
            list(self.outage_codes),
        )
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ApiProfile:
        values = dict(data)
        values["accepted_codes"] = tuple(values.get("accepted_codes", (202,)))
        values["outage_codes"] = tuple(values.get("outage_codes", (503,)))
        return cls(**values)


DEFAULT_PROFILE = ApiProfile()
# The built-in service on its file store: the job files the damage scenarios aim at.
FILE_STORE_FILES = {"main": "jobs/{id}.json", "backup": "jobs/{id}.json.bak"}

_SECTIONS = ("name", "max_instances", "paths", "fields", "statuses", "answers", "files")


def load_profile(path: str | Path) -> ApiProfile:
    """Read a profile file; every mistake is a one-line error naming the file and the key."""
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"--profile {where}: no such file") from None
    except OSError as error:
        raise ConfigError(f"--profile {where}: cannot be read: {error.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(where, "(syntax)", "valid TOML", str(error)) from None
    return profile_from_table(data, where)


def profile_from_table(data: dict[str, Any], where: str, key_prefix: str = "") -> ApiProfile:
    """A profile from a decoded table (a profile file, or ``[service.profile]`` of a scenario)."""
    top = TableReader(data, where, key_prefix)
    unknown = sorted(set(data) - set(_SECTIONS))
    if unknown:
        raise top.error(
            unknown[0], f"one of the profile's keys: {', '.join(_SECTIONS)}", "an unknown key"
        )
    paths = top.nested(top.table("paths"), f"{key_prefix}paths.")
    names = top.nested(top.table("fields"), f"{key_prefix}fields.")
    answers = top.nested(top.table("answers"), f"{key_prefix}answers.")
    profile = ApiProfile(
        name=top.string("name", default="custom" if data else "incident"),
        submit_path=_path(paths, "submit", "/jobs", with_id=False),
        status_path=_path(paths, "status", "/jobs/{id}", with_id=True),
        download_path=_path(paths, "download", "/jobs/{id}/download", with_id=True),
        health_path=_path(paths, "health", "/healthz", with_id=False),
        upload_field=names.string("upload", default="file"),
        id_field=names.string("id", default="id"),
        status_field=names.string("status", default="status"),
        error_field=names.string("error", default="error"),
        statuses=_statuses(top, data.get("statuses"), key_prefix),
        accepted_codes=tuple(
            answers.integer_list("accepted", default=[202], minimum=100, maximum=599)
        ),
        outage_codes=tuple(answers.integer_list("outage", default=[503], minimum=500, maximum=599)),
        job_files=_files(top, data.get("files"), key_prefix),
        max_instances=top.integer("max_instances", default=16, minimum=1, maximum=16),
    )
    for reader in (paths, names, answers):
        reader.reject_unknown()
    return profile


def _path(reader: TableReader, key: str, default: str, *, with_id: bool) -> str:
    value = reader.string(key, default=default)
    if not value.startswith("/"):
        raise reader.error(key, "a path that starts with /", value)
    if with_id and "{id}" not in value:
        raise reader.error(key, "a path with {id} where the job's id goes", value)
    return value


def _statuses(top: TableReader, table: Any, prefix: str) -> dict[str, str]:
    if table is None:
        return {word: word for word in CANONICAL}
    if not isinstance(table, dict) or not table:
        raise top.error(
            "statuses", "a table [statuses] of the service's word = a canonical word", table
        )
    for word, canonical in table.items():
        if canonical not in CANONICAL:
            raise ScenarioError(
                top.where, f"{prefix}statuses.{word}", f"one of {', '.join(CANONICAL)}", canonical
            )
    return dict(table)


def _files(top: TableReader, table: Any, prefix: str) -> dict[str, str]:
    if table is None:
        return {}
    if not isinstance(table, dict):
        raise top.error("files", "a table [files] with main = and backup = patterns", table)
    for role, pattern in table.items():
        key = f"{prefix}files.{role}"
        if role not in FILE_ROLES:
            raise ScenarioError(top.where, key, f"one of {', '.join(FILE_ROLES)}", "an unknown key")
        if not isinstance(pattern, str) or "{id}" not in pattern or pattern.startswith("/"):
            raise ScenarioError(
                top.where, key, "a path under the data folder with {id} in it", pattern
            )
    return dict(table)
