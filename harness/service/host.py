"""``python -m harness.service.host NAME -- COMMAND...``: become host NAME, then exec COMMAND.

Run inside ``unshare --uts --pid --fork`` (see :class:`harness.service.instances.ServiceInstance`):
the new UTS namespace gets its own hostname, so an instance started this way looks like a
process on another machine to a liveness check by host name and pid, while it still shares the
loopback network and the data folder. ``exec`` keeps the pid, so the server is the process the
faults signal and trace.
"""

from __future__ import annotations

import os
import socket
import sys


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: python -m harness.service.host NAME -- COMMAND...", file=sys.stderr)
        return 2
    socket.sethostname(argv[0])
    os.execvp(argv[2], argv[2:])
    return 127  # not reached: execvp replaces this process or raises


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
