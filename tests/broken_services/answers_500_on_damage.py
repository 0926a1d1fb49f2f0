"""The incident's HTTP 500: ``GET /jobs/{id}`` of a job whose file was damaged answers 500.

The real service serves the job from its backup (with ``_recovered``) or answers 200 ``unknown``;
this one turns both into "500 Internal Server Error", as the incident's API did when a job file
was empty or torn. The harness must fail C2 (no 500 from /jobs/{job_id}) in a damage scenario.
"""

from __future__ import annotations

import json
import sys

from _launch import serve
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.responses import Response

import durable_jobs.service.__main__ as service_main

real_create_app = service_main.create_app


async def damaged_is_500(request, call_next):  # type: ignore[no-untyped-def]
    response = await call_next(request)
    parts = request.url.path.strip("/").split("/")
    if (
        request.method != "GET"
        or len(parts) != 2
        or parts[0] != "jobs"
        or response.status_code != 200
    ):
        return response
    body = b"".join([chunk async for chunk in response.body_iterator])
    job = json.loads(body)
    if "_recovered" in job or job.get("status") == "unknown":
        return Response("Internal Server Error", status_code=500)
    return Response(body, status_code=200, media_type="application/json")


def create_app(**settings):  # type: ignore[no-untyped-def]
    app = real_create_app(**settings)
    app.add_middleware(BaseHTTPMiddleware, dispatch=damaged_is_500)
    return app


service_main.create_app = create_app

if __name__ == "__main__":
    sys.exit(serve())
