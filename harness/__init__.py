"""jobharness: fault-injection verification of job stores.

Point it at a job store (a built-in one, or yours as ``module:factory`` / ``file.py:factory``),
and it runs scenarios in which real processes write, read, update and run jobs while real faults
hit them, records every operation in a history, judges the history against the rollout criteria
and writes a report with the evidence. Start with ``jobharness verify --help``, the README, and
``docs/harness.md``; the modules follow Jepsen's split:

* :mod:`harness.scenario`: scenario files; :mod:`harness.spec`: the store under test;
* :mod:`harness.runner`: the phases of a run; :mod:`harness.client`: what each process does;
* :mod:`harness.nemesis`: the faults; :mod:`harness.history`: the records;
* :mod:`harness.checkers`: invariants on a saved history; :mod:`harness.criteria`: the verdict;
* :mod:`harness.suite`, :mod:`harness.report`: reports; :mod:`harness.gate`: the CI gate.
"""

__version__ = "0.1.0"
