"""Crash consistency under power loss: every on-disk state a power cut may leave is usable.

The power-loss explorer (:mod:`harness.nemesis.powerloss`) traces one write's system calls,
builds every state the disk may hold if power is cut at each point (unsynced data lost or torn,
unsynced directory entries undone), runs the store's ``recover()`` on each, reads the job back and
records one ``crash_state`` operation per state::

    value:  {"point": "after #9 rename(...)", "acknowledged": true, "state": "...",
             "old": {"tag": ..., "digest": ...}, "new": {...}, "untouched": {"j1": {...}}}
    result: {"read": <summary of get_job>, "recover_raised": null, "untouched": {"j1": <summary>}}

Judged here, state by state:

* a state cut *after* the write returned must hold the new version (it was acknowledged);
* a state cut *during* the write must hold the old version or the new one (no version at all
  only if there was no old one);
* never an error, an exception, or content nobody wrote; ``recover()`` must not raise;
* every other job (``untouched``) still holds exactly the version it held before.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from harness.checkers.result import CheckResult, evidence_fields, plural, spread
from harness.history.log import History, Operation


def check_crash_consistency(history: History) -> CheckResult:
    """Judge every ``crash_state`` operation (see the module docstring)."""
    states = history.of("crash_state")
    if not states:
        return CheckResult(
            "crash_consistency", None, "no power-loss states were explored in this history"
        )
    kinds: Counter[str] = Counter()
    first_of_kind: list[str] = []
    others: list[str] = []
    broken = 0
    for op in states:
        found = _problems(op)
        if found:
            broken += 1
        for kind, line in found:
            if kind not in kinds:
                first_of_kind.append(line)
            else:
                others.append(line)
            kinds[kind] += 1
    counts = {"states": len(states), "inconsistent": broken, **dict(kinds)}
    if broken:
        kinds_text = spread(kinds)
        return CheckResult(
            "crash_consistency",
            False,
            f"{broken} of {plural(len(states), 'power-loss state')} broke the store ({kinds_text})",
            counts,
            **evidence_fields(first_of_kind + others),  # one example of each kind of breakage first
        )
    return CheckResult(
        "crash_consistency",
        True,
        f"all {plural(len(states), 'power-loss state')} held the old or the acknowledged version",
        counts,
    )


def _problems(op: Operation) -> list[tuple[str, str]]:
    """(kind, evidence line) for everything wrong with one crash state."""
    value = op.value if isinstance(op.value, dict) else {}
    result = op.result if isinstance(op.result, dict) else {}
    where = f"after a power cut at {value.get('point', '?')} ({value.get('state', '')})"
    found = []
    got = result.get("read") if isinstance(result.get("read"), dict) else {}
    acknowledged = bool(value.get("acknowledged"))
    problem = _read_problem(got, value.get("old"), value.get("new"), acknowledged)
    if problem:
        kind, detail = problem
        found.append((kind, f"{op.describe()}: {kind}{detail} {where}; read {got}"))
    if result.get("recover_raised"):
        found.append(
            (
                "recover() raised",
                f"{op.describe()}: recover() raised {where}: {result['recover_raised']}",
            )
        )
    reads = result.get("untouched") if isinstance(result.get("untouched"), dict) else {}
    for job, expected in (value.get("untouched") or {}).items():
        other = reads.get(job) or {}
        if not matches_version(other, expected):
            found.append(
                (
                    "other job changed",
                    f"{op.describe()}: job {job}, not written, changed {where}; read {other}",
                )
            )
    return found


def _read_problem(
    got: dict[str, Any], old: Any, new: Any, acknowledged: bool
) -> tuple[str, str] | None:
    """(kind, detail) of what is wrong with the target job's read, or None if it is allowed."""
    allowed = [new] if acknowledged else [old, new]
    if any(matches_version(got, expected) for expected in allowed if expected is not None):
        return None
    if old is None and not acknowledged and got.get("kind") == "none":
        return None  # the very first write, cut before it: the job does not exist yet
    if got.get("kind") != "job":
        return f"job {got.get('kind')}", ""
    if acknowledged and matches_version(got, old):
        return "acknowledged write lost", ""
    tags = [expected.get("tag") for expected in (old, new) if isinstance(expected, dict)]
    if got.get("tag") in tags:
        return "content nobody wrote", " (a known tag with other content: a mix of versions)"
    if got.get("tag") is not None:
        return "content nobody wrote", " (neither the old nor the new version: an older one?)"
    return "content nobody wrote", ""


def matches_version(got: dict[str, Any], expected: Any) -> bool:
    return (
        isinstance(expected, dict)
        and got.get("kind") == "job"
        and got.get("tag") == expected.get("tag")
        and got.get("digest") == expected.get("digest")
    )
