"""What the harness writes into jobs, and how a read is matched back to the write it returns.

Every job the harness writes carries a **tag** naming its writer and sequence number, and the
history records a **digest** of the job's identifying content beside the tag::

    {"id": "j3", "written_by": ["writer-1", 17], "data": "9f3c...", "status": "running"}
     \\_______________ digest covers these three keys _____________/

A read is summarised the same way, so a checker can match it to exactly one write, or show that it
matches none: a tag with the wrong digest is a **garbled** job (a flipped bit that is still valid
JSON), a job with no tag is **foreign** content (garbage that happens to parse, an error dict
written back as a job). Stores may add keys of their own (``_recovered``, ``owner``, a version):
they are ignored, only the harness's keys are compared.

Digests, not payloads, go into the history: payloads reach a megabyte, and a history holds
thousands of operations. The digest covers the whole payload, so a store that keeps the tag but
drops the tail of a large job (still valid JSON) is caught as *garbled*, not passed on its tag.
"""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

WRITE_TAG_KEY = "written_by"  # the write that wrote this version: [process, sequence]
PAYLOAD_KEYS = ("id", WRITE_TAG_KEY, "data")
_MISSING = "<missing>"


def make_job(job_id: str, writer: str, seq: int, size: int, rng: random.Random) -> dict[str, Any]:
    """A job of about ``size`` bytes tagged ``(writer, seq)``, with seeded random content."""
    return {
        "id": job_id,
        WRITE_TAG_KEY: [writer, seq],
        "data": rng.randbytes(max(size // 2, 1)).hex(),
    }


def choose_size(sizes: tuple[int, ...], default: int, rng: random.Random) -> int:
    """The size of the next job: drawn from the scenario's mix, or ``default`` with no mix.

    A single size draws nothing from ``rng``, so a scenario with one size writes the same
    payloads as before mixes existed.

    >>> choose_size((), 1024, random.Random(1)), choose_size((512,), 1024, random.Random(1))
    (1024, 512)
    >>> choose_size((100, 1 << 20), 0, random.Random(1)) in (100, 1 << 20)
    True
    """
    if not sizes:
        return default
    return sizes[0] if len(sizes) == 1 else rng.choice(sizes)


def digest(job: dict[str, Any]) -> str:
    """Digest of the identifying keys of ``job`` (absent keys count, so a lost key shows)."""
    canonical = json.dumps(
        [job.get(key, _MISSING) for key in PAYLOAD_KEYS], separators=(",", ":"), sort_keys=True
    )
    return hashlib.blake2b(canonical.encode(), digest_size=8).hexdigest()


def tag_of(job: dict[str, Any]) -> list[Any] | None:
    """The ``[writer, seq]`` tag of a job, or None if it carries no well-formed tag."""
    tag = job.get(WRITE_TAG_KEY)
    if (
        isinstance(tag, list)
        and len(tag) == 2
        and isinstance(tag[0], str)
        and isinstance(tag[1], int)
    ):
        return tag
    return None


def write_record(job: dict[str, Any]) -> dict[str, Any]:
    """What the history keeps of a write: tag, digest, status, and size."""
    record: dict[str, Any] = {"tag": job[WRITE_TAG_KEY], "digest": digest(job)}
    if "status" in job:
        record["status"] = job["status"]
    return record


def summarize_read(result: object, fields: tuple[str, ...] = ()) -> dict[str, Any]:
    """What the history keeps of a read result.

    ``kind`` is ``none`` (no such job), ``error`` (an error dict: ``status`` "unknown" with an
    ``error`` key), ``job`` (anything else that is a dict) or ``invalid`` (not a dict at all).
    ``fields`` names extra keys to copy verbatim (the fields updaters change).
    """
    if result is None:
        return {"kind": "none"}
    if not isinstance(result, dict):
        return {"kind": "invalid", "type": type(result).__name__, "repr": repr(result)[:200]}
    if result.get("status") == "unknown" and "error" in result:
        return {"kind": "error", "error": _short(result.get("error"))}
    summary: dict[str, Any] = {"kind": "job", "tag": tag_of(result), "digest": digest(result)}
    if "status" in result:
        summary["status"] = result["status"]
        if result["status"] == "error":
            summary["error"] = _short(result.get("error"))
    if "_recovered" in result:
        summary["recovered"] = True
    if fields:
        summary["fields"] = {name: result.get(name) for name in fields}
    return summary


def _short(value: object, limit: int = 300) -> object:
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + "..."
    return value
