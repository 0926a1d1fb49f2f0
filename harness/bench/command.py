"""``jobharness bench``: the command around a run; arguments in, bench.json and bench.md out.

    jobharness bench [--quick] [--out DIR] [--stores naive,phase470,hardened,sqlite,postgres]
                     [--store my_app/jobs.py:make_store ...]

It parses the store list (:func:`harness.bench.stores.parse_store_list`), skips an unreachable
PostgreSQL (quietly by default, an error when named in ``--stores``), runs the plan
(:func:`harness.bench.run.run_bench`), prints the table (:mod:`harness.bench.rendering`), writes
``DIR/bench.json`` and ``DIR/bench.md`` and appends one line to the trend log. Exit code 0 when
the run measured what it should, missed targets included (targets inform, the gate enforces), 1
when a measurement failed, 2 for bad arguments (:class:`harness.errors.ConfigError`).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from harness.bench.inject import ENV, requested_injection
from harness.bench.plan import FULL, QUICK
from harness.bench.rendering import format_table, render_bench_markdown, trend_figures
from harness.bench.run import run_bench
from harness.bench.stores import add_custom_store, parse_store_list, postgres_unreachable_reason
from harness.errors import ConfigError
from harness.results.ownership import hand_back, missing_ancestors, writable_folder
from harness.results.trend import append_run, trend_file


def run_bench_command(args: argparse.Namespace) -> int:
    """``jobharness bench``: run the suite, print the table, write DIR/bench.json and bench.md."""
    custom = [add_custom_store(spec) for spec in getattr(args, "store", None) or ()]
    listed = getattr(args, "stores", None)
    stores = parse_store_list(listed) if listed or not custom else []
    stores += [label for label in custom if label not in stores]
    quick = bool(getattr(args, "quick", False))
    out = getattr(args, "out", None) or Path("reports") / f"bench-{time.strftime('%Y%m%d-%H%M%S')}"
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: exists and is not a folder; give a folder for the results")
    injection = requested_injection()  # a bad value is exit 2 before anything runs
    skipped = check_postgres(stores, explicit=getattr(args, "stores", None) is not None)
    stores = [name for name in stores if name not in skipped]
    print(
        f"jobharness bench{' --quick' if quick else ''}: stores {', '.join(stores)}"
        + "".join(f"\n  skipped {name}: {why}" for name, why in skipped.items())
        + (f"\n  {ENV}={injection}: a regression injected on purpose" if injection else ""),
        flush=True,
    )
    created = missing_ancestors(out.resolve())
    writable_folder(out, "--out")
    bench = run_bench(stores, QUICK if quick else FULL, out, skipped=skipped, log=_print_phase)
    write_results(bench, out)
    hand_back([*created, out, trend_file(out)])  # under sudo: the user's files again
    print()
    print(format_table(bench))
    print(f"\nresults: {out / 'bench.md'} (data: {out / 'bench.json'})")
    failures = bench_failures(bench)
    for failure in failures:
        print(f"measurement failed: {failure}")
    return 1 if failures else 0


def check_postgres(stores: list[str], *, explicit: bool) -> dict[str, str]:
    """Skip PostgreSQL when no server answers: quietly by default, an error if asked for by name."""
    if "postgres" not in stores:
        return {}
    reason = postgres_unreachable_reason()
    if reason is None:
        return {}
    if explicit:
        raise ConfigError(
            f"{reason}; start the server, set JOBHARNESS_POSTGRES_URL, "
            "or leave postgres out of --stores"
        )
    return {"postgres": reason}


def write_results(bench: dict[str, Any], out: Path) -> None:
    """Write bench.json and bench.md, and append the run to the trend log."""
    out.mkdir(parents=True, exist_ok=True)
    public = {key: value for key, value in bench.items() if not key.startswith("_")}
    (out / "bench.json").write_text(json.dumps(public, indent=1, sort_keys=False) + "\n")
    (out / "bench.md").write_text(render_bench_markdown(bench))
    append_run(
        "bench",
        trend_figures(public),
        directory=out,
        commit=bench.get("commit"),
        machine=bench.get("machine"),
    )


def bench_failures(bench: dict[str, Any]) -> list[str]:
    """The measurements that failed (an error, not a missed target)."""
    return [f"{name}: {error}" for name, error in bench.get("_errors", {}).items()]


def _print_phase(message: str) -> None:
    print(f"  {message}", flush=True)
