"""The four verdicts a criterion or a scenario can have, and how older reports spelled them.

Like Jepsen's ``valid?``, a verdict has more than two values, because what the harness did not
see is never a pass: ``pass``, ``fail``, ``unknown`` (it set out to judge and could not) and
``n/a`` (nothing in the run judges it, or the store lacks what it needs). Reports written before
``unknown`` existed carry only a ``passed`` flag (``true`` / ``false`` / ``null`` for n/a);
:func:`status_of` reads both spellings.

>>> status_of(True), status_of(False), status_of(None), status_of(None, "unknown")
('pass', 'fail', 'n/a', 'unknown')
>>> passed_flag("fail"), passed_flag("unknown")
(False, None)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

Status = Literal["pass", "fail", "unknown", "n/a"]
PASS, FAIL, UNKNOWN, NOT_APPLICABLE = "pass", "fail", "unknown", "n/a"
STATUSES: tuple[str, ...] = (PASS, FAIL, UNKNOWN, NOT_APPLICABLE)


def status_of(passed: bool | None, status: str | None = None) -> str:
    """A saved verdict's status: its ``status`` when present, else from its ``passed`` flag.

    Reports written before verdicts had four values carry only ``passed`` (None was "n/a").
    """
    if status in STATUSES:
        return status
    return {True: PASS, False: FAIL}.get(passed, NOT_APPLICABLE)  # type: ignore[arg-type]


def passed_flag(status: str) -> bool | None:
    """The older two-valued spelling of ``status``, still written beside it: True, False or None."""
    return {PASS: True, FAIL: False}.get(status)


def verdict_of(results: Iterable[Any]) -> str:
    """A run's verdict from its criteria (anything with a ``status``): ``fail`` if any failed;
    ``unknown`` if any is unknown, or none passed (nothing judged is not a pass); else ``pass``."""
    statuses = [result.status for result in results]
    if FAIL in statuses:
        return FAIL
    if UNKNOWN in statuses or PASS not in statuses:
        return UNKNOWN
    return PASS
