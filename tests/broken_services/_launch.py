"""What the broken services share: run the real ``python -m durable_jobs.service`` after a patch.

Each module beside this one is a deliberate defect in the built-in service, kept outside the
product, for the harness to catch from HTTP alone (tests/test_service_verify.py). Each changes one
thing and says which criterion must catch it; its command line is the real service's.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository, when run as a file


def serve() -> int:
    from durable_jobs.service.__main__ import main

    return main(sys.argv[1:])
