"""`hlb db ...`: the embedded database's lifecycle (start, stop, status), migrations and the URL.

Only click is imported at module level, so that `hlb --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import click

from hlb.cli_common import database_url, fail, guarded


@click.group()
def db() -> None:
    """Database: the embedded server's lifecycle, migrations and connection details."""


@db.command("upgrade")
@guarded
def db_upgrade() -> None:
    """Upgrade the database schema to this hlb's migration head."""
    from hlb.store.db import ensure_schema

    ensure_schema(database_url(), upgrade=True, echo=click.echo)
    click.echo("database is at the migration head.")


@db.command("current")
@guarded
def db_current() -> None:
    """Print the database's migration revision and this hlb's head."""
    from hlb.migrations import HEAD
    from hlb.store.db import connect, current_revision

    with connect(database_url()) as conn:
        current = current_revision(conn)
    state = "up to date" if current == HEAD else "behind: run `hlb db upgrade`"
    click.echo(f"current: {current or '(empty)'}  head: {HEAD}  ({state})")


@db.command("grant-bot")
@click.argument("role")
@click.option("--password", is_flag=True, help="Prompt for a login password for the role.")
@guarded
def db_grant_bot(role: str, password: bool) -> None:
    """Create ROLE for the bot: read-only on hlb_config, read-write on hlb_runtime."""
    from hlb.store.grants import grant_bot

    secret = click.prompt("password", hide_input=True, confirmation_prompt=True) if password else None
    for line in grant_bot(database_url(), role, password=secret):
        click.echo(line)
    click.echo(f"role {role} is ready: give the bot a DATABASE_URL that logs in as {role}.")


@db.command("url")
@guarded
def db_url() -> None:
    """Print the connection URL (the embedded database's too), e.g. for psql."""
    click.echo(database_url())


@db.command("start")
@guarded
def db_start() -> None:
    """Start the embedded database (creating it on first use); it keeps running until `hlb db stop`."""
    home = _embedded_home("start")
    url = database_url()
    from hlb.store.db import ensure_schema

    ensure_schema(url, echo=lambda _line: None)
    click.echo(f"the embedded database in {home} is running.")


@db.command("stop")
@guarded
def db_stop() -> None:
    """Stop the embedded database; the next command that needs it starts it again."""
    from hlb.store.embedded import EmbeddedPostgresError, stop

    home = _embedded_home("stop")
    try:
        stopped = stop(home)
    except EmbeddedPostgresError as exc:
        fail(f"E605 {exc}")
    click.echo(f"stopped the embedded database in {home}." if stopped else f"not running: {home}.")


@db.command("status")
def db_status() -> None:
    """Where the embedded database lives, its socket, whether it runs and its size (never starts it)."""
    from hlb.settings import load_settings, redact_url
    from hlb.store.embedded import pgdata_dir, running

    settings = load_settings()
    if not settings.embedded:
        assert settings.database_url is not None
        url = redact_url(settings.database_url)
        click.echo(f"database: DATABASE_URL ({url}); no embedded database is used.")
        return
    pgdata = pgdata_dir(settings.hlb_home)
    if not (pgdata / "PG_VERSION").exists():
        click.echo(f"data:    {pgdata} (none yet: `hlb apply SPECS` or `hlb db start` creates it)")
        click.echo("state:   not created")
        return
    server = running(pgdata)
    socket = "-" if server is None or server.socket_dir is None else str(server.socket_dir)
    click.echo(f"data:    {pgdata}")
    click.echo(f"socket:  {socket}")
    click.echo(f"state:   {'running, pid ' + str(server.pid) if server else 'stopped'}")
    click.echo(f"size:    {_human(_size(pgdata))}")


def _embedded_home(verb: str) -> Path:
    """The embedded database's home; fails when DATABASE_URL names another server."""
    from hlb.settings import load_settings

    settings = load_settings()
    if not settings.embedded:
        fail(f"DATABASE_URL is set: hlb does not {verb} that server; unset it to use the embedded one")
    return settings.hlb_home


def _size(directory: Path) -> int:
    """Bytes in the files under ``directory`` (what cannot be read counts nothing)."""
    total = 0
    for path in directory.rglob("*"):
        try:
            if path.is_file() and not path.is_symlink():
                total += path.stat().st_size
        except OSError:
            continue
    return total


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover
