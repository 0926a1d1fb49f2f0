"""``jobharness gate --against REF``: the A/B mode, from the command's arguments to its exit code.

The steps: resolve REF (:mod:`harness.gate.worktree`), check it out into a temporary worktree,
give each side a folder whose only entries are symlinks to its tree's ``durable_jobs`` (and the
top package of a ``--store`` module spec), start one child per side with that folder first on
its path (:mod:`harness.gate.worker`), time both in the same rounds (:mod:`harness.gate.ab`),
judge every figure (:mod:`harness.gate.verdicts`), print the table. "Installed beside the
working tree" means exactly this: REF's package is imported from its checkout, not pip-installed,
so REF needs a ``durable_jobs/`` folder (or the spec's module) in its tree, and the REF side runs
the working tree's harness, so the measuring instrument is the same on both sides.

The store folders of both sides are in ``.jobharness-gate-<random>/`` in the repository's top
folder (one filesystem, one disk state), removed at the end like the worktree, on an error and
on Ctrl-C too, and both children are stopped.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from harness.bench.inject import ENV, requested_injection
from harness.errors import ConfigError
from harness.gate.ab import AB_FULL, AB_QUICK, ABPlan, Side, SideError, measure_ab, start_side
from harness.gate.baseline import Baseline, Change, compare, gather_results, render_table
from harness.gate.verdicts import (
    ALPHA,
    DAMAGED_MIN_EFFECT,
    DEFAULT_MIN_EFFECT,
    FigureVerdict,
    default_min_effect,
    judge,
    not_compared,
    render_verdicts,
)
from harness.gate.worktree import BaseCommit, repository_root, resolve_base, temporary_worktree
from harness.results import read_json_object
from harness.store.spec import BUILTIN_STORES, parse_store_spec


def run_ab_gate(args: argparse.Namespace) -> int:
    """Measure the working tree against ``args.against``; 0 pass, 1 regression, 2 bad input."""
    min_effect = args.min_effect  # None: each figure's default (verdicts.default_min_effect)
    if min_effect is not None and not 0 <= min_effect < 10:
        raise ConfigError(f"--min-effect {min_effect}: expected a fraction such as 0.05 (5%)")
    injection = requested_injection()
    spec = getattr(args, "store", None) or "hardened"
    parse_store_spec(spec)  # a malformed spec is one line and exit 2, before any checkout
    criteria = _criteria_changes(args)
    repo = repository_root(Path.cwd())
    base = resolve_base(repo, args.against or None)
    plan = AB_QUICK if args.quick else AB_FULL
    with temporary_worktree(repo, base) as tree, _work_folder(repo) as work:
        print(f"mode: A/B against {base.label} ({base.short}), same run, same disk")
        if injection:
            print(f"  {ENV}={injection}: a regression injected on purpose, new side only")
        verdicts, notes = _measure(plan, spec, tree, repo, work)
    return _report(args, base, verdicts, notes, criteria, min_effect)


def _measure(
    plan: ABPlan, spec: str, tree: Path, repo: Path, work: Path
) -> tuple[list[tuple[str, list[float], list[float], list[bool]] | FigureVerdict], list[str]]:
    """Start both sides, time them, stop them; raw pairs per figure, and the notes."""
    label = _label(spec)
    sides: list[Side] = []
    try:
        for name, home in (("base", tree), ("new", repo)):
            shim = _shim(work / f"path-{name}", home, spec, name)
            try:
                sides.append(start_side(name, home, shim, spec, label, work / name, plan))
            except SideError as error:
                raise ConfigError(f"gate --against: {error}; {_fix(spec)}") from error
        base, new = sides
        print(f"  base: {base.durable_jobs}\n  new:  {new.durable_jobs}")
        _check_sources(sides, (tree, repo))
        print(f"  store {spec}, payloads {', '.join(plan.payloads)}, rounds interleaved")
        pairs, errors = measure_ab(plan, base, new)
        results: list[tuple[str, list[float], list[float], list[bool]] | FigureVerdict] = [
            (figure, *samples) for figure, samples in sorted(pairs.items())
        ]
        results += [not_compared(figure, why) for figure, why in sorted(errors.items())]
        return results, sorted({*base.notes, *new.notes})
    finally:
        for side in sides:
            side.stop()


def _check_sources(sides: list[Side], homes: tuple[Path, Path]) -> None:
    """Each side imported the ``durable_jobs`` of its own tree (where the tree has one): else
    both might be timing one version, and "no change" would mean nothing."""
    for side, home in zip(sides, homes, strict=True):
        own = (home / "durable_jobs").resolve()
        if own.is_dir() and Path(side.durable_jobs).resolve() != own:
            raise ConfigError(
                f"gate --against: the {side.name} side imported durable_jobs from "
                f"{side.durable_jobs}, not from {own}; is PYTHONPATH or a .pth file forcing it?"
            )


def _report(
    args: argparse.Namespace,
    base: BaseCommit,
    measured: list[tuple[str, list[float], list[float], list[bool]] | FigureVerdict],
    notes: list[str],
    criteria: list[Change],
    min_effect: float | None,
) -> int:
    """Judge, print the table and the verdict line; the exit code."""
    verdicts = [
        item
        if isinstance(item, FigureVerdict)
        else judge(*item, min_effect=_effect_of(item[0], min_effect))
        for item in measured
    ]
    print()
    print(render_verdicts(verdicts))
    for note in notes:
        print(f"  note: {note}")
    unlike = [v for v in verdicts if v.status == "not compared"]
    for verdict in unlike:
        print(f"gate: warning: {verdict.figure} not compared: {verdict.why}")
    if criteria:
        print(f"\ncriteria: committed baseline {args.baseline}")
        print(render_table(criteria))
    slower = [v for v in verdicts if v.is_regression]
    bad_criteria = [c for c in criteria if c.is_regression]
    strict = bool(getattr(args, "strict", False))
    against = f"{base.label} ({base.short})"
    effect = (
        f"{min_effect:.0%}"
        if min_effect is not None
        else f"{DEFAULT_MIN_EFFECT:.0%} (get_damaged {DAMAGED_MIN_EFFECT:.0%})"
    )
    print()
    if slower or bad_criteria or (strict and unlike):
        parts = [f"{len(slower)} figure(s) slower by more than {effect} (p < {ALPHA})"]
        parts += [f"{len(bad_criteria)} criterion regression(s)"] if bad_criteria else []
        parts += [f"{len(unlike)} figure(s) not compared (--strict)"] if strict and unlike else []
        print(f"gate: FAIL: {', '.join(parts)} against {against}")
        return 1
    compared = len(verdicts) - len(unlike)
    if not compared and not criteria:
        print(f"gate: nothing compared against {against}")
        return 1 if strict else 0
    print(f"gate: pass: {compared} figure(s) compared against {against}, none slower by more "
          f"than {effect}" + (f"; {len(criteria)} criteria as in the baseline"
                                      if criteria else ""))  # fmt: skip
    return 0


def _effect_of(figure: str, given: float | None) -> float:
    return default_min_effect(figure) if given is None else given


def _criteria_changes(args: argparse.Namespace) -> list[Change]:
    """With verify results given: their criteria against the committed baseline (figures in
    the results are not used: A/B measures figures itself)."""
    if not args.results:
        return []
    results = gather_results(list(args.results))
    if not args.baseline.exists():
        raise ConfigError(
            f"{args.baseline}: no baseline to judge the criteria of {len(args.results)} "
            "result(s) against; give --baseline FILE, or leave the results out"
        )
    baseline = Baseline.from_dict(read_json_object(args.baseline), str(args.baseline))
    if results.figures:
        print(f"note: the {len(results.figures)} figures of the results given are not used: A/B "
              "measures both commits itself")  # fmt: skip
    changes = [c for c in compare(baseline, results) if c.kind == "criterion"]
    return [c for c in changes if c.status != "not measured"]


@contextlib.contextmanager
def _work_folder(repo: Path) -> Iterator[Path]:
    """Both sides' store folders, on the repository's filesystem; removed at the end."""
    work = Path(tempfile.mkdtemp(prefix=".jobharness-gate-", dir=repo))
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _shim(folder: Path, tree: Path, spec: str, side: str) -> Path:
    """A folder for the front of a side's path: symlinks to its tree's store packages only."""
    folder.mkdir(parents=True)
    names = ["durable_jobs"]
    parsed = parse_store_spec(spec)
    if parsed.kind == "module":
        names.append(parsed.target.split(".")[0])
    for name in dict.fromkeys(names):
        for entry in (tree / name, tree / f"{name}.py"):
            if entry.exists():
                os.symlink(entry, folder / entry.name)
    if side == "base" and parsed.is_builtin and not (tree / "durable_jobs").is_dir():
        raise ConfigError(
            f"gate --against: the base commit has no durable_jobs/ folder, so the built-in "
            f"store {spec!r} cannot be measured there; {_fix(spec)}"
        )
    return folder


def _fix(spec: str) -> str:
    return (
        "gate against a commit where the store exists and imports (--against REF), "
        "give --store SPEC of a store both commits have, or use the committed baseline "
        "(--baseline FILE RESULTS...)"
        if spec in BUILTIN_STORES or ":" not in spec
        else "check that the spec imports at both commits, or use --baseline FILE RESULTS..."
    )


def _label(spec: str) -> str:
    """The store's name in figure ids: a built-in name, else the spec's file or module name."""
    parsed = parse_store_spec(spec)
    if parsed.is_builtin:
        return parsed.target
    stem = Path(parsed.target).stem if parsed.kind == "file" else parsed.target.rsplit(".", 1)[-1]
    return re.sub(r"[^A-Za-z0-9_-]+", "_", stem) or "custom"
