"""The client: the code that runs inside each harness process and talks to the store.

In Jepsen's terms the client turns an operation into a call on the system under test and records
what came back. Here:

* :mod:`harness.client.process` is a harness process's entry point: open the store, do its role's
  work (writer, reader, updater, worker, ...), record every call in the history;
* :mod:`harness.client.calls` times one store call and records exactly one completion for it;
* :mod:`harness.client.descriptors` lowers a process's descriptor limit and samples its count.
"""
