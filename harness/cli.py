"""The ``jobharness`` command line. Exit codes: 0 pass, 1 a criterion failed, 2 unknown (something
could not be judged: the store failed its preflight, a scenario could not run or be followed) or a
usage or configuration error; the last line says which.

    jobharness verify [--store SPEC] [--out DIR] [--quick] [--seed N]
    jobharness verify --service CMD|builtin [--store file|sqlite|postgres] [--profile FILE]
                      [--instances N] [--out DIR] [--quick] [--seed N]
    jobharness run SCENARIO.toml [--store SPEC] [--out DIR] [--seed N]
    jobharness analyze DIR

``SPEC`` is a built-in store (hardened, sqlite, postgres, phase470, naive), a
``package.module:factory`` or a ``path/to/file.py:factory``. See README.md.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from harness.cli_service import (
    add_service_options,
    service_replay_words,
    service_scenarios,
    service_target,
    store_scenarios,
)
from harness.errors import ConfigError, HarnessError, Terminated
from harness.results import RunReport
from harness.results.ownership import hand_back, missing_ancestors, writable_folder
from harness.results.trend import trend_file
from harness.runner.progress import make_progress
from harness.scenario.default_suite import default_scenarios_folder, pick_scenarios

EXIT_PASS, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
EXIT_UNKNOWN = 2  # as in Jepsen: what the harness could not judge is neither pass nor fail
EXIT_CODES = {"pass": EXIT_PASS, "fail": EXIT_FAIL, "unknown": EXIT_UNKNOWN}


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors raise instead of exiting, so they get one line and code 2."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        raise ConfigError(f"{message} (see {self.prog} --help)")  # main adds "jobharness: error:"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="jobharness", description="Fault-injection verification of job stores.")
    parser.add_argument("--version", action="version", version=f"jobharness {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    verify = commands.add_parser(
        "verify", help="run the default suite (scenarios/*.toml) against a store"
    )
    _common_run_options(verify)
    verify.add_argument("--quick", action="store_true", help="the short suite (about 15 s)")
    verify.add_argument(
        "--scenarios",
        type=Path,
        help="folder of scenario files (default: scenarios/, or scenarios/service/ with --service)",
    )
    verify.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help="run only the scenario of this name (repeatable)",
    )
    add_service_options(verify)

    run = commands.add_parser("run", help="run one scenario file against a store")
    run.add_argument("scenario", type=Path, help="a scenario .toml file")
    _common_run_options(run)
    add_service_options(run)

    analyze = commands.add_parser("analyze", help="re-judge a saved run from its histories")
    analyze.add_argument("run_dir", type=Path, help="a folder written by verify or run")
    analyze.add_argument(
        "-v", "--verbose", action="store_true", help="print every criterion's whole summary"
    )

    from harness.hunt.command import add_hunt_command

    add_hunt_command(commands)
    _add_later_commands(commands)
    return parser


def _common_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", default=None, help="store spec (default: hardened)")
    parser.add_argument(
        "--out", type=Path, help="report folder (default: reports/<command>-<store>-<time>)"
    )
    parser.add_argument(
        "--seed", type=_parse_seed, help="seed of every random choice (default: random)"
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="print every criterion's whole summary"
    )
    parser.add_argument(
        "--deterministic",
        action="store_true",
        help="store calls take turns in an order the seed fixes, so a replay has the same "
        "operation numbers (finds no race between two calls in flight; docs/hunt.md)",
    )


def _add_later_commands(commands: Any) -> None:
    """Commands of the benchmark and reporting modules, when present."""
    try:
        from harness import cli_perf
    except ImportError:
        return
    cli_perf.add_commands(commands)


def _parse_seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    previous = _handle_sigterm()
    try:
        args = build_parser().parse_args(argv)
        return _dispatch(args)
    except ConfigError as error:
        print(f"jobharness: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as stop:
        print(
            f"jobharness: interrupted by {str(stop) or 'Ctrl-C'}; processes stopped and temporary "
            "folders removed",
            file=sys.stderr,
        )
        return _interrupted_code(stop)
    except HarnessError as error:
        print(f"jobharness: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _handle_sigterm() -> Any:
    """Install the SIGTERM handler; the one it replaces (None off the main thread: not ours)."""
    try:
        return signal.signal(signal.SIGTERM, _terminated(os.getpid()))
    except ValueError:  # main() called from a thread: signals are the main thread's business
        return None


def _terminated(main_pid: int) -> Callable[[int, FrameType | None], None]:
    """A SIGTERM handler that stops this run as Ctrl-C does (:class:`Terminated`).

    Forked children inherit the handler: in them it does what SIGTERM always did (the process
    ends), so the harness can still stop its own workers with SIGTERM. Once raised, further
    SIGTERMs are ignored, so that the cleanup they would interrupt runs to its end.
    """

    def handler(signum: int, frame: FrameType | None) -> None:
        if os.getpid() != main_pid:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
            return
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Terminated("SIGTERM")

    return handler


def _interrupted_code(stop: BaseException) -> int:
    """128 + the signal's number, as a shell reports a process a signal ended."""
    return 128 + (signal.SIGTERM if isinstance(stop, Terminated) else signal.SIGINT)


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "verify":
        return _verify(args)
    if args.command == "run":
        return _run(args)
    if args.command == "analyze":
        return _analyze(args)
    if args.command == "hunt":
        from harness.hunt.command import run_hunt_command

        return run_hunt_command(args)
    from harness import cli_perf

    return cli_perf.dispatch(args)


def _verify(args: argparse.Namespace) -> int:
    from harness.hunt.found import found_first
    from harness.scenario.loader import load_suite

    target = service_target(args) if args.service else _check_spec(args.store)
    folder = args.scenarios or default_scenarios_folder(service=bool(args.service))
    scenarios = pick_scenarios(load_suite(folder, quick=args.quick), args.only, folder)
    if args.service:
        scenarios = service_scenarios(scenarios, args, folder)
    elif not args.only:  # failures earlier hunts of this store found, replayed first
        scenarios = found_first(store_scenarios(scenarios), args.out, target)
    return _execute(_in_turns(scenarios, args), target, args, "verify", quick=args.quick)


def _in_turns(scenarios: list[Any], args: argparse.Namespace) -> list[Any]:
    """``--deterministic``: every concurrent scenario in turns (harness.runner.turns)."""
    if not args.deterministic:
        return scenarios
    if args.service:
        raise ConfigError(
            "--deterministic takes turns between a store's calls in harness processes; a "
            "service's instances run on their own: leave out --deterministic or --service"
        )
    return [scenario.in_turns() for scenario in scenarios]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("durable-jobs")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def _run(args: argparse.Namespace) -> int:
    from harness.scenario.loader import load_scenario

    target = service_target(args) if args.service else _check_spec(args.store)
    scenario = load_scenario(args.scenario)
    if args.service:
        scenario = service_scenarios([scenario], args, args.scenario)[0]
    else:
        store_scenarios([scenario])
    return _execute(_in_turns([scenario], args), target, args, "run", quick=False)


def _execute(
    scenarios: list[Any], target: Any, args: argparse.Namespace, command: str, *, quick: bool
) -> int:
    from harness.suite import verify

    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 10**9)
    spec = target if isinstance(target, str) else target.label
    out = args.out or default_out_dir(command, spec)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: that is a file; give a folder for the report")
    replay = replay_command(args, command, spec, seed)
    created = missing_ancestors(out.resolve())  # under sudo, handed back to the user at the end
    writable_folder(out, "--out")
    progress = make_progress([planned_seconds(s, quick) for s in scenarios])
    what = "store" if isinstance(target, str) else "service"
    print(
        f"jobharness {command}: {what} {spec}, {len(scenarios)} scenario(s), seed {seed}",
        flush=True,
    )
    started = time.monotonic()
    try:
        with progress:
            report = verify(
                scenarios, target, out, seed, quick=quick, command=replay, progress=progress.update
            )
    except KeyboardInterrupt as stop:
        return _stopped(stop, out, created)
    if report.preflight_failed:
        hand_back([*created, out])
        print(
            f"jobharness: {report.reason} (exit 2, verdict unknown; report: {out / 'report.json'})",
            file=sys.stderr,
        )
        return EXIT_UNKNOWN
    html = _render_html(out)
    hand_back([*created, out, trend_file(out)])
    _print_summary(report, out, time.monotonic() - started, html, verbose=args.verbose)
    return EXIT_CODES.get(report.verdict, EXIT_UNKNOWN)


def _stopped(stop: KeyboardInterrupt, out: Path, created: list[Path]) -> int:
    """A run stopped by Ctrl-C or SIGTERM: its partial report rendered, where it is said."""
    partial = out / "report.json"
    if partial.exists():
        _render_html(out)
    hand_back([*created, out, trend_file(out)])
    print(
        f"jobharness: interrupted by {str(stop) or 'Ctrl-C'}; processes stopped and temporary folders "
        "removed" + (f"; the scenarios that finished are in {partial}" if partial.exists() else ""),
        file=sys.stderr,
    )
    return _interrupted_code(stop)


def planned_seconds(scenario: Any, quick: bool) -> float:
    """How long a scenario's main phase is planned to run (``--quick`` shortens it)."""
    from harness.suite import QUICK_FACTOR

    return float((scenario.scaled(QUICK_FACTOR) if quick else scenario).workload.duration)


def replay_command(args: argparse.Namespace, command: str, spec: str, seed: int) -> str:
    """The command that runs this run again: every option but ``--out`` (a new folder each time).

    The seed fixes every choice the harness makes (the fault schedule, the payloads, the job ids);
    it does not fix how the operating system interleaves the processes unless ``--deterministic``
    makes them take turns (see docs/harness.md, docs/hunt.md).
    """
    words = ["jobharness", command]
    if command == "run":
        words.append(_quote(os.fspath(args.scenario)))
    if getattr(args, "service", None):
        words += service_replay_words(args)
    else:
        words += ["--store", _quote(spec)]
    words += ["--seed", str(seed)]
    if getattr(args, "deterministic", False):
        words.append("--deterministic")
    if command == "verify":
        if getattr(args, "quick", False):
            words.append("--quick")
        if getattr(args, "scenarios", None) is not None:
            words += ["--scenarios", _quote(os.fspath(args.scenarios))]
        for name in getattr(args, "only", None) or ():
            words += ["--only", _quote(name)]
    return " ".join(words)


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


def _render_html(out: Path) -> Path | None:
    """The self-contained HTML report of this run (plots, timelines, trend)."""
    from harness.report.command import render_after_verify

    try:
        return render_after_verify(out)
    except Exception as error:  # the verdict stands even if a plot fails; say so
        print(f"jobharness: the HTML report could not be rendered: {error}", file=sys.stderr)
        return None


def _analyze(args: argparse.Namespace) -> int:
    from harness.suite import analyze

    if not args.run_dir.is_dir():
        raise ConfigError(
            f"{args.run_dir}: not a folder; give the folder a verify or run command wrote"
        )
    report = analyze(args.run_dir)
    html = _render_html(args.run_dir)
    _print_summary(report, args.run_dir, None, html, verbose=getattr(args, "verbose", False))
    return EXIT_CODES.get(report.verdict, EXIT_UNKNOWN)


def _print_summary(
    report: RunReport, out: Path, took: float | None, html: Path | None, *, verbose: bool = False
) -> None:
    """The criteria, where the report is, and last the verdict with its exit code and why.

    A failed or unknown criterion gets its whole summary (wrapped, never cut), its first
    evidence line and its "likely cause -> fix" line; ``verbose`` prints every summary.
    """
    marks = {"pass": "pass   ", "fail": "FAIL   ", "unknown": "UNKNOWN", "n/a": "n/a    "}
    print()
    for criterion in report.criteria:
        print(f"  {marks[criterion.status]}  {criterion.id:<3} {criterion.title}")
        if criterion.status in ("fail", "unknown") or verbose:
            _print_wrapped(criterion.summary, "")
        if criterion.status == "fail":
            if criterion.evidence:
                _print_wrapped(criterion.evidence[0], "first: ")
            for fix in criterion.fixes:
                _print_wrapped(fix, "fix: ")
    skipped = [s for s in report.scenarios if s.status in ("unknown", "n/a") and s.reason]
    if skipped:
        print()
        print(f"  not judged here ({len(skipped)} scenario(s)):")
        for scenario in skipped:
            _print_wrapped(f"{scenario.name} ({scenario.status}): {scenario.reason}", "")
    print()
    if html is not None:
        print(f"report: {html}")
    print(f"summary: {out / 'report.md'} (data: {out / 'report.json'})")
    if report.verdict != "pass":
        print(f"replay: {report.replay}")
    timing = f" in {took:.1f} s" if took is not None else ""
    verdict = report.verdict
    code = EXIT_CODES.get(verdict, EXIT_UNKNOWN)
    why = report.reason
    print(f"verdict: {verdict.upper()}{timing} (exit {code}{': ' + why if why else ''})")


def _print_wrapped(text: str, label: str) -> None:
    """``text`` under its criterion, wrapped to the terminal (at least 60 columns wide)."""
    import shutil
    import textwrap

    width = max(60, min(shutil.get_terminal_size((110, 24)).columns, 160))
    indent = " " * 11
    print(
        textwrap.fill(
            label + text,
            width=width,
            initial_indent=indent,
            subsequent_indent=indent + " " * len(label),
            break_long_words=False,
            break_on_hyphens=False,
        )
    )


def _check_spec(text: str | None) -> str:
    """Parse the spec now, so a malformed one is a one-line error (exit 2).

    Importing and opening the store is the preflight's (:mod:`harness.store.preflight`): in a child
    process under a time limit, so a store whose import hangs or kills its process cannot take
    the harness with it.
    """
    from harness.store.spec import parse_store_spec

    return parse_store_spec(text).text


def default_out_dir(command: str, spec: str) -> Path:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(spec.split(":")[0]).stem or spec)[:40]
    return Path("reports") / f"{command}-{name}-{time.strftime('%Y%m%d-%H%M%S')}"


if __name__ == "__main__":
    sys.exit(main())
