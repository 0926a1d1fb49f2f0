"""``jobharness hunt``: Hypothesis searches fault schedules and shrinks a failure to the smallest.

============  ======================================================================
schedule      a fault schedule as data, and as the scenario file that replays it
strategies    the Hypothesis strategies that draw schedules (simplest options first)
search        the search: run each schedule, keep the smallest failure, re-run it
command       the command line: budget, progress, found.toml and hunt.json
============  ======================================================================
"""
