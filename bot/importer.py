"""Import a guild built by hand as spec documents: ``hlb import-discord --guild ID --out DIR``.

``import_guild`` (here) reads the guild (name, roles, settings, emojis) and its channels over
REST, and each emoji's image from Discord's CDN;
``guild_to_documents`` (``hlb.runtime.import_specs``) turns that snapshot into one Guild and one
Channel document per channel, pure and unit-testable; ``write_specs`` (same module)
writes them as ``guild.yaml`` and ``channels.yaml``. This module re-exports what ``hlb import-discord``
and the tests use of both.

The guild is read by ``hlb.bot.observe.read_guild``, the very reads the reconciler's
observations make, and every field is written the way ``hlb.reconciler.channels``
compares it. So applying the output and reconciling with ``adopt: by-name`` binds every
channel and makes no Discord write, except where a warning says Discord holds something the
spec format cannot express (permission bits hlb does not know, nsfw or slowmode on a voice
channel, an overlong topic...).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import aiohttp
import disnake
from disnake.http import HTTPClient

from hlb.bot.observe import read_guild
from hlb.runtime.import_specs import (
    ImportFailed,
    ImportResult,
    check_name,
    guild_to_documents,
    refuse_overwrite,
    slug,
    write_specs,
)
from hlb.settings import Settings

CDN = "https://cdn.discordapp.com"

__all__ = [
    "ImportFailed",
    "ImportResult",
    "guild_to_documents",
    "import_guild",
    "read_guild",
    "refuse_overwrite",
    "slug",
    "write_specs",
]


async def import_guild(settings: Settings, guild_id: int, *, name: str | None = None) -> ImportResult:
    """Read ``guild_id`` over REST (DISCORD_TOKEN, HLB_DISCORD_API_BASE) and return its spec documents.

    Raises ``ConfigError`` (no or refused token), ``GuildUnavailable`` (the bot cannot see the
    guild), ``rest.RestError`` (Discord failed), ``MalformedReply`` (an unreadable answer) and
    ``ImportFailed`` (``name`` is not valid).
    """
    if name is not None:
        check_name(name)
    from hlb.bot.session import rest_client

    async with rest_client(settings) as (client, _application_id):
        observed = await read_guild(client.http, guild_id)
        images = {e.id: await _image(client.http, settings, e.id, e.animated) for e in observed.emojis}
    found = {emoji_id: data for emoji_id, data in images.items() if data is not None}
    return guild_to_documents(observed, name=name, images=found)


async def _image(http: HTTPClient, settings: Settings, emoji_id: int, animated: bool) -> bytes | None:
    """An emoji's image from Discord's CDN (for another API base: the ``/emojis/`` route of its host);
    None when it cannot be had (the import then skips that emoji with a warning)."""
    base = CDN
    if settings.discord_api_base:
        parts = urlsplit(settings.discord_api_base)
        base = f"{parts.scheme}://{parts.netloc}"
    try:
        return bytes(await http.get_from_cdn(f"{base}/emojis/{emoji_id}.{'gif' if animated else 'png'}"))
    except (disnake.HTTPException, aiohttp.ClientError, OSError):
        return None
