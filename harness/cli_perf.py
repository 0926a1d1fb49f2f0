"""The performance commands of ``jobharness``: bench, report, gate.

    jobharness bench  [--quick] [--out DIR] [--stores LIST]
    jobharness report [RUN_DIR ...] [--out DIR]
    jobharness gate   --baseline reports/baseline.json [RESULTS ...] [--threshold 0.10]
    jobharness gate   --against [REF] [--quick] [--min-effect 0.10] [--strict] [--store SPEC]
    jobharness gate   --write-baseline RESULTS ... [--baseline reports/baseline.json]

Each command lives in its own module (:mod:`harness.bench.command`, :mod:`harness.report.command`,
:mod:`harness.gate`); this one only declares the arguments and dispatches.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_commands(commands: Any) -> None:
    bench = commands.add_parser(
        "bench", help="run the benchmark suite, write bench.json and the report"
    )
    bench.add_argument(
        "--quick", action="store_true", help="fewer samples and sizes (about a minute)"
    )
    bench.add_argument("--out", type=Path, help="results folder (default: reports/bench-<time>)")
    bench.add_argument(
        "--stores",
        default=None,
        help="comma-separated built-in stores (default: naive,phase470,hardened,sqlite,postgres if reachable)",
    )
    bench.add_argument(
        "--store",
        action="append",
        metavar="SPEC",
        help="benchmark this store too (repeatable): package.module:factory or file.py:factory; "
        "with --store alone, only the stores given",
    )

    report = commands.add_parser("report", help="render the HTML and Markdown report of saved runs")
    report.add_argument(
        "runs",
        type=Path,
        nargs="*",
        help="verify/run/bench folders (default: the latest ones in reports/)",
    )
    report.add_argument(
        "--out", type=Path, help="where to write report.html and summary.md (default: reports/)"
    )

    _add_gate(commands)


def _add_gate(commands: Any) -> None:
    """``jobharness gate``'s arguments: both modes' (:mod:`harness.gate.command`)."""
    gate = commands.add_parser(
        "gate",
        help="exit 1 on a regression: A/B against a commit (--against), or a committed baseline",
    )
    gate.add_argument(
        "results", type=Path, nargs="*", help="report.json / bench.json files or their folders"
    )
    gate.add_argument("--baseline", type=Path, default=Path("reports/baseline.json"))
    gate.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="list every row, also those within limits and those this run did not measure",
    )
    gate.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="default allowed regression of a median ratio (0.10 = 10%%)",
    )
    gate.add_argument(
        "--against",
        nargs="?",
        const="",
        default=None,
        metavar="REF",
        help="A/B mode: measure this working tree against commit/branch/tag REF in the same run "
        "(default: the merge base of HEAD with origin/main or main)",
    )
    gate.add_argument(
        "--quick", action="store_true", help="A/B: 1 KB figures only, fewer rounds (about 10 s)"
    )
    gate.add_argument(
        "--min-effect",
        type=float,
        default=None,
        help="A/B: the least slowdown of a median that fails the gate (default 0.05: 5%%; get_damaged 0.10)",
    )
    gate.add_argument(
        "--store",
        metavar="SPEC",
        default=None,
        help="A/B: the store to measure at both commits (default: hardened)",
    )
    gate.add_argument(
        "--strict",
        action="store_true",
        help="figures that could not be compared fail the gate instead of warning",
    )
    gate.add_argument(
        "--write-baseline",
        action="store_true",
        help="write the results as the new baseline instead",
    )


def dispatch(args: argparse.Namespace) -> int:
    if args.command == "bench":
        from harness.bench.command import run_bench_command

        return run_bench_command(args)
    if args.command == "report":
        from harness.report.command import run_report_command

        return run_report_command(args)
    if args.command == "gate":
        from harness.gate import run_gate_command

        return run_gate_command(args)
    raise AssertionError(args.command)
