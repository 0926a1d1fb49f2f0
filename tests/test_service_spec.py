"""The service spec, the API profile and the job files they point at: parsed, checked, round-tripped."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ConfigError, ScenarioError
from harness.service.job_files import JobFiles
from harness.service.profile import DEFAULT_PROFILE, ApiProfile, load_profile, profile_from_table
from harness.service.spec import builtin_service, parse_service

NODE_PROFILE = Path(__file__).resolve().parent / "services" / "node" / "profile.toml"


def test_a_command_is_split_as_a_shell_would_and_filled_per_instance() -> None:
    spec = parse_service(
        "node 'my server.js' --port {port} --data {data}/{instance} --table t_{run}"
    )
    argv = spec.argv(port=8001, data=Path("/d"), instance=1, run="ab")
    assert argv == ["node", "my server.js", "--port", "8001", "--data", "/d/1", "--table", "t_ab"]
    assert spec.profile == DEFAULT_PROFILE and spec.builtin is None


@pytest.mark.parametrize("store", ["file", "sqlite", "postgres"])
def test_the_builtin_service_runs_on_each_store_with_a_short_lease(store: str) -> None:
    spec = parse_service("builtin", store=store)
    assert spec == builtin_service(store) == parse_service(f"builtin:{store}")
    assert spec.env["DURABLE_JOBS_LEASE_SECONDS"] == "2"
    store_url = spec.argv(port=1, data=Path("/d"), instance=0, run="c0ffee")[8]
    expected = {"file": "file:/d/jobs", "sqlite": "sqlite:////d/jobs.db"}.get(store)
    assert store_url == expected if expected else store_url.endswith("table=jobs_c0ffee")
    assert bool(spec.profile.job_files) == (store == "file")  # only files can be damaged


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty command"),
        ("node 'unbalanced --port {port}", "quote the command"),
        ("node s.js", "no {port}"),
        ("node s.js --port {port} {dta}", "unknown field {dta}"),
        ("builtin:mysql", "runs on file, sqlite, postgres"),
    ],
)
def test_a_bad_service_says_what_to_fix(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("{", r"\{").replace("}", r"\}")):
        parse_service(text)


def test_the_node_profile_maps_its_words_and_survives_json() -> None:
    profile = load_profile(NODE_PROFILE)
    assert profile.canonical("finished") == "done" and profile.canonical("done") is None
    assert profile.status_url("http://h", "a/b") == "http://h/api/jobs/a%2Fb"
    assert (profile.accepted_codes, profile.max_instances) == ((201,), 1)
    assert ApiProfile.from_dict(profile.as_dict()) == profile


@pytest.mark.parametrize(
    ("table", "key", "expected"),
    [
        ({"paths": {"status": "/jobs"}}, "paths.status", "a path with {id}"),
        ({"paths": {"submit": "jobs"}}, "paths.submit", "a path that starts with /"),
        ({"paths": {"colour": "/x"}}, "paths.colour", "expected one of the known keys"),
        ({"statuses": {"ok": "fine"}}, "statuses.ok", "one of queued, running"),
        ({"answers": {"outage": [404]}}, "answers.outage", "from 500 to 599"),
        ({"files": {"main": "/abs/{id}"}}, "files.main", "under the data folder"),
        ({"files": {"extra": "x/{id}"}}, "files.extra", "one of main, backup"),
        ({"tables": {}}, "tables", "one of the profile's keys"),
    ],
)
def test_a_bad_profile_names_the_key(table: dict, key: str, expected: str) -> None:
    with pytest.raises(ScenarioError) as raised:
        profile_from_table(table, "api.toml")
    assert f"api.toml: {key}: " in str(raised.value) and expected in str(raised.value)


def test_job_files_are_the_existing_files_of_accepted_jobs(tmp_path: Path) -> None:
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "j1.json").write_text("{}")
    files = JobFiles(
        tmp_path, {"main": "jobs/{id}.json", "backup": "jobs/{id}.json.bak"}, lambda: ["j1", "j2"]
    )
    assert bool(files) and sorted(files) == ["j1", "j2"]
    assert files["j1"] == {"main": str(tmp_path / "jobs" / "j1.json")} and files["j2"] == {}
    assert not JobFiles(tmp_path, {}, lambda: ["j1"])  # no patterns: nothing to damage
