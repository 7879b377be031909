"""The emulator's store: every guild with its channels, roles, members and commands, and all messages.

``EmulatorState`` only changes data; ``changes.Changes`` pairs each change with the gateway
event Discord would send. The objects themselves live in ``models``.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator

from hlb.testing.models import (
    EVERYONE_PERMISSIONS,
    Channel,
    Command,
    Guild,
    Json,
    Member,
    Message,
    Role,
    User,
    now_iso,
)

DISCORD_EPOCH_MS = 1420070400000
# GATEWAY_PRESENCE, GATEWAY_GUILD_MEMBERS, GATEWAY_MESSAGE_CONTENT: privileged intents enabled
APPLICATION_FLAGS = (1 << 12) | (1 << 14) | (1 << 18)


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


class EmulatorState:
    """Every guild, plus indexes by channel and message id."""

    def __init__(self, application_id: int | None = None) -> None:
        self.ids = SnowflakeGenerator()
        self.application_id = application_id or self.ids.next()
        self.application_flags = APPLICATION_FLAGS
        self.bot_user = User(id=self.application_id, username="hlb-test-bot", bot=True)
        self.owner = User(id=self.ids.next(), username="owner")
        self.guilds: dict[int, Guild] = {}
        self.messages: dict[int, Message] = {}
        self.global_commands: dict[int, Command] = {}

    def add_guild(self, name: str = "Test Guild", guild_id: int | None = None) -> Guild:
        gid = guild_id or self.ids.next()
        guild = Guild(id=gid, name=name, owner_id=self.owner.id)
        guild.roles[gid] = Role(id=gid, name="@everyone", permissions=EVERYONE_PERMISSIONS)
        # The bot's own role, as Discord makes one when a bot joins: managed, and the highest role
        # the bot may edit roles below (the hierarchy rule).
        bot_role = Role(id=self.ids.next(), name=self.bot_user.username, position=1, managed=True)
        guild.roles[bot_role.id] = bot_role
        guild.members[self.bot_user.id] = Member(user=self.bot_user, roles=[bot_role.id])
        guild.members[self.owner.id] = Member(user=self.owner)
        self.guilds[gid] = guild
        return guild

    def add_role(self, guild_id: int, name: str, permissions: int = 0) -> Role:
        return self.create_role(guild_id, {"name": name, "permissions": permissions})

    def create_role(self, guild_id: int, body: Json) -> Role:
        """A new role at position 1, just above @everyone, lifting every other role by one (as Discord)."""
        guild = self.guilds[guild_id]
        for other in guild.roles.values():
            if other.id != guild_id:
                other.position += 1
        role = Role(id=self.ids.next(), name="new role", position=1)
        role.apply(body)
        guild.roles[role.id] = role
        return role

    def bot_top(self, guild_id: int) -> int:
        """The position of the bot's highest role in ``guild_id``."""
        guild = self.guilds[guild_id]
        return guild.top_position(guild.members[self.bot_user.id])

    def move_roles(self, guild_id: int, moves: dict[int, int]) -> None:
        """Set the positions of some roles (role id -> position)."""
        for role_id, position in moves.items():
            self.guilds[guild_id].roles[role_id].position = position

    def delete_role(self, guild_id: int, role_id: int) -> None:
        guild = self.guilds[guild_id]
        gone = guild.roles.pop(role_id)
        for other in guild.roles.values():
            if other.position > gone.position:
                other.position -= 1
        for member in guild.members.values():
            if role_id in member.roles:
                member.roles.remove(role_id)

    def add_member(self, guild_id: int, user_id: int, name: str, roles: list[int] | None = None) -> Member:
        guild = self.guilds[guild_id]
        unknown = set(roles or []) - guild.roles.keys()
        if unknown:
            raise KeyError(f"unknown roles {sorted(unknown)} in guild {guild_id}")
        member = Member(user=User(id=user_id, username=name), roles=list(roles or []))
        guild.members[user_id] = member
        return member

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

    def delete_channel(self, channel: Channel) -> list[Channel]:
        """Delete ``channel`` and its messages; return the children it orphaned (a category's)."""
        guild = self.guilds[channel.guild_id]
        del guild.channels[channel.id]
        orphans = [c for c in guild.channels.values() if c.parent_id == channel.id]
        for child in orphans:
            child.parent_id = None
        for mid in [m.id for m in self.messages.values() if m.channel_id == channel.id]:
            del self.messages[mid]
        return orphans

    def new_message(self, channel_id: int, body: Json, author: User | None = None) -> Message:
        """A message that is not stored yet (ephemeral interaction replies never are)."""
        message = Message(id=self.ids.next(), channel_id=channel_id, author=author or self.bot_user)
        self._fill_message(message, body)
        return message

    def post_message(self, channel: Channel, body: Json, author: User | None = None) -> Message:
        message = self.new_message(channel.id, body, author)
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
        if body.get("flags") is not None:
            message.flags = int(body["flags"])

    def overwrite_commands(self, guild_id: int | None, bodies: list[Json]) -> list[Command]:
        """Bulk overwrite of a guild's (or the global) commands: keep ids of commands matched by
        (type, name), bump changed versions."""
        current = self.global_commands if guild_id is None else self.guilds[guild_id].commands
        existing = {(c.body.get("type", 1), c.name): c for c in current.values()}
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
        if guild_id is None:
            self.global_commands = result
        else:
            self.guilds[guild_id].commands = result
        return list(result.values())


def _component_out(component: Json, numbers: Iterator[int]) -> Json:
    """Discord numbers a message's components itself (disnake sends ``id: 0``)."""
    out = {**component, "id": next(numbers)}
    if "components" in component:
        out["components"] = [_component_out(c, numbers) for c in component["components"]]
    return out


def _embed_out(embed: Json) -> Json:
    return {"type": "rich", **{k: v for k, v in embed.items() if v is not None}}
