"""Broken store: ``recover()`` fails every queued or running job, whoever runs it.

Defect: recovery decides "abandoned" by status alone, not by whether the owner process is
alive. Run at start-up of the only process, that looks right; run by one restarted worker
among several, it fails the jobs the live workers are in the middle of.

Caught by: ``recovery_spares_live_jobs`` (*failed*: the restarted process reads a live worker's
job as ``error`` right after its recovery): C3.
"""

from __future__ import annotations

import os
from pathlib import Path

from base import JOB_SUFFIX, BaseStore


class FailsLiveJobs(BaseStore):
    def _fail_abandoned(self) -> list[str]:
        """The base's loop, with its ownership test replaced by a status test."""
        failed = []
        for name in sorted(os.listdir(self.root)):
            if not name.endswith(JOB_SUFFIX) or name.startswith("."):
                continue
            job_id = name[: -len(JOB_SUFFIX)]
            with self._locked(job_id):
                job = self.get_job(job_id)
                if job is None or job.get("status") not in ("queued", "running"):
                    continue  # DEFECT: the owner is never looked at; live or dead, it is failed
                job = dict(job)
                job["status"] = "error"
                job["error"] = (
                    f"abandoned: the worker stopped while the job was {job.get('status')!r}; "
                    "failed on recovery, resubmit it"
                )
                self._install(job_id, self.encode(job))
                failed.append(job_id)
        return failed


def make_store(root: Path) -> FailsLiveJobs:
    return FailsLiveJobs(root)
