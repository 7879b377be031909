"""`hlb import-discord`: write specs for a guild built by hand, so it can come under hlb.

Registered on the `hlb` group by ``hlb.cli``. Like the other commands it imports the heavy
parts inside the function and turns known failures into one line on stderr and exit 1.
"""

from __future__ import annotations

from pathlib import Path

import click

from hlb.cli_common import fail, guarded


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
