"""Reports for people: ``report.md`` of one run, and ``report.html`` + ``summary.md`` of several.

``report.json`` is the data (:class:`harness.results.RunReport`, written by :mod:`harness.suite`);
this package renders it:

* :mod:`.markdown`: ``report.md``, the verdict first, then the criteria, then each scenario;
* :mod:`.command`: ``jobharness report``, which writes ``report.html`` (:mod:`.html`, the page)
  and ``summary.md`` (:mod:`.summary`) for the runs :mod:`.runs` finds;
* the page's sections: :mod:`.criteria_section`, :mod:`.latency_section`,
  :mod:`.bench_sections`, :mod:`.timeline_section`, :mod:`.trend_section`;
* the drawing: :mod:`.svg` (elements, scales, axes), :mod:`.plots` (the charts),
  :mod:`.timeline_model` and :mod:`.timeline` (Jepsen-style timelines), :mod:`.markup` (HTML).
"""
