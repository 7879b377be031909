"""Who is applying and from which commit: author and git sha for revisions."""

from __future__ import annotations

import getpass
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path


def git_output(cwd: Path, *args: str) -> str | None:
    """What ``git ARGS`` prints in ``cwd``, stripped; None when git fails, is missing or prints nothing."""
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    out = done.stdout.strip()
    return out if done.returncode == 0 and out else None


def specs_dir(paths: Sequence[str | Path]) -> Path:
    first = Path(paths[0]) if paths else Path.cwd()
    return first if first.is_dir() else (first.parent if first.parent != Path() else Path.cwd())


def git_sha(paths: Sequence[str | Path]) -> str | None:
    """The commit of the repository holding the specs, with ``-dirty`` when they have local edits."""
    cwd = specs_dir(paths)
    sha = git_output(cwd, "rev-parse", "HEAD")
    if sha is None:
        return None
    status = git_output(cwd, "status", "--porcelain", "--", ".")
    return f"{sha}{DIRTY}" if status else sha


DIRTY = "-dirty"


def short_sha(sha: str | None) -> str:
    """A sha as people read it: 7 characters, ``-dirty`` kept (``abc1234-dirty``); ``-`` when unknown."""
    if not sha:
        return "-"
    dirty = sha.endswith(DIRTY)
    return sha.removesuffix(DIRTY)[:7] + (DIRTY if dirty else "")


def author(paths: Sequence[str | Path]) -> str:
    """``HLB_AUTHOR``, else git's user.name (and email), else the login name."""
    explicit = os.environ.get("HLB_AUTHOR")
    if explicit:
        return explicit
    cwd = specs_dir(paths)
    name = git_output(cwd, "config", "user.name")
    if name:
        email = git_output(cwd, "config", "user.email")
        return f"{name} <{email}>" if email else name
    try:
        return os.environ.get("USER") or getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
