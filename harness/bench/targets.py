"""The performance targets of the benchmark, judged on bench.json figures alone.

Targets are informative: the bench reports each as met or missed, and by how much; it does not
fail the run over them (the gate, comparing runs with a baseline, is the enforcing tool). Because
a target needs only the figures, a saved ``bench.json`` can be re-judged without re-running::

    >>> figures = {"save.hardened.1k": {"ratio": 1.2, "p50_us": 900.0}}
    >>> result = evaluate_target(TARGETS[0], figures)
    >>> result["passed"], result["margin"]
    (False, '0.05 over (4% over the limit)')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Target:
    """``metric`` of ``figure`` must be at most ``limit`` (strictly below it if ``strict``)."""

    id: str
    title: str
    figure: str
    metric: str
    limit: float
    strict: bool = False


TARGETS: tuple[Target, ...] = (
    Target(
        "T1",
        "hardened save_job p50 <= 1.15x durable-replace floor at 1 KB",
        "save.hardened.1k",
        "ratio",
        1.15,
    ),
    Target(
        "T2", "hardened get_job p50 <= 2x plain-read floor at 1 KB", "get.hardened.1k", "ratio", 2.0
    ),
    Target(
        "T3",
        "hardened get_job on a damaged main file: p99 < 5 ms at 1 KB",
        "get_damaged.hardened.1k",
        "p99_us",
        5000.0,
        strict=True,
    ),
    Target(
        "T4",
        "hardened update_job p50 <= 1.5x save_job p50 at 1 KB",
        "update.hardened.1k",
        "ratio_to_save",
        1.5,
    ),
    Target(
        "T5",
        "SQLite save_job p50 <= 0.7x durable-replace floor at 1 KB",
        "save.sqlite.1k",
        "ratio",
        0.7,
    ),
    Target(
        "T6",
        "hardened save_job p50 <= 1.10x the minimal durable replace at 1 KB",
        "save.hardened.1k",
        "ratio_minimal",
        1.10,
    ),
)


def metric_value(target: Target, figures: dict[str, dict[str, Any]]) -> float | None:
    """The number a target judges, or None when its figure was not measured.

    ``ratio_to_save`` divides the update's ratio by the save's ratio of the same store and
    payload: both are paired with the same write floor, so the floor cancels and what is left
    is update p50 / save p50, as stable as the ratios themselves.
    """
    figure = figures.get(target.figure)
    if figure is None:
        return None
    if target.metric != "ratio_to_save":
        value = figure.get(target.metric)
        return float(value) if isinstance(value, int | float) else None
    save = figures.get(target.figure.replace("update.", "save.", 1))
    if save is None:
        return None
    if (
        isinstance(figure.get("ratio"), int | float)
        and isinstance(save.get("ratio"), int | float)
        and save["ratio"] > 0
    ):
        return figure["ratio"] / save["ratio"]
    if figure.get("p50_us") and save.get("p50_us"):
        return figure["p50_us"] / save["p50_us"]
    return None


def evaluate_target(
    target: Target, figures: dict[str, dict[str, Any]], missing_reason: str | None = None
) -> dict[str, Any]:
    """The bench.json record of one target: its value, pass or miss, and the margin in words."""
    value = metric_value(target, figures)
    record: dict[str, Any] = {
        "id": target.id,
        "title": target.title,
        "figure": target.figure,
        "metric": target.metric,
        "limit": target.limit,
    }
    if value is None:
        why = missing_reason or f"figure {target.figure} was not measured in this run"
        return {**record, "value": None, "passed": None, "margin": f"not measured: {why}"}
    passed = value < target.limit if target.strict else value <= target.limit
    return {
        **record,
        "value": _round(value),
        "passed": passed,
        "margin": describe_margin(target, value, passed),
    }


def evaluate_targets(
    figures: dict[str, dict[str, Any]], missing: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """Every target judged on ``figures``; ``missing`` maps a store to why it was not measured."""
    results = []
    for target in TARGETS:
        store = target.figure.split(".")[1]
        results.append(evaluate_target(target, figures, (missing or {}).get(store)))
    return results


def describe_margin(target: Target, value: float, passed: bool) -> str:
    """``"0.07 under"`` for a met target; ``"0.12 over (10% over the limit)"`` for a miss."""
    gap = abs(target.limit - value)
    unit = " us" if target.metric.endswith("_us") else ""
    amount = f"{gap:.0f}{unit}" if unit else f"{gap:.2f}"
    if passed:
        return f"{amount} under"
    percent = gap / target.limit * 100 if target.limit else float("inf")
    return f"{amount} over ({percent:.0f}% over the limit)"


def _round(value: float) -> float:
    return round(value, 1) if abs(value) >= 100 else round(value, 4)
