"""Headless Chromium over the DevTools protocol, for the browser tests of ``report.html``.

No websocket library and no driver: :class:`DevTools` starts the browser with
``--remote-debugging-pipe`` and speaks JSON to it over two pipes. :func:`started_browser` is
the fixture's body (the browser goes away with the test, its process group ended by its id),
:func:`open_page` loads a file in a new tab and :func:`evaluate` runs JavaScript in it. The
browser is ``/usr/bin/chromium`` (``JOBHARNESS_CHROMIUM`` for another);
``JOBHARNESS_REQUIRE_CHROMIUM=1`` (CI) turns a missing browser from a skip into a failure.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("JOBHARNESS_CHROMIUM", "/usr/bin/chromium")

# Every chart's <text> against its <svg>, both as laid out on the screen (a rotated axis label
# included): more than a pixel outside is a clipped or cut label.
OVERFLOWING_LABELS = """
(() => {
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  const out = [];
  for (const svg of document.querySelectorAll('svg[data-plot]')) {
    const box = svg.getBoundingClientRect();
    for (const label of svg.querySelectorAll('text')) {
      const r = label.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      const by = Math.max(box.left - r.left, r.right - box.right, box.top - r.top,
                          r.bottom - box.bottom);
      if (by > 1) out.push(`${svg.dataset.plot}: "${label.textContent}" by ${by.toFixed(1)} px`);
    }
  }
  return out;
})()
"""


class DevTools:
    """Headless Chromium driven over the DevTools protocol on a pipe: no websocket library.

    With ``--remote-debugging-pipe`` the browser reads commands on its fd 3 and writes replies
    and events on its fd 4, each message one JSON object ended by a NUL byte. A tiny Python
    trampoline puts our pipe ends on fds 3 and 4 and then execs the browser.
    """

    TRAMPOLINE = (
        "import fcntl, os, sys\n"
        "fds = [int(fd) for fd in sys.argv[1:3]]\n"
        "high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in fds]\n"  # out of the way of 3 and 4
        "for fd in fds: os.close(fd)\n"
        "os.dup2(high[0], 3); os.dup2(high[1], 4)\n"
        "for fd in high: os.close(fd)\n"
        "os.execv(sys.argv[3], sys.argv[3:])\n"
    )

    def __init__(self, binary: str, profile: Path, log: Path) -> None:
        to_browser, self._commands = os.pipe()
        self._replies, from_browser = os.pipe()
        arguments = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--no-default-browser-check",
            f"--user-data-dir={profile}",
            "--remote-debugging-pipe",
            "about:blank",
        ]
        with open(log, "wb") as stderr:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    self.TRAMPOLINE,
                    str(to_browser),
                    str(from_browser),
                    binary,
                    *arguments,
                ],
                pass_fds=(to_browser, from_browser),
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                start_new_session=True,  # its own process group: the renderers go with it
            )
        os.close(to_browser)
        os.close(from_browser)
        self.log = log
        self.events: list[dict[str, Any]] = []
        self._buffer = b""
        self._next_id = 0

    def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session: str | None = None,
        timeout: float = 10.0,
    ) -> dict[str, Any]:
        """Send one command and wait (bounded) for its reply; events meanwhile are kept."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while (reply := self._receive(deadline)) is not None:
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise AssertionError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)
        raise AssertionError(
            f"{method}: no reply within {timeout} s; browser log: {self.log_tail()}"
        )

    def wait_for_event(self, method: str, timeout: float) -> dict[str, Any]:
        """The first event named ``method``, waiting at most ``timeout`` seconds for it."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if event.get("method") == method:
                    return event
            message = self._receive(deadline)
            if message is None:
                raise AssertionError(
                    f"no {method} within {timeout} s; browser log: {self.log_tail()}"
                )
            self.events.append(message)

    def _receive(self, deadline: float) -> dict[str, Any] | None:
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([self._replies], [], [], remaining)
            if not ready:
                return None
            chunk = os.read(self._replies, 1 << 16)
            if not chunk:
                raise AssertionError(f"the browser closed the pipe; its log: {self.log_tail()}")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)

    def log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-1500:]
        except OSError:
            return "(no log)"

    def close(self) -> None:
        with contextlib.suppress(OSError):  # already gone: nothing to ask
            os.write(
                self._commands, json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0"
            )
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)  # the group we started, by its id
            self.process.wait(timeout=5)
        for fd in (self._commands, self._replies):
            os.close(fd)


CHROMIUM_MISSING = (
    None
    if os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)
    else f"{CHROMIUM} not found: apt-get install -y chromium (or set JOBHARNESS_CHROMIUM)"
)
# CI sets JOBHARNESS_REQUIRE_CHROMIUM=1: there a missing browser is a failure, not a skip.
REQUIRE_CHROMIUM = os.environ.get("JOBHARNESS_REQUIRE_CHROMIUM") == "1"


@contextlib.contextmanager
def started_browser(tmp_path: Path) -> Iterator[DevTools]:
    """A headless browser for one test, closed (or its process group killed) after it."""
    if CHROMIUM_MISSING:
        pytest.fail(CHROMIUM_MISSING)
    devtools = DevTools(CHROMIUM, tmp_path / "profile", tmp_path / "chromium.log")
    try:
        yield devtools
    finally:
        devtools.close()


def open_page(browser: DevTools, path: Path, viewport: tuple[int, int] | None = None) -> str:
    """Load ``path`` in a new tab (of ``viewport`` CSS pixels, when given); its session id."""
    browser.send("Browser.getVersion", timeout=20)  # the first reply: the browser is up
    target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
        "sessionId"
    ]
    for domain in ("Runtime", "Log", "Page"):
        browser.send(f"{domain}.enable", session=session)
    if viewport:
        width, height = viewport
        metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
        browser.send("Emulation.setDeviceMetricsOverride", metrics, session=session)
    navigation = browser.send("Page.navigate", {"url": path.as_uri()}, session=session)
    assert "errorText" not in navigation, navigation
    browser.wait_for_event("Page.loadEventFired", timeout=15)
    return session


def evaluate(browser: DevTools, session: str, expression: str) -> Any:
    """The value of a JavaScript expression in the page (an exception fails the test)."""
    result = browser.send(
        "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session
    )
    assert "exceptionDetails" not in result, result
    return result["result"].get("value")


def screenshot(browser: DevTools, session: str, path: Path) -> Path:
    """A PNG of the viewport as it is now, written to ``path``."""
    shot = browser.send("Page.captureScreenshot", {"format": "png"}, session=session, timeout=30)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def logged_errors(browser: DevTools, session: str) -> list[dict[str, Any]]:
    """Every error the page logged or threw so far."""
    browser.send("Runtime.evaluate", {"expression": "1"}, session=session)  # flush late events
    return [
        event
        for event in browser.events
        if (
            event.get("method") == "Runtime.consoleAPICalled"
            and event["params"].get("type") == "error"
        )
        or event.get("method") == "Runtime.exceptionThrown"
        or (
            event.get("method") == "Log.entryAdded"
            and event["params"]["entry"].get("level") == "error"
        )
    ]
