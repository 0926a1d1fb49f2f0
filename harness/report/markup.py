"""HTML building blocks of ``report.html``, shared by the page and its sections.

:func:`tag` writes one HTML element the way :func:`harness.report.plots.element` writes an SVG
one, and the rest are the small pieces every section repeats::

    >>> tag("td", verdict_word(False), class_="cell", title=None)
    '<td class="cell"><b class="fail">FAIL</b></td>'
    >>> slug("path/my.py:make")
    'path-my-py-make'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from harness.report.svg import esc, format_number

# Keyed by a status word, or by the older ``passed`` flag (None was "n/a" before "unknown").
MARK: dict[Any, str] = {
    True: "pass",
    False: "FAIL",
    None: "n/a",
    "pass": "pass",
    "fail": "FAIL",
    "unknown": "UNKNOWN",
    "n/a": "n/a",
}
CSS_CLASS: dict[Any, str] = {
    True: "pass",
    False: "fail",
    None: "na",
    "pass": "pass",
    "fail": "fail",
    "unknown": "unknown",
    "n/a": "na",
}


def slug(text: str) -> str:
    """``text`` made fit for an HTML id: ``path/my.py:make`` -> ``path-my-py-make``."""
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-") or "x"


def tag(name: str, content: str = "", **attributes: object) -> str:
    """One HTML element: ``class_`` is written ``class``, ``data_x`` ``data-x``; None is skipped."""
    shown = "".join(
        f' {key.rstrip("_").replace("_", "-")}="{esc(value)}"'
        for key, value in attributes.items()
        if value is not None
    )
    return f"<{name}{shown}>{content}</{name}>"


def verdict_word(passed: bool | str | None) -> str:
    """pass / FAIL / UNKNOWN / n/a, coloured (a status word or the older ``passed`` flag)."""
    return tag("b", MARK.get(passed, "n/a"), class_=CSS_CLASS.get(passed, "na"))


def table_row(cells: Sequence[str], cell: str = "td") -> str:
    """One table row of ``cell`` elements (``td``, or ``th`` for a heading row)."""
    return tag("tr", "".join(tag(cell, content) for content in cells))


def count_of(count: int, one: str, many: str = "") -> str:
    """``1 target``, ``2 targets``; ``many`` for a plural that is not ``one`` + s.

    >>> count_of(1, "crash", "crashes"), count_of(3, "crash", "crashes"), count_of(2, "figure")
    ('1 crash', '3 crashes', '2 figures')
    """
    return f"{count} {one if count == 1 else many or one + 's'}"


def format_value(value: Any) -> str:
    """A number as :func:`~harness.report.svg.format_number` writes it, else plain text."""
    return format_number(value) if isinstance(value, int | float) else str(value or "")
