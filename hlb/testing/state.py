"""Guild state held by the Discord emulator: guilds, channels, roles, members, messages, commands.

Objects here are the emulator's mutable store; every ``to_json`` returns the Discord v10
payload shape, with the fields disnake 2.12 requires (see ``disnake-notes.md``).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DISCORD_EPOCH_MS = 1420070400000
MAX_GUILD_CHANNELS = 500

Json = dict[str, Any]


class SnowflakeGenerator:
    """Monotonic snowflakes: the current time in the high bits, a counter in the low ones."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)
        self._last = 0

    def next(self) -> int:
        stamp = int(time.time() * 1000) - DISCORD_EPOCH_MS
        value = (stamp << 22) | (next(self._counter) & 0x3FFFFF)
        self._last = max(value, self._last + 1)
        return self._last


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def snowflake(value: Any) -> int:
    """An id as Discord accepts it: an integer or a decimal string."""
    return int(value)


@dataclass
class User:
    id: int
    username: str
    bot: bool = False

    def to_json(self) -> Json:
        return {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": None,
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
            "flags": 0,
        }


@dataclass
class Overwrite:
    id: int
    type: int  # 0 role, 1 member
    allow: int = 0
    deny: int = 0

    def to_json(self) -> Json:
        return {"id": str(self.id), "type": self.type, "allow": str(self.allow), "deny": str(self.deny)}

    @classmethod
    def from_json(cls, data: Json) -> Overwrite:
        return cls(
            id=snowflake(data["id"]),
            type=int(data.get("type") or 0),
            allow=int(data.get("allow") or 0),
            deny=int(data.get("deny") or 0),
        )


@dataclass
class Channel:
    id: int
    guild_id: int
    name: str
    type: int = 0
    position: int = 0
    parent_id: int | None = None
    topic: str | None = None
    nsfw: bool = False
    rate_limit_per_user: int = 0
    bitrate: int | None = None
    user_limit: int | None = None
    permission_overwrites: list[Overwrite] = field(default_factory=list)

    def to_json(self) -> Json:
        data: Json = {
            "id": str(self.id),
            "guild_id": str(self.guild_id),
            "type": self.type,
            "name": self.name,
            "position": self.position,
            "parent_id": None if self.parent_id is None else str(self.parent_id),
            "nsfw": self.nsfw,
            "flags": 0,
            "permission_overwrites": [o.to_json() for o in self.permission_overwrites],
        }
        if self.type in (0, 5, 15):
            data["topic"] = self.topic
            data["rate_limit_per_user"] = self.rate_limit_per_user
            data["last_message_id"] = None
        if self.type in (2, 13):
            data["bitrate"] = self.bitrate if self.bitrate is not None else 64000
            data["user_limit"] = self.user_limit or 0
            data["rtc_region"] = None
        return data

    def apply(self, body: Json) -> None:
        """Update from a create or PATCH body (only the keys present)."""
        simple = ("name", "type", "position", "topic", "nsfw", "rate_limit_per_user", "bitrate", "user_limit")
        for key in simple:
            if key in body and body[key] is not None:
                setattr(self, key, body[key])
        if "topic" in body and body["topic"] is None:
            self.topic = None
        if "parent_id" in body:
            self.parent_id = None if body["parent_id"] is None else snowflake(body["parent_id"])
        if body.get("permission_overwrites") is not None:
            self.permission_overwrites = [Overwrite.from_json(o) for o in body["permission_overwrites"]]


@dataclass
class Role:
    id: int
    name: str
    permissions: int = 0
    position: int = 0
    color: int = 0
    hoist: bool = False
    mentionable: bool = False
    managed: bool = False

    def to_json(self) -> Json:
        return {
            "id": str(self.id),
            "name": self.name,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": self.color,
            "colors": {"primary_color": self.color, "secondary_color": None, "tertiary_color": None},
            "hoist": self.hoist,
            "mentionable": self.mentionable,
            "managed": self.managed,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }


@dataclass
class Member:
    user: User
    roles: list[int] = field(default_factory=list)

    def to_json(self) -> Json:
        return {
            "user": self.user.to_json(),
            "roles": [str(r) for r in self.roles],
            "nick": None,
            "joined_at": now_iso(),
            "deaf": False,
            "mute": False,
            "flags": 0,
        }


@dataclass
class Message:
    id: int
    channel_id: int
    author: User
    content: str = ""
    embeds: list[Json] = field(default_factory=list)
    components: list[Json] = field(default_factory=list)
    timestamp: str = field(default_factory=now_iso)
    edited_timestamp: str | None = None

    def to_json(self) -> Json:
        return {
            "id": str(self.id),
            "channel_id": str(self.channel_id),
            "author": self.author.to_json(),
            "content": self.content,
            "timestamp": self.timestamp,
            "edited_timestamp": self.edited_timestamp,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": self.embeds,
            "components": self.components,
            "pinned": False,
            "type": 0,
            "flags": 0,
        }


@dataclass
class Command:
    id: int
    application_id: int
    guild_id: int
    name: str
    body: Json
    version: int

    def to_json(self) -> Json:
        data: Json = {
            "type": 1,
            "description": "",
            "options": [],
            "default_member_permissions": None,
            "nsfw": False,
            **self.body,
        }
        perms = data.get("default_member_permissions")
        data["default_member_permissions"] = None if perms is None else str(perms)
        data.update(
            id=str(self.id),
            application_id=str(self.application_id),
            guild_id=str(self.guild_id),
            version=str(self.version),
        )
        return data


@dataclass
class Guild:
    id: int
    name: str
    owner_id: int
    channels: dict[int, Channel] = field(default_factory=dict)
    roles: dict[int, Role] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)
    commands: dict[int, Command] = field(default_factory=dict)

    def channel_named(self, name: str, type: int | None = None) -> Channel:
        """The one channel called ``name`` (of ``type`` if given); KeyError if none or several."""
        found = [c for c in self.channels.values() if c.name == name and type in (None, c.type)]
        if len(found) != 1:
            raise KeyError(f"{len(found)} channels named {name!r}")
        return found[0]

    def to_json(self) -> Json:
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "owner_id": str(self.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": [r.to_json() for r in self.roles.values()],
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "vanity_url_code": None,
            "description": None,
            "banner": None,
            "premium_tier": 0,
            "preferred_locale": "en-US",
            "public_updates_channel_id": None,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
        }


class EmulatorState:
    """Every guild, plus indexes by channel and message id."""

    def __init__(self, application_id: int | None = None) -> None:
        self.ids = SnowflakeGenerator()
        self.application_id = application_id or self.ids.next()
        self.bot_user = User(id=self.application_id, username="hlb-test-bot", bot=True)
        self.owner = User(id=self.ids.next(), username="owner")
        self.guilds: dict[int, Guild] = {}
        self.messages: dict[int, Message] = {}

    def add_guild(self, name: str = "Test Guild", guild_id: int | None = None) -> Guild:
        gid = guild_id or self.ids.next()
        guild = Guild(id=gid, name=name, owner_id=self.owner.id)
        guild.roles[gid] = Role(id=gid, name="@everyone", permissions=1071698660929)
        guild.members[self.bot_user.id] = Member(user=self.bot_user)
        guild.members[self.owner.id] = Member(user=self.owner)
        self.guilds[gid] = guild
        return guild

    def add_role(self, guild_id: int, name: str, permissions: int = 0) -> Role:
        guild = self.guilds[guild_id]
        role = Role(id=self.ids.next(), name=name, permissions=permissions, position=len(guild.roles))
        guild.roles[role.id] = role
        return role

    def channel(self, channel_id: int) -> Channel | None:
        for guild in self.guilds.values():
            if channel_id in guild.channels:
                return guild.channels[channel_id]
        return None

    def create_channel(self, guild_id: int, body: Json) -> Channel:
        guild = self.guilds[guild_id]
        channel = Channel(id=self.ids.next(), guild_id=guild_id, name=str(body["name"]))
        channel.position = max((c.position for c in guild.channels.values()), default=-1) + 1
        channel.apply(body)
        guild.channels[channel.id] = channel
        return channel

    def delete_channel(self, channel: Channel) -> None:
        guild = self.guilds[channel.guild_id]
        del guild.channels[channel.id]
        for child in guild.channels.values():  # Discord orphans a deleted category's children
            if child.parent_id == channel.id:
                child.parent_id = None
        for mid in [m.id for m in self.messages.values() if m.channel_id == channel.id]:
            del self.messages[mid]

    def post_message(self, channel: Channel, body: Json) -> Message:
        message = Message(id=self.ids.next(), channel_id=channel.id, author=self.bot_user)
        self._fill_message(message, body)
        self.messages[message.id] = message
        return message

    def edit_message(self, message: Message, body: Json) -> None:
        self._fill_message(message, body)
        message.edited_timestamp = now_iso()

    def _fill_message(self, message: Message, body: Json) -> None:
        if "content" in body:
            message.content = body["content"] or ""
        if "embeds" in body:
            message.embeds = [_embed_out(e) for e in body["embeds"] or []]
        if "components" in body:
            numbers = itertools.count(1)
            message.components = [_component_out(c, numbers) for c in body["components"] or []]

    def channel_messages(self, channel_id: int) -> list[Message]:
        return [m for m in self.messages.values() if m.channel_id == channel_id]

    def overwrite_commands(self, guild_id: int, bodies: list[Json]) -> list[Command]:
        """Bulk overwrite: keep ids of commands matched by (type, name), bump changed versions."""
        guild = self.guilds[guild_id]
        existing = {(c.body.get("type", 1), c.name): c for c in guild.commands.values()}
        result: dict[int, Command] = {}
        for body in bodies:
            key = (body.get("type", 1), body["name"])
            old = existing.get(key)
            if old is not None:
                if old.body != body:
                    old.body, old.version = body, self.ids.next()
                result[old.id] = old
            else:
                cmd = Command(
                    self.ids.next(), self.application_id, guild_id, body["name"], body, self.ids.next()
                )
                result[cmd.id] = cmd
        guild.commands = result
        return list(result.values())


def _component_out(component: Json, numbers: Iterator[int]) -> Json:
    """Discord numbers a message's components itself (disnake sends ``id: 0``)."""
    out = {**component, "id": next(numbers)}
    if "components" in component:
        out["components"] = [_component_out(c, numbers) for c in component["components"]]
    return out


def _embed_out(embed: Json) -> Json:
    return {"type": "rich", **{k: v for k, v in embed.items() if v is not None}}
