"""The Markdown report: the verdict first, then the criteria, then each scenario's evidence.

How to read it: the table of criteria says, for each of the seed's success criteria and budgets,
pass / FAIL / n/a with one line of why. Under a failed criterion come the first offending
operations, each naming its op number in the scenario's ``history.jsonl``, so the evidence is one
``grep`` away. The last line of a failed report is the command that replays the run.
"""

from __future__ import annotations

from typing import Any

MARK = {True: "pass", False: "**FAIL**", None: "n/a"}


def render_markdown(report: dict[str, Any]) -> str:
    lines = [
        f"# jobharness report: store `{report['store']}`: {report['verdict'].upper()}",
        "",
        f"- seed: {report['seed']}{' (quick run)' if report.get('quick') else ''}",
        f"- started: {report.get('started', '?')}, took {report.get('duration_s', 0):.1f} s",
        f"- machine: {report.get('machine', {}).get('hostname', '?')} "
        f"({report.get('machine', {}).get('cpus', '?')} cpus), commit {report.get('commit') or '?'}",
        "",
        "## Rollout criteria",
        "",
        "| id | criterion | verdict | why |",
        "|---|---|---|---|",
    ]
    for criterion in report["criteria"]:
        why = criterion["summary"].replace("|", "\\|")
        lines.append(
            f"| {criterion['id']} | {criterion['title']} | {MARK[criterion['passed']]} | {why} |"
        )
    failed = [c for c in report["criteria"] if c["passed"] is False]
    if failed:
        lines += ["", "### Evidence for the failed criteria", ""]
        for criterion in failed:
            lines.append(f"**{criterion['id']} {criterion['title']}**")
            lines.append("")
            for item in criterion["evidence"] or ["(see the scenario sections below)"]:
                lines.append(f"- `{item}`")
            lines.append("")
    lines += ["", "## Scenarios", "", "| scenario | verdict | took | checks |", "|---|---|---|---|"]
    for scenario in report["scenarios"]:
        checks = ", ".join(
            f"{c['name']}: {MARK[c['valid']] if not c.get('crashed') else 'crashed'}"
            for c in scenario["checks"]
        )
        if not scenario["applicable"]:
            checks = f"not applicable: {scenario['reason']}"
        lines.append(
            f"| {scenario['name']} | {MARK[scenario['passed']]} | {scenario['duration_s']:.1f} s | {checks} |"
        )
    for scenario in report["scenarios"]:
        lines += ["", f"### {scenario['name']}", "", scenario.get("description") or "", ""]
        if not scenario["applicable"]:
            lines.append(f"Not applicable: {scenario['reason']}")
            continue
        lines.append(f"History: `{scenario['history']}`")
        for note in scenario.get("notes", []):
            lines.append(f"- note: {note}")
        lines.append("")
        for check in scenario["checks"]:
            lines.append(f"- **{check['name']}**: {MARK[check['valid']]}: {check['summary']}")
            for item in check.get("evidence", [])[:3]:
                lines.append(f"  - `{item}`")
    if report["verdict"] == "fail":
        lines += ["", "## Replay", "", f"    {report['replay']}", ""]
    return "\n".join(lines) + "\n"
