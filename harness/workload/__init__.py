"""The workload: what the harness writes, to which jobs (Jepsen's generator, minus the faults).

* :mod:`harness.workload.job_ids` draws a scenario's job ids from a documented grammar;
* :mod:`harness.workload.payload` builds the bytes each write carries and matches a read back to
  the write it returns.
"""
