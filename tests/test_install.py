"""From a built wheel, in a fresh venv and an empty folder: what a new user does first.

The wheel is built from a copy of the sources (so nothing is written into the checkout), and
installed with no dependencies into a venv of its own; the dependencies (FastAPI, psycopg,
pytest...) come from the project's venv through a ``.pth`` line, so the test needs no network.
That line adds only the folder: the project's own editable install, whose hook lives in a
``.pth`` file of that folder, is not picked up, and the test checks that ``harness`` is
imported from the wheel. Then, from an empty folder:

* ``jobharness verify --quick`` passes the built-in store, its suite read from the wheel;
* ``pytest --jobharness-store`` turns a broken store's failures into failed items whose
  message names the criterion, the evidence, the fix and the replay command.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md")
PACKAGES = ("durable_jobs", "harness", "scenarios")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel built from the sources installed in it; its bin folder."""
    base = tmp_path_factory.mktemp("install")
    source = base / "source"
    source.mkdir()
    for name in SOURCES:
        shutil.copy2(ROOT / name, source / name)
    for name in PACKAGES:
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    built = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                 "-w", str(base / "dist"), str(source)], cwd=base, timeout=300)  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    wheels = list((base / "dist").glob("durable_jobs-*.whl"))
    assert len(wheels) == 1, wheels
    venv = base / "venv"
    made = run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=base)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", str(python)]
    done = run([*pip, "install", "--no-deps", "--no-index", str(wheels[0])], cwd=base, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    site = run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], base)
    (Path(site.stdout.strip()) / "project-dependencies.pth").write_text(
        sysconfig.get_path("purelib") + "\n"
    )
    return venv / "bin"


def run(command: list[str], cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    # As on a user's machine: no suite folder and no trend log named by the test session.
    env = {
        k: v for k, v in os.environ.items() if k not in ("JOBHARNESS_SCENARIOS", "JOBHARNESS_TREND")
    }
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


def test_the_wheel_carries_the_suite_and_the_harness_comes_from_it(
    installed: Path, tmp_path: Path
) -> None:
    where = run(
        [str(installed / "python"), "-c", "import harness; print(harness.__file__)"], tmp_path
    )
    assert str(installed.parent) in where.stdout, where.stdout + where.stderr
    shipped = installed.parent.glob("lib/python*/site-packages/harness/_scenarios")
    folder = next(shipped)
    assert {p.name for p in folder.glob("*.toml")} == {
        p.name for p in (ROOT / "scenarios").glob("*.toml")
    }
    assert any((folder / "service").glob("*.toml"))
    version = run([str(installed / "jobharness"), "--version"], tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("jobharness 0."), version


def test_verify_quick_passes_from_an_empty_folder(installed: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run(
        [str(installed / "jobharness"), "verify", "--quick", "--out", "run", "--seed", "5"],
        cwd=empty,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "verdict: PASS" in result.stdout
    # The run wrote under its --out and the trend log beside it: nothing else in the folder.
    assert sorted(p.name for p in empty.iterdir()) == ["run", "trend.jsonl"]


def test_pytest_with_the_plugin_fails_a_broken_store_by_criterion(
    installed: Path, tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run(
        [str(installed / "python"), "-m", "pytest", "-p", "no:cacheprovider",
         "--jobharness-store", "phase470", "--jobharness-quick", "--jobharness-seed", "3",
         "--jobharness-only", "damage-job-file", "--jobharness-out", str(tmp_path / "run")],
        cwd=empty,
        timeout=240,
    )  # fmt: skip
    printed = result.stdout
    assert result.returncode == 1, printed[-3000:] + result.stderr[-3000:]
    assert "FAILED jobharness::C7" in printed
    assert "C7 Backup recovery works on corruption: FAIL" in printed
    assert "first: damage-job-file: op #" in printed  # the evidence, by operation
    assert "fix: a damaged job file was not recovered -> keep a backup" in printed
    assert (
        "replay: jobharness verify --store phase470 --seed 3 --quick --only damage-job-file"
        in printed
    )
    assert "SKIPPED" in printed or "skipped" in printed  # n/a criteria: skipped with the reason
    assert not (empty / "reports").exists()
