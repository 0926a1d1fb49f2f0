"""The job service: a CSV-enrichment web API whose jobs survive crashes and never answer 500.

It is the application of the incident done right: upload a CSV, a background worker
enriches each row, the client polls the job and downloads the result. Run it with one command::

    python -m durable_jobs.service --host 127.0.0.1 --port 8000 --store file:data/jobs
    uvicorn durable_jobs.service:app          # the same app, configured from the environment

or build it yourself (tests, embedding)::

    from durable_jobs.service import create_app
    app = create_app(store_url="sqlite:///srv/jobs.db", results_dir="/srv/results")

Modules, one role each:

===============  ============================================================
``api``          the HTTP API: its endpoints and their answers
``lifespan``     start-up (requeue, recovery) and shutdown of a server
``answers``      what a client is told when the store fails (503, 4xx)
``upload``       reading the multipart upload within its size limit
``spool``        uploads on disk, durable before 202, held by their server
``requeue``      a dead server's queued jobs, run again at start-up
``worker``       the bounded queue, and a job from queued to done/error
``job_record``   a running job's writes: retried through outages, rewritten if lost
``store_retry``  bounded backoff with jitter for store writes, transient vs permanent
``enrich``       strict CSV parsing, the computed columns, formula escaping
``results``      writing result files atomically and durably
``settings``     configuration from arguments, environment and defaults
===============  ============================================================

The module attribute ``app`` (what ``uvicorn durable_jobs.service:app`` loads) is built on first
access, from the environment; building it creates nothing on disk.
"""

from __future__ import annotations

from typing import Any

from durable_jobs.service.api import create_app
from durable_jobs.service.settings import ServiceConfigError, ServiceSettings

__all__ = ["ServiceConfigError", "ServiceSettings", "create_app"]


def __getattr__(name: str) -> Any:
    """Build ``app`` on first access, so importing the package has no side effect at all."""
    if name == "app":
        app = create_app()
        globals()["app"] = app  # later accesses find it directly, without coming back here
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
