"""StoreHandle: what each built-in store can do, its logging kept quiet, and a ``paths_for`` that
raises reported where it raised, never replaced by a guessed path.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from harness.client.process import ProcessConfig, run_setup
from harness.errors import HarnessError
from harness.history.log import HistoryLog
from harness.nemesis.powerloss.state_checks import check_state
from harness.store.handle import StoreHandle
from harness.store.spec import StorePathsError, parse_store_spec

BROKEN = Path(__file__).resolve().parent / "broken_stores"
RAISES_IN_PATHS_FOR = f"{BROKEN / 'raises_in_paths_for'}.py:make_store"
EXPECTED_ERROR = (
    "AttributeError: 'RaisesInPathsFor' object has no attribute 'folder' (paths_for('j0'))"
)

# What each built-in store offers besides save_job and get_job, and where it keeps its data.
BUILTIN = {
    "hardened": (
        {"update_job", "recover", "paths_for", "list_jobs", "owned_paths", "close"},
        "file",
    ),
    "sqlite": (
        {"update_job", "recover", "list_jobs", "owned_paths", "latency_floor", "close"},
        "file",
    ),
    "postgres": ({"update_job", "recover", "list_jobs", "latency_floor", "close"}, "postgresql"),
    "phase470": ({"update_job", "paths_for", "list_jobs"}, "file"),
    "naive": ({"update_job", "paths_for", "list_jobs"}, "file"),
}


@pytest.mark.parametrize("name", BUILTIN)
def test_each_builtin_store_says_what_it_can_do_and_where_its_data_lives(
    name: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if name == "postgres":
        request.getfixturevalue("postgres_url")  # a skip (or a failure in CI) without a server
    offered, medium = BUILTIN[name]
    handle = StoreHandle.open(name, tmp_path / name)
    try:
        assert {method for method, has in handle.capabilities.items() if has} == offered
        assert set(handle.capabilities) >= {
            "update_job",
            "recover",
            "paths_for",
            "owned_paths",
            "latency_floor",
            "close",
        }
        assert all(handle.has(method) for method in offered)
        assert handle.medium == medium
        if "paths_for" in offered:
            assert handle.paths_for("j0")["main"] == handle.store.paths_for("j0")["main"]
        if "recover" in offered:
            handle.recover()
    finally:
        handle.discard()


def test_a_store_without_paths_for_keeps_the_incidents_layout_where_its_files_exist(
    tmp_path: Path,
) -> None:
    handle = StoreHandle(_NoPathsFor(tmp_path), parse_store_spec("hardened"), tmp_path)
    assert handle.paths_for("j0") == {
        "main": tmp_path / "j0.json",
        "backup": tmp_path / "j0.json.bak",
    }
    assert handle.job_file("j0") is None  # the default is used only where its files are
    (tmp_path / "j0.json").write_text("{}")
    assert handle.job_file("j0") == tmp_path / "j0.json"
    assert handle.files_report(["j0"])["layout"] == {
        "j0": {"main": "j0.json", "backup": "j0.json.bak"}
    }
    with pytest.raises(HarnessError, match="has no recover"):
        handle.recover()
    handle.close()  # nothing to close: no error


def test_a_paths_for_that_raises_names_the_cause_and_the_call(tmp_path: Path) -> None:
    handle = StoreHandle.open(RAISES_IN_PATHS_FOR, tmp_path)
    handle.store.save_job("j0", {"status": "done"})  # its files are where a guess would look
    assert (tmp_path / "j0.json").exists()
    with pytest.raises(StorePathsError) as raised:
        handle.paths_for("j0")
    assert str(raised.value) == EXPECTED_ERROR
    with pytest.raises(StorePathsError):
        handle.job_file("j0")  # the timer's damaged reads ask this: no guess either
    report = handle.files_report(["j0"])
    assert report["layout"] == {} and report["paths_error"] == EXPECTED_ERROR


@pytest.mark.parametrize(
    ("answer", "said"),
    [(None, "returned NoneType, not a mapping of paths"), ({"main": 3}, "TypeError")],
)
def test_a_paths_for_that_answers_no_paths_is_refused(
    answer: object, said: str, tmp_path: Path
) -> None:
    class Answers(_NoPathsFor):
        def paths_for(self, job_id: str) -> object:
            return answer

    handle = StoreHandle(Answers(tmp_path), parse_store_spec("hardened"), tmp_path)
    with pytest.raises(StorePathsError, match=rf"{said}.*\(paths_for\('j1'\)\)"):
        handle.paths_for("j1")


def test_the_setup_report_records_the_error_and_no_guessed_paths(tmp_path: Path) -> None:
    root = tmp_path / "store"
    report = _setup_report(RAISES_IN_PATHS_FOR, root, tmp_path)
    assert (root / "j0.json").exists()  # the incident's layout would have found it
    assert report["paths_error"] == EXPECTED_ERROR
    assert report["paths"] == {} and report["layout"] == {}
    assert report["capabilities"]["paths_for"] is True


def test_the_setup_report_of_a_correct_store_has_its_paths_and_no_error(tmp_path: Path) -> None:
    root = tmp_path / "store"
    report = _setup_report(f"{BROKEN / 'base'}.py:make_store", root, tmp_path)
    assert "paths_error" not in report
    assert report["paths"]["j0"] == {
        "main": str(root.absolute() / "j0.json"),
        "backup": str(root.absolute() / "j0.json.bak"),
    }
    assert report["layout"]["j1"] == {"main": "j1.json", "backup": "j1.json.bak"}
    assert report["medium"] == "file" and report["owned"] == [".locks/"]


def test_power_loss_damages_no_file_a_raising_paths_for_did_not_name(tmp_path: Path) -> None:
    handle = StoreHandle.open(RAISES_IN_PATHS_FOR, tmp_path)
    handle.store.save_job("j0", {"status": "done", "v": 1})
    handle.store.save_job("j0", {"status": "done", "v": 2})
    handle.close()
    before = {path.name: path.read_bytes() for path in tmp_path.glob("j0.json*")}
    result = check_state(parse_store_spec(RAISES_IN_PATHS_FOR), tmp_path, "j0", [], ["j0.json"])
    assert result["backup"] is None  # not judged, rather than judged on a guessed file
    assert result["read"]["kind"] == "job"
    assert {path.name: path.read_bytes() for path in tmp_path.glob("j0.json*")} == before


def test_power_loss_damages_the_file_a_working_paths_for_names(tmp_path: Path) -> None:
    spec = f"{BROKEN / 'base'}.py:make_store"
    handle = StoreHandle.open(spec, tmp_path)
    handle.store.save_job("j0", {"status": "done", "v": 1})
    handle.store.save_job("j0", {"status": "done", "v": 2})
    handle.close()
    result = check_state(parse_store_spec(spec), tmp_path, "j0", [], ["j0.json", "j0.json.bak"])
    assert result["backup"]["kind"] == "job"  # the backup answered for the damaged file
    assert (tmp_path / "j0.json").read_bytes().startswith(b"####")


LOUD_STORE = """
import logging
class Loud:
    def __init__(self, root):
        logging.getLogger("loud").warning("LOUD: opened")
    def save_job(self, job_id, job):
        logging.getLogger("loud").warning("LOUD: saved")
    def get_job(self, job_id):
        return None
def make(root):
    return Loud(root)
"""


@pytest.mark.parametrize("quiet", [True, False])
def test_opening_a_store_keeps_its_logging_off_stderr(quiet: bool, tmp_path: Path) -> None:
    (tmp_path / "loud.py").write_text(LOUD_STORE)
    spec = f"{tmp_path / 'loud.py'}:make"
    # In a fresh interpreter, since quieting changes the process's logging for good.
    opening = (
        f"StoreHandle.open({spec!r}, {str(tmp_path)!r}).store"
        if quiet
        else f"parse_store_spec({spec!r}).open(Path({str(tmp_path)!r}))"  # the bare factory
    )
    program = textwrap.dedent(
        f"""
        import logging
        from pathlib import Path
        from harness.store.spec import parse_store_spec
        from harness.store.handle import StoreHandle
        store = {opening}
        store.save_job("j0", {{}})
        StoreHandle.open({spec!r}, {str(tmp_path)!r})  # a second opening adds no second handler
        nulls = [h for h in logging.getLogger().handlers if isinstance(h, logging.NullHandler)]
        print(len(nulls))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    assert ("LOUD" in done.stderr) is not quiet
    assert done.stdout.strip() == "1"


class _NoPathsFor:
    """A store with the two required methods only."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def save_job(self, job_id: str, job: dict[str, Any]) -> None:
        (self.root / f"{job_id}.json").write_text(json.dumps(job))

    def get_job(self, job_id: str) -> dict[str, Any] | None:
        return None


def _setup_report(spec: str, root: Path, tmp_path: Path) -> dict[str, Any]:
    """Run the client's setup role in this process, as the runner's setup process would."""
    root.mkdir(parents=True, exist_ok=True)
    config = ProcessConfig(
        name="setup",
        role="setup",
        index=0,
        spec=spec,
        root=str(root),
        history_path=str(tmp_path / "setup.jsonl"),
        epoch=0.0,
        seed=1,
        jobs=("j0", "j1"),
        all_jobs=("j0", "j1"),
        payload_bytes=100,
        setup_report=str(tmp_path / "setup.json"),
    )
    log = HistoryLog(config.history_path, config.name, config.epoch)
    handle = StoreHandle(parse_store_spec(spec).open(root), parse_store_spec(spec), root)
    try:
        run_setup(handle, config, log, random.Random(1))
    finally:
        handle.close_quietly()
        log.close()
    report: dict[str, Any] = json.loads(Path(config.setup_report).read_text())
    return report


def test_the_examples_of_the_store_handle_and_the_specs_hold() -> None:
    # In a fresh interpreter: the handle's example opens a store, which quiets logging for good.
    program = (
        "import doctest, harness.store.spec, harness.store.handle\n"
        "for module in (harness.store.spec, harness.store.handle):\n"
        "    result = doctest.testmod(module)\n"
        "    assert result.failed == 0 and result.attempted > 0, module\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
