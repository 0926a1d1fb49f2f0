"""The CI regression gate: fail a change that makes the store slower or breaks a criterion.

Two modes (the output's first line names the one used):

* **A/B** (``gate --against REF``): the base commit's store and the working tree's, measured
  now, interleaved in the same rounds on the same disk, each figure judged by a paired
  significance test and a minimum effect (:mod:`harness.gate.ab`, :mod:`harness.gate.verdicts`;
  the temporary checkout in :mod:`harness.gate.worktree`, each side's process in
  :mod:`harness.gate.worker`, the command in :mod:`harness.gate.abcommand`);
* **committed baseline** (``gate --baseline FILE RESULTS...``): criteria and figure ratios of
  saved results against ``reports/baseline.json`` (:mod:`harness.gate.baseline`), for criteria
  and for runs without git history.

:mod:`harness.gate.command` is the CLI entry. What the tests and other modules use is
re-exported here.
"""

from harness.gate.baseline import (
    Baseline,
    BaselineFigure,
    Change,
    Results,
    build_baseline,
    compare,
    gather_results,
    render_table,
)
from harness.gate.command import run_gate_command

__all__ = [
    "Baseline",
    "BaselineFigure",
    "Change",
    "Results",
    "build_baseline",
    "compare",
    "gather_results",
    "render_table",
    "run_gate_command",
]
