"""The README's CI job, run as written: its jobharness steps, read from the README itself.

The job runs ``verify`` under sudo (some scenarios need root), then the A/B ``gate --against``
(pull requests), ``bench`` and the baseline ``gate`` as the normal user into the same
``reports/`` folder. The test runs those steps in a clone of this repository that stands for the
checkout (with ``origin/main``, as ``fetch-depth: 0`` gives), owned by an unprivileged user
(``nobody``), with the repository's baseline: the sudo step as root with ``SUDO_UID`` and
``SUDO_GID`` set as sudo sets them, the others as ``nobody`` where this machine lets ``nobody``
run the project's Python (else as root, which still runs every step but cannot show the
permissions; the test says so). The install step (apt-get, a venv, pip) is not run here:
tests/test_install.py installs the wheel.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOBODY = 65534

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the job's sudo step needs root")


def ci_steps() -> list[str]:
    """The ``- run:`` lines of the README's CI job that call jobharness, in order."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"A CI job.*?```yaml\n(.*?)```", text, re.S)
    assert block, "README.md: no CI job (```yaml block after 'A CI job')"
    steps = [line.split("- run:", 1)[1].strip() for line in block.group(1).splitlines()
             if "- run:" in line and "jobharness" in line]  # fmt: skip
    assert len(steps) >= 3, steps
    return steps


def nobody_can_run_python() -> bool:
    probe = ["runuser", "-u", "nobody", "--", sys.executable, "-c", "pass"]
    return shutil.which("runuser") is not None and subprocess.run(probe).returncode == 0


def test_the_readme_ci_job_runs_as_written(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(checkout)], check=True)
    (checkout / "reports").mkdir(exist_ok=True)
    shutil.copy2(ROOT / "reports" / "baseline.json", checkout / "reports" / "baseline.json")
    home = tmp_path / "home"  # git reads $HOME/.gitconfig; root's is not nobody's to read
    home.mkdir()
    for path in (home, checkout, *checkout.rglob("*")):
        os.lchown(path, NOBODY, NOBODY)  # the user's checkout
    as_nobody = nobody_can_run_python()
    bin_dir = Path(sys.executable).parent
    env = {k: v for k, v in os.environ.items() if k not in ("JOBHARNESS_TREND", "SUDO_UID")}
    # A checkout owned by another user than the one running git (root, where nobody cannot
    # run this Python) is "dubious" to git; the CI runner owns its checkout.
    env |= {"HOME": str(home), "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "safe.directory",
            "GIT_CONFIG_VALUE_0": "*"}  # fmt: skip
    results = []
    for step in ci_steps():
        words = shlex.split(step.replace(".venv/bin/", f"{bin_dir}/"))
        step_env = dict(env)
        if words[0] == "sudo":
            words = words[1:]
            step_env |= {"SUDO_UID": str(NOBODY), "SUDO_GID": str(NOBODY)}
        elif as_nobody:
            words = ["runuser", "-u", "nobody", "--", *words]
        done = subprocess.run(words, cwd=checkout, env=step_env, capture_output=True, text=True,
                              timeout=300, check=False)  # fmt: skip
        assert "Traceback" not in done.stderr, (step, done.stderr[-3000:])
        results.append((step, done))
        command = words[words.index(next(w for w in words if w.endswith("jobharness"))) + 1]
        if command == "verify":
            assert done.returncode == 0, (step, done.stdout[-3000:], done.stderr[-2000:])
            owners = {p.stat().st_uid for p in (checkout / "reports").rglob("*")}
            assert owners == {NOBODY}, "a sudo run's files must be handed back to the user"
        elif command == "bench":
            assert done.returncode == 0, (step, done.stdout[-3000:], done.stderr[-2000:])
        elif "--against" in words:
            # The A/B gate of a pull request: this branch against origin/main, measured now.
            assert done.returncode in (0, 1), (step, done.stdout[-3000:], done.stderr[-2000:])
            assert done.stdout.startswith("mode: A/B against origin/main ("), done.stdout
            assert re.search(r"^gate: (pass|FAIL)", done.stdout, re.M), done.stdout
    assert any("--against" in step for step, _ in results), "the pull-request step is gone"
    gate_step, gate = results[-1]
    assert "gate" in gate_step
    # On another machine than the baseline's, a figure may regress (exit 1): the gate decides.
    assert gate.returncode in (0, 1), gate.stdout + gate.stderr
    assert re.search(r"^gate: (pass|FAIL)", gate.stdout, re.M), gate.stdout
    assert "(-v lists them)" in gate.stdout  # the rows within limits are behind -v
    if not as_nobody:
        print("nobody cannot run this Python here: the user's steps ran as root")
