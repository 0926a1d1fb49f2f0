"""Reading ``strace -f -y -xx`` output: one :class:`RawCall` per completed system call.

The power-loss nemesis traces one store operation under ``strace -f -y -xx`` (every process,
each descriptor annotated with its path, strings as hex escapes). :func:`parse_strace` turns the
log into records whose arguments are still as strace printed them (an interrupted call's
``<unfinished ...>`` and ``<... resumed>`` halves joined, signals and exit notices skipped); the
``decode_*`` functions read one argument when :mod:`harness.nemesis.powerloss.replay` needs it::

    >>> call = parse_strace_line(r'pwrite64(3</r/a.tmp>, "\\x7b\\x7d", 2, 0) = 2', pid=12)
    >>> call.name, decode_fd(call.args[0]), decode_string(call.args[1]), call.failed
    ('pwrite64', (3, '/r/a.tmp'), b'{}', False)

What those calls mean for the disk after a power cut is the persistence model of
:mod:`harness.nemesis.powerloss.crash_states`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from harness.errors import HarnessError

_STRING_TOKEN = re.compile(r'^"((?:[^"\\]|\\.)*)"(\.\.\.)?$', re.S)
# -y prints "(deleted)" after the path of a file that has no name any more (O_TMPFILE, unlinked)
_FD_TOKEN = re.compile(r"^(-?\d+|AT_FDCWD)(?:<(.*)>)?(?:\(deleted\))?$", re.S)
_IOV_BASE = re.compile(r'iov_base="((?:[^"\\]|\\.)*)"(\.\.\.)?', re.S)
_RESULT = re.compile(
    r"^(-?\d+|\?|0x[0-9a-fA-F]+)(?:<(.*?)>)?(?:\(deleted\))?(?:\s+([A-Z][A-Z0-9_]+)\b.*)?$", re.S
)
_SIMPLE_ESCAPES = {"n": 10, "t": 9, "r": 13, "v": 11, "f": 12, "a": 7, "b": 8, "\\": 92, '"': 34}


class TraceModelError(HarnessError):
    """The trace cannot be replayed faithfully; the message says what and how to fix it."""


@dataclass(frozen=True, slots=True)
class RawCall:
    """One completed system call of an strace log, arguments still as strace printed them."""

    pid: int
    name: str
    args: tuple[str, ...]
    result: int | None  # None when the call never returned ("= ?")
    error: str | None  # errno name when it failed
    annotation: str | None  # -y: the path behind a returned descriptor
    line: str

    @property
    def failed(self) -> bool:
        return self.result is None or self.result < 0


def parse_strace(text: str) -> list[RawCall]:
    """Parse ``strace -f -y -xx`` output; interrupted calls are joined, other lines skipped.

    >>> [c.name for c in parse_strace('12 fsync(3</d/a>) = 0\\n12 close(3</d/a>) = 0\\n')]
    ['fsync', 'close']
    """
    pending: dict[int, str] = {}
    calls = []
    for raw in text.splitlines():
        pid_text, _, rest = raw.strip().partition(" ")
        if not pid_text.isdigit():
            pid_text, rest = "0", raw.strip()
        pid, rest = int(pid_text), rest.strip()
        if rest.startswith("<... ") and " resumed>" in rest:
            head = pending.pop(pid, None)
            if head is None:
                continue
            rest = head + rest.split(" resumed>", 1)[1]
        elif rest.endswith("<unfinished ...>"):
            pending[pid] = rest[: -len("<unfinished ...>")].rstrip()
            continue
        call = parse_strace_line(rest, pid, raw)
        if call is not None:
            calls.append(call)
    return calls


def parse_strace_line(text: str, pid: int = 0, line: str | None = None) -> RawCall | None:
    """Parse ``name(arg, ...) = result``; None for anything else (signals, exit notices)."""
    match = re.match(r"^([a-z_][a-z0-9_]*)\(", text)
    if match is None:
        return None
    args, end = _split_arguments(text, match.end())
    if end is None:
        return None
    tail = text[end:].strip()
    if not tail.startswith("="):
        return None
    result_match = _RESULT.match(tail[1:].strip())
    if result_match is None:
        return None
    value, annotation, error = result_match.groups()
    result = None if value == "?" else int(value, 0)
    path = _unescape(annotation).decode("utf-8", "surrogateescape") if annotation else None
    return RawCall(pid, match.group(1), tuple(args), result, error, path, line or text)


def _split_arguments(text: str, start: int) -> tuple[list[str], int | None]:
    """Split the arguments at top-level commas; return them and the index after ``)``."""
    args: list[str] = []
    depth, index, begin = 0, start, start
    in_string = False
    while index < len(text):
        char = text[index]
        if in_string:
            if char == "\\":
                index += 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "([{<":
            depth += 1
        elif char in "]}" or (char == ">" and text[index - 1] != "="):
            depth -= 1
        elif char == ")":
            if depth == 0:
                last = text[begin:index].strip()
                if last or args:
                    args.append(last)
                return args, index + 1
            depth -= 1
        elif char == "," and depth == 0:
            args.append(text[begin:index].strip())
            begin = index + 1
        index += 1
    return args, None


def _unescape(text: str) -> bytes:
    """Bytes of a C-escaped strace string (``\\x41``, ``\\n``, octal, or plain characters)."""
    out = bytearray()
    index = 0
    while index < len(text):
        char = text[index]
        if char != "\\" or index + 1 >= len(text):
            out += char.encode("utf-8", "surrogateescape")
            index += 1
            continue
        code = text[index + 1]
        if code == "x":
            out.append(int(text[index + 2 : index + 4], 16))
            index += 4
        elif code in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[code])
            index += 2
        elif code.isdigit():
            digits = re.match(r"[0-7]{1,3}", text[index + 1 :])
            assert digits is not None
            out.append(int(digits.group(0), 8) & 0xFF)
            index += 1 + len(digits.group(0))
        else:
            out += code.encode("utf-8", "surrogateescape")
            index += 2
    return bytes(out)


def decode_string(token: str) -> bytes:
    """The bytes of a quoted string argument; raise if strace cut it short (``"..."...``)."""
    match = _STRING_TOKEN.match(token.strip())
    if match is None:
        raise TraceModelError(f"expected a quoted string in the trace, got {token[:60]!r}")
    if match.group(2):
        raise TraceModelError(
            "strace truncated a written buffer: raise its -s limit above the largest write "
            "(or lower workload.payload_bytes)"
        )
    return _unescape(match.group(1))


def decode_fd(token: str) -> tuple[int | None, str | None]:
    """(descriptor, -y path) of an fd argument; AT_FDCWD is returned as descriptor None."""
    match = _FD_TOKEN.match(token.strip())
    if match is None:
        raise TraceModelError(f"expected a file descriptor in the trace, got {token[:60]!r}")
    number, annotation = match.groups()
    path = _unescape(annotation).decode("utf-8", "surrogateescape") if annotation else None
    return (None if number == "AT_FDCWD" else int(number)), path


def decode_flags(token: str) -> set[str]:
    """The names of a ``|``-joined flags argument: ``O_WRONLY|O_CREAT`` -> both."""
    return set(token.strip().split("|"))


def decode_offset(token: str) -> int | None:
    """``NULL`` -> None, ``[0] => [60]`` or ``[60]`` -> the first number."""
    found = re.search(r"-?\d+", token)
    return None if token.strip() == "NULL" or found is None else int(found.group(0))


def decode_iovec(token: str) -> bytes:
    """The bytes of an iovec array argument (``writev``), its buffers joined in order."""
    data = b""
    for body, cut in _IOV_BASE.findall(token):
        if cut:
            raise TraceModelError(
                "strace truncated a written buffer: raise its -s limit above the largest write"
            )
        data += _unescape(body)
    return data
