"""Turning a job into bytes and back, with a checksum that catches damage JSON would miss.

A job file written by the hardened backend is one valid JSON object, so ``jq`` and ``cat`` still
work on it::

    {"format":"durable_jobs/1","version":7,"crc32":"9ae0daaf","job":{"id":"a1","status":"done"}}

The CRC-32 covers the version digits and the raw bytes of ``job`` exactly as written. It is
checked on the raw bytes *before* parsing, so a flipped bit that still leaves valid JSON (a
``7`` turned into a ``6`` in a progress counter) is reported as damage instead of being served as
a job. Putting the header first and the body last lets the reader find the body without parsing:
the header has a fixed shape, the body runs to the closing ``}`` and the final newline.
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass
from json.encoder import (  # type: ignore[attr-defined]
    c_make_encoder,
    encode_basestring_ascii,
)
from typing import Any

from durable_jobs.errors import InvalidJobError

FORMAT = "durable_jobs/1"
_HEADER = re.compile(
    rb'\{"format":"durable_jobs/1","version":(\d{1,19}),"crc32":"([0-9a-f]{8})","job":'
)
_TRAILER = b"}\n"
RECOVERED_KEY = "_recovered"
"""Key added to a job returned from its backup; it says why, and is never written back."""


class DamagedFileError(Exception):
    """A job file that cannot be trusted; the message names the damage (internal to the store)."""


@dataclass(frozen=True, slots=True)
class DecodedJob:
    """A job read back from a file, with the version counter stored beside it."""

    job: dict[str, Any]
    version: int


# json.dumps(job, allow_nan=False, separators=(",", ":")), without building a new encoder on
# every call, which dumps and JSONEncoder.encode both do (an encoder object, a closure and a
# dict of "markers" for circular references): the same bytes, with less work between the
# previous fsync and the next write. Without markers a circular job is caught by the recursion
# limit instead (RecursionError, below). The encoder keeps only its options: threads share it.
_ENCODE = (
    c_make_encoder(
        None,
        json.JSONEncoder().default,
        encode_basestring_ascii,
        None,
        ":",
        ",",
        False,
        False,
        False,
    )
    if c_make_encoder is not None
    else None
)
_ENCODER = json.JSONEncoder(allow_nan=False, separators=(",", ":"))  # where there is no C encoder


def encode_job_body(job: object) -> bytes:
    """Encode ``job`` as compact ASCII JSON, refusing what JSON cannot carry faithfully.

    Raises :class:`InvalidJobError` for a non-dict, a value JSON cannot encode (a set, a
    datetime, NaN), a key that is not a string (JSON would turn ``1`` into ``"1"`` and quietly
    merge it with a real ``"1"``) or a circular structure, before anything is written. Tuples are
    stored as lists: JSON has only the one kind of array.
    """
    if not isinstance(job, dict):
        raise InvalidJobError(f"a job must be a dict, got {type(job).__name__}")
    _refuse_non_string_keys(job)
    if RECOVERED_KEY in job:
        # A job read back from its backup carries this marker; saving it back must not make the
        # marker permanent, or the job would claim to be recovered forever.
        job = {key: value for key, value in job.items() if key != RECOVERED_KEY}
    try:
        # ensure_ascii keeps the file pure ASCII: every string round-trips exactly, lone
        # surrogates included, and the C encoder takes its fastest path.
        text = "".join(_ENCODE(job, 0)) if _ENCODE is not None else _ENCODER.encode(job)
    except (TypeError, ValueError) as error:
        raise InvalidJobError(f"the job cannot be stored as JSON: {error}") from None
    except RecursionError:
        raise InvalidJobError(
            "the job cannot be stored as JSON: it is nested too deeply (or contains itself)"
        ) from None
    return text.encode("ascii")


_CONTAINERS = (dict, list, tuple)  # a tuple, not ``dict | list | tuple``: isinstance is faster
_STRING = frozenset({str})
_SCALARS = frozenset({str, int, float, bool, type(None)})


def _refuse_non_string_keys(job: dict[Any, Any]) -> None:
    """Walk the containers of ``job`` (not the strings: they are most of its bytes) once.

    A flat job (string keys, no value a container: the common case) is recognised by two passes
    in C over the types of its keys and values, with no Python loop: measured right after an
    fsync's wait, where a save runs it, that is 2 us less than the loop below. Anything else
    (nested values, subclasses of str or int) is walked.
    """
    if _STRING.issuperset(map(type, job)) and _SCALARS.issuperset(map(type, job.values())):
        return
    containers = _CONTAINERS
    for key in job:
        if key.__class__ is not str and not isinstance(key, str):
            _refuse_key(key)
    nested = [item for item in job.values() if isinstance(item, containers)]
    seen = 0
    while nested:
        value = nested.pop()
        seen += 1
        if seen > 1_000_000:
            return  # a structure this large is left to the encoder (circularity, depth)
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    _refuse_key(key)
                if isinstance(item, containers):
                    nested.append(item)
        else:
            nested.extend(item for item in value if isinstance(item, containers))


def _refuse_key(key: object) -> None:
    raise InvalidJobError(
        f"the job cannot be stored as JSON faithfully: key {key!r} is a "
        f"{type(key).__name__}, JSON keys are strings (convert it with str())"
    )


_FILE = b'{"format":"%s","version":%%d,"crc32":"%%08x","job":%%s}\n' % FORMAT.encode()


def encode_file(body: bytes, version: int) -> bytes:
    """The complete file content for an encoded job ``body`` at ``version``.

    The checksum is the CRC-32 of the version's digits followed by the body's bytes; the header
    is formatted into a template made once (a save calls this under its lock).
    """
    return _FILE % (version, zlib.crc32(body, zlib.crc32(b"%d" % version)), body)


def decode_file(data: bytes) -> DecodedJob:
    """Verify and parse a job file; raise :class:`DamagedFileError` naming the damage."""
    version, body = _verified(data)
    try:
        job = json.loads(body)
    except ValueError as error:  # only reachable if the writer itself was broken
        raise DamagedFileError(f"checksum matches but the job is not JSON: {error}") from None
    if not isinstance(job, dict):
        raise DamagedFileError(f"the stored job is a {type(job).__name__}, not an object")
    return DecodedJob(job, version)


def verify_file(data: bytes) -> int:
    """Check a job file's header, end and checksum without parsing the job; return its version.

    A save needs only to know that the current file is good (to rotate it into the backup) and
    its version; parsing the job would cost more than the checksum.
    """
    return _verified(data)[0]


def _verified(data: bytes) -> tuple[int, bytes]:
    match = _HEADER.match(data)
    if match is None:
        raise DamagedFileError(_describe_unrecognised(data))
    if not data.endswith(_TRAILER):
        raise DamagedFileError(f"truncated: {len(data)} bytes, the end of the file is missing")
    version = int(match.group(1))
    body = data[match.end() : -len(_TRAILER)]
    stored = int(match.group(2), 16)
    # Over the digits as they are on disk, not as re-formatted: a flip of a leading "1" to "0"
    # ("10" -> "00") is then a one-bit change of the checked bytes, which CRC-32 always detects.
    # For every file the writer made, the digits are canonical: the checksum encode_file wrote.
    computed = zlib.crc32(body, zlib.crc32(match.group(1)))
    if stored != computed:
        raise DamagedFileError(
            f"checksum mismatch (stored {stored:08x}, computed {computed:08x}): "
            "the file was changed after it was written"
        )
    return version, body


def peek_version(data: bytes) -> int | None:
    """The version in a file's header without verifying the rest, or None if there is none."""
    match = _HEADER.match(data)
    return int(match.group(1)) if match else None


def _describe_unrecognised(data: bytes) -> str:
    """Say what a file without our header is, so the error names the likely cause."""
    if not data:
        return "empty file (0 bytes)"
    if not data.strip(b"\x00"):
        return f"{len(data)} zero bytes, no content (typical after a power loss mid-write)"
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        if data.startswith(b'{"format":"durable_jobs/'):
            return f"truncated or damaged header ({len(data)} bytes)"
        return f"not JSON: {len(data)} bytes of unreadable content"
    return (
        f"a JSON {type(value).__name__} without the durable_jobs header: "
        "written by another program (not this store)"
    )
