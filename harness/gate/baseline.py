"""The committed-baseline mode of the gate: results compared with ``reports/baseline.json``.

    jobharness gate --baseline reports/baseline.json reports/verify-hardened-*/ reports/bench-*/
    jobharness gate --write-baseline reports/verify-*/ reports/bench-*/    # refresh the baseline

The mode for criteria, and for figures where no git history is at hand; the A/B mode
(:mod:`harness.gate.ab`) is the one with power on figures (docs/benchmarks.md, "The gate's power").

Two kinds of regression fail the gate:

* **a criterion** that passed in the baseline for a store does not pass now (a verify
  ``report.json``): it failed, or it stopped being judged (*unknown*, *n/a*, or missing from a
  report of that store). A gate that let "pass -> not judged" through would let a store that no
  longer opens, or a scenario that no longer runs, slip by as green;
* **a figure** whose ratio to its floor (a ``bench.json``) grew by more than its threshold: 10 %
  by default, or the figure's own ``threshold`` in the baseline file. Ratios, not microseconds:
  the floor is measured in the same run on the same disk, so a slower machine or a busy
  neighbour moves both and the ratio stays put. Every figure is "lower is better".

A figure the results do not contain is listed as *not measured* and does not fail the gate (a
quick run measures fewer payloads). Improvements are listed too, so a baseline that has become
too lenient is visible.

Baseline format (``reports/baseline.json``)::

    {"format": 1, "created": "...", "commit": "...", "threshold": 0.10,
     "criteria": {"hardened": {"C1": "pass", "C2": "pass", ...}},
     "figures": {"save.hardened.1k": {"ratio": 1.08, "threshold": 0.10}, ...}}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.results import (
    FAIL,
    NOT_APPLICABLE,
    PASS,
    UNKNOWN,
    BenchResults,
    RunReport,
    load_run,
    status_of,
)
from harness.results.provenance import current_commit

DEFAULT_THRESHOLD = 0.10
RANK = (FAIL, UNKNOWN, PASS, NOT_APPLICABLE)  # which status wins when reports of a store merge
# Figures that are ratios of a median to a floor's median: stable enough to gate on. Scaling
# throughput and directory-size figures move with the machine's other load and are not gated
# unless a baseline entry names them explicitly.
GATED_OPS = ("save", "get", "update", "get_damaged")
# This machine's disk has a quiet and a busy state (fsync 0.45 ms or 1.4 ms); a ratio of unlike
# operations (one fsync against the floor's two) moves with it. Ratios are compared only when
# their floors are within this factor of the baseline's: like with like.
COMPARABLE_FLOOR_FACTOR = 1.5


@dataclass(frozen=True)
class Results:
    """What the gate compares: criteria verdicts per store and ratio figures."""

    criteria: dict[str, dict[str, str]]  # store -> criterion -> pass | fail | unknown | n/a
    figures: dict[str, float]
    sources: list[str]
    floors: dict[str, float]  # floor figures' p50 in microseconds, e.g. floor_write.1k


@dataclass(frozen=True)
class BaselineFigure:
    """A gated figure's ratio when the baseline was written, and the growth it is allowed."""

    ratio: float
    threshold: float | None = None  # a fraction (0.10: 10 %); None: the baseline's own


@dataclass(frozen=True)
class Baseline:
    """The gate's reference, ``reports/baseline.json``: what passed, and the ratios then.

    Criteria are read as statuses (a baseline written before ``unknown`` existed says
    ``true``/``false``/``null``); ``floors`` are the floors' medians in microseconds, so ratios
    are compared only against a disk in the same state.
    """

    criteria: dict[str, dict[str, str]]  # store -> criterion -> pass | fail | unknown | n/a
    figures: dict[str, BaselineFigure]
    floors: dict[str, float] = field(default_factory=dict)
    threshold: float = DEFAULT_THRESHOLD
    created: str = ""
    commit: str | None = None
    sources: tuple[str, ...] = ()
    format: int = 2

    def as_dict(self) -> dict[str, Any]:
        """The JSON object of the baseline file."""
        return {
            "floors": dict(self.floors),
            "format": self.format,
            "created": self.created,
            "commit": self.commit,
            "threshold": self.threshold,
            "sources": list(self.sources),
            "criteria": {store: dict(verdicts) for store, verdicts in self.criteria.items()},
            "figures": {
                name: {"ratio": figure.ratio}
                | ({} if figure.threshold is None else {"threshold": figure.threshold})
                for name, figure in self.figures.items()
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "the baseline") -> Baseline:
        """A baseline file's object; ConfigError naming ``source`` and the entry if malformed."""
        figures = {}
        for name, entry in (data.get("figures") or {}).items():
            ratio = entry.get("ratio") if isinstance(entry, dict) else None
            if not isinstance(ratio, int | float):
                raise ConfigError(
                    f'{source}: figures.{name}: expected {{"ratio": a number}}, got {entry!r}; '
                    "write the baseline again with --write-baseline"
                )
            threshold = entry.get("threshold")
            figures[str(name)] = BaselineFigure(
                float(ratio), float(threshold) if isinstance(threshold, int | float) else None
            )
        return cls(
            criteria={
                str(store): {str(cid): _saved_status(saved) for cid, saved in verdicts.items()}
                for store, verdicts in (data.get("criteria") or {}).items()
            },
            figures=figures,
            floors={str(k): float(v) for k, v in (data.get("floors") or {}).items()},
            threshold=float(data.get("threshold", DEFAULT_THRESHOLD)),
            created=str(data.get("created", "")),
            commit=data.get("commit"),
            sources=tuple(data.get("sources") or ()),
            format=int(data.get("format", 1)),
        )


@dataclass(frozen=True)
class Change:
    kind: str  # criterion | figure
    name: str
    baseline: Any
    now: Any
    limit: Any
    status: str  # regression | ok | improved | not measured

    @property
    def is_regression(self) -> bool:
        return self.status == "regression"


def gather_results(paths: list[Path]) -> Results:
    """Gather the verdicts and ratios of verify reports and bench results (files or folders,
    each read by :func:`harness.results.load_run`); ConfigError on bad input."""
    if not paths:
        raise ConfigError(
            "give the results to check: report.json / bench.json files or their folders"
        )
    results = Results({}, {}, [], {})
    for path in paths:
        run = load_run(path)
        if isinstance(run, BenchResults):
            _add_bench(results, run)
            results.sources.append(str(_source(path, "bench.json")))
        else:
            _add_verify(results, run)
            results.sources.append(str(_source(path, "report.json")))
    return results


def _source(path: Path, name: str) -> Path:
    return path / name if path.is_dir() else path


def _add_bench(results: Results, bench: BenchResults) -> None:
    """A bench run's ratios, and its floors (to tell whether ratios compare)."""
    for name, figure in bench.figures.items():
        if figure.ratio is not None:
            results.figures[name] = figure.ratio
        elif figure.is_floor and figure.value is not None:
            results.floors[name] = figure.value


def _add_verify(results: Results, report: RunReport) -> None:
    """A verify run's criteria. The same store in several reports: failed anywhere is failed,
    then unknown anywhere is unknown, then passed anywhere is passed."""
    merged = results.criteria.setdefault(report.store, {})
    for criterion in report.criteria:
        previous = merged.get(criterion.id, NOT_APPLICABLE)
        merged[criterion.id] = min(previous, criterion.status, key=RANK.index)


def build_baseline(results: Results, threshold: float) -> Baseline:
    """A baseline from results: every criterion verdict, every gated ratio figure."""
    figures = {
        name: BaselineFigure(round(ratio, 4), default_threshold(name, threshold))
        for name, ratio in sorted(results.figures.items())
        if name.split(".")[0] in GATED_OPS
    }
    return Baseline(
        criteria=results.criteria,
        figures=figures,
        floors={name: round(value, 1) for name, value in sorted(results.floors.items())},
        threshold=threshold,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        commit=current_commit(),
        sources=tuple(results.sources),
    )


def default_threshold(name: str, threshold: float) -> float:
    """The allowed regression of one figure, from the run-to-run noise measured on this machine.

    Noise of the ratios over repeated runs of one commit (docs/benchmarks.md): save, update and
    get at 1 KB within a few per cent for the file stores; PostgreSQL reads ~16 % and writes
    ~40 % even with the disk in one state; 64 KB and 1 MB writes ~15 %; a damaged read,
    dominated by the disk's worst fsync, several fold.
    """
    op, store, payload = [*name.split("."), "", ""][:3]
    if op == "get_damaged":
        return max(threshold, 4.0)
    if store == "postgres" and op in ("save", "update"):
        return max(threshold, 1.0)  # a server round trip and its own WAL flush, against a file
    if store == "postgres" or payload != "1k":
        return max(threshold, 0.4)
    if op in ("save", "update") and store in ("sqlite", "naive"):
        return max(threshold, 0.3)  # one fsync or none, against the floor's two
    return threshold


def _floor_of(name: str) -> str | None:
    op, _, payload = [*name.split("."), "", ""][:3]
    if op in ("save", "update"):
        return f"floor_write.{payload}"
    if op in ("get", "get_damaged"):
        return f"floor_read.{payload}"
    return None


def _comparable(name: str, baseline: Baseline, results: Results) -> str | None:
    """None when the figure's floor is like the baseline's, else why the ratios don't compare."""
    floor = _floor_of(name)
    before = baseline.floors.get(floor) if floor else None
    now = results.floors.get(floor) if floor else None
    if not before or not now:
        return None
    factor = max(before, now) / min(before, now)
    if factor <= COMPARABLE_FLOOR_FACTOR:
        return None
    return f"{floor} {before:.0f} us then, {now:.0f} us now"


def compare(baseline: Baseline, results: Results, threshold: float | None = None) -> list[Change]:
    """Every change between the baseline and the results, regressions first."""
    default = threshold if threshold is not None else baseline.threshold
    changes: list[Change] = []
    for store, verdicts in baseline.criteria.items():
        now = results.criteria.get(store)
        for criterion, before in verdicts.items():
            name = f"{store} {criterion}"
            if now is None:  # no report of this store among the results (a bench-only gate)
                changes.append(Change("criterion", name, before, None, "-", "not measured"))
                continue
            # A criterion missing from a report of this store stopped being judged.
            current = now.get(criterion, NOT_APPLICABLE)
            if before == PASS and current != PASS:
                status = "regression"
            elif before != PASS and current == PASS:
                status = "improved"
            else:
                status = "ok"
            changes.append(Change("criterion", name, before, current, "-", status))
    for name, entry in baseline.figures.items():
        base = entry.ratio
        own = entry.threshold if entry.threshold is not None else default
        limit_fraction = own if threshold is None else default
        limit = base * (1 + limit_fraction)
        current = results.figures.get(name)
        if current is None:
            changes.append(Change("figure", name, base, None, round(limit, 4), "not measured"))
            continue
        unlike = _comparable(name, baseline, results)
        if unlike:
            changes.append(Change("figure", name, base, current, unlike, "not comparable"))
            continue
        if current > limit:
            status = "regression"
        elif current < base * (1 - limit_fraction):
            status = "improved"
        else:
            status = "ok"
        changes.append(Change("figure", name, base, current, round(limit, 4), status))
    order = {"regression": 0, "improved": 1, "ok": 2, "not comparable": 3, "not measured": 4}
    changes.sort(key=lambda change: (order[change.status], change.kind, change.name))
    return changes


MARKS = {
    "regression": "FAIL",
    "improved": "better",
    "ok": "ok",
    "not comparable": "unlike",
    "not measured": "-",
}


def render_table(changes: list[Change]) -> str:
    """A plain-text table of the changes, regressions first."""
    rows = [("", "what", "baseline", "now", "change", "limit")]
    for change in changes:
        mark = MARKS[change.status]
        rows.append(
            (
                mark,
                change.name,
                _show(change.baseline),
                _show(change.now),
                _delta(change),
                _show(change.limit),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def worth_showing(changes: list[Change]) -> tuple[list[Change], list[str]]:
    """The rows that say something (regressed, improved), and a line or two for the rest, which
    ``-v`` lists in full: a gate's table is read for what changed."""
    shown = [c for c in changes if c.status in ("regression", "improved")]
    unlike = [c for c in changes if c.status == "not comparable"]
    notes = []
    if unlike:
        floors = sorted({str(c.limit) for c in unlike})
        notes.append(
            f"not compared, {len(unlike)} figure(s): their floor moved more than "
            f"{COMPARABLE_FLOOR_FACTOR}x since the baseline ({'; '.join(floors)})"
        )
    within = sum(c.status == "ok" for c in changes)
    unmeasured = sum(c.status == "not measured" for c in changes)
    if within or unmeasured:
        notes.append(
            f"{within} within limits, {unmeasured} not measured in these results (-v lists them)"
        )
    return shown, notes


def _saved_status(saved: Any) -> str:
    """A baseline's criterion: a status word, or the older ``true``/``false``/``null``."""
    if isinstance(saved, str):
        return status_of(None, saved)
    return status_of(saved if isinstance(saved, bool) else None)


def _show(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "pass" if value else "FAIL"
    if value in (FAIL, UNKNOWN):
        return str(value).upper()
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _delta(change: Change) -> str:
    if change.kind != "figure" or change.now is None or not change.baseline:
        return ""
    return f"{(change.now / change.baseline - 1) * 100:+.1f}%"
