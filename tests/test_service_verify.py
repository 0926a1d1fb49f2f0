"""``jobharness verify --service``: real services verified over HTTP, and broken ones caught.

Every run here is the real thing: the service's instances are real processes on 127.0.0.1 (the
built-in FastAPI service under uvicorn, the Node.js fixture under node), killed with real
signals, their job files damaged on disk, judged from the HTTP answers alone. Each broken
service must fail with the criterion that names its defect, and the correct ones must pass: a
gate that cries wolf is switched off.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "tests" / "services" / "scenarios"
NODE = ROOT / "tests" / "services" / "node"
BROKEN = ROOT / "tests" / "broken_services"
BUILTIN_ARGS = (  # the built-in service by hand, with a job taking long enough to be hit
    "--port {port} --store file:{data}/jobs --results {data}/results --row-delay 0.002 "
    "--log-level warning"
)
needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


def run(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    out = tmp_path / "out"
    code = main([*args, "--out", str(out), "--seed", "11"])
    return code, json.loads((out / "report.json").read_text())


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {c["id"]: c["status"] for c in report["criteria"]}


def broken(script: str) -> str:
    return f"{sys.executable} {BROKEN / script} {BUILTIN_ARGS}"


def node(*extra: str) -> str:
    return " ".join(["node", str(NODE / "server.js"), "--port {port} --data {data}", *extra])


def test_the_builtin_service_passes_the_quick_suite(tmp_path: Path) -> None:
    code, report = run(tmp_path, "verify", "--service", "builtin", "--quick")
    assert (code, report["verdict"]) == (0, "pass"), report["reason"]
    judged = statuses(report)
    for criterion in ("C1", "C2", "C3", "C4", "C5", "C6", "C7"):
        assert judged[criterion] == "pass", (criterion, report["reason"])
    assert report["store"] == "builtin:file"


def test_the_builtin_service_on_sqlite_with_two_instances_passes(tmp_path: Path) -> None:
    code, report = run(
        tmp_path,
        "run",
        str(SCENARIOS / "two-instances.toml"),
        "--service",
        "builtin",
        "--store",
        "sqlite",
    )
    assert (code, report["verdict"]) == (0, "pass"), report["reason"]


def test_two_simulated_hosts_on_postgresql_pass(tmp_path: Path, postgres_url: str) -> None:
    # postgres_url: a skip (a failure in CI) when no server is reachable
    scenario = ROOT / "scenarios" / "service" / "hosts-kill.toml"
    code, report = run(
        tmp_path, "run", str(scenario), "--service", "builtin", "--store", "postgres"
    )
    assert (code, report["verdict"]) == (0, "pass"), report["reason"]
    leases = next(c for c in report["scenarios"][0]["checks"] if c["name"] == "http_leases")
    assert leases["valid"] is True and leases["counts"]["instances"] == 2


@pytest.mark.parametrize("scenario", ["damage", "kill"])
@needs_node
def test_the_node_service_passes(tmp_path: Path, scenario: str) -> None:
    code, report = run(
        tmp_path,
        "run",
        str(SCENARIOS / f"{scenario}.toml"),
        "--service",
        node(),
        "--profile",
        str(NODE / "profile.toml"),
    )
    assert (code, report["verdict"]) == (0, "pass"), report["reason"]


@needs_node
def test_the_broken_node_service_fails_c2_on_damage(tmp_path: Path) -> None:
    code, report = run(
        tmp_path,
        "run",
        str(SCENARIOS / "damage.toml"),
        "--service",
        node("--broken"),
        "--profile",
        str(NODE / "profile.toml"),
    )
    assert code == 1
    assert statuses(report)["C2"] == "fail"
    assert statuses(report)["C7"] == "fail"


def test_a_service_answering_500_on_a_damaged_job_fails_c2(tmp_path: Path) -> None:
    code, report = run(
        tmp_path,
        "run",
        str(SCENARIOS / "damage.toml"),
        "--service",
        broken("answers_500_on_damage.py"),
        "--profile",
        str(BROKEN / "builtin-file-profile.toml"),
    )
    assert code == 1
    assert statuses(report)["C2"] == "fail", report["reason"]
    assert "500" in " ".join(report["criteria"][1]["evidence"])


def test_a_service_leaving_jobs_running_after_a_kill_fails_c1_and_c3(tmp_path: Path) -> None:
    code, report = run(
        tmp_path,
        "run",
        str(SCENARIOS / "kill.toml"),
        "--service",
        broken("leaves_running_after_kill.py"),
    )
    assert code == 1
    assert (statuses(report)["C1"], statuses(report)["C3"]) == ("fail", "fail"), report["reason"]


def test_a_recovery_that_fails_live_jobs_fails_c3(tmp_path: Path) -> None:
    code, report = run(
        tmp_path,
        "run",
        str(SCENARIOS / "two-instances.toml"),
        "--service",
        broken("recovery_fails_live_jobs.py"),
    )
    assert code == 1
    assert statuses(report)["C3"] == "fail", report["reason"]
    leases = next(c for c in report["scenarios"][0]["checks"] if c["name"] == "http_leases")
    assert leases["counts"]["failed_live"] >= 1


def test_a_service_that_does_not_start_is_unknown_not_pass(tmp_path: Path) -> None:
    command = f"{sys.executable} -c 'import sys; sys.exit(3)' {{port}}"
    code, report = run(tmp_path, "verify", "--service", command, "--quick")
    assert (code, report["verdict"]) == (2, "unknown")
    assert "exited with exit code 3" in report["reason"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--service", "node server.js"], "no {port} in the command"),
        (["--service", "node s.js --port {port} {colour}"], "unknown field {colour}"),
        (
            ["--service", "node s.js --port {port}", "--store", "sqlite"],
            "--store with --service applies",
        ),
        (["--service", "builtin", "--store", "hardened"], "runs on file, sqlite, postgres"),
        (
            ["--service", "builtin", "--profile", "/nonexistent.toml"],
            "/nonexistent.toml: no such file",
        ),
    ],
)
def test_a_bad_service_option_is_one_line_and_exit_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_bad_profile_names_the_file_and_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = tmp_path / "api.toml"
    profile.write_text('[statuses]\nfinished = "ok"\n')
    assert main(["verify", "--service", "builtin", "--profile", str(profile)]) == 2
    err = capsys.readouterr().err
    assert (
        f"{profile}: statuses.finished: expected one of queued, running, done, error, unknown"
        in err
    )


def test_a_service_scenario_without_service_says_how_to_run_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["run", str(SCENARIOS / "kill.toml")]) == 2
    assert "run it against a running service with --service" in capsys.readouterr().err


def test_power_loss_through_the_api_passes_the_builtin_service(tmp_path: Path) -> None:
    code, report = run(
        tmp_path, "run", str(ROOT / "scenarios/service/power-loss.toml"), "--service", "builtin"
    )
    assert (code, report["verdict"]) == (0, "pass"), report["reason"]
    result = report["scenarios"][0]["checks"][0]
    assert result["counts"]["states"] >= 5 and result["counts"]["states_after_ack"] >= 1


def test_a_service_that_never_fsyncs_loses_an_acknowledged_job_to_a_power_cut(
    tmp_path: Path,
) -> None:
    code, report = run(
        tmp_path,
        "run",
        str(ROOT / "scenarios/service/power-loss.toml"),
        "--service",
        broken("no_fsync.py"),
        "--profile",
        str(BROKEN / "builtin-file-profile.toml"),
    )
    assert code == 1
    assert statuses(report)["C6"] == "fail", report["reason"]
