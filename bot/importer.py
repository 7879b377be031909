"""Import a guild built by hand as spec documents: ``hlb import-discord --guild ID --out DIR``.

``import_guild`` (here) reads the guild (name, roles) and its channels over REST;
``guild_to_documents`` (``hlb.bot.import_specs``) turns that snapshot into one Guild and one
Channel document per channel, pure and unit-testable; ``write_specs`` (``hlb.bot.import_writer``)
writes them as ``guild.yaml`` and ``channels.yaml``. This module re-exports the public names of both.

The channels are read through ``observed_channel``, the very function the reconciler's
observations go through, and every field is written the way ``hlb.reconciler.channels``
compares it. So applying the output and reconciling with ``adopt: by-name`` binds every
channel and makes no Discord write, except where a warning says Discord holds something the
spec format cannot express (permission bits hlb does not know, nsfw or slowmode on a voice
channel, an overlong topic...).
"""

from __future__ import annotations

import asyncio

from disnake.http import HTTPClient, Route

from hlb.bot import rest
from hlb.bot.import_specs import (
    API_VERSION,
    BITRATE,
    CATEGORY,
    KNOWN_BITS,
    MAX_NAME,
    MAX_TOPIC,
    NAME_PATTERN,
    NO_TEXT,
    UNSUPPORTED,
    USER_LIMIT,
    VOICE,
    ImportFailed,
    ImportResult,
    check_name,
    guild_to_documents,
    slug,
)
from hlb.bot.import_writer import (
    CHANNELS_FILE,
    GUILD_FILE,
    PRUNE_NOTE,
    output_files,
    refuse_overwrite,
    render_documents,
    write_specs,
)
from hlb.bot.observe import GuildUnavailable, observed_channel
from hlb.reconciler.state import ObservedGuild, ObservedRole
from hlb.settings import Settings

__all__ = [
    "API_VERSION",
    "BITRATE",
    "CATEGORY",
    "CHANNELS_FILE",
    "GUILD_FILE",
    "KNOWN_BITS",
    "MAX_NAME",
    "MAX_TOPIC",
    "NAME_PATTERN",
    "NO_TEXT",
    "PRUNE_NOTE",
    "UNSUPPORTED",
    "USER_LIMIT",
    "VOICE",
    "ImportFailed",
    "ImportResult",
    "check_name",
    "guild_to_documents",
    "import_guild",
    "output_files",
    "read_guild",
    "refuse_overwrite",
    "render_documents",
    "slug",
    "write_specs",
]


async def import_guild(settings: Settings, guild_id: int, *, name: str | None = None) -> ImportResult:
    """Read ``guild_id`` over REST (DISCORD_TOKEN, HLB_DISCORD_API_BASE) and return its spec documents.

    Raises ``ConfigError`` (no or refused token), ``GuildUnavailable`` (the bot cannot see the
    guild), ``rest.RestError`` (Discord failed) and ``ImportFailed`` (``name`` is not valid).
    """
    if name is not None:
        check_name(name)
    from hlb.bot.session import rest_client

    async with rest_client(settings) as (client, _application_id):
        observed = await read_guild(client.http, guild_id)
    return guild_to_documents(observed, name=name)


async def read_guild(http: HTTPClient, guild_id: int) -> ObservedGuild:
    """The guild's name, roles and channels: two reads, as ``observe_guild`` makes them."""
    try:
        guild, channels = await asyncio.gather(
            rest.call(http, Route("GET", "/guilds/{guild_id}", guild_id=guild_id)),
            rest.call(http, Route("GET", "/guilds/{guild_id}/channels", guild_id=guild_id)),
        )
    except rest.PermanentError as error:
        if error.status not in (403, 404):
            raise
        raise GuildUnavailable(
            f"the bot cannot see guild {guild_id} (HTTP {error.status}): check the id "
            "(in Discord: right click the server, Copy Server ID) and that the bot is a member"
        ) from None
    return ObservedGuild(
        id=guild_id,
        name=str(guild.get("name", "")),
        channels=tuple(observed_channel(c) for c in channels),
        roles=tuple(ObservedRole(int(r["id"]), str(r["name"])) for r in guild.get("roles") or ()),
    )
