"""The harness's exceptions: one root, and the user mistakes that end a run with exit code 2.

>>> raise ScenarioError("scenarios/x.toml", "processes[0].count", "a positive integer", "'two'")
Traceback (most recent call last):
...
harness.errors.ScenarioError: scenarios/x.toml: processes[0].count: expected a positive integer, got 'two'
"""

from __future__ import annotations


class HarnessError(Exception):
    """Root of every error the harness raises on purpose."""


class ConfigError(HarnessError):
    """A usage or configuration mistake: the CLI prints the message alone and exits with 2."""


class StoreSpecError(ConfigError):
    """A ``--store`` spec that does not name a usable store; the message says why and the fix."""


class ScenarioError(ConfigError):
    """A scenario file that does not validate: names the file, the key and what was expected."""

    def __init__(self, path: str, key: str, expected: str, got: object = None) -> None:
        self.path, self.key, self.expected = path, key, expected
        message = f"{path}: {key}: expected {expected}"
        if got is not None:
            message += f", got {got if isinstance(got, str) else repr(got)}"
        super().__init__(message)


class Terminated(KeyboardInterrupt):
    """SIGTERM (what CI runners and ``timeout`` send), raised in the main process like Ctrl-C.

    A ``KeyboardInterrupt`` so that every cleanup that already handles Ctrl-C (processes
    stopped, tracers detached, mounts undone, store folders removed) handles it too; the command
    line then exits with 143 (128 + 15) instead of 130.
    """
