"""Faults, injected for real: the nemesis of a run (named after Jepsen's).

Each fault kind of a scenario file is one class with the interface of
:class:`~harness.nemesis.fault.Fault` (parse its table, check it can run here, arm a process,
schedule its actions, release), found by its TOML ``kind`` in :mod:`~harness.nemesis.registry`,
which lists them: kills (:mod:`~harness.nemesis.kill`), job-file damage, disk errors, a slow
disk, a full disk, and more; each module's docstring shows its table.

The mechanisms under them:

* :mod:`~harness.nemesis.syscalls`: strace attached to a live process injects ``SIGKILL``, an
  error (``ENOSPC``, ``EIO``) or a delay at the Nth call of a system call, whatever language the
  store is written in (:mod:`~harness.nemesis.syscall_fault` is what the three strace faults
  share);
* :mod:`~harness.nemesis.damage`: truncates, empties, overwrites, bit-flips or deletes job files;
* :mod:`~harness.nemesis.disk`: a real small tmpfs that the nemesis fills and frees;
* :mod:`~harness.nemesis.powerloss`: replays a traced operation's system calls into every
  on-disk state a power cut could leave, and opens the store on each (a package whose docstring
  maps its modules; a scenario *kind*, not a fault of the schedule: the runner's power-loss
  phase calls it).

Every fault is recorded in the history as operations of process ``nemesis``, carrying what it
did in the generic vocabulary of :mod:`harness.history.fault_windows` that checkers read.
"""
