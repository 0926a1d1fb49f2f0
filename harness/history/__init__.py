"""Histories: every operation the harness ran, as data, and the words used to judge it.

* :mod:`harness.history.log` records invoke/ok/fail/info events as JSON lines and reads them back;
* :mod:`harness.history.outcomes` names how a call or a process ended;
* :mod:`harness.history.fault_windows` says what each fault did and when, read the same way by
  every checker and by the report's timeline.

Checkers read only this package (and the workload's payload matcher): they judge a history, they
never run anything.
"""
