"""Reports for people: ``report.md`` of one run, and ``report.html`` + ``summary.md`` of several.

``report.json`` is the data (:class:`harness.results.RunReport`, written by :mod:`harness.suite`);
this package renders it:

* :mod:`.markdown`: ``report.md``, the verdict first, then the criteria, then each scenario;
* :mod:`.command`: ``jobharness report``, which writes ``report.html`` (:mod:`.html`, the page)
  and ``summary.md`` (:mod:`.summary`) for the runs :mod:`.runs` finds;
* the page's sections: :mod:`.verdict_banner` (PASS / FAIL / UNKNOWN first),
  :mod:`.criteria_section`, :mod:`.latency_section`, :mod:`.scatter_section` (latency over
  time), :mod:`.requests_section`, :mod:`.bench_sections`, :mod:`.timeline_section`,
  :mod:`.trend_section`; :mod:`.ordering` puts failures first in all of them and in report.md;
* the drawing: :mod:`.svg` (elements, scales, axes, colours), :mod:`.plots` (the charts),
  :mod:`.fault_shading` (faults behind a latency scatter, thinning), :mod:`.timeline_model`,
  :mod:`.timeline` and :mod:`.timeline_hover` (Jepsen-style timelines and their hover text),
  :mod:`.markup` (HTML).
"""
