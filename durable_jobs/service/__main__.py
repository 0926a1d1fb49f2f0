"""Run the job service with uvicorn: ``python -m durable_jobs.service``.

::

    python -m durable_jobs.service --host 127.0.0.1 --port 8000 \\
        --store file:data/jobs --results data/results

Options override the environment (``DURABLE_JOBS_URL``, ``DURABLE_JOBS_RESULTS``, ...), which
overrides the defaults. A setting or store URL that cannot work is reported in one line with
exit code 2, before the server starts. SIGTERM or Ctrl-C stops the server gracefully: running
jobs end as ``error`` ("interrupted"), and nothing is left ``running``.
"""

from __future__ import annotations

import argparse
import logging
import sys

import uvicorn

from durable_jobs.errors import JobStoreError
from durable_jobs.service.api import create_app
from durable_jobs.store import open_store

EXIT_USAGE = 2


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m durable_jobs.service",
        description="Serve the durable_jobs CSV enrichment API.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (8000)")
    parser.add_argument(
        "--store", help="job store URL (else $DURABLE_JOBS_URL, else file:data/jobs)"
    )
    parser.add_argument(
        "--results", help="result directory (else $DURABLE_JOBS_RESULTS, else data/results)"
    )
    parser.add_argument("--max-upload-bytes", help="largest CSV upload in bytes (default 10 MiB)")
    parser.add_argument("--row-delay", help="seconds to sleep per row, for demos and tests (0)")
    parser.add_argument("--worker-threads", help="jobs processed at the same time (4)")
    parser.add_argument(
        "--queue-limit", help="jobs waiting for a worker thread before POST answers 503 (100)"
    )
    parser.add_argument(
        "--store-retry-seconds",
        help="how long a worker retries a store write through an outage (120)",
    )
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"], help="(info)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Check the configuration, then serve until stopped; return the exit code."""
    arguments = parse_arguments(argv)
    logging.basicConfig(
        level=arguments.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        app = create_app(
            store_url=arguments.store,
            results_dir=arguments.results,
            max_upload_bytes=arguments.max_upload_bytes,
            row_delay=arguments.row_delay,
            worker_threads=arguments.worker_threads,
            queue_limit=arguments.queue_limit,
            store_retry_seconds=arguments.store_retry_seconds,
        )
        # Open the store once before serving: a bad URL or an unwritable directory is then a
        # one-line message here, not a traceback from inside the server's start-up.
        open_store(app.state.settings.store_url).close()
    except (JobStoreError, OSError) as error:
        # One line, whatever the backend: libpq's messages span several.
        print(f"durable_jobs.service: {' '.join(str(error).split())}", file=sys.stderr)
        return EXIT_USAGE
    uvicorn.run(app, host=arguments.host, port=arguments.port, log_level=arguments.log_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
