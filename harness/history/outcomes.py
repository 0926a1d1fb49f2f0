"""How a call or a process ended, in the words reports use.

>>> describe_error(ValueError("bad id"))
'ValueError: bad id'
>>> describe_exit(-9)
'killed by SIGKILL'
"""

from __future__ import annotations

import signal


def describe_error(error: BaseException, limit: int = 300) -> str:
    """``Type: message`` (just ``Type`` when the message is empty), cut at ``limit``."""
    text = str(error).strip()
    return f"{type(error).__name__}: {text}"[:limit] if text else type(error).__name__


def describe_exit(code: int | None) -> str:
    """A process's exit code as a phrase: a signal by name, or the code."""
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"
