"""A recovery that fails every unfinished job, its owner alive or not.

The real service's recovery fails only the jobs of a dead process (its host and pid, or its
expired lease). This one fails every queued or running job it finds, so an instance that starts
while another is working fails the other's live jobs: what a "mark everything running as failed
on boot" fix does to a service with two instances. On the file store the rescuer runs the same
``recover()`` every rescue interval, so the defect also strikes after start-up, on any
instance's jobs, its own included. The harness must fail C3 (a live
instance's job failed) in a scenario with two instances where one is restarted.
"""

from __future__ import annotations

import sys
import time

from _launch import serve

import durable_jobs.service.lifespan as lifespan

real_open_store = lifespan.open_store


def open_store_failing_everything(url: str):  # type: ignore[no-untyped-def]
    store = real_open_store(url)

    def recover() -> dict[str, object]:
        failed = []
        for job_id in store.list_jobs():
            job = store.get_job(job_id) or {}
            if job.get("status") in ("queued", "running"):
                store.update_job(
                    job_id,
                    {
                        "status": "error",
                        "error": "abandoned: the service restarted while this job ran",
                        "finished_at": time.time(),
                        "lease": None,  # taken from its owner: the owner's fenced writes fail
                    },
                )
                failed.append(job_id)
        return {"abandoned_jobs_failed": failed}

    store.recover = recover
    return store


lifespan.open_store = open_store_failing_everything

if __name__ == "__main__":
    sys.exit(serve())
