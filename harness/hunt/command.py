"""``jobharness hunt``: search fault schedules for a failure, shrink it, write it as a scenario.

    jobharness hunt --store SPEC [--budget 2m] [--seed N] [--out DIR] [--confirm 3]
                    [--same-schedules]

Exit codes: 0 no failure found within the budget (which proves nothing beyond what was tried:
the last line says how much that was), 1 a failure found (its scenario file is
``DIR/found.toml``, with the criteria it broke and their evidence in its header), 2 bad input,
or *unknown*: the store failed its preflight, or no schedule run could be judged.
Ctrl-C keeps what was found so far. ``docs/hunt.md`` explains the search and the database.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import re
import sys
import time
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.hunt.found import DATABASE, save_found
from harness.hunt.schedule import to_toml
from harness.hunt.search import (
    HuntResult,
    HuntState,
    Trial,
    confirm,
    deterministic_twin,
    hunt,
    scenario_name,
)
from harness.results.ownership import hand_back, missing_ancestors, writable_folder
from harness.store.preflight import run_preflight


def add_hunt_command(commands: Any) -> None:
    hunt_parser = commands.add_parser(
        "hunt", help="search fault schedules for a failure with Hypothesis, and shrink it"
    )
    hunt_parser.add_argument("--store", default="hardened", help="store spec (default: hardened)")
    hunt_parser.add_argument(
        "--budget", default="2m", type=parse_budget, help="time to search, e.g. 90s, 2m, 1h"
    )
    hunt_parser.add_argument("--seed", type=int, help="seed of the search (default: random)")
    hunt_parser.add_argument("--out", type=Path, help="folder (default: reports/hunt-<time>)")
    hunt_parser.add_argument(
        "--confirm", type=int, default=3, help="re-runs of a found schedule (default: 3)"
    )
    hunt_parser.add_argument(
        "--same-schedules",
        action="store_true",
        help="draw the same schedules in the same order every time (no database): for CI",
    )


def parse_budget(text: str) -> float:
    """``90``, ``90s``, ``2m``, ``1h``, ``1m30s`` as seconds."""
    match = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s?)?", text.strip())
    if not text.strip() or not match or not any(match.groups()):
        raise argparse.ArgumentTypeError(f"expected a duration such as 90s, 2m or 1h, got {text!r}")
    hours, minutes, seconds = (float(group or 0) for group in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def run_hunt_command(args: argparse.Namespace) -> int:
    from harness.store.spec import parse_store_spec

    spec = parse_store_spec(args.store).text
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 10**9)
    out = args.out or Path("reports") / f"hunt-{time.strftime('%Y%m%d-%H%M%S')}"
    if args.confirm < 0:
        raise ConfigError(f"--confirm {args.confirm}: expected 0 or more re-runs")
    created = missing_ancestors(out.resolve())  # under sudo, handed back to the user at the end
    writable_folder(out, "--out")
    out.mkdir(parents=True, exist_ok=True)
    print(f"jobharness hunt: store {spec}, budget {args.budget:.0f} s, seed {seed}", flush=True)
    preflight = run_preflight(spec)
    if not preflight.ok:  # no schedule can say anything of a store that does not open
        print(f"jobharness hunt: the store failed the preflight, nothing was hunted (exit 2, "
              f"unknown): {preflight.reason}", file=sys.stderr)  # fmt: skip
        return 2
    result = hunt(
        spec,
        out,
        budget_s=args.budget,
        seed=seed,
        progress=_ticker(),
        same_schedules=args.same_schedules,
        job_files=bool(preflight.capabilities.get("job_files", True)),
    )
    if result.found is not None and result.interrupted is None:
        twin = deterministic_twin(result.found, spec, out / "twin", seed)
        if twin is not None:
            print(f"hunt: its deterministic twin fails too: {twin.schedule.describe()}")
            result = dataclasses.replace(result, found=twin)
    if result.found is not None and args.confirm and result.interrupted is None:
        reruns, same = confirm(result.found, spec, out / "confirm", args.confirm)
        result = dataclasses.replace(result, reruns=reruns, same_operations=same)
    _write(result, spec, seed, out)
    hand_back([*created, out, out.parent / DATABASE])  # under sudo: the user's files again
    code = _print_result(result, spec, out)
    if result.interrupted is not None:
        raise result.interrupted  # after writing what was found: the command line exits 130/143
    return code


def _ticker() -> Any:
    """A progress line at most every two seconds, and at every new failure."""
    last = [0.0, -1]

    def say(state: HuntState) -> None:
        if time.monotonic() - last[0] >= 2 or state.failing != last[1]:
            print(state.line(), flush=True)
            last[:] = [time.monotonic(), state.failing]

    return say


def _header(result: HuntResult, trial: Trial, spec: str) -> str:
    lines = [f"Found by jobharness hunt against {spec}: {trial.schedule.describe()}"]
    for criterion in trial.failed:
        lines.append(f"breaks {criterion.id} {criterion.title}: {criterion.summary[:300]}")
        lines += [f"  first: {criterion.evidence[0][:300]}"] if criterion.evidence else []
    if result.reruns:
        lines.append(f"{_reruns_line(result)} with seed {trial.seed}")
    lines.append(f"replay: jobharness run <this file> --store {spec}  (its seed is in the file)")
    return "\n".join(lines)


def _write(result: HuntResult, spec: str, seed: int, out: Path) -> None:
    found = result.found
    summary: dict[str, Any] = {
        "store": spec,
        "seed": seed,
        "tried": result.tried,
        "failing": result.failing,
        "invalid": result.invalid,
        "not_judged": result.unjudged,
        "seconds": round(result.seconds, 1),
        "found": None,
    }
    if found is not None:
        name = scenario_name(found.schedule)
        text = to_toml(found.schedule, name, _header(result, found, spec), seed=found.seed)
        (out / "found.toml").write_text(text)
        kept = save_found(out.parent, spec, name, text)
        summary["found"] = {
            "schedule": found.schedule.describe(),
            "faults": found.schedule.fault_count(),
            "processes": found.schedule.process_count(),
            "seed": found.seed,
            "criteria": [c.id for c in found.failed],
            "reruns_failed": sum(result.reruns),
            "reruns": len(result.reruns),
            "reruns_same_operations": sum(result.same_operations),
            "deterministic": found.schedule.deterministic,
            "shrunk_by_hypothesis": result.shrunk_by_hypothesis,
            "kept_for_verify": str(kept),
        }
    (out / "hunt.json").write_text(json.dumps(summary, indent=1) + "\n")


def _print_result(result: HuntResult, spec: str, out: Path) -> int:
    tried = f"{result.tried} schedules in {result.seconds:.0f} s ({result.invalid} invalid)"
    found = result.found
    if found is None and result.unjudged and result.unjudged == result.tried - result.invalid:
        print(
            f"hunt: UNKNOWN: none of {tried} could be judged ({result.unjudged_reason}); "
            "that is not a pass (exit 2)"
        )
        return 2
    if found is None:
        not_judged = f", {result.unjudged} of them not judged" if result.unjudged else ""
        print(f"hunt: no failure found in {tried}{not_judged}; this proves only what was tried")
        return 0
    print()
    print(f"found: {found.schedule.describe()}")
    for criterion in found.failed:
        for line in criterion.explained():
            print(f"  {line}")
    if result.reruns:
        print(_reruns_line(result))
    print(f"scenario: {out / 'found.toml'}")
    print(f"replay: jobharness run {out / 'found.toml'} --store {spec}")
    print(f"kept for verify: the next `verify --store {spec}` into {out.parent} replays it first")
    print(f"hunt: FAIL after {tried}")
    return 1


def _reruns_line(result: HuntResult) -> str:
    """``failed again in 3 of 3 re-runs, on the same operation numbers in 3``."""
    runs = len(result.reruns)
    line = f"failed again in {sum(result.reruns)} of {runs} re-runs"
    return line + f", on the same operation numbers in {sum(result.same_operations)} of {runs}"
