"""Reference variants kept *exactly* as the incident describes them. Do not fix them.

They exist so the harness and the benchmarks have something real to compare against, and so the
harness can prove it catches what went wrong in production:

* :class:`NaiveJobStore` is the design before the fix: ``json.dump`` straight into the job file.
  A reader can see an empty or half-written file, ``get_job`` raises ``JSONDecodeError`` on it
  (the HTTP 500s), and a crash mid-write leaves the file torn for good.
* :class:`Phase470JobStore` is the incident's fix, phase 4.7.0, line for line: a temp file with the
  fixed name ``<job>.json.tmp``, flush + fsync, ``os.replace``; a backup made by copying the
  previous file to ``.bak``; a safe read that tries the job file 5 times with 50 ms sleeps, then
  the backup, then returns an error dict. Its known defects, which the harness must find:

  - concurrent writers of one job share the temp file: one renames the other's half-written
    bytes into place, or fails with ``FileNotFoundError`` because the other renamed it first;
  - no fsync of the directory after the rename, so a power cut can undo an acknowledged write;
  - the backup is a plain copy (not atomic, not fsynced): a crash mid-copy tears the backup;
  - no checksum: a flipped bit that leaves valid JSON is served as the job;
  - a damaged file costs 5 x 50 ms of retries that cannot help;
  - a job that never existed comes back as an error dict, not ``None`` (the API cannot 404);
  - updates are read-modify-write without a lock, so concurrent updates are lost;
  - nothing fails the jobs a dead worker left "running" (there is no ``recover``).

Neither class has ``recover()``: the incident's design had none. Both take the directory the incident called
``/data/tp_jobs/meta``.

The one addition is a few :func:`durable_jobs.steps.mark` calls in the phase 4.7.0 save (free
unless a benchmark records them), so the save breakdown times this code and not a copy of it.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from durable_jobs.ids import validate_job_id
from durable_jobs.steps import mark


class NaiveJobStore:
    """The pre-fix design: ``json.dump`` into the job file, ``json.load`` out of it."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"NaiveJobStore({os.fspath(self.root)!r})"

    def paths_for(self, job_id: str) -> dict[str, Path]:
        """The file that holds ``job_id`` (the naive design has no backup)."""
        return {"main": self._path(job_id)}

    def save_job(self, job_id: str, job: dict[str, Any]) -> None:
        with open(self._path(job_id), "w", encoding="utf-8") as f:
            json.dump(job, f)

    def get_job(self, job_id: str) -> dict[str, Any] | None:
        path = self._path(job_id)
        if not path.exists():
            return None
        with open(path, encoding="utf-8") as f:
            return json.load(f)  # raises JSONDecodeError on an empty or torn file: the 500s

    def update_job(self, job_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """What the incident's application did: read, change, write back, with no lock."""
        job = self.get_job(job_id) or {}
        job.update(changes)
        self.save_job(job_id, job)
        return job

    def list_jobs(self) -> list[str]:
        return sorted(p.name[: -len(".json")] for p in self.root.glob("*.json"))

    def delete_job(self, job_id: str) -> bool:
        try:
            self._path(job_id).unlink()
        except FileNotFoundError:
            return False
        return True

    def _path(self, job_id: str) -> Path:
        return self.root / f"{validate_job_id(job_id)}.json"


class Phase470JobStore:
    """The incident's phase 4.7.0 design, reproduced as written (see the module docstring)."""

    retries = 5
    retry_sleep = 0.05

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"Phase470JobStore({os.fspath(self.root)!r})"

    def paths_for(self, job_id: str) -> dict[str, Path]:
        """The job file and the backup that hold ``job_id``."""
        path = self._path(job_id)
        return {"main": Path(path), "backup": Path(path + ".bak")}

    @staticmethod
    def _atomic_write_json(path: str, obj: dict[str, Any]) -> None:
        # The incident's helper: fixed temp name, flush + fsync, atomic replace; no directory fsync.
        data = json.dumps(obj)
        mark("encode")
        tmp_path = path + ".tmp"
        with open(tmp_path, "w", encoding="utf-8") as f:
            f.write(data)
            f.flush()
            mark("write")
            os.fsync(f.fileno())
        mark("fsync")
        os.replace(tmp_path, path)
        mark("rename")

    def save_job(self, job_id: str, job: dict[str, Any]) -> None:
        path = self._path(job_id)
        if os.path.exists(path):
            # "Backup last good file -> {job_id}.json.bak": a plain copy, whatever the file holds.
            shutil.copyfile(path, path + ".bak")
        mark("copy_backup")
        self._atomic_write_json(path, job)

    def get_job(self, job_id: str, retries: int | None = None) -> dict[str, Any] | None:
        path = self._path(job_id)
        attempts = self.retries if retries is None else retries
        last_error: Exception | None = None
        for _ in range(attempts):
            try:
                with open(path, encoding="utf-8") as f:
                    return json.load(f)
            except Exception as error:
                last_error = error
                time.sleep(self.retry_sleep)
        try:
            with open(path + ".bak", encoding="utf-8") as f:
                return json.load(f)
        except Exception:
            pass
        return {
            "id": job_id,
            "status": "unknown",
            "error": f"{type(last_error).__name__}: {last_error}",
        }

    def update_job(self, job_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """What the incident's application did: read, change, write back, with no lock."""
        job = self.get_job(job_id) or {}
        job.update(changes)
        self.save_job(job_id, job)
        return job

    def list_jobs(self) -> list[str]:
        return sorted(p.name[: -len(".json")] for p in self.root.glob("*.json"))

    def delete_job(self, job_id: str) -> bool:
        path = self._path(job_id)
        existed = False
        for candidate in (path, path + ".bak"):
            try:
                os.unlink(candidate)
                existed = True
            except FileNotFoundError:
                pass
        return existed

    def _path(self, job_id: str) -> str:
        return os.path.join(self.root, f"{validate_job_id(job_id)}.json")
