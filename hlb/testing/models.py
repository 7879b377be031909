"""Discord objects kept by the emulator: users, channels, roles, members, messages, commands, guilds.

These are the emulator's mutable store; every ``to_json`` returns the Discord v10 payload
shape with the fields disnake 2.12 requires (see ``disnake-notes.md``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

Json = dict[str, Any]

ADMINISTRATOR = 1 << 3
ALL_PERMISSIONS = (1 << 53) - 1
EVERYONE_PERMISSIONS = 1071698660929
EPHEMERAL = 1 << 6


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
    unicode_emoji: str | None = None

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
            "unicode_emoji": self.unicode_emoji,
            "flags": 0,
        }

    def apply(self, body: Json) -> None:
        """Update from a create or PATCH role body (only the keys present)."""
        for key in ("name", "hoist", "mentionable"):
            if body.get(key) is not None:
                setattr(self, key, body[key])
        if "unicode_emoji" in body:
            self.unicode_emoji = body["unicode_emoji"] or None
        if body.get("permissions") is not None:
            self.permissions = int(body["permissions"])
        colors = body.get("colors") or {}
        color = body.get("color", colors.get("primary_color"))
        if color is not None:
            self.color = int(color)


@dataclass
class Member:
    user: User
    roles: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = field(default_factory=now_iso)

    def to_json(self) -> Json:
        return {
            "user": self.user.to_json(),
            "roles": [str(r) for r in self.roles],
            "nick": self.nick,
            "avatar": None,
            "joined_at": self.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
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
    flags: int = 0
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
            "flags": self.flags,
        }

    def component(self, custom_id: str) -> Json:
        """The component with this ``custom_id``; KeyError if the message has none."""
        stack = list(self.components)
        while stack:
            comp = stack.pop()
            if comp.get("custom_id") == custom_id:
                return comp
            stack.extend(comp.get("components") or [])
        raise KeyError(f"message {self.id} has no component {custom_id!r}")


@dataclass
class Command:
    id: int
    application_id: int
    guild_id: int | None  # None: a global command
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
        data.update(id=str(self.id), application_id=str(self.application_id), version=str(self.version))
        if self.guild_id is not None:
            data["guild_id"] = str(self.guild_id)
        return data


@dataclass
class Emoji:
    """A custom emoji: its name, who may use it, and the image bytes it was uploaded with."""

    id: int
    name: str
    image: bytes
    animated: bool = False
    roles: list[int] = field(default_factory=list)
    managed: bool = False

    def to_json(self) -> Json:
        return {
            "id": str(self.id),
            "name": self.name,
            "roles": [str(r) for r in self.roles],
            "require_colons": True,
            "managed": self.managed,
            "animated": self.animated,
            "available": True,
        }


@dataclass
class Guild:
    id: int
    name: str
    owner_id: int
    channels: dict[int, Channel] = field(default_factory=dict)
    roles: dict[int, Role] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)
    commands: dict[int, Command] = field(default_factory=dict)
    # The settings PATCH /guilds/{id} changes (Discord's names), over the defaults in to_json.
    settings: dict[str, Any] = field(default_factory=dict)
    premium_tier: int = 0
    emojis: dict[int, Emoji] = field(default_factory=dict)

    def channel_named(self, name: str, type: int | None = None) -> Channel:
        """The one channel called ``name`` (of ``type`` if given); KeyError if none or several."""
        found = [c for c in self.channels.values() if c.name == name and type in (None, c.type)]
        if len(found) != 1:
            raise KeyError(f"{len(found)} channels named {name!r}")
        return found[0]

    def role_named(self, name: str) -> Role:
        """The one role called ``name``; KeyError if none or several."""
        found = [r for r in self.roles.values() if r.name == name]
        if len(found) != 1:
            raise KeyError(f"{len(found)} roles named {name!r}")
        return found[0]

    def top_position(self, member: Member) -> int:
        """The position of ``member``'s highest role (0: only @everyone)."""
        return max((self.roles[r].position for r in member.roles if r in self.roles), default=0)

    def command_named(self, name: str) -> Command:
        """The chat-input command called ``name``; KeyError if the guild has none."""
        for cmd in self.commands.values():
            if cmd.name == name and cmd.body.get("type", 1) == 1:
                return cmd
        raise KeyError(f"no guild command named {name!r} in guild {self.id}")

    def permissions(self, member: Member, channel: Channel | None = None) -> int:
        """Discord's permission algorithm: roles, administrator, then the channel's overwrites."""
        if member.user.id == self.owner_id:
            return ALL_PERMISSIONS
        perms = self.roles[self.id].permissions
        for rid in member.roles:
            perms |= self.roles[rid].permissions if rid in self.roles else 0
        if perms & ADMINISTRATOR:
            return ALL_PERMISSIONS
        if channel is None:
            return perms
        by_id = {o.id: o for o in channel.permission_overwrites}
        if (everyone := by_id.get(self.id)) is not None:
            perms = (perms & ~everyone.deny) | everyone.allow
        roles = [o for o in channel.permission_overwrites if o.type == 0 and o.id in member.roles]
        deny = allow = 0
        for o in roles:
            deny, allow = deny | o.deny, allow | o.allow
        perms = (perms & ~deny) | allow
        if (own := by_id.get(member.user.id)) is not None and own.type == 1:
            perms = (perms & ~own.deny) | own.allow
        return perms

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
            "emojis": [e.to_json() for e in self.emojis.values()],
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
            "premium_tier": self.premium_tier,
            "preferred_locale": "en-US",
            "public_updates_channel_id": None,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
        } | self.settings
