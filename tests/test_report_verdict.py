"""The report leads with its verdict: the banner, and failures before passes, in HTML and Markdown.

Literal reports (no run, no history), so each test reads as the case it checks; the real run and
the browser are ``tests/test_report_browser.py``.
"""

from __future__ import annotations

import re

from harness.checkers.result import CheckResult
from harness.report import ordering, verdict_banner
from harness.report.criteria_section import evidence_section
from harness.report.html import render_html
from harness.report.markdown import render_report_markdown
from harness.report.runs import VerifyRun
from harness.results import CriterionResult, RunReport, ScenarioResult


def criterion(cid: str, status: str, scenarios: dict[str, str] | None = None) -> CriterionResult:
    return CriterionResult(cid, f"title {cid}", status, f"summary {cid}", (), scenarios or {})


def scenario(name: str, checks: tuple[CheckResult, ...]) -> ScenarioResult:
    return ScenarioResult.judged(
        name=name,
        description="",
        kind="concurrent",
        roles=("writer",),
        checkers=tuple(check.name for check in checks),
        applicable=True,
        standing="",
        reason="",
        notes=(),
        duration=0.1,
        history=f"scenarios/{name}/history.jsonl",  # missing: the page says so, and goes on
        checks=checks,
    )


def report(store: str, verdict: str, criteria: tuple[CriterionResult, ...]) -> RunReport:
    good = CheckResult("no_litter", True, "clean")
    bad = CheckResult("no_torn_read", False, "1 torn read", {}, ["op #2 reader-0 get(j0): torn"])
    scenarios = (scenario("quiet", (good,)), scenario("damaged", (good, bad)))
    return RunReport(
        store,
        7,
        verdict,
        "C6 failed" if verdict == "fail" else "",
        criteria,
        scenarios,
        replay=f"jobharness verify --store {store} --seed 7",
        duration_s=12.34,
    )


FAILING = report(
    "naive",
    "fail",
    (
        criterion("C1", "pass"),
        criterion("C5", "unknown"),
        criterion("C6", "fail", {"quiet": "pass", "damaged": "fail"}),
        criterion("C8", "n/a"),
    ),
)
PASSING = report("hardened", "pass", (criterion("C1", "pass"), criterion("C6", "pass")))
UNKNOWN = report("sqlite", "unknown", (criterion("C1", "pass"), criterion("C5", "unknown")))


def banner_of(html: str) -> str:
    found = re.search(r'<section id="verdict".*?</section>', html, re.S)
    assert found is not None, "no banner"
    return found.group(0)


def test_the_banner_is_the_first_thing_on_the_page_and_says_fail() -> None:
    page = render_html([PASSING, FAILING], trend=[])
    body = page[page.index("<body") :]
    assert body.index('id="verdict"') < body.index("<h1")
    banner = banner_of(page)
    assert 'class="banner fail"' in banner and ">FAIL<" in banner
    assert "1 passed · 1 failed · 1 unknown · 1 n/a" in banner  # naive's criteria
    assert "took 12.3 s" in banner
    assert "jobharness verify --store naive --seed 7" in banner  # the failing run's replay
    assert "--store hardened" not in banner  # a passing run needs no replay
    assert 'href="#first-failure"' in banner and "naive C6" in banner


def test_unknown_never_looks_like_pass() -> None:
    banner = banner_of(render_html([PASSING, UNKNOWN], trend=[]))
    assert 'class="banner unknown"' in banner and ">UNKNOWN<" in banner
    assert ">PASS<" not in banner and "not a pass" in banner
    assert "First unknown criterion: sqlite C5" in banner
    nothing_judged = report("x", "n/a", (criterion("C1", "n/a"),))
    assert verdict_banner.page_verdict([VerifyRun(nothing_judged, "x")], []) == "unknown"
    assert verdict_banner.page_verdict([VerifyRun(PASSING, "hardened")], []) == "pass"


def test_the_evidence_lists_failing_runs_and_criteria_first() -> None:
    html = evidence_section([VerifyRun(PASSING, "hardened"), VerifyRun(FAILING, "naive")])
    blocks = re.findall(r'<div class="evidence (\w+)" id="ev-(\w+)-(\w+)"', html)
    assert blocks == [
        ("fail", "naive", "C6"),
        ("unknown", "naive", "C5"),
        ("pass", "naive", "C1"),
        ("na", "naive", "C8"),
        ("pass", "hardened", "C1"),
        ("pass", "hardened", "C6"),
    ]
    # The anchor wraps the first failure, which keeps its own id for the matrix's links.
    assert re.search(
        r'<div id="first-failure"[^>]*><div class="evidence fail" id="ev-naive-C6"', html
    )
    assert html.count('id="first-failure"') == 1
    judged = re.search(r"judged in: (.*?)</p>", html).group(1)  # type: ignore[union-attr]
    assert judged.index("damaged") < judged.index("quiet")  # the failing scenario first


def test_report_md_lists_failures_first() -> None:
    text = render_report_markdown(FAILING)
    rows = re.findall(r"^\| (C\d) \|", text, re.M)
    assert rows == ["C6", "C5", "C1", "C8"]
    assert "- criteria: 1 failed, 1 unknown, 1 passed, 1 n/a" in text
    assert text.index("### Evidence for the failed criteria") < text.index(
        "### Evidence for the unknown criteria"
    )
    assert text.index("### damaged") < text.index("### quiet")  # the failing scenario first
    section = text[text.index("### damaged") :]
    assert section.index("no_torn_read") < section.index("no_litter")  # its failing check first


def test_an_unreadable_status_ranks_as_unknown() -> None:
    assert ordering.status_rank("weird") == ordering.status_rank("unknown")
    assert ordering.worst_status(["pass", "weird"]) == "weird"
    assert ordering.check_status(CheckResult("x", None, "", crashed=True)) == "unknown"
