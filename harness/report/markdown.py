"""The Markdown report: the verdict first, then the criteria, then each scenario's evidence.

How to read it: the first line is the verdict (PASS, FAIL or UNKNOWN) and the next says why.
The table of criteria says, for each of the incident's success criteria and budgets, pass /
FAIL / UNKNOWN / n/a with one line of why. Under a failed criterion come the first offending
operations, each naming its op number in the scenario's ``history.jsonl``, so the evidence is one
``grep`` away; under an unknown one, what could not be judged. The last section of a report that
did not pass is the command that replays the run.
"""

from __future__ import annotations

from harness.results import RunReport

MARK = {"pass": "pass", "fail": "**FAIL**", "unknown": "**UNKNOWN**", "n/a": "n/a"}
CHECK_MARK = {True: "pass", False: "**FAIL**", None: "n/a"}


def render_report_markdown(report: RunReport) -> str:
    """report.md of one verify run: verdict, criteria, evidence, scenarios, replay."""
    machine = report.machine
    lines = [
        f"# jobharness report: store `{report.store}`: {report.verdict.upper()}",
        "",
        *([f"**{report.reason}**", ""] if report.reason else []),
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
    for criterion in report.criteria:
        why = criterion.summary.replace("|", "\\|")
        lines.append(f"| {criterion.id} | {criterion.title} | {MARK[criterion.status]} | {why} |")
    failed = [c for c in report.criteria if c.status == "fail"]
    if failed:
        lines += ["", "### Evidence for the failed criteria", ""]
        for criterion in failed:
            lines.append(f"**{criterion.id} {criterion.title}**")
            lines.append("")
            for item in criterion.evidence or ["(see the scenario sections below)"]:
                lines.append(f"- `{item}`")
            lines.append("")
    lines += _scenario_table(report)
    lines += _scenario_sections(report)
    if report.verdict != "pass" and report.replay:
        lines += ["", "## Replay", "", f"    {report.replay}", ""]
    return "\n".join(lines) + "\n"


def _scenario_table(report: RunReport) -> list[str]:
    lines = ["", "## Scenarios", "", "| scenario | verdict | took | checks |", "|---|---|---|---|"]
    for scenario in report.scenarios:
        checks = ", ".join(
            f"{c.name}: {CHECK_MARK[c.valid] if not c.crashed else 'crashed'}"
            for c in scenario.checks
        )
        status = scenario.status
        if status in ("n/a", "unknown") and scenario.reason:
            checks = f"{'not applicable' if status == 'n/a' else 'unknown'}: {scenario.reason}"
        lines.append(f"| {scenario.name} | {MARK[status]} | {scenario.duration:.1f} s | {checks} |")
    return lines


def _scenario_sections(report: RunReport) -> list[str]:
    lines: list[str] = []
    for scenario in report.scenarios:
        lines += ["", f"### {scenario.name}", "", scenario.description or "", ""]
        if not scenario.applicable:
            word = "Unknown" if scenario.status == "unknown" else "Not applicable"
            lines.append(f"{word}: {scenario.reason}")
            continue
        lines.append(f"History: `{scenario.history}`")
        for note in scenario.notes:
            lines.append(f"- note: {note}")
        lines.append("")
        for check in scenario.checks:
            lines.append(f"- **{check.name}**: {CHECK_MARK[check.valid]}: {check.summary}")
            for item in check.evidence[:3]:
                lines.append(f"  - `{item}`")
    return lines
