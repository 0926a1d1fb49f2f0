"""Results as typed, frozen records, and the one loader of saved runs.

What a run produces travels through the harness as these records, never as loose dicts: the
suite builds them, the report and the gate read them, and each goes to and from the JSON object
saved for it with ``as_dict()`` / ``from_dict()``:

========================  ================================  ====================================
record                    saved as                          module
========================  ================================  ====================================
``RunReport``             ``report.json``                   :mod:`harness.results.verify_report`
``ScenarioResult``        an entry of its ``scenarios``,    :mod:`harness.results.verify_report`
                          and ``scenarios/<name>/scenario.json``
``CriterionResult``       an entry of its ``criteria``      :mod:`harness.results.verify_report`
``CheckResult``           an entry of a scenario's          :mod:`harness.checkers.result`
                          ``checks``
``BenchResults``          ``bench.json``                    :mod:`harness.results.bench_results`
========================  ================================  ====================================

Statuses (pass / fail / unknown / n/a) are :mod:`harness.results.status`; :func:`load_run`
(:mod:`harness.results.loading`) reads a run folder or either file::

    run = load_run(Path("reports/verify-hardened-20261128-193000"))
    run.verdict, run.criterion("C6").status, run.scenario("kill-random").checks[0].summary
"""

from __future__ import annotations

from harness.results.bench_results import BenchFigure, BenchResults, BenchTarget
from harness.results.loading import SavedRun, load_run, read_json_object
from harness.results.status import (
    FAIL,
    NOT_APPLICABLE,
    PASS,
    STATUSES,
    UNKNOWN,
    Status,
    passed_flag,
    status_of,
)
from harness.results.verify_report import (
    CriterionResult,
    Preflight,
    RunReport,
    ScenarioResult,
    scenario_status,
)

__all__ = [
    "FAIL",
    "NOT_APPLICABLE",
    "PASS",
    "STATUSES",
    "UNKNOWN",
    "BenchFigure",
    "BenchResults",
    "BenchTarget",
    "CriterionResult",
    "Preflight",
    "RunReport",
    "SavedRun",
    "ScenarioResult",
    "Status",
    "load_run",
    "passed_flag",
    "read_json_object",
    "scenario_status",
    "status_of",
]
