"""Job ids for a scenario: drawn, seeded, from a documented grammar, collisions included on purpose.

A store turns job ids into file names, keys or rows, and the classic mistakes live there: a
store that folds case (``Ab-c`` and ``ab-c`` share a file on a case-insensitive mapping), or that
maps punctuation to one character (``ab-c`` and ``ab_c`` both become ``ab_c``). Two distinct ids
must never share state, so every scenario's ids include a **collision group**: ids that differ
only in case or punctuation. The harness's jobs are tagged and digested (:mod:`harness.workload.payload`),
so a read of ``ab-c`` that returns ``ab_c``'s content is a read of content never written to that
job: the read checkers see it at once.

The grammar (``docs/scenarios.md`` documents the same)::

    id        := first rest{0,127}            1 to 128 characters
    first     := letter | digit               never a leading '.', '-' or '_'
    rest      := letter | digit | '-' | '_' | '.'   (no '.' with  [workload] dots = false)
    letter    := A-Z | a-z                    (any Unicode letter, and combining marks after
                                              the first character, with  non_ascii = true)

Dots are in the default grammar (the ids of real services carry them: ``report.v2``, file-like
names); ``[workload] dots = false`` leaves them out for a store whose contract forbids them.
Non-ASCII letters are an option (``non_ascii = true``): many stores reject them by contract.
An option never removes the collision group: with dots it holds ``ab.c``, with non-ASCII a
composed and a decomposed ``é`` (NFC vs NFD) and their upper case.

The same seed gives the same ids:

>>> ids = generate_job_ids(6, "7/kill-random")
>>> ids == generate_job_ids(6, "7/kill-random")
True
>>> len(ids), len(set(ids))
(6, 6)
>>> ids[0].lower().replace("_", "-") == ids[1].lower().replace("_", "-")   # a collision pair
True
>>> all(is_valid_job_id(job_id) for job_id in ids)
True
"""

from __future__ import annotations

import functools
import random
import re
import string
import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness.scenario.loader import Scenario

MAX_LENGTH = 128
PUNCTUATION = "-_"
NON_ASCII_LETTERS = "éèüöñçßøåæÉÜÖÑÇÅ"
_GRAMMAR = {
    (False, False): re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}"),
    (True, False): re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}"),
}


def is_valid_job_id(job_id: object, *, dots: bool = False, non_ascii: bool = False) -> bool:
    """True when ``job_id`` belongs to the grammar (with the options given).

    >>> is_valid_job_id("ab_c"), is_valid_job_id("ab.c"), is_valid_job_id("ab.c", dots=True)
    (True, False, True)
    >>> is_valid_job_id("-x"), is_valid_job_id("x" * 129)
    (False, False)
    """
    if not isinstance(job_id, str) or not 0 < len(job_id) <= MAX_LENGTH:
        return False
    if non_ascii:
        # Any letter counts (with its combining marks: a decomposed "é" is "e" + U+0301), but
        # the first character must still be a letter or a digit.
        allowed = set(PUNCTUATION) | ({"."} if dots else set())
        return job_id[0].isalnum() and all(
            ch.isalnum() or ch in allowed or unicodedata.category(ch).startswith("M")
            for ch in job_id
        )
    return _GRAMMAR[(dots, False)].fullmatch(job_id) is not None


def collision_group(rng: random.Random, *, dots: bool = False) -> list[str]:
    """Ids that differ only in case or punctuation: a store must keep each one apart.

    >>> collision_group(random.Random(1))
    ['oubd-mjf', 'oubd_mjf', 'Oubd-mjf', 'OUBD_MJF']
    """
    head = "".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 6)))
    tail = "".join(rng.choices(string.ascii_lowercase, k=rng.randint(2, 4)))
    group = [
        f"{head}-{tail}",
        f"{head}_{tail}",
        f"{head.capitalize()}-{tail}",
        f"{head.upper()}_{tail.upper()}",
    ]
    if dots:
        group.insert(2, f"{head}.{tail}")  # early, so a small scenario still gets a.b next to a_b
    return group


def non_ascii_group(rng: random.Random) -> list[str]:
    """``é`` composed, decomposed (NFC vs NFD: equal to a person, distinct bytes) and upper case."""
    stem = "".join(rng.choices(string.ascii_lowercase, k=3))
    return [f"caf\u00e9-{stem}", f"cafe\u0301-{stem}", f"CAF\u00c9-{stem}"]


def generate_job_ids(
    count: int, seed: str, *, dots: bool = False, non_ascii: bool = False
) -> tuple[str, ...]:
    """``count`` distinct ids, the same for the same ``seed``.

    In order: the collision group (so two jobs are enough to hold a colliding pair), the
    non-ASCII group when asked for, one id of the full 128 characters, one of a single character,
    then random ids of random length. Callers that split ids between processes round-robin give
    the members of a group to different processes.
    """
    rng = random.Random(f"{seed}/job-ids")
    alphabet = string.ascii_letters + string.digits + PUNCTUATION + ("." if dots else "")
    if non_ascii:
        alphabet += NON_ASCII_LETTERS
    first_alphabet = string.ascii_letters + string.digits
    candidates = collision_group(rng, dots=dots)
    if non_ascii:
        candidates.extend(non_ascii_group(rng))
    candidates.append(rng.choice(first_alphabet) + "".join(rng.choices(alphabet, k=127)))
    candidates.append(rng.choice(first_alphabet))
    ids: list[str] = []
    seen: set[str] = set()
    while len(ids) < count:
        if candidates:
            job_id = candidates.pop(0)
        else:
            # Mostly short ids (as real ones are), now and then a long one.
            length = min(MAX_LENGTH, int(rng.paretovariate(1.2) * 6))
            job_id = rng.choice(first_alphabet) + "".join(rng.choices(alphabet, k=length - 1))
        if job_id not in seen:
            seen.add(job_id)
            ids.append(job_id)
    return tuple(ids)


def scenario_job_ids(scenario: Scenario, seed: int) -> tuple[str, ...]:
    """The jobs of a run: ``workload.jobs`` of them, or that many per worker when workers run.

    Workers and unshared writers take them round-robin (process ``i`` of ``n``: ids ``i``,
    ``i + n``, ...), so the members of the collision group belong to different processes.
    """
    workload = scenario.workload
    workers = sum(group.count for group in scenario.processes if group.role == "worker")
    count = workload.jobs * workers if workers else workload.jobs
    return _cached_ids(count, f"{seed}/{scenario.name}", workload.dots, workload.non_ascii)


@functools.lru_cache(maxsize=64)
def _cached_ids(count: int, seed: str, dots: bool, non_ascii: bool) -> tuple[str, ...]:
    return generate_job_ids(count, seed, dots=dots, non_ascii=non_ascii)


__all__ = [
    "MAX_LENGTH",
    "collision_group",
    "generate_job_ids",
    "is_valid_job_id",
    "non_ascii_group",
    "scenario_job_ids",
]
