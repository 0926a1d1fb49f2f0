"""``pytest --jobharness-store SPEC``: the verification suite as test items, one per criterion.

Installed with the package (a ``pytest11`` entry point), the plugin does nothing until
``--jobharness-store`` is given. Then the session gets one item per rollout criterion,
``jobharness::C1`` ... ``jobharness::P3``, beside the project's own tests::

    pytest --jobharness-store my_app/jobs.py:make_store --jobharness-quick
    pytest -k jobharness --jobharness-store hardened          # only the criteria

The suite runs once, when the first of those items runs (``--collect-only`` runs nothing), and
every item reads its criterion from that one report: the criteria are judged across scenarios,
so one run judges them all. A criterion that **fails** fails its item with the summary, the
first evidence line, the likely cause and fix, the replay command and the report's path; one the
harness could **not judge** (unknown) fails too, because what the harness did not see is not a
pass; one that is **n/a** (no scenario of the suite sets out to judge it, or the store lacks
what it needs) is skipped with the reason.

The run folder is ``--jobharness-out`` (default: a new temporary folder, named at the end of
the session). Runs under pytest never append to the trend log.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.results import RunReport

REPORT = pytest.StashKey[RunReport]()
ERROR = pytest.StashKey[str]()
BENCH_SESSION = pytest.StashKey[bool]()
"""Set by benchmarks/conftest.py: there, ``--jobharness-store`` names the store to benchmark."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("jobharness", "verify a job store with jobharness")
    group.addoption(
        "--jobharness-store",
        metavar="SPEC",
        help="verify this store: a built-in name, package.module:factory or file.py:factory",
    )
    group.addoption(
        "--jobharness-quick", action="store_true", help="the short suite (about a minute)"
    )
    group.addoption(
        "--jobharness-only",
        action="append",
        metavar="NAME",
        help="run only this scenario of the suite (repeatable)",
    )
    group.addoption("--jobharness-out", metavar="DIR", help="the run folder (default: a temp one)")
    group.addoption("--jobharness-seed", type=int, metavar="N", help="the seed (default: random)")


@pytest.hookimpl(tryfirst=True)  # before -k and -m deselect: they apply to these items too
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    if not config.getoption("jobharness_store") or config.stash.get(BENCH_SESSION, False):
        return
    from harness.criteria import CRITERIA

    suite = JobharnessSuite.from_parent(session, name="jobharness", nodeid="jobharness")
    items.extend(CriterionItem.from_parent(suite, name=c.id, title=c.title) for c in CRITERIA)


class JobharnessSuite(pytest.Collector):
    """The parent of the criterion items: the suite run against ``--jobharness-store``."""

    def collect(self) -> list[pytest.Item]:  # the items are made by the hook above
        return []


class CriterionItem(pytest.Item):
    """One rollout criterion, read from the session's single verification run."""

    def __init__(self, *, title: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.title = title

    def runtest(self) -> None:
        report = _session_report(self.config)
        criterion = report.criterion(self.name)
        if criterion is None:
            raise CriterionFailed(f"{self.name}: not in the report ({report.folder})")
        if criterion.status == "n/a":
            pytest.skip(f"{self.name} n/a: {criterion.summary}")
        if criterion.status != "pass":
            lines = criterion.explained()
            lines += [f"replay: {report.replay}"] if report.replay else []
            lines += [f"report: {report.folder / 'report.html'}"] if report.folder else []
            raise CriterionFailed("\n".join(lines))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CriterionFailed):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return Path("jobharness"), None, f"jobharness {self.name}: {self.title}"


class CriterionFailed(Exception):
    """A criterion that did not pass: its message is the whole explanation, no traceback."""


def _session_report(config: pytest.Config) -> RunReport:
    """The one verification run of this session, made the first time an item asks."""
    if ERROR in config.stash:
        raise CriterionFailed(config.stash[ERROR])
    if REPORT not in config.stash:
        from harness.api import verify
        from harness.errors import HarnessError

        try:
            config.stash[REPORT] = verify(
                config.getoption("jobharness_store"),
                quick=bool(config.getoption("jobharness_quick")),
                scenarios=config.getoption("jobharness_only"),
                out=config.getoption("jobharness_out"),
                seed=config.getoption("jobharness_seed"),
            )
        except HarnessError as error:  # a bad spec or scenario name: every item says so
            config.stash[ERROR] = f"jobharness could not run: {error}"
            raise CriterionFailed(config.stash[ERROR]) from None
    return config.stash[REPORT]


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    report = config.stash.get(REPORT, None)
    if report is None:
        return
    where = report.folder / "report.html" if report.folder else "?"
    terminalreporter.write_sep("-", "jobharness")
    terminalreporter.write_line(f"verdict: {report.verdict.upper()} ({report.reason})")
    terminalreporter.write_line(f"report: {where}")
    if report.verdict != "pass" and report.replay:
        terminalreporter.write_line(f"replay: {report.replay}")
