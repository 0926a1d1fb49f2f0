"""A service that never makes anything durable: ``os.fsync`` and ``os.fdatasync`` do nothing.

Every write still reaches the page cache, so a kill loses nothing and every kill scenario
passes; only a power cut shows that the 202 was a promise nobody kept. The harness must fail C6
(an acknowledged job lost) in the power-loss-through-the-API scenario.
"""

from __future__ import annotations

import os
import sys

from _launch import serve

os.fsync = lambda fd: None  # the defect
os.fdatasync = lambda fd: None

if __name__ == "__main__":
    sys.exit(serve())
