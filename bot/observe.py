"""Observe a guild over Discord's REST API: channels, roles, the bound dashboard messages, commands.

Reads only. One call each for the guild (with its roles), its channels, its commands and the
bot's own member (its roles give the highest role the bot may edit below),
plus one per bound dashboard message, run concurrently (they are in different buckets).
A guild payload without ``roles`` means the roles were not sent, not that there are none:
they are then read with ``GET /guilds/{id}/roles``. A reply the bot cannot read raises
``MalformedReply`` (the guild is not reconciled this pass) instead of a stray ``KeyError``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from disnake.http import HTTPClient, Route

from hlb.bot import rest
from hlb.bot.failures import MalformedReply
from hlb.reconciler.state import (
    Binding,
    ObservedChannel,
    ObservedEmoji,
    ObservedGuild,
    ObservedOverwrite,
    ObservedRole,
)

# The guild's own fields hlb may manage (``hlb.reconciler.guilds``), kept as Discord reports them.
SETTINGS = (
    "verification_level",
    "default_message_notifications",
    "explicit_content_filter",
    "system_channel_id",
    "rules_channel_id",
    "afk_channel_id",
    "afk_timeout",
    "preferred_locale",
    "description",
)


class GuildUnavailable(Exception):
    """The bot cannot see the guild: not invited, or the id is wrong."""


async def observe_guild(
    http: HTTPClient, guild_id: int, application_id: int, bindings: Iterable[Binding]
) -> ObservedGuild:
    """A snapshot of ``guild_id`` as Discord reports it, reading only what the bindings need."""
    pairs = [
        (b.channel_id, b.discord_id)
        for b in bindings
        if b.key.kind == "Dashboard" and b.channel_id is not None and b.discord_id is not None
    ]
    route = Route(
        "GET",
        "/applications/{application_id}/guilds/{guild_id}/commands",
        application_id=application_id,
        guild_id=guild_id,
    )
    commands = _visible(http, route, guild_id)
    base, listed, top = await asyncio.gather(
        read_guild(http, guild_id), commands, _bot_top(http, guild_id, application_id)
    )
    exists = await asyncio.gather(*(_message_exists(http, c, m) for c, m in pairs))
    found = {m: ok for (_, m), ok in zip(pairs, exists, strict=True)}
    if not isinstance(listed, list) or not all(isinstance(c, Mapping) for c in listed):
        raise MalformedReply(f"guild {guild_id}'s commands: expected a list of commands")
    return replace(base, messages=found, commands=tuple(listed), bot_top=_top_of(top, base))


async def read_guild(http: HTTPClient, guild_id: int) -> ObservedGuild:
    """The guild's name, roles and channels (two reads, concurrent); GuildUnavailable when hidden."""
    guild, channels = await asyncio.gather(
        _visible(http, Route("GET", "/guilds/{guild_id}", guild_id=guild_id), guild_id),
        _visible(http, Route("GET", "/guilds/{guild_id}/channels", guild_id=guild_id), guild_id),
    )
    roles = guild.get("roles") if isinstance(guild, Mapping) else None
    if not isinstance(roles, list):  # not observed: ask for them rather than assume none
        roles = await _visible(http, Route("GET", "/guilds/{guild_id}/roles", guild_id=guild_id), guild_id)
    try:
        return ObservedGuild(
            id=guild_id,
            name=str(guild.get("name", "")),
            channels=tuple(observed_channel(c) for c in channels),
            roles=tuple(observed_role(r) for r in roles),
            settings={k: guild[k] for k in SETTINGS if k in guild},
            premium_tier=int(guild.get("premium_tier") or 0),
            emojis=tuple(observed_emoji(e) for e in guild.get("emojis") or ()),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise MalformedReply(
            f"guild {guild_id}'s channels or roles: {type(error).__name__}: {error}"
        ) from None


async def _visible(http: HTTPClient, route: Route, guild_id: int) -> Any:
    """``route``'s reply; a 403 or 404 means the bot cannot see the guild.

    The request starts inside: a coroutine made outside and cancelled before it ran (the bot
    stopping mid-pass) would be reported as never awaited."""
    try:
        return await rest.call(http, route)
    except rest.PermanentError as error:
        if error.status not in (403, 404):
            raise
        raise GuildUnavailable(
            f"the bot cannot see guild {guild_id} (HTTP {error.status}): check the Guild's id "
            "(in Discord: right click the server, Copy Server ID) and that the bot was invited "
            "with the bot and applications.commands scopes"
        ) from None


async def _message_exists(http: HTTPClient, channel_id: int, message_id: int) -> bool:
    route = Route(
        "GET", "/channels/{channel_id}/messages/{message_id}", channel_id=channel_id, message_id=message_id
    )
    try:
        await rest.call(http, route)
    except rest.PermanentError as error:
        if error.status in (403, 404):
            return False
        raise
    return True


def observed_role(data: Mapping[str, Any]) -> ObservedRole:
    """A role from Discord's JSON (``colors.primary_color`` is the colour where ``color`` is gone)."""
    colors = data.get("colors") if isinstance(data.get("colors"), Mapping) else {}
    color = data.get("color", colors.get("primary_color") if colors else 0)
    return ObservedRole(
        id=int(data["id"]),
        name=str(data["name"]),
        permissions=int(data.get("permissions") or 0),
        position=int(data.get("position") or 0),
        color=int(color or 0),
        hoist=bool(data.get("hoist", False)),
        mentionable=bool(data.get("mentionable", False)),
        managed=bool(data.get("managed", False)),
        unicode_emoji=data.get("unicode_emoji") or None,
    )


async def _bot_top(http: HTTPClient, guild_id: int, user_id: int) -> list[int] | None:
    """The role ids of the bot's own member (the application's user), or None when not readable."""
    route = Route("GET", "/guilds/{guild_id}/members/{user_id}", guild_id=guild_id, user_id=user_id)
    try:
        member = await rest.call(http, route)
    except rest.PermanentError:
        return None
    roles = member.get("roles") if isinstance(member, Mapping) else None
    return [int(r) for r in roles] if isinstance(roles, list) else None


def _top_of(bot_roles: list[int] | None, guild: ObservedGuild) -> int | None:
    """The position of the bot's highest role (0: only @everyone); None when its roles are unknown."""
    if bot_roles is None:
        return None
    return max((r.position for r in guild.roles if r.id in bot_roles), default=0)


def observed_emoji(data: Mapping[str, Any]) -> ObservedEmoji:
    """A custom emoji from Discord's JSON."""
    return ObservedEmoji(
        id=int(data["id"]),
        name=str(data.get("name") or ""),
        animated=bool(data.get("animated", False)),
        roles=tuple(sorted(int(r) for r in data.get("roles") or ())),
        managed=bool(data.get("managed", False)),
    )


def observed_channel(data: Mapping[str, Any]) -> ObservedChannel:
    """A channel from Discord's JSON (REST responses and gateway events)."""
    parent = data.get("parent_id")
    return ObservedChannel(
        id=int(data["id"]),
        type=int(data["type"]),
        name=str(data.get("name", "")),
        parent_id=int(parent) if parent else None,
        position=int(data.get("position") or 0),
        topic=data.get("topic") or None,
        nsfw=bool(data.get("nsfw", False)),
        slowmode=int(data.get("rate_limit_per_user") or 0),
        bitrate=data.get("bitrate"),
        user_limit=data.get("user_limit"),
        overwrites=tuple(
            ObservedOverwrite(int(o["id"]), int(o["type"]), int(o.get("allow") or 0), int(o.get("deny") or 0))
            for o in data.get("permission_overwrites") or ()
        ),
    )
