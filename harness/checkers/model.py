"""The per-job register model every read checker shares.

Jobs are independent registers, so each job's sub-history is judged on its own, which keeps
checking linear in the size of the history (Jepsen's "independent keys").

**Which values may a read return?** A write takes effect at some instant between its invoke and
its completion. An *info* write (killed, timed out, raised) may or may not take effect, but never
after its completion time (a dead process writes nothing). So a read ``R`` may return write ``W``
unless

* ``W`` began after ``R`` ended (a value from the future), or
* some acknowledged write ``X`` began after ``W`` ended and finished before ``R`` began: ``X``
  certainly replaced ``W`` before ``R`` looked, so returning ``W`` is a **stale** read, an
  acknowledged write lost.

**Damage.** When the harness damages a job file during ``[t0, t1]``, the version in it is
destroyed: one of the versions current at some moment of that span (the *candidates* at ``t0``,
or a write begun before ``t1``; a save may rename its file in while the damage is under way, and
a large file takes milliseconds to damage). Until a later
write completes, reads may also return the version each candidate replaced (what a backup
holds), and nothing older. If the backup is gone too (damaged, or the destroyed version was the
first), an error or an empty answer is the honest result. The damage window closes when an
acknowledged write that began after the damage completes.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any

from harness.history.fault_windows import faults_of
from harness.history.log import FAIL, INFO, OK, History, Operation


@dataclass(frozen=True)
class Write:
    """A save as the model sees it."""

    op: Operation
    tag: tuple[str, int]
    digest: str
    status: str | None

    @property
    def acknowledged(self) -> bool:
        return self.op.type == OK

    @property
    def start(self) -> float:
        return self.op.start

    @property
    def end(self) -> float:
        return self.op.end


@dataclass(frozen=True)
class Damage:
    """An applied damage to one job's files."""

    op: Operation
    files: frozenset[str]  # "main" and/or "backup", as actually applied
    how: str

    @property
    def time(self) -> float:
        """When the damage may first be seen: the nemesis changes the file before it records
        the completion, so a read that ends after the damage *began* may have seen it."""
        return self.op.start

    @property
    def done(self) -> float:
        """When the damage is certainly in place."""
        return self.op.end


@dataclass
class ReadVerdict:
    """How one read of a job is judged. ``problem`` is None when the read is fine."""

    op: Operation
    kind: str  # job | none | error | raised | invalid
    write: Write | None = None
    problem: str | None = (
        None  # torn | garbled | foreign | future | stale | lost | unreadable | ...
    )
    detail: str = ""
    in_damage_window: bool = False
    after_damage: bool = False  # the read began after the damage (it had to recover)


@dataclass
class JobModel:
    """Writes, reads and damage of one job, with the staleness index built once."""

    job: str
    writes: list[Write] = field(default_factory=list)
    reads: list[Operation] = field(default_factory=list)
    damages: list[Damage] = field(default_factory=list)
    has_backup: bool = True
    recovers: list[Operation] = field(default_factory=list)
    layout_known: bool = True
    """False when the store never said where its files are: ``has_backup`` is then assumed."""

    def __post_init__(self) -> None:
        self.by_tag: dict[tuple[str, int], Write] = {w.tag: w for w in self.writes}
        self._candidates: dict[float, list[Write]] = {}
        acked = sorted((w for w in self.writes if w.acknowledged), key=lambda w: w.start)
        self._acked_starts = [w.start for w in acked]
        # suffix_min[i]: the acknowledged write with the earliest end among acked[i:]
        self._suffix_min: list[Write | None] = [None] * (len(acked) + 1)
        for index in range(len(acked) - 1, -1, -1):
            best = self._suffix_min[index + 1]
            self._suffix_min[index] = (
                acked[index] if best is None or acked[index].end < best.end else best
            )

    # ------------------------------------------------------------ staleness

    def superseded_by(self, write: Write | None, before: float) -> Write | None:
        """An acknowledged write that began after ``write`` ended and finished before ``before``.

        With ``write`` None: any acknowledged write finished before ``before`` (the job exists).
        """
        after = float("-inf") if write is None else write.end
        index = bisect.bisect_right(self._acked_starts, after)
        best = self._suffix_min[index]
        return best if best is not None and best.end < before else None

    def candidates(self, at: float) -> list[Write]:
        """Writes a read at time ``at`` could return: begun, and not superseded by then."""
        cached = self._candidates.get(at)
        if cached is None:
            cached = [w for w in self.writes if w.start < at and self.superseded_by(w, at) is None]
            self._candidates[at] = cached
        return cached

    def predecessors(self, write: Write) -> list[Write]:
        """The versions ``write`` may have replaced: what a backup may hold after it.

        A version destroyed by damage before ``write`` ended (the write may look at the current
        file at any point of its call) is not a good version to replace: a careful store keeps
        the one before it instead, so those count as well.
        """
        found: dict[int, Write] = {}
        pending = [w for w in self.candidates(write.start) if w is not write]
        while pending:
            version = pending.pop()
            if id(version) in found:
                continue
            found[id(version)] = version
            # A damage that began before this write *ended* may have been what the write saw
            # when it went to rotate the current file: a careful store then keeps the backup
            # it had (the version before the damaged one) instead of rotating damage into it.
            if self._destroyed_before(version, write.end):
                pending.extend(w for w in self.candidates(version.start) if w is not version)
        return list(found.values())

    def _destroyed_before(self, version: Write, at: float) -> bool:
        return any(
            "main" in damage.files and damage.time < at and version in self.destroyed_by(damage)
            for damage in self.damages
        )

    def destroyed_by(self, damage: Damage) -> list[Write]:
        """The versions ``damage`` may have destroyed: any that was current during it.

        Damage takes time (a bit flip reads the file, then writes one byte back by its path):
        a save that renames its file in between leaves the flipped byte in the *new* version.
        So every write begun before the damage ended, and not superseded before it began, may
        be the one the job file held when the damage landed.
        """
        return [
            w
            for w in self.writes
            if w.start < damage.done and self.superseded_by(w, damage.time) is None
        ]

    # ------------------------------------------------------------ damage

    def damage_before(self, read: Operation) -> Damage | None:
        """The latest main-file damage this read may have seen that no write has healed yet."""
        for damage in reversed(self.damages):
            if "main" not in damage.files or damage.time >= read.end:
                continue
            # Only a save that began after the damage was complete surely replaced the file.
            healed = self._healed_after(damage.done, read.start)
            return None if healed else damage
        return None

    def _healed_after(self, since: float, before: float) -> bool:
        """An acknowledged write began after ``since`` and finished before ``before``."""
        index = bisect.bisect_right(self._acked_starts, since)
        best = self._suffix_min[index]
        return best is not None and best.end < before

    def backup_usable(self, damage: Damage, read: Operation) -> bool:
        """Should an intact backup exist for ``read``, after ``damage`` hit the job file?

        Not when the store keeps none; when this damage, or another one the read may have seen
        (before or after this one) and that no save has since replaced, hit the backup; when the
        destroyed version was the first (nothing before it), or every save up to it found the
        job file damaged (nothing good to rotate); or when a damage hit the job file while a save
        was rotating it into the backup.
        """
        if not self.has_backup or "backup" in damage.files:
            return False
        if self._save_in_flight(damage.time) or self._save_in_flight(damage.done):
            return False  # the damaged file may be the one a save was rotating into the backup
        for other in self.damages:
            if other is damage or other.time >= read.end:
                continue
            hits_backup = "backup" in other.files or self._save_in_flight(other.time)
            if hits_backup and not self._backup_healed(other.done, read.start):
                return False
        return all(self.predecessors(v) and self._rotated_by(v) for v in self.destroyed_by(damage))

    def _rotated_by(self, version: Write) -> bool:
        """Some save up to ``version``'s found an intact job file to rotate into the backup.

        A save that finds the job file damaged has no good version to keep: the backup stays
        as it was, and when every save so far found it damaged there is no backup at all.
        """
        return any(
            w.start <= version.start and self.predecessors(w) and self._main_intact(w.start)
            for w in self.writes
        )

    def _backup_healed(self, since: float, before: float) -> bool:
        """A save rotated a good job file into the backup between ``since`` and ``before``.

        Only a save that found the job file intact can do that: a careful store never rotates
        a damaged job file into its backup, so a save made while the job file was damaged heals
        the job file but leaves the backup as it was.
        """
        return any(
            w.acknowledged and w.start > since and w.end < before and self._main_intact(w.start)
            for w in self.writes
        )

    def _main_intact(self, at: float) -> bool:
        return all(
            "main" not in damage.files or damage.time >= at or self._healed_after(damage.done, at)
            for damage in self.damages
        )

    def _save_in_flight(self, at: float) -> bool:
        return any(w.start < at < w.end for w in self.writes)

    # ------------------------------------------------------------ judging reads

    def judge(self, read: Operation) -> ReadVerdict:
        """Classify one read (see the module docstring for the rules)."""
        if read.type == FAIL:
            verdict = ReadVerdict(read, "raised", problem="raised", detail=read.error or "")
            return self._with_damage(verdict)
        if read.type == INFO:
            # Killed or timed out mid-call: it returned nothing, so there is nothing to judge
            # here (a hung call is never_raises' business).
            return ReadVerdict(read, "unknown")
        summary = read.result if isinstance(read.result, dict) else {"kind": "invalid"}
        kind = summary.get("kind", "invalid")
        verdict = ReadVerdict(read, kind)
        if kind == "invalid":
            verdict.problem, verdict.detail = (
                "invalid",
                f"get_job returned {summary.get('repr', '?')}",
            )
        elif kind == "job":
            self._judge_job(verdict, summary)
        else:  # none or error: the job is gone or unreadable
            newer = self.superseded_by(None, read.start)
            if newer is not None:
                verdict.problem = "lost" if kind == "none" else "unreadable"
                verdict.detail = (
                    f"{'no job' if kind == 'none' else 'an error dict'} although "
                    f"{_name(newer)} was acknowledged at {newer.end:.3f}s"
                )
                if kind == "error":
                    verdict.detail += f" (error: {summary.get('error')!r})"
        return self._with_damage(verdict)

    def _judge_job(self, verdict: ReadVerdict, summary: dict[str, Any]) -> None:
        read = verdict.op
        tag = summary.get("tag")
        if tag is None:
            verdict.problem, verdict.detail = (
                "foreign",
                "the job carries no harness tag: content no writer wrote",
            )
            return
        write = self.by_tag.get((tag[0], tag[1]))
        if write is None:
            verdict.problem, verdict.detail = "foreign", f"tag {tag} matches no write to this job"
            return
        verdict.write = write
        if summary.get("digest") != write.digest:
            verdict.problem = "garbled"
            verdict.detail = f"tag {tag} but the content differs from what {_name(write)} wrote"
            return
        status = summary.get("status")
        if (
            write.status is not None
            and status != write.status
            and not self._recovered_status(write, status, read)
        ):
            verdict.problem = "garbled"
            verdict.detail = f"status {status!r} but {_name(write)} wrote {write.status!r}"
            return
        if write.start > read.end:
            verdict.problem, verdict.detail = (
                "future",
                f"returned {_name(write)}, invoked after the read ended",
            )
            return
        newer = self.superseded_by(write, read.start)
        if newer is not None:
            verdict.problem = "stale"
            verdict.detail = f"returned {_name(write)} although {_name(newer)} was acknowledged at {newer.end:.3f}s"

    def _recovered_status(self, write: Write, status: object, read: Operation) -> bool:
        """``recover()`` may end an abandoned job: a non-terminal write read back as ``error``."""
        if status != "error" or write.status in ("done", "error"):
            return False
        return any(op.start < read.end for op in self.recovers)

    def _with_damage(self, verdict: ReadVerdict) -> ReadVerdict:
        damage = self.damage_before(verdict.op)
        if damage is None:
            return verdict
        verdict.in_damage_window = True
        verdict.after_damage = verdict.op.start > damage.done
        if verdict.problem in ("stale", "lost", "unreadable", "raised"):
            self._judge_under_damage(verdict, damage)
        return verdict

    def _judge_under_damage(self, verdict: ReadVerdict, damage: Damage) -> None:
        destroyed = self.destroyed_by(damage)
        fallbacks = {id(w) for v in destroyed for w in self.predecessors(v)}
        if (
            verdict.problem == "stale"
            and verdict.write is not None
            and id(verdict.write) in fallbacks
        ):
            verdict.problem, verdict.detail = None, "served the version before the damaged one"
            return
        if verdict.problem == "stale" and "backup" in damage.files:
            verdict.problem, verdict.detail = (
                None,
                "both copies were damaged: an older version is the best left",
            )
            return
        if verdict.problem == "stale":
            verdict.problem = "older_than_backup"
            verdict.detail += "; older than the version before the damaged one"
            return
        if self.backup_usable(damage, verdict.op):
            verdict.problem = "backup_not_used"
            verdict.detail = (
                f"{verdict.kind} after damage ({damage.how}) to the job file, although the harness "
                "left the backup (the version before the damaged one) alone: the store did not "
                f"recover from it, or its own backup handling lost it; {verdict.detail}"
                if self.layout_known
                else f"{verdict.kind} after damage ({damage.how}) to the job file: the store "
                "did not return the version before it. It did not say where its files are, so "
                "the harness cannot tell whether it keeps a backup (declare them with paths_for); "
                f"{verdict.detail}"
            ).rstrip("; ")
        elif not self.has_backup:
            verdict.problem = "no_backup"
            verdict.detail = (
                f"{verdict.kind} after damage ({damage.how}): the store keeps no backup"
            )
        elif verdict.problem != "raised":
            verdict.problem = None  # nothing intact was left to recover from: an honest error


def build_models(history: History) -> dict[str, JobModel]:
    """One model per job, from a merged history."""
    backup_files = _backup_layout(history)
    recovers = [op for op in history.operations if op.f == "recover" and op.type != FAIL]
    damaged: dict[str, list[Damage]] = {}  # from the fault vocabulary: any kind that damages
    for mark in faults_of(history).damages():
        damaged.setdefault(mark.job or "", []).append(
            Damage(mark.op, frozenset(mark.files), mark.how)
        )
    models: dict[str, JobModel] = {}
    for job, ops in history.by_job().items():
        writes, reads, damages = [], [], damaged.get(job, [])
        for op in ops:
            if op.f == "save" and isinstance(op.value, dict) and "tag" in op.value:
                tag = op.value["tag"]
                writes.append(
                    Write(op, (tag[0], tag[1]), op.value.get("digest", ""), op.value.get("status"))
                )
            elif op.f == "get":
                reads.append(op)
        models[job] = JobModel(
            job,
            writes,
            reads,
            damages,
            has_backup=backup_files.get(job, True),
            recovers=recovers,
            layout_known=job in backup_files,
        )
    return models


def _backup_layout(history: History) -> dict[str, bool]:
    """Which jobs have a backup file, from the store's file layout recorded at setup."""
    setup = history.first("setup")
    paths = setup.result.get("paths", {}) if setup and isinstance(setup.result, dict) else {}
    return {job: "backup" in files for job, files in paths.items()}


def _name(write: Write) -> str:
    return f"write {write.tag[0]}#{write.tag[1]} (op #{write.op.index})"
