"""Faults, injected for real: the nemesis of a run (named after Jepsen's).

* :mod:`~harness.nemesis.syscalls`: strace attached to a live process injects ``SIGKILL``, an
  error (``ENOSPC``, ``EIO``) or a delay at the Nth call of a system call, whatever language the
  store is written in;
* :mod:`~harness.nemesis.damage`: truncates, empties, overwrites, bit-flips or deletes job files;
* :mod:`~harness.nemesis.disk`: a real small tmpfs that the nemesis fills and frees;
* :mod:`~harness.nemesis.powerloss`: replays a traced operation's system calls into every
  on-disk state a power cut could leave, and opens the store on each (a package: its docstring
  maps its modules, from reading the trace to the persistence model).

Every fault is recorded in the history as an operation of process ``nemesis``.
"""
