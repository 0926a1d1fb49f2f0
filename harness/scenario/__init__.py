"""Scenario files: the TOML scripts that say which processes run and which faults hit them.

* :mod:`harness.scenario.loader` reads and validates a scenario file into a
  :class:`~harness.scenario.loader.Scenario`;
* :mod:`harness.scenario.toml_table` is the typed table reader every part uses, so an error names
  the file, the key and what was expected (each fault class parses its own table with it).
"""
