"""Git and version facts for the CLI: `hlb --version`, `hlb completion`, and who applies from which commit.

Where hlb came from is read from its ``direct_url.json`` (PEP 610), written by pip for an
install from a VCS URL or a local directory. Only on demand: `hlb --help` reads nothing.
The author and the commit of the specs that `hlb apply` and `hlb rollback` record in a
revision come from git (``HLB_AUTHOR`` overrides the author).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Origin:
    """Where the installed hlb came from: a VCS URL and commit, or a local directory."""

    url: str | None = None  # the VCS URL (git+https://...), when installed from one
    commit: str | None = None  # the commit installed (VCS), or the local directory's HEAD
    directory: str | None = None  # the local directory of an install from one (editable or not)
    editable: bool = False

    def pip_requirement(self) -> str | None:
        """``hlb @ git+URL@COMMIT``: installs this very hlb again, when it came from a VCS URL."""
        if self.url is None or self.commit is None:
            return None
        url = self.url if self.url.startswith("git+") else f"git+{self.url}"
        return f"hlb @ {url}@{self.commit}"


def origin() -> Origin:
    """Where this hlb was installed from; empty when pip recorded nothing (or hlb is not installed)."""
    from importlib import metadata

    try:
        text = metadata.distribution("hlb").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return Origin()
    return parse_direct_url(text)


def parse_direct_url(text: str | None) -> Origin:
    """The origin a ``direct_url.json`` (PEP 610) records; a local directory's HEAD is asked of git."""
    try:
        recorded = json.loads(text) if text else {}
    except ValueError:
        return Origin()
    url = recorded.get("url") if isinstance(recorded, dict) else None
    if not isinstance(url, str):
        return Origin()
    vcs = recorded.get("vcs_info")
    if isinstance(vcs, dict) and vcs.get("vcs") == "git":
        return Origin(url=url, commit=str(vcs.get("commit_id") or "") or None)
    if url.startswith("file://"):
        from urllib.parse import unquote, urlsplit

        directory = unquote(urlsplit(url).path)
        editable = bool((recorded.get("dir_info") or {}).get("editable"))
        return Origin(commit=_git_head(directory), directory=directory, editable=editable)
    return Origin()


def _git_head(directory: str) -> str | None:
    """The commit checked out in ``directory``, when it is a git work tree (one quick git call)."""
    return git_output(Path(directory), "rev-parse", "HEAD")


def version_text() -> str:
    """``hlb 0.1.0 (commit abc123...)``, with where the copy lives when it is an editable install."""
    from hlb import __version__

    found = origin()
    details = []
    if found.commit:
        details.append(f"commit {found.commit}")
    if found.url:
        details.append(found.url)
    elif found.editable and found.directory:
        details.append(f"editable, {found.directory}")
    return f"hlb {__version__}" + (f" ({', '.join(details)})" if details else "")


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    click.echo(version_text())
    ctx.exit()


def version_option(func: F) -> F:
    """``--version``: the version and, where known, the commit (read only when asked)."""
    return click.option(
        "--version",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_print_version,
        help="Show the version (and the commit it was installed from) and exit.",
    )(func)


@click.command("completion")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the shell completion script for SHELL.

    \b
    bash: eval "$(hlb completion bash)"    (in ~/.bashrc)
    zsh:  eval "$(hlb completion zsh)"     (in ~/.zshrc)
    fish: hlb completion fish > ~/.config/fish/completions/hlb.fish
    """
    from click.shell_completion import get_completion_class

    root = ctx.find_root().command
    cls = get_completion_class(shell)
    assert cls is not None  # click ships all three
    click.echo(cls(root, {}, "hlb", "_HLB_COMPLETE").source())


# --- who applies, from which commit -----------------------------------------------------------


def git_output(cwd: Path, *args: str) -> str | None:
    """What ``git ARGS`` prints in ``cwd``, stripped; None when git fails, is missing or prints nothing."""
    import subprocess

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
    from hlb.store.revisions import DIRTY

    cwd = specs_dir(paths)
    sha = git_output(cwd, "rev-parse", "HEAD")
    if sha is None:
        return None
    status = git_output(cwd, "status", "--porcelain", "--", ".")
    return f"{sha}{DIRTY}" if status else sha


def author(paths: Sequence[str | Path]) -> str:
    """``HLB_AUTHOR``, else git's user.name (and email), else the login name."""
    import getpass
    import os

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
