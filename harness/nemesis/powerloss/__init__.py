"""Power loss: every on-disk state a power cut may leave behind a store call, each opened after it.

A kill is not a power cut: after ``kill -9`` the page cache survives, after a power cut only what
was made durable does. So, like ALICE and CrashMonkey, this nemesis cuts nothing: it traces a
store call's system calls under ``strace``, replays them into an abstract file system, computes
every state a conservative persistence model allows, and opens the store on each one. The runner
calls one function, and the scenario loader validates the options::

    from harness.nemesis.powerloss import PowerLossOptions, explore_power_loss

    options = PowerLossOptions.from_scenario(scenario.options, scenario.path)   # cheap, no I/O
    notes = explore_power_loss(scenario, spec, root, run_dir, seed, histories, epoch)

The package, one role per module, in the order a run meets them:

=====================  ===========================================================================
``options``            the ``[options]`` table, validated (a leaf: imports no other part)
``exploration``        the orchestration of single operations: prepare, trace, model, check, record
``operations``         the traced calls, the versions they move between, their history records
``recover_cuts``       a second power cut, during ``recover()`` of a few crash states
``sequences``          every sequence of a few operations, nothing synced between (CrashMonkey's B3)
``processes``          starting the child processes, under ``strace`` or not
``children``           the child processes' entry points (prepare, traced calls, checking)
``markers``            the markers around each traced call, and cutting its window out of the trace
``snapshots``          the store directory copied around a call, and its open descriptors
``strace_log``         reading ``strace -f -y -xx`` output into records
``traced_calls``       one traced call to its model: window, replay, replay checked against the disk
``replay``             the replay's driver; ``operation_trace`` its records, ``replayer`` the
                       abstract file system, ``syscall_handlers`` one handler per system call
``crash_states``       the persistence model and the enumeration of crash states
``data_variants``      what one file's unsynced data may become (prefixes, torn, pages out of order)
``check_pool``         writing states into directories, checked by a pool of processes
``state_checks``       checking one state: restart, ``recover()``, reads, litter, backup
=====================  ===========================================================================

:func:`explore_power_loss` is imported on first use (PEP 562): the scenario loader imports the
options, and reading a scenario file must not load the explorer and its process machinery.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.nemesis.powerloss.options import PowerLossOptions

if TYPE_CHECKING:
    from harness.nemesis.powerloss.exploration import explore_power_loss

__all__ = ["PowerLossOptions", "explore_power_loss"]


def __getattr__(name: str) -> Any:
    if name == "explore_power_loss":
        from harness.nemesis.powerloss.exploration import explore_power_loss

        return explore_power_loss
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
