"""The timelines part of ``report.html``: one timeline per scenario and store, with its caption.

:func:`timelines_section` groups the runs' scenarios by name, each a ``<details>`` block holding
one figure per store: the SVG of :mod:`harness.report.timeline`, then the scenario's verdict, how
many operations of each kind, the kills and damages, the failed checks with their first evidence
line, and the run's notes. The operations marked as judged wrong are those the saved evidence
names (:func:`problem_operations`): the checkers are not run again.
"""

from __future__ import annotations

from harness.history.log import load_history
from harness.report.markup import count_of, slug, tag, verdict_word
from harness.report.runs import VerifyRun
from harness.report.svg import esc
from harness.report.timeline import build_timeline, render_timeline
from harness.report.timeline_model import (
    DAMAGE_COLOR,
    KILL_COLOR,
    LEVEL_COLORS,
    LEVEL_NAMES,
    WINDOW_STYLE,
)
from harness.results import ScenarioResult


def timelines_section(verify: list[VerifyRun]) -> str:
    names = list(dict.fromkeys(s.name for run in verify for s in run.report.scenarios))
    blocks = []
    for name in names:
        figures, description = [], ""
        for run in verify:
            scenario = run.report.scenario(name)
            if scenario is not None:
                description = description or scenario.description
                figures.append(_timeline_figure(run, scenario))
        summary = tag("summary", tag("b", esc(name)) + " " + esc(description))
        blocks.append(
            tag(
                "details",
                summary + "".join(figures),
                class_="scenario",
                id=f"sc-{slug(name)}",
                open="",
            )
        )
    return TIMELINE_LEGEND + "".join(blocks) if blocks else ""


def _timeline_figure(run: VerifyRun, scenario: ScenarioResult) -> str:
    name = scenario.name
    anchor = f"tl-{run.slug}-{slug(name)}"
    head = f"{tag('b', esc(run.label))}: {verdict_word(scenario.status)}"
    history = run.path / scenario.history
    if not scenario.applicable:
        caption = f"{head}: not applicable: {esc(scenario.reason)}"
        return tag("figure", tag("figcaption", caption), id=anchor, class_="timeline")
    if not history.is_file():
        caption = f"{head}: its history {tag('code', esc(history))} is missing"
        return tag("figure", tag("figcaption", caption), id=anchor, class_="timeline")
    records = load_history(history)
    timeline = build_timeline(records, problem_operations(scenario))
    counts = timeline.counts()
    facts = [
        f"{sum(counts.values())} ops "
        f"({counts['ok']} ok, {counts['fail']} fail, {counts['info']} info)"
    ]
    if timeline.problems:
        facts.append(
            count_of(timeline.problems, "operation judged wrong", "operations judged wrong")
        )
    for kind, one, many in (
        ("killed", "kill", "kills"),
        ("crashed", "crash", "crashes"),
        ("damaged", "damage", "damages"),
    ):
        if count := sum(1 for marker in timeline.markers if marker.kind == kind):
            facts.append(count_of(count, one, many))
    items = [
        tag(
            "li",
            f"{esc(check.name)}: {esc(check.summary)}"
            + (f"<br>{tag('code', esc(check.evidence[0]))}" if check.evidence else ""),
        )
        for check in scenario.checks
        if check.valid is False or check.crashed
    ]
    items += [tag("li", f"note: {esc(note)}") for note in scenario.notes]
    caption = f"{head} · {esc(', '.join(facts))} · history {tag('code', esc(history))}"
    caption += tag("ul", "".join(items)) if items else ""
    svg = render_timeline(anchor, f"{run.label}: {name}", timeline)
    return tag("figure", svg + tag("figcaption", caption), id=anchor, class_="timeline")


def problem_operations(scenario: ScenarioResult) -> dict[int, str]:
    """The operations the scenario's failed checks name in their evidence, with their words.

    Read from the saved results (``evidence_operations`` in report.json, or the ``op #N`` the
    lines of an older report start with): the checkers are not run again, so the timeline marks
    what the verdict was given for.
    """
    problems: dict[int, str] = {}
    for check in scenario.checks:
        for index, line in check.problem_operations().items():
            problems.setdefault(index, f"{check.name}: {line}")
    return problems


def _swatch(color: str, label: str, opacity: float = 1.0) -> str:
    box = tag("span", "", class_="swatch", style=f"background:{color};opacity:{opacity:.2f}")
    return box + esc(label)


TIMELINE_LEGEND = tag(
    "p",
    " ".join(_swatch(color, LEVEL_NAMES[level][1]) for level, color in LEVEL_COLORS.items())
    + " · "
    + _swatch(KILL_COLOR, "kill (a line)")
    + " "
    + _swatch(DAMAGE_COLOR, "damage (a triangle)")
    + " · shaded while in force: "
    + " ".join(
        _swatch(color, words, min(1.0, opacity * 4))
        for color, opacity, words in WINDOW_STYLE.values()
    )
    + " · black tick: a new incarnation of a killed process · grey dashes: phases."
    + " Hover for details.",
    class_="legend",
)
