"""``jobharness gate``: the command, in either of its two modes, exit 0 / 1 / 2.

    jobharness gate --against [REF] [--quick] [--min-effect 0.10] [--strict] [--store SPEC]
                    [RESULTS... --baseline reports/baseline.json]          # A/B, same run
    jobharness gate --baseline reports/baseline.json RESULTS... [--strict] # committed baseline
    jobharness gate --write-baseline RESULTS... [--baseline FILE]          # refresh the baseline

With ``--against``, figures are measured now, the base commit's store beside the working
tree's (:mod:`harness.gate.abcommand`); criteria of verify results given alongside are judged
against the committed baseline. Without it, everything is judged against the committed
baseline (:mod:`harness.gate.baseline`). The first line of the output names the mode.

Exit 1 on a regression, and under ``--strict`` also when a figure could not be compared (in
the baseline mode: its floor moved more than 1.5x since the baseline; in A/B: an operation
raised, or too few samples); 2 on bad input (:class:`~harness.errors.ConfigError`).
"""

from __future__ import annotations

import argparse
import json

from harness.errors import ConfigError
from harness.gate.abcommand import run_ab_gate
from harness.gate.baseline import (
    COMPARABLE_FLOOR_FACTOR,
    DEFAULT_THRESHOLD,
    Baseline,
    Results,
    build_baseline,
    compare,
    gather_results,
    render_table,
    worth_showing,
)
from harness.results import read_json_object


def run_gate_command(args: argparse.Namespace) -> int:
    """``jobharness gate``: the A/B mode with ``--against``, else the committed baseline."""
    if args.threshold is not None and not 0 < args.threshold < 10:
        raise ConfigError(f"--threshold {args.threshold}: expected a fraction such as 0.10 (10%)")
    if getattr(args, "against", None) is not None:
        if args.write_baseline:
            raise ConfigError("--write-baseline and --against: choose one")
        return run_ab_gate(args)
    results = gather_results(list(args.results))
    if args.write_baseline:
        return write_baseline(args, results)
    return run_baseline_gate(args, results)


def write_baseline(args: argparse.Namespace, results: Results) -> int:
    """``--write-baseline``: the results become the committed baseline."""
    baseline = build_baseline(
        results, args.threshold if args.threshold is not None else DEFAULT_THRESHOLD
    )
    if not baseline.figures and not baseline.criteria:
        raise ConfigError(
            "the results hold no criteria and no ratio figures: nothing to put in a baseline"
        )
    args.baseline.parent.mkdir(parents=True, exist_ok=True)
    args.baseline.write_text(json.dumps(baseline.as_dict(), indent=2, sort_keys=True) + "\n")
    print(
        f"baseline written to {args.baseline}: {len(baseline.figures)} figures, "
        f"criteria of {len(baseline.criteria)} store(s)"
    )
    return 0


def run_baseline_gate(args: argparse.Namespace, results: Results) -> int:
    """The committed-baseline mode: criteria and figure ratios against the baseline file."""
    if not args.baseline.exists():
        raise ConfigError(f"{args.baseline}: no baseline; write one with --write-baseline RESULTS")
    baseline = Baseline.from_dict(read_json_object(args.baseline), str(args.baseline))
    changes = compare(baseline, results, args.threshold)
    measured = [c for c in changes if c.status not in ("not measured", "not comparable")]
    unlike = [c for c in changes if c.status == "not comparable"]
    if not measured:
        raise ConfigError(
            "nothing in the results matches the baseline (different stores or figures?)"
        )
    print(f"mode: committed baseline {args.baseline} (commit {baseline.commit or 'unknown'})")
    shown, notes = (changes, []) if getattr(args, "verbose", False) else worth_showing(changes)
    print(render_table(shown) if shown else "no criterion or figure changed beyond its limit")
    for note in notes:
        print(f"  {note}")
    regressions = [c for c in changes if c.is_regression]
    strict = bool(getattr(args, "strict", False))
    print()
    if unlike:
        print(
            f"gate: warning: {len(unlike)} figure(s) not compared: the disk's floor moved more "
            f"than {COMPARABLE_FLOOR_FACTOR}x since the baseline"
            + (" (--strict: a failure)" if strict else "; gate --against REF compares them")
        )
    if regressions or (strict and unlike):
        print(
            f"gate: FAIL: {len(regressions)} regression(s)"
            + (f", {len(unlike)} figure(s) not compared" if strict and unlike else "")
            + f" against {args.baseline}"
        )
        return 1
    print(f"gate: pass: {len(measured)} criteria and figures within limits of {args.baseline}")
    return 0
