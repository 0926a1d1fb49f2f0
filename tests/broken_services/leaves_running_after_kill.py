"""Jobs stuck in "running": no recovery at start-up and no rescuer.

The real service fails, at start-up and every few seconds after, the jobs whose process died
(by host and pid, or by an expired lease), and takes over the queued jobs of a dead server. This
one does none of it, so a job whose instance was killed with SIGKILL stays ``running`` (or
``queued``) forever. The harness must fail C1 and C3 in a kill scenario.
"""

from __future__ import annotations

import sys

from _launch import serve

import durable_jobs.service.lifespan as lifespan

real_open_store = lifespan.open_store


class NoRescuer:
    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


def open_store_without_recovery(url: str):  # type: ignore[no-untyped-def]
    store = real_open_store(url)
    store.recover = lambda: {}  # the defect: nothing left running by a dead process is ended
    return store


lifespan.Rescuer = NoRescuer
lifespan.open_store = open_store_without_recovery
lifespan.requeue_spooled_jobs = lambda *args, **kwargs: {}  # nor is a dead server's queue taken

if __name__ == "__main__":
    sys.exit(serve())
