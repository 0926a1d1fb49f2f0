"""The fault vocabulary: one reader of fault windows and marks for every checker and the timeline.

A fault's events say what it did in generic fields (a window whose effect may fail calls, a
stopped process, a damaged job), so a fault kind no checker has heard of is judged correctly
with no checker edit; histories saved before the vocabulary are read through a legacy mapping
and judged exactly as before.
"""

from __future__ import annotations

import ast
import doctest
from pathlib import Path

import pytest
from histories import Pair, history, op

from harness.checkers import CheckResult, run_checker
from harness.checkers.model import build_models
from harness.history import fault_windows
from harness.history.fault_windows import (
    CALLS_FAIL,
    STOPPED,
    faults_of,
    files_damaged,
    process_killed,
    window_closed,
    window_opened,
)
from harness.history.log import INFO
from harness.report import timeline

HARNESS = Path(__file__).resolve().parent.parent / "harness"
SAVED = "DurabilityError: cannot save job 'j0': No space left on device"


def check(name: str, *pairs: Pair) -> CheckResult:
    result = run_checker(name, history(*pairs))
    assert not result.crashed, result.summary
    return result


def write_raised(process: str, at: float, message: str = SAVED) -> Pair:
    return op(process, "save", "j0", at, at + 0.01, None, {"raised": True}, INFO, message)


def read(at: float) -> Pair:
    return op("reader-0", "get", "j0", at, at + 0.01, None, {"kind": "none"})


def meteor(process: str | None, start: float, end: float, effect: str = CALLS_FAIL) -> list[Pair]:
    """A fault kind no checker knows, described only by the vocabulary."""
    opened = window_opened("meteor#1", effect, process=process, errno="ENOSPC", label="impact")
    return [
        op("nemesis", "meteor", None, start, start, {"crater": 3, **opened}, None),
        op("nemesis", "meteor-gone", None, end, end, window_closed("meteor#1"), None),
    ]


def test_a_new_fault_kind_that_may_fail_calls_excuses_a_raised_write_with_no_checker_edit() -> None:
    assert check("never_raises", *meteor("writer-0", 0.5, 3.0), write_raised("writer-0", 1.0)).valid
    outside = check("never_raises", *meteor("writer-0", 0.5, 3.0), write_raised("writer-0", 4.0))
    assert outside.valid is False and "with no disk fault injected" in outside.summary
    other = check("never_raises", *meteor("writer-1", 0.5, 3.0), write_raised("writer-0", 1.0))
    assert other.valid is False  # the window is writer-1's
    assert check("never_raises", *meteor(None, 0.5, 3.0), write_raised("writer-0", 1.0)).valid


def test_a_new_fault_kinds_errno_is_the_cause_an_error_message_must_name() -> None:
    vague = "DurabilityError: cannot save job 'j0': write failed"
    assert check("clear_errors", *meteor("writer-0", 0.5, 3.0), write_raised("writer-0", 1.0)).valid
    unclear = check(
        "clear_errors", *meteor("writer-0", 0.5, 3.0), write_raised("writer-0", 1.0, vague)
    )
    assert unclear.valid is False and "does not name the cause (ENOSPC)" in unclear.evidence[0]


def test_a_stopped_process_excuses_nothing() -> None:
    paused = meteor("writer-0", 0.5, 3.0, effect=STOPPED)
    assert check("never_raises", *paused, write_raised("writer-0", 1.0)).valid is False


def test_a_new_damaging_fault_kind_is_seen_by_the_read_model() -> None:
    marked = files_damaged("j0", ["main"], "garbage", "acid on j0")
    acid = op("nemesis", "acid", "j0", 1.0, 1.0, {"drops": 2}, marked)
    models = build_models(history(acid, read(2.0)))
    assert [(d.files, d.how) for d in models["j0"].damages] == [(frozenset({"main"}), "garbage")]


def legacy_events() -> list[Pair]:
    """Fault events as runs saved before the vocabulary recorded them."""
    return [
        op("nemesis", "diskfault", None, 0.5, 0.5, {"process": "writer-0", "error": "EIO"}),
        op("nemesis", "slowdisk", None, 0.6, 0.6, {"process": "writer-1", "fault": "delay 15 ms"}),
        op("nemesis", "diskfault-end", None, 3.0, 3.0, {"process": "writer-0"}),
        op("nemesis", "diskfull", None, 0.2, 0.2, {"size_kb": 512}),
        op("nemesis", "fill-disk", None, 1.0, 1.0),
        op("nemesis", "free-disk", None, 1.5, 1.5, {}),
        op("nemesis", "diskfull-end", None, 4.0, 4.0, {}),
        op("nemesis", "kill", None, 2.0, 2.0, {"process": "writer-2", "how": "SIGKILL"}),
        op(
            "nemesis",
            "damage",
            "j0",
            2.5,
            2.5,
            {"file": "main", "how": "delete"},
            {"file": "main", "how": "delete", "applied": ["main"]},
        ),
        read(5.0),
    ]


def described_events() -> list[Pair]:
    """The same faults as the nemesis records them now: the old fields and the vocabulary."""
    disk = window_opened("d#1", "calls_fail", process="writer-0", errno="EIO", label="diskfault")
    slow = window_opened("s#1", "calls_slow", process="writer-1", label="delay 15 ms")
    small = window_opened("diskfull", "calls_fail", errno="ENOSPC", label="small disk (512 KiB)")
    full = window_opened("f#1", "calls_fail", errno="ENOSPC", label="disk full")
    damaged = files_damaged("j0", ["main"], "delete", "damage j0: delete of main")
    return [
        op("nemesis", "diskfault", None, 0.5, 0.5, {"process": "writer-0", **disk}),
        op("nemesis", "slowdisk", None, 0.6, 0.6, {"process": "writer-1", **slow}),
        op("nemesis", "diskfault-end", None, 3.0, 3.0, window_closed("d#1")),
        op("nemesis", "diskfull", None, 0.2, 0.2, {"size_kb": 512, **small}),
        op("nemesis", "fill-disk", None, 1.0, 1.0, full),
        op("nemesis", "free-disk", None, 1.5, 1.5, window_closed("f#1")),
        op("nemesis", "diskfull-end", None, 4.0, 4.0, window_closed("diskfull")),
        op("nemesis", "kill", None, 2.0, 2.0, process_killed("writer-2", "SIGKILL")),
        op("nemesis", "damage", "j0", 2.5, 2.5, {"file": "main"}, damaged),
        read(5.0),
    ]


def shape(events: list[Pair]) -> tuple[object, object]:
    log = faults_of(history(*events))
    windows = sorted(
        (w.kind, w.effect, w.start, w.end, w.process, w.errno, w.calls_may_fail)
        for w in log.windows
    )
    marks = [(m.kind, m.effect, m.process, m.job, m.files, m.deleted) for m in log.marks]
    return windows, marks


def test_saved_runs_without_the_vocabulary_read_the_same_as_runs_with_it() -> None:
    legacy, described = shape(legacy_events()), shape(described_events())
    assert legacy == described
    windows, marks = legacy
    assert ("slowdisk", "calls_slow", 0.6, 5.01, "writer-1", None, True) in windows  # never closed
    assert ("diskfull", "calls_fail", 0.2, 4.0, None, "ENOSPC", True) in windows
    assert marks == [
        ("kill", "killed", "writer-2", None, (), False),
        ("damage", "damaged", None, "j0", ("main",), True),
    ]


@pytest.mark.parametrize("events", [legacy_events, described_events])
def test_the_timeline_draws_the_same_windows_and_marks_from_either(events: object) -> None:
    built = timeline.build_timeline([r for pair in events() for r in pair])  # type: ignore[operator]
    assert sorted((w.kind, w.start, w.end, w.process) for w in built.windows) == [
        ("diskfault", 0.5, 3.0, "writer-0"),
        ("diskfull", 0.2, 4.0, None),
        ("fill-disk", 1.0, 1.5, None),
        ("slowdisk", 0.6, 5.01, "writer-1"),
    ]
    assert [(m.kind, m.label) for m in built.markers] == [
        ("killed", "kill writer-2: SIGKILL"),
        ("damaged", "damage j0: delete of main"),
    ]


def test_the_timeline_shades_a_window_of_a_kind_it_does_not_list_by_its_effect() -> None:
    pause = window_opened("p#1", STOPPED, process="writer-0", label="SIGSTOP for 0.4 s")
    records = [
        *op("writer-0", "save", "j0", 0.1, 0.2),
        *op("nemesis", "pause", None, 0.3, 0.3, {"process": "writer-0", **pause}),
        *op("nemesis", "pause-end", None, 0.7, 0.7, window_closed("p#1")),
        *op("writer-0", "save", "j0", 0.75, 0.8),
    ]
    built = timeline.build_timeline(records)
    assert [(w.kind, w.effect, w.process) for w in built.windows] == [
        ("pause", STOPPED, "writer-0")
    ]
    svg = timeline.render_timeline("tl-pause", "pause", built)
    assert "process stopped (SIGSTOP) on writer-0: SIGSTOP for 0.4 s" in svg


def test_the_reader_imports_only_the_history_model() -> None:
    tree = ast.parse((HARNESS / "history" / "fault_windows.py").read_text())
    imported = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    } | {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert {name for name in imported if name.startswith("harness")} == {"harness.history.log"}


FAULT_EVENT_NAMES = {"diskfault", "slowdisk", "diskfull", "fill-disk", "free-disk", "kill"}
FAULT_EVENT_NAMES |= {"damage", "pause", "diskfault-end", "slowdisk-end", "diskfull-end"}


def event_names_compared(tree: ast.AST) -> set[str]:
    """String constants a module compares with, or asks a history for (``history.of("kill")``)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            parts = [node.left, *node.comparators]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            parts = list(node.args) if node.func.attr in ("of", "first") else []
        else:
            continue
        for part in parts:
            for leaf in ast.walk(part):
                if isinstance(leaf, ast.Constant) and isinstance(leaf.value, str):
                    found.add(leaf.value)
    return found


def test_the_event_name_finder_finds_a_comparison_and_a_lookup() -> None:
    source = 'if op.f in ("diskfault", "x"): pass\nhistory.of("kill")\nwords = ("damage",)'
    assert event_names_compared(ast.parse(source)) & FAULT_EVENT_NAMES == {"diskfault", "kill"}


@pytest.mark.parametrize(
    "path", ["checkers/never_raises.py", "checkers/clear_errors.py", "checkers/model.py"]
)
def test_the_checkers_read_faults_only_through_the_vocabulary(path: str) -> None:
    names = event_names_compared(ast.parse((HARNESS / path).read_text()))
    assert not names & FAULT_EVENT_NAMES, f"{path} reads fault events by name"


def test_the_vocabulary_example_holds() -> None:
    result = doctest.testmod(fault_windows)
    assert result.failed == 0 and result.attempted > 0
