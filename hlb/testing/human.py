"""Changes a person makes by hand in the Discord UI: state changes and gateway events, no bot REST call.

``Emulator`` inherits these so tests can cause drift (``emu.human_delete_channel(id)``)
or unmanaged activity (``emu.human_post_message(channel_id, "hi")``) and watch the bot react.
"""

from __future__ import annotations

from typing import Any

from hlb.testing.changes import Changes
from hlb.testing.models import Channel, Member, Message, Role
from hlb.testing.state import EmulatorState


class HumanActions:
    """Test helpers acting as a guild member with every permission (the owner, by default)."""

    state: EmulatorState
    changes: Changes

    def _channel(self, channel_id: int) -> Channel:
        channel = self.state.channel(channel_id)
        if channel is None:
            raise KeyError(f"no channel {channel_id}")
        return channel

    def human_create_channel(self, guild_id: int, name: str, **fields: Any) -> Channel:
        """Create a channel (``type``, ``parent_id``, ``topic``... as in Discord's JSON)."""
        return self.changes.create_channel(guild_id, {**fields, "name": name})

    def human_edit_channel(self, channel_id: int, **fields: Any) -> Channel:
        """Edit a channel's fields (``name="x"``, ``topic=None``, ``parent_id=...``)."""
        channel = self._channel(channel_id)
        self.changes.edit_channel(channel, fields)
        return channel

    def human_delete_channel(self, channel_id: int) -> None:
        self.changes.delete_channel(self._channel(channel_id))

    def human_post_message(self, channel_id: int, content: str, user_id: int | None = None) -> Message:
        """A message by ``user_id`` (a guild member; the guild owner by default)."""
        channel = self._channel(channel_id)
        members = self.state.guilds[channel.guild_id].members
        author = members[user_id].user if user_id is not None else self.state.owner
        return self.changes.post_message(channel, {"content": content}, author)

    def human_delete_message(self, channel_id: int, message_id: int) -> None:
        message = self.state.messages[message_id]
        if message.channel_id != channel_id:
            raise KeyError(f"message {message_id} is not in channel {channel_id}")
        self.changes.delete_message(message)

    def human_edit_role(self, guild_id: int, role_id: int, **fields: Any) -> Role:
        """Edit a role (``name``, ``permissions``, ``color``, ``hoist``, ``mentionable``)."""
        role = self.state.guilds[guild_id].roles[role_id]
        self.changes.edit_role(guild_id, role, fields)
        return role

    def human_delete_role(self, guild_id: int, role_id: int) -> None:
        if role_id == guild_id:
            raise ValueError("@everyone cannot be deleted")
        self.changes.delete_role(guild_id, role_id)

    def human_edit_guild(self, guild_id: int, name: str | None = None, **settings: Any) -> None:
        """Change the server's settings (Discord's names: ``verification_level=2``, ``afk_channel_id=1``)."""
        self.changes.edit_guild(self.state.guilds[guild_id], settings, name)

    def human_edit_emoji(self, guild_id: int, emoji_id: int, name: str) -> None:
        guild = self.state.guilds[guild_id]
        self.changes.edit_emoji(guild, guild.emojis[emoji_id], name)

    def human_delete_emoji(self, guild_id: int, emoji_id: int) -> None:
        self.changes.delete_emoji(self.state.guilds[guild_id], emoji_id)

    def human_set_member_roles(self, guild_id: int, user_id: int, roles: list[int]) -> Member:
        """Replace a member's roles, as when someone edits them in the member list."""
        guild = self.state.guilds[guild_id]
        unknown = set(roles) - guild.roles.keys()
        if unknown:
            raise KeyError(f"unknown roles {sorted(unknown)} in guild {guild_id}")
        member = guild.members[user_id]
        self.changes.set_member_roles(guild_id, member, list(roles))
        return member
