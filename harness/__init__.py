"""jobharness: fault-injection verification of job stores.

Point it at a job store (a built-in one, or yours as ``module:factory`` / ``file.py:factory``),
and it runs scenarios in which real processes write, read, update and run jobs while real faults
hit them, records every operation in a history, judges the history against the rollout criteria
and writes a report with the evidence. Start with ``jobharness verify --help``, the README, and
``docs/harness.md``. The folders follow Jepsen's split, in the order a run goes through them:

============  ======================================================================
cli           the ``jobharness`` command line (argument parsing, exit codes)
api           ``harness.verify(store, ...)``: the same run from Python, a typed report back
pytest_plugin ``pytest --jobharness-store SPEC``: the suite's criteria as test items
scenario/     scenario files: TOML scripts of processes, faults and checks
store/        the store under test: its spec, the handle the harness opens, preflight
service/      a running HTTP service under test: its command, API profile, instances, runner
workload/     what is written to which jobs (ids, payloads)
runner/       the phases of a run and the supervision of its processes
client/       what each harness process does to the store, call by call
nemesis/      the faults, one class per kind (kill, damage, disk, pause, power loss)
history/      the records of every operation, and the words to judge them
checkers/     one invariant per module, judged on a saved history
criteria      the incident's criteria, each pass / fail / unknown / n/a from checkers
suite         ``verify``: every scenario against one store, then criteria and reports
results/      typed records of a run, loaded from disk by one loader; the trend log
report/       Markdown and HTML reports
bench/        benchmarks: interleaved latency rounds against floors, save breakdown
gate          the CI regression gate
errors        the root exception and the user mistakes that exit with code 2
============  ======================================================================
"""

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """``harness.verify``, imported on first use: ``import harness.x`` stays light."""
    if name == "verify":
        from harness.api import verify

        return verify
    raise AttributeError(f"module 'harness' has no attribute {name!r}")
