"""Store specs: built-in names, module:factory and file.py:factory, and clear errors for the rest."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from harness.errors import StoreSpecError
from harness.store.spec import BUILTIN_STORES, capabilities, parse_store_spec

GOOD_STORE = """
import json, os
class Store:
    def __init__(self, root): self.root = root
    def save_job(self, job_id, job):
        with open(os.path.join(self.root, job_id + ".json"), "w") as f: json.dump(job, f)
    def get_job(self, job_id): return None
def make(root): return Store(root)
"""


def test_builtin_names_are_recognised_and_the_default_is_hardened() -> None:
    assert parse_store_spec(None).text == "hardened"
    for name in BUILTIN_STORES:
        spec = parse_store_spec(name)
        assert spec.is_builtin
        assert callable(spec.load_factory())


def test_a_file_spec_loads_the_factory_from_that_file(tmp_path: Path) -> None:
    source = tmp_path / "mystore.py"
    source.write_text(GOOD_STORE)
    spec = parse_store_spec(f"{source}:make")
    store = spec.open(tmp_path)
    assert capabilities(store) == {
        "update_job": False,
        "recover": False,
        "paths_for": False,
        "list_jobs": False,
        "owned_paths": False,
        "latency_floor": False,
        "close": False,
    }


def test_a_module_spec_imports_the_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "my_jobs_module.py").write_text(GOOD_STORE)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        spec = parse_store_spec("my_jobs_module:make")
        assert spec.kind == "module"
        spec.open(tmp_path)
    finally:
        sys.modules.pop("my_jobs_module", None)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("mongodb", "not a built-in store"),
        ("no_such_module_xyz:make", "cannot import 'no_such_module_xyz'"),
        ("/nonexistent/store.py:make", "does not exist"),
        ("durable_jobs.file_store:nope", "has no attribute 'nope'"),
        ("durable_jobs.file_store:JOB_SUFFIX", "not a callable factory"),
        ("durable_jobs.file_store:3x", "not a Python name"),
    ],
)
def test_a_bad_spec_says_why(spec: str, message: str) -> None:
    with pytest.raises(StoreSpecError, match=message):
        parse_store_spec(spec).load_factory()


def test_a_file_with_a_syntax_error_names_the_line(tmp_path: Path) -> None:
    source = tmp_path / "broken.py"
    source.write_text("def make(root):\n    return (\n")
    with pytest.raises(StoreSpecError, match=r"syntax error in .*broken\.py line \d"):
        parse_store_spec(f"{source}:make").load_factory()


def test_a_factory_that_returns_no_store_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "empty.py"
    source.write_text("def make(root):\n    return object()\n")
    with pytest.raises(StoreSpecError, match=r"has no save_job\(\) or get_job\(\)"):
        parse_store_spec(f"{source}:make").open(tmp_path)
