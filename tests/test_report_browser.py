"""The report of a failing run, as a person sees it in a browser: the verdict first, no clipped label.

A real run that fails fast (the ``phase470`` store, the incident's first fix, under
``damage-job-file``: garbled reads, C6 and C7 fail, in about 3 s) is rendered and opened in
headless Chromium over the DevTools protocol (``tests/devtools.py``). The test checks what the
page is for: the banner says FAIL, the first failure is above any passing evidence, every
timeline bar has hover text, and no ``<text>`` of any chart runs outside its chart.

It also takes the three screenshots ``docs/reports.md`` shows. They are written to
``docs/screenshots/`` only with ``JOBHARNESS_UPDATE_SCREENSHOTS=1`` (otherwise to the test's
temporary folder, so an ordinary run changes nothing in the repository)::

    JOBHARNESS_UPDATE_SCREENSHOTS=1 .venv/bin/python -m pytest -q tests/test_report_browser.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from devtools import (
    CHROMIUM_MISSING,
    OVERFLOWING_LABELS,
    REQUIRE_CHROMIUM,
    DevTools,
    evaluate,
    logged_errors,
    open_page,
    screenshot,
)

from harness.cli import main
from harness.report.html import render_html
from harness.results import RunReport, load_run
from harness.results.trend import read_trend

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "docs" / "screenshots"
UPDATE_SCREENSHOTS = os.environ.get("JOBHARNESS_UPDATE_SCREENSHOTS") == "1"
VIEWPORT = (1400, 900)
MAX_SCREENSHOT_BYTES = 400_000


@pytest.fixture(scope="module")
def failing_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """report.html of a real run of phase470 under damage-job-file, which fails C6 and C7."""
    base = tmp_path_factory.mktemp("failing")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JOBHARNESS_TREND", str(base / "trend.jsonl"))  # not the repository's log
        patch.chdir(ROOT)
        scenario = "scenarios/damage-job-file.toml"
        code = main(
            ["run", scenario, "--store", "phase470", "--out", str(base / "run"), "--seed", "3"]
        )
        trend = read_trend(base / "trend.jsonl")
    run = load_run(base / "run")
    assert isinstance(run, RunReport)
    assert code == 1 and run.verdict == "fail", f"phase470 was expected to fail: {run.reason}"
    path = base / "report.html"
    path.write_text(render_html([run], trend=trend), encoding="utf-8")
    return path


LAYOUT = """
(() => {
  const banner = document.getElementById('verdict');
  const first = document.getElementById('first-failure');
  const passing = document.querySelector('#evidence .evidence.pass');
  const top = element => element ? element.getBoundingClientRect().top + window.scrollY : null;
  const bars = [...document.querySelectorAll('svg[data-plot^="tl-"] g.mark rect')];
  return {
    bannerVerdict: banner && banner.dataset.verdict,
    bannerWord: banner && banner.querySelector('.banner-word').textContent,
    bannerTop: top(banner),
    linksToFirst: Boolean(banner && banner.querySelector('a[href="#first-failure"]')),
    firstFailure: top(first),
    firstFailureIsFail: Boolean(first && first.querySelector('.evidence.fail')),
    firstPassing: top(passing),
    scatters: document.querySelectorAll('svg[data-plot^="lot-"] .mark').length,
    timelineBars: bars.length,
    untitledBars: bars.filter(bar => !bar.querySelector('title')).length,
  };
})()
"""


@pytest.mark.skipif(bool(CHROMIUM_MISSING) and not REQUIRE_CHROMIUM, reason=str(CHROMIUM_MISSING))
def test_a_failing_report_leads_with_its_verdict_in_a_browser(
    failing_page: Path, browser: DevTools, tmp_path: Path
) -> None:
    session = open_page(browser, failing_page, VIEWPORT)
    layout = evaluate(browser, session, LAYOUT)
    assert layout["bannerVerdict"] == "fail" and layout["bannerWord"] == "FAIL"
    assert layout["bannerTop"] < 50  # the very top of the page
    assert layout["linksToFirst"] and layout["firstFailureIsFail"]
    assert layout["firstPassing"] is not None, "the run should pass at least one criterion"
    assert layout["firstFailure"] < layout["firstPassing"]
    assert layout["scatters"] > 0
    assert layout["timelineBars"] > 0 and layout["untitledBars"] == 0
    assert evaluate(browser, session, OVERFLOWING_LABELS) == []
    folder = SCREENSHOTS if UPDATE_SCREENSHOTS else tmp_path / "screenshots"
    # Each view scrolled to just above what it shows, so its heading is in the picture too.
    above = "window.scrollTo(0, document.getElementById('{}').getBoundingClientRect().top"
    above += " + window.scrollY - 60)"
    shots = {
        "report-top.png": "window.scrollTo(0, 0)",
        "report-first-failure.png": above.format("evidence"),
        "report-latency-over-time.png": above.format("latency-over-time"),
    }
    for name, scroll in shots.items():
        evaluate(browser, session, scroll)
        shot = screenshot(browser, session, folder / name)
        assert 10_000 < shot.stat().st_size < MAX_SCREENSHOT_BYTES, name
    assert logged_errors(browser, session) == []
