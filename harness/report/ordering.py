"""Failures first: the order in which the report shows verdicts, shared by the page and report.md.

A reader opens a report to learn what went wrong, so everything that lists verdicts lists the
worst first: *fail*, then *unknown* (the harness set out to judge and could not: never a pass),
then *pass*, then *n/a*. The sort is stable, so within one rank the usual order (C1 before C2,
scenarios as the suite ran them) is kept::

    >>> failures_first(["pass", "n/a", "fail", "unknown", "fail"], lambda status: status)
    ['fail', 'fail', 'unknown', 'pass', 'n/a']
    >>> worst_status(["pass", "unknown", "pass"]), worst_status([])
    ('unknown', 'n/a')

A status word this module does not know ranks as *unknown*: a verdict the report cannot read
must not sort, or look, like a pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from harness.checkers.result import CheckResult
from harness.results.status import FAIL, NOT_APPLICABLE, PASS, UNKNOWN

T = TypeVar("T")

STATUS_RANK = {FAIL: 0, UNKNOWN: 1, PASS: 2, NOT_APPLICABLE: 3}


def status_rank(status: str) -> int:
    """0 for fail, 1 for unknown (and any word not known), 2 for pass, 3 for n/a."""
    return STATUS_RANK.get(status, STATUS_RANK[UNKNOWN])


def failures_first(items: Iterable[T], status: Callable[[T], str]) -> list[T]:
    """``items`` sorted worst first by ``status(item)``, keeping their order within a rank."""
    return sorted(items, key=lambda item: status_rank(status(item)))


def worst_status(statuses: Iterable[str]) -> str:
    """The worst of ``statuses`` (fail > unknown > pass > n/a); n/a when there are none."""
    return min(statuses, key=status_rank, default=NOT_APPLICABLE)


def check_status(check: CheckResult) -> str:
    """A check's verdict as a status word: a crashed checker is unknown, not a pass or a fail."""
    if check.crashed:
        return UNKNOWN
    return {True: PASS, False: FAIL}.get(check.valid, NOT_APPLICABLE)  # type: ignore[arg-type]
