"""The Markdown report: the verdict first, then the criteria, then each scenario's evidence.

How to read it: the first line is the verdict (PASS, FAIL or UNKNOWN) and the next says why,
then how the criteria came out (passed, failed, unknown, n/a) and, for a run that did not pass,
the command that replays it. Everything after is listed failures first (:mod:`.ordering`): the
table of criteria says, for each of the incident's success criteria and budgets, FAIL / UNKNOWN
/ pass / n/a in that order, with one line of why. Under a failed criterion come the first
offending operations, each naming its op number in the scenario's ``history.jsonl``, so the
evidence is one ``grep`` away; under an unknown one, what could not be judged. The scenarios,
and the checks within each, come failures first too.
"""

from __future__ import annotations

from collections import Counter

from harness.report.ordering import check_status, failures_first
from harness.results import CriterionResult, RunReport, ScenarioResult

MARK = {"pass": "pass", "fail": "**FAIL**", "unknown": "**UNKNOWN**", "n/a": "n/a"}
CHECK_MARK = {True: "pass", False: "**FAIL**", None: "n/a"}


def render_report_markdown(report: RunReport) -> str:
    """report.md of one verify run: verdict, criteria, evidence, scenarios, replay."""
    machine = report.machine
    criteria = failures_first(report.criteria, lambda criterion: criterion.status)
    lines = [
        f"# jobharness report: store `{report.store}`: {report.verdict.upper()}",
        "",
        *([f"**{report.reason}**", ""] if report.reason else []),
        f"- criteria: {_counts(criteria)}",
        *([f"- replay: `{report.replay}`"] if report.verdict != "pass" and report.replay else []),
        f"- seed: {report.seed}{' (quick run)' if report.quick else ''}",
        f"- started: {report.started or '?'}, took {report.duration_s:.1f} s",
        f"- machine: {machine.get('hostname', '?')} "
        f"({machine.get('cpus', '?')} cpus), commit {report.commit or '?'}",
        "",
        "## Rollout criteria",
        "",
        "| id | criterion | verdict | why |",
        "|---|---|---|---|",
    ]
    for criterion in criteria:
        why = criterion.summary.replace("|", "\\|")
        lines.append(f"| {criterion.id} | {criterion.title} | {MARK[criterion.status]} | {why} |")
    lines += _evidence(criteria)
    lines += _scenario_table(report)
    lines += _scenario_sections(report)
    if report.verdict != "pass" and report.replay:
        lines += ["", "## Replay", "", f"    {report.replay}", ""]
    return "\n".join(lines) + "\n"


def _counts(criteria: list[CriterionResult]) -> str:
    counts = Counter(criterion.status for criterion in criteria)
    named = (("fail", "failed"), ("unknown", "unknown"), ("pass", "passed"), ("n/a", "n/a"))
    return ", ".join(f"{counts.get(status, 0)} {words}" for status, words in named)


def _evidence(criteria: list[CriterionResult]) -> list[str]:
    """The evidence of the failed criteria, then of the unknown ones (what could not be judged)."""
    lines: list[str] = []
    for status, heading in (("fail", "failed"), ("unknown", "unknown")):
        chosen = [criterion for criterion in criteria if criterion.status == status]
        if not chosen:
            continue
        lines += ["", f"### Evidence for the {heading} criteria", ""]
        for criterion in chosen:
            lines += [f"**{criterion.id} {criterion.title}**: {criterion.summary}", ""]
            for item in criterion.evidence or ["(see the scenario sections below)"]:
                lines.append(f"- `{item}`")
            lines += ["", *(f"> likely cause -> fix: {fix}" for fix in criterion.fixes)]
            lines += [""] if criterion.fixes else []
    return lines


def _scenario_table(report: RunReport) -> list[str]:
    lines = ["", "## Scenarios", "", "| scenario | verdict | took | checks |", "|---|---|---|---|"]
    for scenario in _scenarios(report):
        checks = ", ".join(
            f"{c.name}: {CHECK_MARK[c.valid] if not c.crashed else 'crashed'}"
            for c in failures_first(scenario.checks, check_status)
        )
        status = scenario.status
        if status in ("n/a", "unknown") and scenario.reason:
            checks = f"{'not applicable' if status == 'n/a' else 'unknown'}: {scenario.reason}"
        lines.append(f"| {scenario.name} | {MARK[status]} | {scenario.duration:.1f} s | {checks} |")
    return lines


def _scenario_sections(report: RunReport) -> list[str]:
    lines: list[str] = []
    for scenario in _scenarios(report):
        lines += ["", f"### {scenario.name}", "", scenario.description or "", ""]
        if not scenario.applicable:
            word = "Unknown" if scenario.status == "unknown" else "Not applicable"
            lines.append(f"{word}: {scenario.reason}")
            continue
        lines.append(f"History: `{scenario.history}`")
        for note in scenario.notes:
            lines.append(f"- note: {note}")
        lines.append("")
        for check in failures_first(scenario.checks, check_status):
            lines.append(f"- **{check.name}**: {CHECK_MARK[check.valid]}: {check.summary}")
            for item in check.evidence[:3]:
                lines.append(f"  - `{item}`")
    return lines


def _scenarios(report: RunReport) -> list[ScenarioResult]:
    """The scenarios failures first, in the order they ran within each verdict."""
    return failures_first(report.scenarios, lambda scenario: scenario.status)
