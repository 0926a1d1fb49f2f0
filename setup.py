"""Ship the default suite (``scenarios/``) inside the wheel, as ``harness/_scenarios/``.

The scenario files live at the top of the repository, where users read and copy them; a wheel
only carries packages. This hook copies every ``scenarios/**/*.toml`` into the built package,
so ``jobharness verify`` finds the suite from any folder once installed. Everything else is
in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SOURCE = Path(__file__).resolve().parent / "scenarios"


class BuildWithScenarios(build_py):  # type: ignore[misc]
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "harness" / "_scenarios"
        for path in sorted(SOURCE.rglob("*.toml")):
            copy = target / path.relative_to(SOURCE)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, copy)


setup(cmdclass={"build_py": BuildWithScenarios})
