"""The criteria part of ``report.html``: the matrix of stores by criteria, then the evidence.

:func:`matrix_section` draws one row per store and one column per criterion (C1-C8, P1-P3), each
cell a link to that criterion's block in :func:`evidence_section`: its summary, its first
offending operations (each line's leading ``scenario:`` a link to that scenario's timeline) and
the scenarios that judged it. The evidence is ordered failures first (:mod:`.ordering`): the
runs that failed before those that passed, and in each run the failed criteria, then the
unknown ones, then the rest; the first of them is wrapped in ``id="first-failure"``
(:func:`first_failure`), where the verdict banner links. :func:`criteria_columns` is shared
with ``summary.md``.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.report.markup import CSS_CLASS, MARK, slug, tag
from harness.report.ordering import failures_first
from harness.report.runs import VerifyRun
from harness.report.svg import esc
from harness.results import CriterionResult
from harness.results.status import FAIL, UNKNOWN


def criteria_columns(verify: Sequence[VerifyRun]) -> list[tuple[str, str]]:
    """(id, title) of every criterion in any run, in the order the runs list them."""
    columns: dict[str, str] = {}
    for run in verify:
        for criterion in run.report.criteria:
            columns.setdefault(criterion.id, criterion.title)
    return list(columns.items())


def criteria_of(run: VerifyRun) -> dict[str, CriterionResult]:
    return {criterion.id: criterion for criterion in run.report.criteria}


def matrix_section(verify: list[VerifyRun]) -> str:
    if not verify:
        return ""
    columns = criteria_columns(verify)
    head = "".join(tag("th", tag("abbr", esc(cid), title=title)) for cid, title in columns)
    rows = []
    for run in verify:
        criteria = criteria_of(run)
        verdict = run.report.verdict
        cells = [
            tag("th", tag("a", esc(run.label), href=f"#ev-{run.slug}"), class_="store"),
            tag("td", esc(verdict), class_=f"verdict {CSS_CLASS.get(verdict, 'na')}"),
        ]
        for cid, _ in columns:
            criterion = criteria.get(cid)
            if criterion is None:
                cells.append(tag("td", "-", class_="absent"))
                continue
            status = criterion.status
            link = tag(
                "a",
                MARK[status],
                href=f"#ev-{run.slug}-{slug(cid)}",
                title=criterion.summary,
            )
            cells.append(tag("td", link, class_=f"cell {CSS_CLASS[status]}"))
        rows.append(tag("tr", "".join(cells), class_="store-row"))
    legend = "".join(tag("li", tag("b", esc(cid)) + " " + esc(title)) for cid, title in columns)
    return (
        tag("p", "Each cell links to that criterion's summary and evidence for that store.")
        + tag(
            "table",
            tag("thead", tag("tr", "<th>store</th><th>verdict</th>" + head))
            + tag("tbody", "".join(rows)),
            class_="matrix",
        )
        + tag("ul", legend, class_="criteria-legend")
    )


def ordered_criteria(run: VerifyRun) -> list[CriterionResult]:
    """The run's criteria failures first (fail, unknown, pass, n/a), in id order within each."""
    return failures_first(run.report.criteria, lambda criterion: criterion.status)


def ordered_runs(verify: Sequence[VerifyRun]) -> list[VerifyRun]:
    """The runs failures first by their verdict, so the first failure is above any pass."""
    return failures_first(verify, lambda run: run.report.verdict)


def first_failure(verify: Sequence[VerifyRun]) -> tuple[VerifyRun, CriterionResult] | None:
    """The criterion the page's ``#first-failure`` anchor marks: the first failed one in the
    evidence order, else the first unknown one (a verdict not reached is not a pass either)."""
    for wanted in (FAIL, UNKNOWN):
        for run in ordered_runs(verify):
            for criterion in run.report.criteria:
                if criterion.status == wanted:
                    return run, criterion
    return None


def evidence_section(verify: list[VerifyRun]) -> str:
    """Each run's criteria, worst first: the runs that failed, then unknown, then passed; within
    a run, failed criteria, then unknown, pass and n/a. The first failure carries the anchor
    ``first-failure`` that the verdict banner links to."""
    first = first_failure(verify)
    parts = []
    for run in ordered_runs(verify):
        scenarios = {scenario.name for scenario in run.report.scenarios}
        parts.append(tag("h3", esc(run.label), id=f"ev-{run.slug}"))
        if run.report.verdict != "pass" and run.report.replay:
            replay = tag("code", esc(run.report.replay))
            parts.append(tag("p", f"Replay with the same seed: {replay}"))
        for criterion in ordered_criteria(run):
            block = _evidence_block(run, criterion.id, criterion, scenarios)
            if first is not None and first[0] is run and first[1] is criterion:
                # A wrapper, not a second id on the block: the matrix links to the block's own.
                block = tag("div", block, id="first-failure", class_="first-failure")
            parts.append(block)
    return "".join(parts)


def _evidence_block(
    run: VerifyRun, cid: str, criterion: CriterionResult, scenarios: set[str]
) -> str:
    status = criterion.status
    lines = "".join(
        tag("li", tag("code", _link_scenario(line, run, scenarios))) for line in criterion.evidence
    )
    judged = ", ".join(
        f"{tag('a', esc(name), href=f'#tl-{run.slug}-{slug(name)}')} {MARK.get(verdict, 'n/a')}"
        for name, verdict in failures_first(criterion.scenarios.items(), lambda item: item[1])
    )
    heading = f"{esc(run.label)} · {esc(cid)} {esc(criterion.title)}: {MARK[status]}"
    return tag(
        "div",
        tag("h4", heading)
        + tag("p", esc(criterion.summary))
        + (tag("ul", lines) if lines else "")
        + "".join(
            tag("p", "likely cause → fix: " + esc(fix), class_="fix") for fix in criterion.fixes
        )
        + (tag("p", f"judged in: {judged}", class_="scenarios") if judged else ""),
        class_=f"evidence {CSS_CLASS[status]}",
        id=f"ev-{run.slug}-{slug(cid)}",
    )


def _link_scenario(line: str, run: VerifyRun, scenarios: set[str]) -> str:
    """An evidence line with its leading ``scenario:`` turned into a link to that timeline."""
    name, separator, rest = line.partition(": ")
    if separator and name in scenarios:
        return f"{tag('a', esc(name), href=f'#tl-{run.slug}-{slug(name)}')}: {esc(rest)}"
    return esc(line)
