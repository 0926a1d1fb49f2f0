"""The record of a bench run: what ``bench.json`` holds, read as it is.

``jobharness bench`` writes ``bench.json``: figures (each a measured median with its floor and
the ratio to it), the floors themselves (figures named ``floor_*``), the performance targets,
the machine, and the parts the report charts (``scaling``, ``directory_size``, ``breakdown``,
``recover``). The benchmark code owns that format and may add fields to it; this record types
what the gate, the report and the trend read, and keeps every field as it was written, known or
not, so a file always round-trips::

    >>> bench = BenchResults.from_dict({"tool": "jobharness-bench", "figures": {
    ...     "floor_write.1k": {"value": 470.0, "unit": "us", "ratio": None},
    ...     "save.hardened.1k": {"value": 510.0, "ratio": 1.085, "store": "hardened"}},
    ...     "targets": [], "scaling": {}, "a_later_field": 1})
    >>> bench.ratios, sorted(bench.floors)
    ({'save.hardened.1k': 1.085}, ['floor_write.1k'])
    >>> BenchResults.from_dict(bench.as_dict()) == bench
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_TOOL = "jobharness-bench"
TYPED_KEYS = ("tool", "format", "quick", "commit", "started", "duration_s", "machine")


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


@dataclass(frozen=True)
class BenchFigure:
    """One figure of bench.json, typed where read and otherwise as written (``fields``)."""

    name: str  # e.g. save.hardened.1k, floor_write.1k, scaling.same.hardened.4
    fields: dict[str, Any]

    @property
    def value(self) -> float | None:
        return _number(self.fields.get("value"))

    @property
    def unit(self) -> str:
        return _text(self.fields.get("unit")) or "us"

    @property
    def p50_us(self) -> float | None:
        """The median in microseconds (``value`` in files that have no ``p50_us``)."""
        p50 = _number(self.fields.get("p50_us"))
        return p50 if p50 is not None else self.value

    @property
    def p99_us(self) -> float | None:
        return _number(self.fields.get("p99_us"))

    @property
    def samples(self) -> int | None:
        samples = _number(self.fields.get("samples"))
        return int(samples) if samples is not None else None

    @property
    def ratio(self) -> float | None:
        """The median divided by its floor's, measured in the same run: what the gate compares."""
        return _number(self.fields.get("ratio"))

    @property
    def floor(self) -> str | None:
        return _text(self.fields.get("floor"))

    @property
    def store(self) -> str | None:
        return _text(self.fields.get("store")) or None

    @property
    def op(self) -> str:
        return _text(self.fields.get("op")) or self.name.split(".")[0]

    @property
    def payload(self) -> str:
        return _text(self.fields.get("payload")) or self.name.split(".")[-1]

    @property
    def is_floor(self) -> bool:
        return self.name.startswith("floor_")


@dataclass(frozen=True)
class BenchTarget:
    """One performance target and how the run met it (``passed`` None: not measured)."""

    fields: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.fields.get("id", ""))

    @property
    def title(self) -> str:
        return str(self.fields.get("title", ""))

    @property
    def figure(self) -> str:
        return str(self.fields.get("figure", ""))

    @property
    def metric(self) -> str:
        return str(self.fields.get("metric", ""))

    @property
    def limit(self) -> Any:
        return self.fields.get("limit")

    @property
    def value(self) -> Any:
        return self.fields.get("value")

    @property
    def passed(self) -> bool | None:
        passed = self.fields.get("passed")
        return passed if isinstance(passed, bool) else None

    @property
    def margin(self) -> str:
        return str(self.fields.get("margin", ""))


@dataclass(frozen=True)
class BenchResults:
    """A bench run: provenance, figures, targets, and the rest of bench.json (``extra``).

    ``folder`` is where it was loaded from (not saved in the file).
    """

    figures: dict[str, BenchFigure]
    targets: tuple[BenchTarget, ...] = ()
    quick: bool = False
    commit: str | None = None
    started: str = ""
    duration_s: float = 0.0
    machine: dict[str, Any] = field(default_factory=dict)
    format: int = 1
    extra: dict[str, Any] = field(default_factory=dict)  # scaling, breakdown, ... as written
    folder: Path | None = field(default=None, compare=False)

    @property
    def floors(self) -> dict[str, BenchFigure]:
        """The floors the figures are divided by: ``floor_write.1k``, ``floor_read.64k``, ..."""
        return {name: figure for name, figure in self.figures.items() if figure.is_floor}

    @property
    def ratios(self) -> dict[str, float]:
        """Every figure's ratio to its floor, where it has one."""
        return {
            name: figure.ratio for name, figure in self.figures.items() if figure.ratio is not None
        }

    @property
    def stores(self) -> list[str]:
        """The stores measured, sorted."""
        return sorted({figure.store for figure in self.figures.values() if figure.store})

    def part(self, name: str) -> Mapping[str, Any]:
        """A charted part of bench.json (``scaling``, ``directory_size``, ``breakdown``,
        ``recover``), empty when this run did not measure it."""
        value = self.extra.get(name)
        return value if isinstance(value, dict) else {}

    def as_dict(self) -> dict[str, Any]:
        return {
            "tool": BENCH_TOOL,
            "format": self.format,
            "quick": self.quick,
            "commit": self.commit,
            "started": self.started,
            "duration_s": self.duration_s,
            "machine": dict(self.machine),
            "figures": {name: dict(figure.fields) for name, figure in self.figures.items()},
            "targets": [dict(target.fields) for target in self.targets],
            **self.extra,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], folder: Path | None = None) -> BenchResults:
        figures = data.get("figures")
        targets = data.get("targets")
        machine = data.get("machine")
        return cls(
            figures={
                str(name): BenchFigure(str(name), dict(fields))
                for name, fields in (figures.items() if isinstance(figures, dict) else ())
                if isinstance(fields, dict)
            },
            targets=tuple(BenchTarget(dict(t)) for t in (targets or ()) if isinstance(t, dict)),
            quick=bool(data.get("quick", False)),
            commit=_text(data.get("commit")),
            started=str(data.get("started", "")),
            duration_s=_number(data.get("duration_s")) or 0.0,
            machine=dict(machine) if isinstance(machine, dict) else {},
            format=int(data.get("format", 1)),
            extra={
                key: value
                for key, value in data.items()
                if key not in (*TYPED_KEYS, "figures", "targets")
            },
            folder=folder,
        )
