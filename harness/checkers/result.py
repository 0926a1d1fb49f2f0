"""What a checker returns: :class:`CheckResult`, and the few words its summaries share.

A leaf of the checkers package: every checker imports it, and it imports nothing of theirs, so
the package's registry (``harness.checkers``) can import every checker without a cycle.

Evidence is written for people and kept for the report: each line that is about one operation
of the history starts as :meth:`harness.history.log.Operation.describe` writes it (``op #2023
reader-1 get(j0) -> ok ...``), and the result keeps that operation's index beside the line
(``evidence_operations``), so the HTML timeline can mark the operation without judging the
history again:

>>> result = CheckResult("no_torn_read", False, "1 torn read", {}, ["op #7 reader-0 get(j0): torn"])
>>> result.evidence_operations
(7,)
>>> CheckResult.from_dict(result.as_dict()) == result
True
>>> plural(1, "read"), plural(3, "read")
('1 read', '3 reads')
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_EVIDENCE = 5
MAX_MARKED = 500  # offending operations kept for the timeline's marks (report.json stays small)
MARK_WORDS = 160  # characters of the words kept with each marked operation
OPERATION_NUMBER = re.compile(r"op #(\d+)\b")  # how Operation.describe() names an operation


def operation_of(line: str) -> int | None:
    """The history index an evidence line is about: its leading ``op #N``, else None.

    >>> operation_of("op #12 reader-0 get(j0) -> ok at 0.1s"), operation_of("writer-1 died")
    (12, None)
    """
    match = OPERATION_NUMBER.match(line)
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class CheckResult:
    """The verdict of one checker on one history.

    ``valid`` is True (judged, held), False (judged, violated: ``evidence`` names the first
    offending operations) or None (nothing to judge here, or the checker ``crashed``).
    ``evidence_operations`` holds, for each evidence line, the index of the operation it is
    about (None for a line about no one operation); left out, it is read from the lines.
    """

    name: str
    valid: bool | None
    summary: str
    counts: dict[str, int] = field(default_factory=dict)
    evidence: tuple[str, ...] = ()  # the first offending operations, described
    figures: dict[str, Any] = field(default_factory=dict)  # measurements (latency percentiles)
    crashed: bool = False  # the checker itself failed: the verdict is unknown
    evidence_operations: tuple[int | None, ...] | None = None
    marked: dict[int, str] = field(default_factory=dict)  # every offending op (to MAX_MARKED)

    def __post_init__(self) -> None:
        # Checkers build their evidence as lists; the record keeps tuples, so it cannot change.
        object.__setattr__(self, "evidence", tuple(self.evidence))
        operations = self.evidence_operations
        if operations is None:
            operations = tuple(operation_of(line) for line in self.evidence)
        object.__setattr__(self, "evidence_operations", tuple(operations))

    def as_dict(self) -> dict[str, Any]:
        """The result as it is saved in report.json."""
        return {
            "name": self.name,
            "valid": self.valid,
            "summary": self.summary,
            "counts": self.counts,
            "evidence": list(self.evidence),
            "figures": self.figures,
            "crashed": self.crashed,
            "evidence_operations": list(self.evidence_operations or ()),
            "marked_operations": {str(index): words for index, words in self.marked.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckResult:
        """A saved result; one saved before ``evidence_operations`` gets them from its lines."""
        operations = data.get("evidence_operations")
        marked = data.get("marked_operations")
        return cls(
            str(data["name"]),
            data.get("valid"),
            str(data.get("summary", "")),
            dict(data.get("counts") or {}),
            tuple(data.get("evidence") or ()),
            dict(data.get("figures") or {}),
            bool(data.get("crashed")),
            tuple(operations) if isinstance(operations, list) else None,
            {int(k): str(v) for k, v in marked.items()} if isinstance(marked, dict) else {},
        )

    def problem_operations(self) -> dict[int, str]:
        """The operations this result holds against the run, by index, with the words why."""
        if self.valid is not False or self.crashed:
            return {}
        if self.marked:
            return dict(self.marked)
        # Saved before every offending operation was kept: the few that the evidence names.
        pairs = zip(self.evidence_operations or (), self.evidence, strict=False)
        return {index: line for index, line in pairs if index is not None}


def first_evidence(items: Iterable[str]) -> list[str]:
    return list(items)[:MAX_EVIDENCE]


def evidence_fields(items: Iterable[str]) -> dict[str, Any]:
    """``evidence`` and ``marked`` for a :class:`CheckResult`, from every offending line.

    People read the first few lines; the timeline marks every operation the lines are about (up
    to :data:`MAX_MARKED`), so a run with 700 torn reads shows 700 marks, not 5.

    >>> fields = evidence_fields([f"op #{n} reader-0 get(j0): torn" for n in range(8)])
    >>> len(fields["evidence"]), sorted(fields["marked"])[-1]
    (5, 7)
    """
    lines = list(items)
    marked: dict[int, str] = {}
    for line in lines:
        index = operation_of(line)
        if index is not None and index not in marked:
            marked[index] = line[:MARK_WORDS]
            if len(marked) >= MAX_MARKED:
                break
    return {"evidence": lines[:MAX_EVIDENCE], "marked": marked}


def spread(counts: Counter[str]) -> str:
    """``"3 garbled, 1 foreign"``: how many of each kind of problem, most frequent first."""
    return ", ".join(f"{count} {kind}" for kind, count in counts.most_common())


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
