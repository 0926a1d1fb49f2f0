"""Hypothesis strategies for the store's tests: job ids, JSON-able jobs, changes, damage.

Everything a store must carry faithfully is generated here, in one place, so every test draws
from the same idea of "a job"::

    @given(job_id=job_ids(), job=jobs())
    def test_saved_job_reads_back(job_id, job): ...

``portable=True`` narrows the values to what every backend carries exactly. PostgreSQL's
``jsonb`` cannot hold a lone surrogate or NUL in a string, and stores numbers as ``numeric``,
so a float such as ``1e300`` comes back as the integer ``10**300``, a different value.
"""

from __future__ import annotations

import os
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from durable_jobs.encoding import RECOVERED_KEY
from durable_jobs.lifecycle import TERMINAL_STATUSES, current_owner

JOB_ID_ALPHABET = string.ascii_letters + string.digits + ".-_"
LIFECYCLE_STATUSES = ("queued", "running", "done", "error")
PORTABLE_FLOAT_LIMIT = 1e15
"""Floats below this magnitude print without an exponent, so ``numeric`` gives them back."""


def is_valid_job_id_oracle(value: object) -> bool:
    """The documented id rule, restated independently of ``durable_jobs.ids``."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= 128
        and not value.startswith(".")
        and all(character in JOB_ID_ALPHABET for character in value)
    )


def job_ids(max_size: int = 128) -> st.SearchStrategy[str]:
    """Any valid job id: 1 to ``max_size`` letters, digits, ``.``, ``-`` and ``_``, no leading ``.``."""
    first = st.sampled_from(JOB_ID_ALPHABET.replace(".", ""))
    rest = st.text(alphabet=JOB_ID_ALPHABET, max_size=max_size - 1)
    return st.tuples(first, rest).map("".join)


FEW_JOB_IDS = ("a", "job-7")


def few_job_ids() -> st.SearchStrategy[str]:
    """Two ids, so a state machine keeps coming back to the same jobs."""
    return st.sampled_from(FEW_JOB_IDS)


def hostile_strings() -> st.SearchStrategy[str]:
    """Strings aimed at a path: separators, dots, NUL, newlines, non-ASCII, overlong."""
    pieces = st.sampled_from(["..", "/", ".", "\x00", "\n", "\\", "a", "é", "-", "_", " ", "~"])
    return st.one_of(
        st.lists(pieces, max_size=8).map("".join),
        st.text(max_size=140),
        st.text(alphabet=JOB_ID_ALPHABET, min_size=129, max_size=140),
    )


def json_text(*, portable: bool = False) -> st.SearchStrategy[str]:
    """Strings; unless ``portable``, with lone surrogates and NUL, which JSON escapes carry."""
    if portable:
        return st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=20)
    return st.text(st.characters(exclude_categories=()), max_size=20)


def json_scalars(*, portable: bool = False) -> st.SearchStrategy[Any]:
    """None, booleans, integers of any size JSON prints, finite floats, strings."""
    if portable:
        limit = PORTABLE_FLOAT_LIMIT
        floats = st.floats(min_value=-limit, max_value=limit, allow_nan=False)
    else:
        floats = st.floats(allow_nan=False, allow_infinity=False)
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.integers(min_value=-(2**70), max_value=2**70),
        floats,
        json_text(portable=portable),
    )


def json_values(*, portable: bool = False, max_leaves: int = 12) -> st.SearchStrategy[Any]:
    """Any JSON value with string keys, nested a few levels deep."""
    keys = json_text(portable=portable)
    return st.recursive(
        json_scalars(portable=portable),
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(keys, children, max_size=4),
        ),
        max_leaves=max_leaves,
    )


def dead_owner() -> dict[str, Any]:
    """An owner record on this host whose pid cannot be alive (above the kernel's pid limit)."""
    return {"host": current_owner()["host"], "pid": 2**22 + 1, "pid_start": 1}


def owners() -> st.SearchStrategy[Any]:
    """Owner records: this live process, a dead process, another host, and junk."""
    here = current_owner()
    return st.one_of(
        st.just(here),
        st.just(dead_owner()),
        st.just({**here, "host": "another-host"}),
        st.just({**here, "pid_start": (here["pid_start"] or 0) + 12345}),
        st.just({"host": here["host"], "pid": os.getpid()}),
        json_scalars(portable=True),
    )


def statuses(*, portable: bool = False) -> st.SearchStrategy[Any]:
    """Lifecycle statuses, mostly the real ones, sometimes any JSON value (a list, a number)."""
    return st.one_of(st.sampled_from(LIFECYCLE_STATUSES), json_values(portable=portable))


def jobs(*, portable: bool = False, max_fields: int = 5) -> st.SearchStrategy[dict[str, Any]]:
    """JSON-able job dicts with string keys, often with a lifecycle ``status`` and ``owner``.

    Sometimes a job carries the store's own ``_recovered`` marker, which saving must drop.
    """
    fields = st.dictionaries(
        json_text(portable=portable), json_values(portable=portable), max_size=max_fields
    )
    lifecycle = st.fixed_dictionaries(
        {},
        optional={
            "status": statuses(portable=portable),
            "owner": owners(),
            RECOVERED_KEY: st.text(max_size=5),
        },
    )
    return st.builds(lambda extra, known: {**extra, **known}, fields, lifecycle)


def changes(*, portable: bool = False) -> st.SearchStrategy[dict[str, Any]]:
    """What ``update_job`` merges in: a few fields, often a status change."""
    return jobs(portable=portable, max_fields=3)


def is_abandoned_oracle(job: dict[str, Any]) -> bool:
    """Which jobs ``recover()`` must fail, restated for the jobs these strategies make.

    A job is left alone when it has no status (or ``null``), a terminal status, an owner
    equal to this live process, or an owner on another host (with no lease, it cannot be judged
    here); anything else is abandoned.
    """
    status = job.get("status")
    if status is None or any(status == terminal for terminal in TERMINAL_STATUSES):
        return False
    owner = job.get("owner")
    if isinstance(owner, dict) and owner.get("host") == "another-host":
        return False
    return owner != current_owner()


def without_marker(job: dict[str, Any]) -> dict[str, Any]:
    """``job`` as the store keeps it: the ``_recovered`` marker is never written."""
    return {key: value for key, value in job.items() if key != RECOVERED_KEY}


DAMAGE_KINDS = ("truncate", "empty", "garbage", "foreign", "bitflip", "remove")
"""How a file gets damaged: cut short, emptied, overwritten, one bit flipped, removed."""


@dataclass(frozen=True)
class Damage:
    """One way to damage a file, drawn by Hypothesis and applied with :meth:`apply`.

    ``seed`` picks the cut point of a truncation or the bit a flip hits, modulo the file's size,
    so the same record damages files of any length.
    """

    kind: str
    seed: int = 0
    garbage: bytes = b"\xff"

    def apply(self, path: Path) -> bool:
        """Damage the file at ``path`` in place; False when there is no file to damage."""
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return False
        if self.kind == "remove":
            path.unlink()
        elif self.kind == "truncate":
            path.write_bytes(data[: self.seed % len(data)] if data else b"")
        elif self.kind == "empty":
            path.write_bytes(b"")
        elif self.kind == "garbage":
            path.write_bytes(self.garbage)
        elif self.kind == "foreign":
            path.write_bytes(b'{"written_by": "another program"}\n')
        elif self.kind == "bitflip":
            path.write_bytes(flip_bit(data, self.seed % (len(data) * 8)) if data else b"")
        else:
            raise ValueError(f"unknown damage kind {self.kind!r}: use one of {DAMAGE_KINDS}")
        return True


def flip_bit(data: bytes, bit: int) -> bytes:
    """``data`` with bit number ``bit`` (0 is the lowest bit of the first byte) inverted."""
    flipped = bytearray(data)
    flipped[bit // 8] ^= 1 << (bit % 8)
    return bytes(flipped)


def damages(kinds: tuple[str, ...] = DAMAGE_KINDS) -> st.SearchStrategy[Damage]:
    """A :class:`Damage` of one of ``kinds``."""
    return st.builds(
        Damage,
        kind=st.sampled_from(kinds),
        seed=st.integers(min_value=0, max_value=2**32),
        garbage=st.binary(min_size=1, max_size=40),
    )
