"""The default suite: where its scenario files are, and picking scenarios of it by name.

``jobharness verify``, :func:`harness.verify` and the pytest plugin all start here, so a run
finds the same suite from any folder, installed or in a checkout.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from harness.errors import ConfigError


def default_scenarios_folder(*, service: bool = False) -> Path:
    """The default suite: ``$JOBHARNESS_SCENARIOS``, else the one that ships with the harness.

    Installed from a wheel, the suite is package data (``harness/_scenarios/``, copied there by
    setup.py); in a checkout, or an editable install, it is the repository's ``scenarios/``.
    A ``scenarios/`` folder in the current directory is never picked up on its own: a run is
    the same from any folder, and a suite of your own is given with ``--scenarios``.
    """
    configured = os.environ.get("JOBHARNESS_SCENARIOS")
    package = Path(__file__).resolve().parent.parent  # harness/
    folder = Path(configured) if configured else package / "_scenarios"
    if not configured and not folder.is_dir():
        folder = package.parent / "scenarios"
    return folder / "service" if service else folder


def pick_scenarios(scenarios: list[Any], names: list[str] | None, folder: Path) -> list[Any]:
    """The scenarios ``--only`` names, in the suite's order; an unknown name is exit 2."""
    if not names:
        return scenarios
    known = [scenario.name for scenario in scenarios]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ConfigError(
            f"--only {unknown[0]}: no scenario of that name in {folder}; "
            f"the names are: {', '.join(known)}"
        )
    return [scenario for scenario in scenarios if scenario.name in names]
