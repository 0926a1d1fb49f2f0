"""What a checker returns: :class:`CheckResult`, and the few words its summaries share.

A leaf of the checkers package: every checker imports it, and it imports nothing of theirs, so
the package's registry (``harness.checkers``) can import every checker without a cycle.

>>> CheckResult("no_litter", True, "clean").as_dict()["valid"]
True
>>> plural(1, "read"), plural(3, "read")
('1 read', '3 reads')
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

MAX_EVIDENCE = 5


@dataclass
class CheckResult:
    """The verdict of one checker on one history."""

    name: str
    valid: bool | None
    summary: str
    counts: dict[str, int] = field(default_factory=dict)
    evidence: list[str] = field(default_factory=list)  # the first offending operations, described
    figures: dict[str, Any] = field(default_factory=dict)  # measurements (latency percentiles)
    crashed: bool = False  # the checker itself failed: the verdict is unknown

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "valid": self.valid,
            "summary": self.summary,
            "counts": self.counts,
            "evidence": self.evidence,
            "figures": self.figures,
            "crashed": self.crashed,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        return cls(
            data["name"],
            data.get("valid"),
            data.get("summary", ""),
            dict(data.get("counts", {})),
            list(data.get("evidence", [])),
            dict(data.get("figures", {})),
            bool(data.get("crashed")),
        )


def first_evidence(items: list[str]) -> list[str]:
    return items[:MAX_EVIDENCE]


def spread(counts: Counter[str]) -> str:
    """``"3 garbled, 1 foreign"``: how many of each kind of problem, most frequent first."""
    return ", ".join(f"{count} {kind}" for kind, count in counts.most_common())


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
