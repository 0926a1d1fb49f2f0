"""Typed reading of one TOML table, with errors that name the file, the key and what was expected.

A scenario file is a tree of small tables (``[workload]``, each ``[[processes]]``, each
``[[faults]]``); each is read by a :class:`TableReader` that checks every value's type and
range as it is read, remembers which keys were read, and at the end rejects any key nobody read
(a typo must not be silently ignored)::

    >>> table = TableReader({"times": 2, "colour": "red"}, "p.toml", "faults[0].")
    >>> table.integer("times", default=1, minimum=1, maximum=100)
    2
    >>> table.reject_unknown()
    Traceback (most recent call last):
    ...
    harness.errors.ScenarioError: p.toml: faults[0].colour: expected one of the known keys: times, got an unknown key

Every error is a :class:`~harness.errors.ScenarioError` of the form "file: key: expected X,
got Y", which the command line prints alone with exit code 2. A fault kind parses its own table
with one of these (see :mod:`harness.nemesis.fault`), so its keys, defaults and bounds live with
the class that uses them.
"""

from __future__ import annotations

from typing import Any

from harness.errors import ScenarioError


class TableReader:
    """Typed access to one TOML table, remembering which keys were read.

    ``where`` names the file, ``prefix`` the table inside it (``"faults[1]."``, or ``""`` for the
    top level), so that every message points at the exact key. ``top_level_keys`` are the keys of
    the document's top level: an unknown key inside a table that is one of them was most likely
    written after a ``[table]`` header by mistake, and the message says so.
    """

    def __init__(
        self,
        data: dict[str, Any],
        where: str,
        prefix: str = "",
        top_level_keys: tuple[str, ...] = (),
    ) -> None:
        self.data, self.where, self.prefix = data, where, prefix
        self.top_level_keys = top_level_keys
        self.seen: set[str] = set()

    def nested(self, data: dict[str, Any], prefix: str) -> TableReader:
        """A reader for a table inside this document (same file, same top-level keys)."""
        return TableReader(data, self.where, prefix, self.top_level_keys)

    def has(self, key: str) -> bool:
        """Whether the table sets ``key``; ``key`` counts as one of the table's known keys."""
        self.seen.add(key)
        return key in self.data

    def error(self, key: str, expected: str, got: Any = None) -> ScenarioError:
        """The error for ``key`` of this table (for checks the typed readers do not cover)."""
        return ScenarioError(self.where, self.prefix + key, expected, got)

    def _get(self, key: str, default: Any, required: bool) -> Any:
        self.seen.add(key)
        if key not in self.data:
            if required:
                raise self.error(key, "a value (the key is required)")
            return default
        return self.data[key]

    def _fail(self, key: str, expected: str, got: Any) -> ScenarioError:
        return self.error(key, expected, repr(got))

    def string(self, key: str, *, default: Any = ...) -> str:
        """A string; without a default the key is required."""
        value = self._get(key, default, default is ...)
        if not isinstance(value, str):
            raise self._fail(key, "a string", value)
        return value

    def choice(self, key: str, options: tuple[str, ...], *, default: Any = ...) -> str:
        """One of ``options``; without a default the key is required."""
        value = self._get(key, default, default is ...)
        if value not in options:
            raise self._fail(key, "one of " + ", ".join(repr(o) for o in options), value)
        return value

    def boolean(self, key: str, *, default: bool) -> bool:
        value = self._get(key, default, False)
        if not isinstance(value, bool):
            raise self._fail(key, "true or false", value)
        return value

    def integer(self, key: str, *, default: Any, minimum: int, maximum: int) -> Any:
        """An integer within the bounds (``default=None``: None when the key is absent)."""
        value = self._get(key, default, default is ...)
        if value is None and default is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= maximum:
            raise self._fail(key, f"an integer from {minimum} to {maximum}", value)
        return value

    def number(self, key: str, *, default: float, minimum: float, maximum: float) -> float:
        """An integer or a float within the bounds, as a float."""
        value = self._get(key, default, False)
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not minimum <= value <= maximum
        ):
            raise self._fail(key, f"a number from {minimum:g} to {maximum:g}", value)
        return float(value)

    def integer_list(
        self, key: str, *, default: list[int], minimum: int, maximum: int
    ) -> list[int]:
        """An integer, or a non-empty list of integers (a mix), each within the bounds."""
        value = self._get(key, default, False)
        items = value if isinstance(value, list) else [value]
        expected = f"an integer from {minimum} to {maximum}, or a non-empty list of them"
        if not items:
            raise self._fail(key, expected, value)
        for item in items:
            if (
                not isinstance(item, int)
                or isinstance(item, bool)
                or not minimum <= item <= maximum
            ):
                raise self._fail(key, expected, value)
        return list(items)

    def string_list(self, key: str, options: tuple[str, ...], *, default: list[str]) -> list[str]:
        """A name from ``options``, or a non-empty list of them."""
        value = self._get(key, default, False)
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value:
            raise self._fail(key, "a non-empty list of strings", value)
        for item in value:
            if item not in options:
                raise self._fail(key, "names from " + ", ".join(options), item)
        return list(value)

    def table(self, key: str) -> dict[str, Any]:
        """A sub-table (``[workload]``), empty when absent."""
        value = self._get(key, {}, False)
        if not isinstance(value, dict):
            raise self._fail(key, f"a table [{self.prefix}{key}]", value)
        return value

    def array_of_tables(self, key: str) -> list[dict[str, Any]]:
        """An array of tables (``[[processes]]``), empty when absent."""
        value = self._get(key, [], False)
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise self._fail(key, f"an array of tables [[{self.prefix}{key}]]", value)
        return value

    def reject_unknown(self, known: str = "the known keys") -> None:
        """Fail on the first key that was never read; ``known`` names whose keys these are."""
        unknown = sorted(set(self.data) - self.seen)
        if not unknown:
            return
        expected = f"one of {known}: " + ", ".join(sorted(self.seen))
        if self.prefix and unknown[0] in self.top_level_keys:
            expected += (
                f" ({unknown[0]!r} is a top-level key: in TOML it must come before the "
                "first [table], or it belongs to that table)"
            )
        raise self.error(unknown[0], expected, "an unknown key")
