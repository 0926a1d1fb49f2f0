"""The A/B gate: its statistics on known inputs, its injected regressions, and the command.

The end-to-end tests run ``jobharness gate --against HEAD --quick`` in a throwaway git
repository holding a copy of ``durable_jobs``: unchanged code must pass, and the same run with
an extra fsync injected into the new side's saves must fail on ``save.hardened.1k``. Both rest
on the measured power table (docs/benchmarks.md, "The gate's power"): the extra fsync caught in
10 of 10 runs in every table at the 5 % minimum, quiet and busy disk; unchanged code failed 1 of
70 runs over the development commits (a damaged read, whose minimum is now 10 %), 0 of 10 at
the final code. ``--gate-power`` adds one run
of every injection with a busy disk (about a minute); the ten-run table is ``tools/gate-power``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_results import a_report

from harness.bench.inject import (
    ENV,
    INJECTIONS,
    TARGET_OP,
    inject_regression,
    requested_injection,
)
from harness.bench.rounds import TimedOperation, time_call
from harness.errors import ConfigError
from harness.gate import Results
from harness.gate.command import run_baseline_gate
from harness.gate.verdicts import judge
from harness.gate.worktree import resolve_base, temporary_worktree
from harness.results import CriterionResult
from harness.significance import (
    average_ranks,
    balanced_ratio,
    bootstrap_ratio_ci,
    median_ratio,
    wilcoxon_signed_rank,
)

ROOT = Path(__file__).resolve().parent.parent
JOBHARNESS = str(Path(sys.executable).parent / "jobharness")
GIT = ["git", "-c", "user.name=gate-test", "-c", "user.email=gate@test", "-c", "init.defaultBranch=main"]  # fmt: skip


# ------------------------------------------------------------------ statistics, known inputs


def test_average_ranks_share_the_mean_rank_of_a_tie() -> None:
    assert average_ranks([3.0, 1.0, 3.0, 2.0, 3.0]) == [4.0, 1.0, 4.0, 2.0, 4.0]


def test_signed_rank_p_value_matches_the_normal_approximation_by_hand() -> None:
    # Ten positive differences: W+ = 55, mean 27.5, variance 10*11*21/24 = 96.25; with the
    # continuity correction z = (55 - 27.5 - 0.5) / sqrt(96.25) = 2.7521, p = 0.002961.
    result = wilcoxon_signed_rank([float(i) for i in range(1, 11)])
    assert result.n == 10 and result.w_plus == 55
    assert math.isclose(result.p_greater, 0.002961, rel_tol=1e-3)
    assert result.p_less > 0.99


def test_signed_rank_ties_lower_the_variance_and_zeros_are_dropped() -> None:
    # |d| all equal: ranks all 3.5 (n=6), tie term (6^3-6)/48 = 4.375, variance 22.75 - 4.375.
    result = wilcoxon_signed_rank([0.0, 1.0, 1.0, 1.0, 1.0, -1.0, 1.0])
    assert result.n == 6 and result.w_plus == 17.5
    assert math.isclose(result.z, (17.5 - 10.5) / math.sqrt(22.75 - 4.375))
    symmetric = wilcoxon_signed_rank([1.0, -1.0] * 20)
    assert symmetric.p_greater > 0.4 and symmetric.p_less > 0.4


def test_the_bootstrap_interval_holds_the_ratio_and_repeats_with_its_seed() -> None:
    base = [1.0 + 0.1 * ((i * 7) % 11) for i in range(200)]
    new = [b * (1.25 + 0.05 * ((i * 3) % 5 - 2)) for i, b in enumerate(base)]
    assert math.isclose(median_ratio(base, new), 1.25)
    low, high = bootstrap_ratio_ci(base, new)
    assert 1.15 < low <= 1.25 <= high < 1.35
    assert bootstrap_ratio_ci(base, new) == (low, high)


def test_an_order_effect_cancels_in_the_balanced_ratio() -> None:
    # The second call of a round pays 1.4x (a damaged read after the other side's repair):
    # the plain median lands on one mode; balanced, only the true 1.2 remains.
    first = [i % 2 == 0 for i in range(101)]
    base = [1.0 if f else 1.4 for f in first]
    new = [1.2 * (1.4 if f else 1.0) for f in first]
    assert math.isclose(median_ratio(base, new), 1.2 * 1.4)
    assert math.isclose(balanced_ratio(base, new, first), 1.2)
    low, high = bootstrap_ratio_ci(base, new, first)
    assert math.isclose(low, 1.2) and math.isclose(high, 1.2)
    unchanged = [1.4 if f else 1.0 for f in first]  # the order effect alone: plain median 1.4
    same = judge("get_damaged.x.1k", base, unchanged, first)
    assert same.status == "same" and math.isclose(same.ratio or 0, 1.0)


def test_a_figure_fails_only_when_the_slowdown_is_significant_and_large() -> None:
    base = [1.0 + 0.02 * (i % 9) for i in range(200)]
    assert judge("f", base, [b * 1.30 for b in base]).status == "slower"
    small = judge("f", base, [b * 1.04 for b in base])  # real, but under the 10 % minimum
    assert small.status == "same" and "less than" in small.why
    noisy = [b * (4.0 if i % 2 else 0.3) for i, b in enumerate(base)]  # big swings both ways
    assert judge("f", base, noisy).status == "same"
    assert judge("f", base, [b * 0.7 for b in base]).status == "faster"
    assert judge("f", base[:5], base[:5]).status == "not compared"
    assert judge("f", base, [b * 1.30 for b in base], min_effect=0.5).status == "same"


# ------------------------------------------------------------------ injected regressions


def _op(op: str, call, store: str | None = "hardened") -> TimedOperation:  # type: ignore[no-untyped-def]
    return TimedOperation(f"{op}.x.1k", op, store, "1k", None, call)


def test_an_unknown_injection_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "save-twice")
    with pytest.raises(ConfigError, match="save-extra-fsync"):
        requested_injection()
    monkeypatch.setenv(ENV, "none")
    assert requested_injection() is None


def test_plus_20pct_slows_the_save_alone_and_never_a_floor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "save-plus-20pct")
    save = _op("save", lambda: time.sleep(0.005))
    get = _op("get", lambda: None)
    floor = _op("save", lambda: None, store=None)
    wrapped = inject_regression([save, get, floor], {"hardened": None})  # type: ignore[dict-item]
    assert wrapped[1] is get and wrapped[2] is floor
    assert time_call(wrapped[0]) >= 0.005 * 1.2


def test_damaged_retry_sleeps_before_the_damaged_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "damaged-retry-50ms")
    calls: list[str] = []
    [wrapped] = inject_regression([_op("get_damaged", lambda: calls.append("read"))], {"hardened": None})  # type: ignore[dict-item]  # fmt: skip
    assert time_call(wrapped) >= 0.05 and calls == ["read"]


# ------------------------------------------------------------------ the command


def _jobharness(*words: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != ENV} | env
    return subprocess.run([JOBHARNESS, *words], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=240, check=False)  # fmt: skip


def _git(repo: Path, *words: str) -> str:
    done = subprocess.run([*GIT, "-C", str(repo), *words], capture_output=True, text=True, check=True)  # fmt: skip
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository whose one commit holds a copy of this checkout's durable_jobs."""
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "README").write_text("a project\n")
    _git(repo, "add", "README")
    _git(repo, "commit", "-qm", "no store yet")
    shutil.copytree(ROOT / "durable_jobs", repo / "durable_jobs",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    _git(repo, "add", "durable_jobs")
    _git(repo, "commit", "-qm", "the store")
    return repo


def _left_behind(repo: Path) -> list[str]:
    worktrees = _git(repo, "worktree", "list").splitlines()
    leftovers = [p.name for p in repo.iterdir() if p.name.startswith(".jobharness-gate-")]
    return worktrees[1:] + leftovers


def test_unchanged_code_passes_and_an_extra_fsync_fails(repo: Path) -> None:
    same = _jobharness("gate", "--against", "HEAD", "--quick", cwd=repo)
    assert same.returncode == 0, same.stdout + same.stderr
    assert same.stdout.startswith("mode: A/B against HEAD (")
    assert str(repo / "durable_jobs") in same.stdout  # the new side measured this tree's store
    assert "gate: pass: 4 figure(s) compared" in same.stdout
    slower = _jobharness("gate", "--against", "HEAD", "--quick", cwd=repo, **{ENV: "save-extra-fsync"})  # fmt: skip
    assert slower.returncode == 1, slower.stdout + slower.stderr
    failing = [line.split()[1] for line in slower.stdout.splitlines() if line.startswith("FAIL")]
    assert failing == ["save.hardened.1k"], slower.stdout
    assert _left_behind(repo) == []


def test_criteria_given_beside_are_judged_against_the_committed_baseline(
    repo: Path, tmp_path: Path
) -> None:
    baseline = ROOT / "reports" / "baseline.json"
    criteria = json.loads(baseline.read_text())["criteria"]["hardened"]
    failing = [CriterionResult(cid, cid, "fail" if cid == "C6" else status, "")
               for cid, status in criteria.items()]  # fmt: skip
    report = dataclasses.replace(a_report(), store="hardened", criteria=tuple(failing))
    (tmp_path / "verify").mkdir()
    (tmp_path / "verify" / "report.json").write_text(json.dumps(report.as_dict()))
    words = ["gate", "--against", "HEAD", "--quick", "--baseline", str(baseline)]
    done = _jobharness(*words, str(tmp_path / "verify"), cwd=repo)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"criteria: committed baseline {baseline}" in done.stdout
    assert re.search(r"^FAIL\s+hardened C6\s", done.stdout, re.M), done.stdout
    assert "1 criterion regression(s)" in done.stdout


FLAKY_STORE = """
from durable_jobs import open_store


class Store:
    def __init__(self, root):
        self.inner = open_store(f"file://{root}")

    def save_job(self, job_id, job):
        return self.inner.save_job(job_id, job)

    def update_job(self, job_id, changes, **options):
        return self.inner.update_job(job_id, changes, **options)

    def get_job(self, job_id):
        raise OSError("the disk is on fire")


def make_store(root):
    return Store(root)
"""


def test_a_figure_that_raises_is_a_warning_and_strict_fails_it(repo: Path) -> None:
    (repo / "flaky_store.py").write_text(FLAKY_STORE)
    _git(repo, "add", "flaky_store.py")
    _git(repo, "commit", "-qm", "a store whose reads fail")
    words = ["gate", "--against", "HEAD", "--quick", "--store", "flaky_store.py:make_store"]
    done = _jobharness(*words, cwd=repo)
    assert done.returncode == 0, done.stdout + done.stderr
    warning = "gate: warning: get.flaky_store.1k not compared: it raised on the"
    assert warning in done.stdout and "OSError: the disk is on fire" in done.stdout
    assert "save.flaky_store.1k" in done.stdout  # the other figures were compared
    strict = _jobharness(*words, "--strict", cwd=repo)
    assert strict.returncode == 1 and "1 figure(s) not compared (--strict)" in strict.stdout
    assert _left_behind(repo) == []


@contextlib.contextmanager
def _busy_disk(folder: Path) -> Iterator[None]:
    """A concurrent writer on the same filesystem: 256 KB written and fsynced in a loop."""
    script = (
        "import os, sys\nblock = os.urandom(256 * 1024)\nwhile True:\n"
        "    with open(sys.argv[1], 'wb') as f:\n"
        "        f.write(block); f.flush(); os.fsync(f.fileno())\n"
    )
    writer = subprocess.Popen([sys.executable, "-c", script, str(folder / "busy.bin")])
    try:
        yield
    finally:
        writer.kill()
        writer.wait()


@pytest.mark.gate_power
@pytest.mark.parametrize("injection", [*INJECTIONS, "none"])
def test_the_short_power_table_on_a_busy_disk(repo: Path, injection: str) -> None:
    """One row of the power table each (docs/benchmarks.md has ten runs per cell): every
    injection caught on its own figure, nothing on unchanged code, with a writer beside."""
    with _busy_disk(repo.parent):
        done = _jobharness("gate", "--against", "HEAD", "--quick", cwd=repo, **{ENV: injection})
    failing = [line.split()[1] for line in done.stdout.splitlines() if line.startswith("FAIL")]
    if injection == "none":
        assert done.returncode == 0 and failing == [], done.stdout + done.stderr
    else:
        assert done.returncode == 1, done.stdout + done.stderr
        assert f"{TARGET_OP[injection]}.hardened.1k" in failing, done.stdout


@pytest.mark.parametrize(
    ("words", "env", "message"),
    [
        (["--against", "no-such-branch"], {}, "no such commit, branch or tag"),
        (["--against", "HEAD~1"], {}, "has no durable_jobs/ folder"),
        (["--against", "HEAD"], {ENV: "save-twice"}, "is not an injection"),
        (["--against", "HEAD", "--min-effect", "-1"], {}, "--min-effect -1.0"),
        (["--against"], {}, "no main branch"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    repo: Path, words: list[str], env: dict[str, str], message: str
) -> None:
    if words == ["--against"]:
        _git(repo, "branch", "-m", "main", "trunk")
    done = _jobharness("gate", *words, "--quick", cwd=repo, **env)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr
    assert _left_behind(repo) == []


def test_outside_git_the_message_points_at_the_baseline_mode(tmp_path: Path) -> None:
    done = _jobharness("gate", "--against", "main", cwd=tmp_path)
    assert done.returncode == 2 and "--baseline" in done.stderr, done.stderr


def test_bench_refuses_an_unknown_injection(tmp_path: Path) -> None:
    done = _jobharness("bench", "--quick", "--out", str(tmp_path / "b"), cwd=tmp_path, **{ENV: "x"})
    assert done.returncode == 2 and "is not an injection" in done.stderr


def test_the_default_base_is_the_merge_base_with_main(repo: Path) -> None:
    start = _git(repo, "rev-parse", "HEAD")
    _git(repo, "switch", "-qc", "feature")
    (repo / "README").write_text("changed\n")
    _git(repo, "commit", "-qam", "a change")
    base = resolve_base(repo, None)
    assert base.sha == start and "main" in base.label


def test_the_worktree_is_removed_when_the_block_raises(repo: Path) -> None:
    base = resolve_base(repo, "HEAD")
    with pytest.raises(RuntimeError), temporary_worktree(repo, base) as tree:
        assert (tree / "durable_jobs").is_dir()
        raise RuntimeError("interrupted")
    assert not tree.exists() and _left_behind(repo) == []


# ------------------------------------------------------------------ the baseline mode


def test_baseline_mode_names_itself_and_strict_fails_what_it_could_not_compare(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps({
        "format": 2, "floors": {"floor_write.1k": 466.0, "floor_read.1k": 24.0},
        "figures": {"save.hardened.1k": {"ratio": 1.1}, "get.hardened.1k": {"ratio": 0.7}},
    }))  # fmt: skip
    busy = Results({}, {"save.hardened.1k": 1.0, "get.hardened.1k": 0.7}, [],
                   {"floor_write.1k": 1400.0, "floor_read.1k": 24.0})  # fmt: skip
    args = argparse.Namespace(baseline=baseline, threshold=None, verbose=False, strict=False)
    assert run_baseline_gate(args, busy) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"mode: committed baseline {baseline}")
    assert "warning: 1 figure(s) not compared" in out
    args.strict = True
    assert run_baseline_gate(args, busy) == 1
    assert "1 figure(s) not compared" in capsys.readouterr().out
