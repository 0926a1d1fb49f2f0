"""The ``[options]`` of a power-loss scenario, validated where the scenario file is read.

A leaf of the power-loss package: the explorer (:mod:`~harness.nemesis.powerloss.exploration`),
the sequences (:mod:`~harness.nemesis.powerloss.sequences`) and the checking pool
(:mod:`~harness.nemesis.powerloss.check_pool`) all take these options and import them from here.
:meth:`PowerLossOptions.from_scenario` reads a plain dict and nothing else (no file, no process,
no store), so the scenario loader can call it to refuse a bad option as soon as the file is read;
a bad value raises :class:`~harness.errors.ScenarioError` naming ``options.<key>``. Keys it does
not know are left alone: ``[options]`` is shared with the other kinds' settings.

>>> PowerLossOptions.from_scenario({"max_states": 50}, "power-loss.toml").max_states
50
>>> PowerLossOptions.from_scenario({"workers": 0}, "x.toml")
Traceback (most recent call last):
...
harness.errors.ScenarioError: x.toml: options.workers: expected an integer from 1 to 64, got 0
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.errors import ScenarioError
from harness.nemesis.powerloss.data_variants import PAGE_SAMPLES


@dataclass(frozen=True)
class PowerLossOptions:
    """The ``[options]`` of a power-loss scenario, validated (the defaults need no file)."""

    max_states: int = 400  # crash states checked per operation (a seeded sample above it)
    state_timeout: float = 20.0  # seconds one state may take to open, recover and read
    workers: int = 2  # checking processes
    update: bool = True  # also trace update_job
    keep_states: bool = False  # keep the materialized state directories
    page_samples: int = PAGE_SAMPLES  # out-of-order page variants per file and point (0: none)
    recover_cuts: int = 2  # states per operation cut again during recover() (0: none)
    sequences: int = 0  # explore every sequence of up to this many operations instead (0: off)

    @classmethod
    def from_scenario(cls, options: Mapping[str, Any], where: str) -> PowerLossOptions:
        """Read ``options`` (the scenario's ``[options]``); ``where`` names the file in errors."""
        reader = _OptionReader(options, where)
        return cls(
            max_states=reader.integer("max_states", cls.max_states, 100_000),
            state_timeout=reader.seconds("state_timeout", cls.state_timeout, 0.5, 600),
            workers=reader.integer("workers", cls.workers, 64),
            update=reader.boolean("update", cls.update),
            keep_states=reader.boolean("keep_states", cls.keep_states),
            page_samples=reader.integer("page_samples", cls.page_samples, 1000, bottom=0),
            recover_cuts=reader.integer("recover_cuts", cls.recover_cuts, 100, bottom=0),
            sequences=reader.integer("sequences", cls.sequences, 4, bottom=0),
        )


@dataclass(frozen=True)
class _OptionReader:
    """Typed reads of one ``[options]`` table; a bad value raises naming ``options.<key>``."""

    options: Mapping[str, Any]
    where: str

    def integer(self, key: str, default: int, top: int, bottom: int = 1) -> int:
        value = self.options.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or not bottom <= value <= top:
            raise ScenarioError(
                self.where, f"options.{key}", f"an integer from {bottom} to {top}", value
            )
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.options.get(key, default)
        if not isinstance(value, bool):
            raise ScenarioError(self.where, f"options.{key}", "true or false", value)
        return value

    def seconds(self, key: str, default: float, bottom: float, top: float) -> float:
        value = self.options.get(key, default)
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not bottom <= value <= top
        ):
            raise ScenarioError(
                self.where,
                f"options.{key}",
                f"a number of seconds from {bottom:g} to {top:g}",
                value,
            )
        return float(value)
