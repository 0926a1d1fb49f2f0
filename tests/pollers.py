"""Clients that poll jobs while a test breaks the store, judging every answer they get.

A poller's answer is a problem when it is neither the job (200, not ``unknown``) nor a 503
that says "storage unavailable" and carries ``Retry-After``: a 500, a 503 without them, a
damaged-job answer for a job that is not damaged, a dropped connection.
"""

from __future__ import annotations

import threading
from collections import Counter

import httpx


class Pollers:
    """Threads that GET jobs until told to stop, counting every answer by status code."""

    def __init__(self, base_url: str, job_ids: list[str], count: int) -> None:
        self.answers: Counter[str] = Counter()
        self.problems: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._poll, args=(base_url, job_ids[n % len(job_ids)]))
            for n in range(count)
        ]

    def __enter__(self) -> Pollers:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def _poll(self, base_url: str, job_id: str) -> None:
        with httpx.Client(base_url=base_url, timeout=30.0) as client:
            for _ in range(400):  # bounded, whatever happens
                if self._stop.is_set():
                    return
                try:
                    response = client.get(f"/jobs/{job_id}")
                except httpx.TransportError as error:
                    self._note(f"transport: {error}")
                else:
                    self._judge(response)
                self._stop.wait(0.05)

    def _judge(self, response: httpx.Response) -> None:
        code = response.status_code
        if code == 200 and response.json().get("status") == "unknown":
            self._note(f"200 unknown: {response.json()}")
        elif code == 503 and not response.headers.get("retry-after"):
            self._note(f"503 without Retry-After: {response.text}")
        elif code == 503 and not response.json()["detail"].startswith("storage unavailable"):
            self._note(f"503 not saying 'storage unavailable': {response.text}")
        elif code not in (200, 503):
            self._note(f"{code}: {response.text}")
        with self._lock:
            self.answers[str(code)] += 1

    def _note(self, problem: str) -> None:
        with self._lock:
            self.problems.append(problem)
