"""The verdict banner: the first thing on ``report.html``, the answer before the evidence.

One big word, coloured: **PASS** (green), **FAIL** (red) or **UNKNOWN** (amber). The page's word
is the worst of its runs' verdicts (:func:`harness.report.ordering.worst_status`), and a page on
which nothing was judged says UNKNOWN: what the harness did not see is never shown as a pass.
Beside the word, one line per run: its label (the store or the service), its verdict and
reason, how many criteria passed, failed, were unknown or n/a, how long it took and, when it
did not pass, the command that replays it with the same seed. A link leads to the first
failure (``#first-failure``, placed by :func:`harness.report.criteria_section.evidence_section`).
A benchmark's missed targets count as a failure too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from harness.report.criteria_section import first_failure
from harness.report.markup import count_of, tag, verdict_word
from harness.report.ordering import worst_status
from harness.report.runs import VerifyRun
from harness.report.svg import esc
from harness.results import BenchResults
from harness.results.status import FAIL, NOT_APPLICABLE, PASS, UNKNOWN

WORDS = {PASS: "PASS", FAIL: "FAIL", UNKNOWN: "UNKNOWN"}
MEANING = {
    PASS: "every criterion judged held",
    FAIL: "at least one criterion failed",
    UNKNOWN: "not every criterion could be judged: this is not a pass",
}


def page_verdict(verify: Sequence[VerifyRun], bench: Sequence[BenchResults]) -> str:
    """pass, fail or unknown for the whole page; unknown when nothing was judged at all."""
    statuses = [run.report.verdict for run in verify]
    statuses += [_bench_status(results) for results in bench if results.targets]
    word = worst_status(statuses)
    return UNKNOWN if word == NOT_APPLICABLE or word not in WORDS else word


def verdict_banner(verify: Sequence[VerifyRun], bench: Sequence[BenchResults]) -> str:
    """The banner's HTML; empty for a page with no run at all."""
    if not verify and not bench:
        return ""
    verdict = page_verdict(verify, bench)
    lines = [_run_line(run) for run in verify]
    lines += [_bench_line(results) for results in bench if results.targets]
    first = first_failure(verify)
    if first is not None:
        run, criterion = first
        words = "First failure" if criterion.status == FAIL else "First unknown criterion"
        link = tag(
            "a",
            f"{words}: {esc(run.label)} {esc(criterion.id)} {esc(criterion.title)} &#8595;",
            href="#first-failure",
            class_="to-first-failure",
        )
        lines.append(tag("p", link))
    word = tag("div", WORDS[verdict], class_="banner-word")
    body = tag("p", esc(MEANING[verdict]), class_="banner-meaning") + "".join(lines)
    return tag(
        "section",
        word + tag("div", body, class_="banner-body"),
        id="verdict",
        class_=f"banner {verdict}",
        role="status",
        data_verdict=verdict,
    )


def criteria_counts(run: VerifyRun) -> str:
    """``3 passed · 2 failed · 1 unknown · 5 n/a``: how the run's criteria came out."""
    counts = Counter(criterion.status for criterion in run.report.criteria)
    named = ((PASS, "passed"), (FAIL, "failed"), (UNKNOWN, "unknown"), (NOT_APPLICABLE, "n/a"))
    return " · ".join(f"{counts.get(status, 0)} {words}" for status, words in named)


def _run_line(run: VerifyRun) -> str:
    report = run.report
    took = f"took {report.duration_s:.1f} s" + (" (quick)" if report.quick else "")
    reason = f": {esc(report.reason)}" if report.reason else ""
    facts = f"criteria: {criteria_counts(run)} · {took}"
    line = tag("p", f"{tag('b', esc(run.label))} {verdict_word(report.verdict)}{reason} · {facts}")
    if report.verdict != PASS and report.replay:
        line += tag("p", "replay: " + tag("code", esc(report.replay)), class_="banner-replay")
    return line


def _bench_status(results: BenchResults) -> str:
    passed = [target.passed for target in results.targets]
    if any(flag is False for flag in passed):
        return FAIL
    return PASS if passed and all(flag is True for flag in passed) else UNKNOWN


def _bench_line(results: BenchResults) -> str:
    missed = sum(1 for target in results.targets if target.passed is False)
    total = count_of(len(results.targets), "target")
    link = tag("a", "benchmark", href="#bench")
    return tag("p", f"{link} {verdict_word(_bench_status(results))}: {missed} missed of {total}")
