"""Helpers every `hlb` command module shares: one-line failures, the database URL, compiling specs.

Kept apart from ``hlb.cli`` (the command group) so command modules such as
``hlb.cli_discord`` can use them without importing the group they are added to.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

if TYPE_CHECKING:
    from hlb.compiler.model import Model

# The root context's ``obj`` when `hlb` runs as its own program (``hlb.cli.run``): only then may a
# command tune the process (the collector); a test invoking the group in its process gets ``None``.
OWN_PROCESS = "hlb-owns-this-process"

PATHS = click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))


def fail(message: str, code: str | None = None) -> NoReturn:
    from hlb.compiler.wording import Paint, colour_wanted

    paint = Paint(colour_wanted(sys.stderr))
    click.echo(f"{paint.error('error:')} {code + ' ' if code else ''}{message}", err=True, color=paint.on)
    sys.exit(1)


NO_DATABASE = "no database here yet: run `hlb apply SPECS` to create one"


def database_url(*, existing: bool = False) -> str:
    """DATABASE_URL, else the embedded database's URL (started first, saying so on stderr).

    ``existing``: a read-only command; with no embedded database in this directory yet, it
    says so and exits 1 instead of creating one."""
    from hlb.settings import load_settings
    from hlb.store.db import resolve_url
    from hlb.store.embedded import pgdata_dir, running

    settings = load_settings()
    if settings.embedded:
        pgdata = pgdata_dir(settings.hlb_home)
        if existing and not (pgdata / "PG_VERSION").exists():
            fail(NO_DATABASE, "E611")
        if running(pgdata) is None:
            click.echo(
                f"starting the embedded database in {_shown(settings.hlb_home)}/ "
                "(first run takes a few seconds)…",
                err=True,
            )
    return resolve_url(settings)


def _shown(home: Path) -> str:
    """``home`` relative to the working directory when inside it (``.hlb``), else absolute."""
    try:
        return str(home.relative_to(Path.cwd()))
    except ValueError:
        return str(home)


def guarded(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn known operational errors into one line on stderr and exit 1."""
    import functools

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except click.exceptions.Exit:
            raise
        except Exception as exc:
            message = known_failure(exc)
            if message is None or os.environ.get("HLB_DEBUG"):
                raise
            fail(message)

    return wrapper


def known_failure(exc: Exception) -> str | None:
    from hlb.cli_apply import Declined
    from hlb.plans.render import MassDeleteRefused
    from hlb.plans.saved_plan import SavedPlanEdited, SavedPlanError
    from hlb.settings import ConfigError
    from hlb.store import db
    from hlb.store.apply import OtherDatabase, StalePlan
    from hlb.store.lock import ApplyLockTimeout
    from hlb.store.revisions import RevisionNotFound

    prefixes: tuple[tuple[type[Exception], str], ...] = (
        (StalePlan, "E601 "),
        (SavedPlanError, "E602 saved plan: "),
        (RevisionNotFound, "E604 "),
        (SavedPlanEdited, "E607 "),
        (OtherDatabase, "E608 "),
        (MassDeleteRefused, "E609 "),
        (ApplyLockTimeout, "E610 "),
        (Declined, ""),
    )
    for kind, prefix in prefixes:
        if isinstance(exc, kind):
            return f"{prefix}{exc}"
    if isinstance(exc, db.DatabaseError):
        return f"{exc.code} {exc}"
    if isinstance(exc, ConfigError):
        return f"{exc.code} {exc}"
    if isinstance(exc, ModuleNotFoundError) and exc.name in ("disnake", "aiohttp", "prometheus_client"):
        return f"E702 this command needs the bot's packages ({exc.name}): pip install 'hlb[bot]'"
    if db.lost_connection(exc):
        return (
            "E605 lost the connection to the database; the transaction was rolled back and nothing was "
            "changed. Check the database and run the command again."
        )
    return None


def compile_or_exit(paths: Sequence[str], fmt: str = "text", *, reference: bool = False) -> Any:
    from hlb.compile_cache import default_cache
    from hlb.compiler.compile import compile_paths
    from hlb.compiler.diagnostics import render_diagnostics
    from hlb.compiler.wording import Paint, colour_wanted, plural

    result = compile_paths(paths, reference=reference, cache=None if reference else default_cache())
    context = click.get_current_context(silent=True)
    if context is not None and context.find_root().obj == OWN_PROCESS:
        gc.freeze()  # the compiled specs live as long as this process: spare the collector walking them
    paint = Paint(fmt == "text" and colour_wanted(sys.stderr))
    if result.diagnostics:
        out = render_diagnostics(result.diagnostics, fmt, paint=paint)
        click.echo(out, err=fmt == "text", color=paint.on)
    if not result.ok:
        errors = sum(1 for d in result.diagnostics if d.severity == "error")
        if fmt == "text":
            them = "it" if errors == 1 else "them"
            why = f"{plural(errors, 'error')}; nothing was changed. Fix {them} and run the command again."
            click.echo(why, err=True)
        sys.exit(1)
    return result


def write_export(model: Model, out_dir: Path, revision: int | None) -> list[Path]:
    """Write `hlb export`'s files (one YAML file per kind, and each emoji's image at the path its
    spec names) into ``out_dir``; the paths written."""
    from hlb.compiler.export import export_files, export_images

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in export_files(model, revision).items():
        (out_dir / name).write_text(text, encoding="utf-8")
        written.append(out_dir / name)
    root = out_dir.resolve()
    for relative, data in export_images(model).items():
        path = (out_dir / relative).resolve()
        if not path.is_relative_to(root):  # stored by an older spec set: never write outside
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written.append(out_dir / relative)
    return written
