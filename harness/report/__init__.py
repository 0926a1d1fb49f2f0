"""Report writers: ``report.json`` (data, written by :mod:`harness.suite`), ``report.md``."""
