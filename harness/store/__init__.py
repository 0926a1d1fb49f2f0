"""The store under test: how the user names it, how the harness opens it, and the proof it works.

* :mod:`harness.store.spec` turns ``module:factory`` or ``file.py:factory`` (or a built-in name) into
  a factory, with a clear error when it does not import;
* :mod:`harness.store.handle` is :class:`~harness.store.handle.StoreHandle`, one opened store and
  what the harness asks of it besides the job calls (capabilities, ``paths_for``, recover, close);
* :mod:`harness.store.preflight` proves, before any scenario, that the store opens, writes and reads.
"""
