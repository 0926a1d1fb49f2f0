"""The base side's checkout: which commit ``--against`` means, and a temporary worktree of it.

``gate --against REF`` measures the working tree against REF (a commit, branch or tag). REF
defaults to the merge base of HEAD with ``origin/main`` (or ``main`` where there is no
remote): on a pull request, the commit the branch started from. The commit is checked out
with ``git worktree add --detach`` into a temporary folder (no branch is created or moved, the
working tree is never touched) and removed with ``git worktree remove --force`` and ``git
worktree prune`` when the block ends, on an error and on Ctrl-C alike.

Every git failure is a :class:`~harness.errors.ConfigError` (one line, exit 2) that says how to
proceed: fetch the history, name a ref that exists, or use the committed baseline instead.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from harness.errors import ConfigError

MAIN_BRANCHES = ("origin/main", "main", "origin/master", "master")
NO_GIT_HINT = "or gate against the committed baseline: jobharness gate --baseline FILE RESULTS..."


@dataclass(frozen=True)
class BaseCommit:
    """What ``--against`` resolved to: the name as given (or how it was chosen) and the commit."""

    label: str
    sha: str

    @property
    def short(self) -> str:
        return self.sha[:9]


def _git(repo: Path, *words: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", "-C", str(repo), *words], capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise ConfigError(
            f"gate --against needs git, and git is not installed; {NO_GIT_HINT}"
        ) from None


def repository_root(start: Path) -> Path:
    """The top folder of the git working tree holding ``start``; ConfigError outside one."""
    done = _git(start, "rev-parse", "--show-toplevel")
    if done.returncode != 0:
        raise ConfigError(f"gate --against: {start} is not in a git working tree; {NO_GIT_HINT}")
    return Path(done.stdout.strip())


def resolve_base(repo: Path, ref: str | None) -> BaseCommit:
    """The commit ``ref`` names, or for None the merge base of HEAD with the main branch."""
    if ref:
        done = _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
        if done.returncode != 0:
            raise ConfigError(
                f"gate --against {ref}: no such commit, branch or tag in {repo} "
                "(in CI, check out with fetch-depth: 0 so the base commit exists); "
                f"{NO_GIT_HINT}"
            )
        return BaseCommit(ref, done.stdout.strip())
    for branch in MAIN_BRANCHES:
        if _git(repo, "rev-parse", "--verify", "--quiet", f"{branch}^{{commit}}").returncode:
            continue
        done = _git(repo, "merge-base", "HEAD", branch)
        if done.returncode == 0:
            return BaseCommit(f"merge base of HEAD and {branch}", done.stdout.strip())
    raise ConfigError(
        f"gate --against: no main branch to start from in {repo} (tried "
        f"{', '.join(MAIN_BRANCHES)}); name one, e.g. --against origin/main, {NO_GIT_HINT}"
    )


@contextlib.contextmanager
def temporary_worktree(repo: Path, base: BaseCommit) -> Iterator[Path]:
    """A detached checkout of ``base`` in a temporary folder, removed when the block ends."""
    holder = Path(tempfile.mkdtemp(prefix="jobharness-gate-base-"))
    tree = holder / "tree"
    try:  # the add itself inside: Ctrl-C while git checks out leaves nothing either
        done = _git(repo, "worktree", "add", "--detach", "--quiet", str(tree), base.sha)
        if done.returncode != 0:
            first = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
            raise ConfigError(f"gate --against: could not check out {base.short}: {first}")
        yield tree
    finally:
        if tree.exists():
            _git(repo, "worktree", "remove", "--force", str(tree))
        shutil.rmtree(holder, ignore_errors=True)
        _git(repo, "worktree", "prune")
