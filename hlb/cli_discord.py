"""`hlb reconcile`, `hlb status`, `hlb bot run` and `hlb import-discord`: the commands on the Discord side.

Registered on the `hlb` group by ``hlb.cli``. Like the other commands they import the heavy
parts (the bot, disnake, the database) inside the function, so `hlb --help` stays light, and
turn known failures into one line on stderr and exit 1.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from hlb.cli_common import compile_or_exit, database_url, fail, guarded


@click.command()
@click.option("--guild", help="Reconcile only this Guild (its object name).")
@click.option("--dry-run", is_flag=True, help="Observe and print the actions; write nothing anywhere.")
@click.option(
    "--retry-failed", is_flag=True, help="Try failed objects now instead of waiting for their retry time."
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when in sync, 1 on a failure, 2 when it wrote (or would write).",
)
@guarded
def reconcile(guild: str | None, dry_run: bool, retry_failed: bool, detailed_exitcode: bool) -> None:
    """Make Discord match the applied specs: one pass over REST, then print what it did.

    Needs DISCORD_TOKEN (the bot's token); HLB_DISCORD_API_BASE points it at another
    Discord-compatible server. Exit 1 when an action failed or a failed object is still held
    (its error is on the object: `hlb status`).
    An object Discord refused (403, 400...) is not tried again for an hour, doubling, unless
    its spec changes or --retry-failed is given. On a terminal, a pass that takes more than
    two seconds shows its progress on stderr."""
    import asyncio

    from hlb.bot.reconcile import Progress
    from hlb.bot.session import run_reconcile
    from hlb.cli_progress import ProgressLine
    from hlb.runtime.status import render_reports
    from hlb.settings import load_settings

    settings, url = load_settings(), database_url(existing=True)
    line = ProgressLine(sys.stderr)

    def progress(p: Progress) -> None:
        line.update(f"reconciling {p.guild}: {p.done}/{p.total} objects")

    reports = asyncio.run(
        line.around(
            run_reconcile(
                settings, url, guild=guild, dry_run=dry_run, retry_failed=retry_failed, progress=progress
            )
        )
    )
    if guild is not None and not reports:
        fail(f"no Guild named {guild!r} is applied; `hlb status` lists the applied objects")
    click.echo(render_reports(reports, dry_run=dry_run))
    if any(r.failed or r.held for r in reports):
        sys.exit(1)
    if detailed_exitcode and any(r.writes for r in reports):
        sys.exit(2)


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--live", is_flag=True, help="Also read Discord now (no writes) to show drift as it is.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when all matches, 1 on a failure, 2 when anything differs.",
)
@guarded
def status(paths: tuple[str, ...], live: bool, fmt: str, detailed_exitcode: bool) -> None:
    """Show each object: files vs database (when PATHS are given) and database vs Discord.

    The Discord column comes from the last reconcile; --live observes Discord now (needs
    DISCORD_TOKEN), marks objects changed there by hand as drifted and lists, for each
    object that differs, its fields: desired (applied) vs seen (Discord)."""
    import json

    from hlb.runtime.status import exit_code, object_status, render_status, status_json
    from hlb.store.apply import stored_model
    from hlb.store.db import connect, readable
    from hlb.store.runtime_tables import load_bindings_sync

    url = database_url(existing=True)
    files = compile_or_exit(paths).model if paths else None
    _revision, applied = stored_model(url)
    with connect(url) as conn:
        bindings = load_bindings_sync(conn) if readable(conn, url) else {}
    view = None
    if live:
        import asyncio

        from hlb.bot.session import run_reconcile
        from hlb.runtime.status import live_view
        from hlb.settings import load_settings

        view = live_view(asyncio.run(run_reconcile(load_settings(), url, dry_run=True)))
    rows = object_status(applied, bindings, files, view)
    if fmt == "json":
        click.echo(json.dumps(status_json(rows), indent=2, ensure_ascii=False))
    else:
        click.echo(render_status(rows))
    code = exit_code(rows)
    if detailed_exitcode and code:
        sys.exit(code)


@click.group()
def bot() -> None:
    """The long-running bot: keeps Discord converged and answers commands and buttons."""


@bot.command("run")
@click.option("--resync", default=600.0, show_default=True, help="Seconds between full reconciles.")
@click.option("--election", default=5.0, show_default=True, help="Seconds between leadership checks.")
@click.option(
    "--log-level", default="INFO", show_default=True, type=click.Choice(["DEBUG", "INFO", "WARNING"])
)
@click.option(
    "--metrics-addr",
    envvar="HLB_METRICS_ADDR",
    default="127.0.0.1:9464",
    show_default=True,
    help="HOST:PORT serving /metrics, /healthz and /readyz; 'off' serves nothing. Env: HLB_METRICS_ADDR.",
)
@guarded
def bot_run(resync: float, election: float, log_level: str, metrics_addr: str) -> None:
    """Run the bot until SIGTERM or Ctrl-C. Needs DISCORD_TOKEN and an applied database.

    Several replicas may run against one database: one leads (reconciles, fires schedules,
    refreshes dashboards), all answer interactions. Each serves Prometheus metrics and
    health checks on --metrics-addr."""
    import asyncio
    import logging
    import os
    import signal

    from hlb.bot.health import parse_address
    from hlb.bot.runner import BotOptions, Runner
    from hlb.runtime.secrets import MaskSecrets, Secrets
    from hlb.settings import load_settings

    logging.basicConfig(level=log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("disnake").setLevel(logging.WARNING)
    logging.getLogger("disnake.client").setLevel(logging.ERROR)  # "voice will NOT be supported"
    secrets = Secrets.from_env(os.environ)  # the one provider of this process: its values are masked in logs
    for handler in logging.getLogger().handlers:
        handler.addFilter(MaskSecrets(secrets))
    options = BotOptions(resync=resync, election=election, metrics=parse_address(metrics_addr))
    runner = Runner(load_settings(), database_url(), options, secrets=secrets)

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def stopping(signum: signal.Signals) -> None:
            if not stop.is_set():
                logging.getLogger("hlb.bot").info("event=stopping signal=%s", signum.name)
            stop.set()

        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stopping, signum)
        await runner.run(stop)

    asyncio.run(serve())


@click.command("import-discord")
@click.option("--guild", "guild_id", required=True, metavar="ID", help="The Discord server's id.")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory to write guild.yaml, channels.yaml and roles.yaml into.",
)
@click.option("--name", help="Object name of the Guild (default: a slug of the server's name).")
@click.option("--force", is_flag=True, help="Overwrite the files it writes if they exist.")
@guarded
def import_discord(guild_id: str, out_dir: Path, name: str | None, force: bool) -> None:
    """Write specs for an existing server's roles, channels, categories and permission overwrites.

    Reads the server over REST with the bot's token (DISCORD_TOKEN; HLB_DISCORD_API_BASE points
    it at another Discord-compatible server). The Guild is written with adopt: by-name and
    prune: false, so `hlb apply DIR` then `hlb reconcile` adopts the roles and channels without
    changing them."""
    import asyncio

    from hlb.bot import rest
    from hlb.bot.failures import MalformedReply
    from hlb.bot.importer import ImportFailed, import_guild, refuse_overwrite, write_specs
    from hlb.bot.observe import GuildUnavailable
    from hlb.settings import load_settings

    if not guild_id.isascii() or not guild_id.isdigit():
        fail(f"--guild {guild_id!r} is not a Discord id: use the server's id (a number)")
    try:
        refuse_overwrite(out_dir, force)  # before asking Discord anything
        result = asyncio.run(import_guild(load_settings(), int(guild_id), name=name))
        written = write_specs(result, out_dir, force=force)
    except (ImportFailed, GuildUnavailable, rest.RestError, MalformedReply) as error:
        fail(str(error))
    except OSError as error:
        fail(f"cannot write the specs into {out_dir}: {error.strerror or error}")
    channels = result.channels
    categories = sum(1 for d in channels if d["spec"]["type"] == "category")
    click.echo(f"wrote {written[0]} (Guild {result.guild['name']}, id {result.guild_id})")
    click.echo(f"wrote {written[1]} ({len(channels) - categories} channels, {categories} categories)")
    if result.roles:
        click.echo(f"wrote {written[2]} ({len(result.roles)} roles, top first)")
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(
        f"next: `hlb validate {out_dir}`, `hlb apply {out_dir}`; `hlb reconcile --dry-run` should then "
        "list only adoptions and 0 Discord writes"
    )
