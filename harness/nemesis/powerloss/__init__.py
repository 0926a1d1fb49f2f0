"""Power loss: the on-disk states a power cut may leave behind a store call, each opened after it.

Placeholder while the package takes shape; see :mod:`.exploration`.
"""

from __future__ import annotations

from harness.nemesis.powerloss.exploration import explore_power_loss
from harness.nemesis.powerloss.options import PowerLossOptions

__all__ = ["PowerLossOptions", "explore_power_loss"]
