"""The A/B gate's judgement of one figure: slower, faster, no change shown, or not compared.

A figure is a **regression** only when both hold:

* the slowdown is *significant*: the one-sided Wilcoxon signed-rank test of the per-round log
  ratios ``log(new / base)`` gives p < ``alpha`` (0.01), and the 95 % bootstrap interval of
  the median per-round ratio lies above 1 (:mod:`harness.significance`);
* it is *large enough to matter*: the median of the per-round ratios new/base (the geometric
  mean of its values over the rounds where base went first and where new did, so an order
  effect cancels: :func:`~harness.significance.balanced_ratio`) exceeds 1 + the minimum effect
  (:data:`DEFAULT_MIN_EFFECT`, 5 %, or ``--min-effect``). Significance alone would fail a gate
  on a real but harmless 2 %.

**Faster** is the mirror image (p of "below" < alpha, interval below 1, ratio under
1 / (1 + minimum effect)). A figure with fewer than :data:`MIN_PAIRS` pairs, or whose operation
raised on either side, is **not compared**, with the reason: a warning, or a failure under
``--strict``.

>>> base = [1.0 + 0.01 * (i % 7) for i in range(100)]
>>> judge("save.hardened.1k", base, [1.3 * b for b in base], min_effect=0.10).status
'slower'
>>> judge("save.hardened.1k", base, list(base), min_effect=0.10).status
'same'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from harness.significance import balanced_ratio, bootstrap_ratio_ci, wilcoxon_signed_rank

ALPHA = 0.01
MIN_PAIRS = 20
# 5 %: re-judged at 5 %, 70 measured runs of un-injected figures failed no more often than at
# 10 % (the same one run), and an extra fsync costs 8-9 % of a save on this VM's disk in its
# slow state, which 10 % let through in 2 of 10 runs (docs/benchmarks.md, "The gate's power").
DEFAULT_MIN_EFFECT = 0.05
# A damaged read is one fsync-bound repair in 100 rounds (quick): unchanged code measured up to
# +7.3 % at p = 0.0009 there (1 run of 170), so its default minimum is 10 %.
DAMAGED_MIN_EFFECT = 0.10


def default_min_effect(figure: str) -> float:
    """The minimum effect of ``figure`` when ``--min-effect`` is not given.

    >>> default_min_effect("save.hardened.1k"), default_min_effect("get_damaged.hardened.1k")
    (0.05, 0.1)
    """
    return DAMAGED_MIN_EFFECT if figure.startswith("get_damaged.") else DEFAULT_MIN_EFFECT


MARKS = {"slower": "FAIL", "faster": "better", "same": "ok", "not compared": "WARN"}


@dataclass(frozen=True)
class FigureVerdict:
    """One figure's comparison: each side's median in microseconds, and ``ratio``, the median of
    the per-round ratios new/base (balanced over which side went first), with its 95 %
    interval."""

    figure: str
    status: str  # slower | faster | same | not compared
    pairs: int = 0
    base_us: float | None = None
    new_us: float | None = None
    ratio: float | None = None
    ci: tuple[float, float] | None = None
    p_slower: float | None = None
    why: str = ""

    @property
    def is_regression(self) -> bool:
        return self.status == "slower"


def judge(
    figure: str,
    base: Sequence[float],
    new: Sequence[float],
    base_first: Sequence[bool] | None = None,
    *,
    min_effect: float = DEFAULT_MIN_EFFECT,
    alpha: float = ALPHA,
) -> FigureVerdict:
    """The verdict on one figure from its paired samples (seconds; ``base[i]`` with ``new[i]``,
    measured in that order where ``base_first[i]``)."""
    order = list(base_first) if base_first is not None else [True] * len(base)
    kept = [(b, n, f) for b, n, f in zip(base, new, order, strict=True) if b > 0 and n > 0]
    usable = [(b, n) for b, n, _ in kept]
    if len(usable) < MIN_PAIRS:
        return FigureVerdict(
            figure, "not compared", len(usable), why=f"only {len(usable)} pairs of samples "
            f"(at least {MIN_PAIRS} needed)"
        )  # fmt: skip
    b_values = [b for b, _ in usable]
    n_values = [n for _, n in usable]
    firsts = [f for _, _, f in kept]
    ratio = balanced_ratio(b_values, n_values, firsts)
    ci = bootstrap_ratio_ci(b_values, n_values, firsts)
    test = wilcoxon_signed_rank([math.log(n / b) for b, n in usable])
    if test.p_greater < alpha and ci[0] > 1 and ratio > 1 + min_effect:
        status = "slower"
    elif test.p_less < alpha and ci[1] < 1 and ratio < 1 / (1 + min_effect):
        status = "faster"
    else:
        status = "same"
    return FigureVerdict(
        figure,
        status,
        len(usable),
        base_us=sorted(b_values)[len(b_values) // 2] * 1e6,
        new_us=sorted(n_values)[len(n_values) // 2] * 1e6,
        ratio=ratio,
        ci=ci,
        p_slower=test.p_greater,
        why=_why(status, test.p_greater, ci, ratio, min_effect, alpha),
    )


def _why(
    status: str, p: float, ci: tuple[float, float], ratio: float, min_effect: float, alpha: float
) -> str:
    """What decided a verdict, in a few words (a near miss says which condition held it back)."""
    if status == "slower":
        return f"significant and over +{min_effect:.0%}"
    if status == "faster":
        return f"significant and over -{min_effect:.0%}"
    if p < alpha and ci[0] > 1:
        return f"slower, but by less than +{min_effect:.0%}"
    if ratio > 1 + min_effect:
        return "over the minimum effect, but not significant"
    return ""


def not_compared(figure: str, why: str) -> FigureVerdict:
    """A figure that could not be compared, and why (an operation raised, a side lacked it)."""
    return FigureVerdict(figure, "not compared", why=why)


def render_verdicts(verdicts: list[FigureVerdict]) -> str:
    """The A/B table: every figure, its medians, ratio with interval, p-value and verdict."""
    rows = [
        ("", "figure", "rounds", "base p50 us", "new p50 us", "median of new/base [95% CI]",
         "p(slower)", "")
    ]  # fmt: skip
    for v in verdicts:
        if v.ratio is None or v.ci is None:
            rows.append((MARKS[v.status], v.figure, str(v.pairs), "-", "-", "-", "-", v.why))
            continue
        rows.append(
            (
                MARKS[v.status],
                v.figure,
                str(v.pairs),
                f"{v.base_us:.1f}",
                f"{v.new_us:.1f}",
                f"{v.ratio:.3f} [{v.ci[0]:.3f}, {v.ci[1]:.3f}] {(v.ratio - 1) * 100:+.1f}%",
                "<0.0001" if (v.p_slower or 0) < 1e-4 else f"{v.p_slower:.4f}",
                v.why,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )
