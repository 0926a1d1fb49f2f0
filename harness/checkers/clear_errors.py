"""Clear errors (C5): every error the store reports is judged against the fault that was injected.

The harness knows what went wrong, because it did it: it damaged a job's file in a known way,
deleted it, filled the disk, or failed a process's system calls with ENOSPC or EIO. An error
message is **clear** when a person reading it can act, which takes three things:

1. **it names the job**: its id or the name of one of its files (``j3``, ``j3.json``), in the
   message itself. A write exception travels through logs, where nothing else says which job
   it was about. (Exempt: the ``error`` field of a job that ``recover()`` failed, which is
   stored in the job itself.)
2. **it names the cause of the injected fault** in words a person can act on:

   =================  ===========================================================================
   fault injected     the message must say words like (the full lists are below)
   =================  ===========================================================================
   damaged file       damaged, corrupt, checksum, truncated, empty, unreadable, malformed, not JSON
   deleted file       missing, not found, does not exist, no such file, deleted
   ENOSPC, full disk  no space, full, ENOSPC, errno 28
   EIO                I/O error, input/output, EIO, errno 5
   worker killed      abandoned, killed, stopped, died, crashed, interrupted (a job failed by
                      ``recover()``)
   =================  ===========================================================================

   When several faults hit the job (its file deleted, its backup damaged), naming one is
   enough. When no fault explains the error, only rules 1 and 3 apply.
3. **it does not send the user to retry a permanent failure.** A damaged or deleted file stays
   so; "please try again later" wastes the reader's time. Retrying after a full disk or an I/O
   error is fair advice, and ``resubmit`` a failed job is not a retry of the read.

And, as before, it says something: not empty, not a bare placeholder (``"error"``, ``"failed"``).

Messages judged: the ``error`` of an error dict returned by ``get_job``, the exception of a
``get_job`` that raised, the exception of a ``save_job`` or ``update_job`` that raised, and the
``error`` of a job read with status ``error`` (a job ``recover()`` failed).

>>> judge("job 'j0': job file is damaged: checksum mismatch", "j0", [DAMAGED])
[]
>>> for problem in judge("Could not load this job right now, please try again later", "j0", [DAMAGED]):
...     print(problem)
does not name the job (its id or its file)
does not name the cause (damaged file)
tells the user to retry a permanent failure (damaged file)
>>> judge("JSONDecodeError: Expecting value: line 1 column 1 (char 0)", "j0", [DAMAGED])
['does not name the job (its id or its file)', 'does not name the cause (damaged file)']
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from harness.checkers.excused_writes import first_saves, not_created_yet
from harness.checkers.result import CheckResult, evidence_fields, plural
from harness.history.fault_windows import faults_of
from harness.history.log import History, Operation

GENERIC = {"", "error", "unknown", "failed", "none", "null", "exception", "internal error"}
MIN_LENGTH = 10


@dataclass(frozen=True)
class InjectedFault:
    """A kind of fault the harness injected, in the words a message must use for it."""

    kind: str  # what the report calls it: "damaged file", "ENOSPC", ...
    words: tuple[str, ...]  # lower-case fragments, any of which names the cause
    permanent: bool  # retrying cannot help: the message must not suggest it


DAMAGED = InjectedFault(
    "damaged file",
    (
        "damage",
        "corrupt",
        "checksum",
        "crc",
        "truncated",
        "empty",
        "unreadable",
        "cannot be read",
        "could not be read",
        "can't be read",
        "malformed",
        "not json",
        "not valid json",
        "invalid json",
        "garbage",
        "zero bytes",
        "bit flip",
        "another program",  # overwritten by something else: hardened's words for foreign JSON
        "unrecogni",
    ),
    permanent=True,
)
MISSING = InjectedFault(
    "deleted file",
    ("missing", "not found", "does not exist", "no such file", "deleted", "enoent", "is gone"),
    permanent=True,
)
NO_SPACE = InjectedFault(
    "ENOSPC", ("no space", "space left", "full", "enospc", "errno 28", "quota"), permanent=False
)
IO_ERROR = InjectedFault(
    "EIO", ("i/o error", "input/output", "eio", "errno 5", "io error"), permanent=False
)
KILLED = InjectedFault(
    "worker killed",
    ("abandon", "killed", "stopped", "died", "dead", "crash", "interrupted", "no longer running"),
    permanent=False,
)
DISK_FAULTS = {"ENOSPC": NO_SPACE, "EIO": IO_ERROR}
RETRY = re.compile(
    r"\b(try(ing)? (it |this |that )?again|re-?try(ing)?|try later)\b", re.IGNORECASE
)


def is_clear(message: object) -> bool:
    """A message that says something: a string of some length that is not a bare placeholder."""
    if not isinstance(message, str):
        return False
    text = message.strip()
    return len(text) >= MIN_LENGTH and text.lower().rstrip(".") not in GENERIC


def names_job(message: str, job: str, files: tuple[str, ...] = ()) -> bool:
    """Whether ``message`` names ``job``: its id as a whole word, or one of its files' names.

    >>> names_job("cannot save job 'j1': No space left", "j1"), names_job("job j10 lost", "j1")
    (True, False)
    """
    names = [job, *(path.rsplit("/", 1)[-1] for path in files)]
    return any(
        re.search(rf"(?<![A-Za-z0-9_-]){re.escape(name)}(?![A-Za-z0-9_-])", message)
        for name in names
        if name
    )


def fault_for_error(error: str | None) -> InjectedFault:
    """The fault of an injected errno: ENOSPC and EIO by their words, others by their name."""
    name = (error or "").upper()
    return DISK_FAULTS.get(name) or InjectedFault(
        name or "disk fault", (name.lower(),), permanent=False
    )


def judge(
    message: object,
    job: str,
    faults: list[InjectedFault],
    *,
    must_name_job: bool = True,
    files: tuple[str, ...] = (),
) -> list[str]:
    """What is wrong with ``message`` about ``job`` given the ``faults`` injected (empty: clear)."""
    if not is_clear(message):
        return ["does not name a cause (it says nothing)"]
    assert isinstance(message, str)
    text = message.lower()
    problems = []
    if must_name_job and not names_job(message, job, files):
        problems.append("does not name the job (its id or its file)")
    kinds = ", ".join(dict.fromkeys(fault.kind for fault in faults))
    if faults and not any(word in text for fault in faults for word in fault.words):
        problems.append(f"does not name the cause ({kinds})")
    if faults and all(fault.permanent for fault in faults) and RETRY.search(message):
        problems.append(f"tells the user to retry a permanent failure ({kinds})")
    return problems


class _InjectedFaults:
    """What the history says was done to each job and process, queried per operation.

    Read from the history's fault vocabulary (:mod:`harness.history.fault_windows`), so a new fault kind
    whose window may fail store calls (with an errno) or damages a job is judged with no edit here.
    """

    def __init__(self, history: History) -> None:
        faults = faults_of(history)
        self.windows = faults.windows_where_calls_may_fail()
        self.damages: dict[str, list[tuple[float, InjectedFault]]] = {}
        for mark in faults.damages():
            fault = MISSING if mark.deleted else DAMAGED
            self.damages.setdefault(mark.job or "", []).append((mark.op.start, fault))
        self.killed = bool(faults.kills()) or any(op.f == "crash" for op in history.operations)
        setup = history.first("setup")
        layout = setup.result.get("layout", {}) if setup and isinstance(setup.result, dict) else {}
        self.files = {job: tuple(files.values()) for job, files in layout.items()}

    def on(self, op: Operation) -> list[InjectedFault]:
        """The faults that may explain an error of ``op``: its process's, everyone's, its job's."""
        faults: list[InjectedFault] = []
        # One process's faults first, then those of every process (a full disk), as the
        # message is most likely about its own.
        for own in (True, False):
            for window in self.windows:
                if (window.process is not None) == own and window.covers(op):
                    fault = fault_for_error(window.errno)
                    if fault not in faults:
                        faults.append(fault)
        for since, fault in self.damages.get(op.job or "", []):
            if since <= op.end and fault not in faults:
                faults.append(fault)
        return faults


def check_clear_errors(history: History) -> CheckResult:
    injected = _InjectedFaults(history)
    unclear: list[str] = []
    seen = 0
    for op, message, must_name, faults in _messages(history, injected):
        seen += 1
        files = injected.files.get(op.job or "", ())
        problems = judge(message, op.job or "", faults, must_name_job=must_name, files=files)
        if problems:
            unclear.append(f"{op.describe()}: error {message!r} {'; '.join(problems)}")
    counts = {"messages": seen, "unclear": len(unclear)}
    if not seen:
        return CheckResult(
            "clear_errors", None, "the store reported no errors in this history", counts
        )
    if unclear:
        return CheckResult(
            "clear_errors",
            False,
            f"{len(unclear)} of {plural(seen, 'error message')} are not clear: each must name "
            "the job and the cause of the injected fault, and not advise retrying a permanent one",
            counts,
            **evidence_fields(unclear),
        )
    return CheckResult(
        "clear_errors",
        True,
        f"all {plural(seen, 'error message')} name the job and the cause of the fault injected",
        counts,
    )


def _messages(
    history: History, injected: _InjectedFaults
) -> list[tuple[Operation, object, bool, list[InjectedFault]]]:
    """Each error message of the history: (operation, message, must it name the job, faults)."""
    found: list[tuple[Operation, object, bool, list[InjectedFault]]] = []
    created = first_saves(history)
    for op in history.of("get", "save", "update"):
        result = op.result if isinstance(op.result, dict) else {}
        if op.f == "get" and result.get("kind") == "error":
            found.append((op, result.get("error"), True, injected.on(op)))
        elif op.f == "get" and result.get("kind") == "job" and result.get("status") == "error":
            found.append((op, result.get("error"), False, [KILLED] if injected.killed else []))
        elif result.get("raised"):
            # "not found" for a job no one has saved yet is caused by no injected fault
            faults = [] if not_created_yet(op, created) else injected.on(op)
            found.append((op, op.error, True, faults))
    return found
