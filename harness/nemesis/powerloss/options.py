"""The ``[options]`` of a power-loss scenario, validated where the scenario file is read.

A leaf of the power-loss package: the explorer (:mod:`harness.nemesis.powerloss`), the sequences
(:mod:`harness.nemesis.powerloss.sequences`) and the state checks (:mod:`harness.nemesis.powerloss.statecheck`) all
take these options, and import them from here rather than from one another.

>>> PowerLossOptions.from_scenario({"max_states": 50}, "power-loss.toml").max_states
50
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.errors import ScenarioError
from harness.nemesis.powerloss.data_variants import PAGE_SAMPLES


@dataclass(frozen=True)
class PowerLossOptions:
    """The ``[options]`` of a power-loss scenario, validated."""

    max_states: int = 400
    state_timeout: float = 20.0
    workers: int = 2
    update: bool = True
    keep_states: bool = False
    page_samples: int = PAGE_SAMPLES
    recover_cuts: int = 2
    sequences: int = 0

    @classmethod
    def from_scenario(cls, extra: dict[str, Any], where: str) -> PowerLossOptions:
        def integer(key: str, default: int, top: int, bottom: int = 1) -> int:
            value = extra.get(key, default)
            if not isinstance(value, int) or isinstance(value, bool) or not bottom <= value <= top:
                raise ScenarioError(
                    where, f"options.{key}", f"an integer from {bottom} to {top}", value
                )
            return value

        def boolean(key: str, default: bool) -> bool:
            value = extra.get(key, default)
            if not isinstance(value, bool):
                raise ScenarioError(where, f"options.{key}", "true or false", value)
            return value

        timeout = extra.get("state_timeout", cls.state_timeout)
        if (
            not isinstance(timeout, int | float)
            or isinstance(timeout, bool)
            or not 0.5 <= timeout <= 600
        ):
            raise ScenarioError(
                where, "options.state_timeout", "a number of seconds from 0.5 to 600", timeout
            )
        return cls(
            max_states=integer("max_states", cls.max_states, 100_000),
            state_timeout=float(timeout),
            workers=integer("workers", cls.workers, 64),
            update=boolean("update", cls.update),
            keep_states=boolean("keep_states", cls.keep_states),
            page_samples=integer("page_samples", cls.page_samples, 1000, bottom=0),
            recover_cuts=integer("recover_cuts", cls.recover_cuts, 100, bottom=0),
            sequences=integer("sequences", cls.sequences, 4, bottom=0),
        )
