"""The benchmarks: ``jobharness bench``, the latency scenario's timer, and their shared parts.

One role per module; imports flow down this list (a module imports only those below it):

==============  ===================================================================
``command``     ``jobharness bench``: arguments, printing, bench.json / bench.md
``run``         one run of a plan, phase by phase, in a work folder
``plan``        how much to measure (:data:`~harness.bench.plan.FULL`, ``QUICK``)
``rendering``   the terminal table, bench.md, the trend log's flat figures
``targets``     the performance targets, judged on figures alone
``timer``       the ``latency`` scenario's timer, recording into the history
``breakdown``   a save's time per step, from the marks of the real save path
``directory``   latency as the directory fills up
``scaling``     throughput of many processes, in fixed windows
``population``  stores full of jobs, made fast; a cold ``recover()``
``inject``      test-only regressions on the measured operations (the gate's power)
``operations``  the timed operations: floors, save/get/update, the damaged read
``figures``     a figure's record (p50, p99, paired ratios) from its samples
``rounds``      THE latency core: interleaved rounds of timed operations
``floors``      the floors: the least a write and a read cost on a medium
``stores``      which built-in stores and payloads, opened as store handles
==============  ===================================================================

Percentiles live in :mod:`harness.stats`, outside this package, so that checkers can use them
without importing any of it.
"""
