"""A running job service under test, verified from outside over HTTP (``verify --service``).

The service is the system under test the way a store is in :mod:`harness.store`; the scenario
format, the faults (:mod:`harness.nemesis`), the history and the criteria are the same. One role
a module, in the order a run meets them:

=================  ==========================================================================
``spec``           the command that starts one instance (``{port}``, ``{data}``...), the built-in
``profile``        the service's API in the checkers' words (paths, fields, statuses, codes)
``target``         the service as what ``verify`` checks (label, preflight, scenario runs)
``preflight``      one job through a quiet instance before any scenario
``instances``      instances as fault targets: started, signalled, restarted; a :class:`Fleet`
``host``           ``python -m harness.service.host``: an instance on a simulated host
``job_files``      where each job's files are under the data folder, for the damage fault
``clients``        the client processes of a run (submitters, pollers), their plans
``expected``       the download the built-in service must serve for each accepted job
``run``            one service scenario: start, main phase under faults, restart, final reads
``powerloss``      power loss through the API: crash states of the data folder, each served
=================  ==========================================================================

The HTTP clients themselves are in :mod:`harness.client.http` and
:mod:`harness.client.http_clients`, the checkers in ``harness.checkers.http_*``.
"""
