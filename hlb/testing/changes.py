"""State changes paired with the gateway events Discord sends for them, for REST routes and test helpers.

A change made through REST, by the emulator's "human" helpers or by an interaction
response goes through ``Changes`` so the bot's gateway sees exactly what Discord would send.
"""

from __future__ import annotations

from hlb.testing.gateway import Gateway
from hlb.testing.models import Channel, Emoji, Guild, Json, Member, Message, Overwrite, Role, User
from hlb.testing.state import EmulatorState


class Changes:
    """Mutate ``state``, then publish the matching event on ``gateway``."""

    def __init__(self, state: EmulatorState, gateway: Gateway) -> None:
        self.state = state
        self.gateway = gateway

    # -- channels --------------------------------------------------------------------------

    def create_channel(self, guild_id: int, body: Json) -> Channel:
        channel = self.state.create_channel(guild_id, body)
        self.gateway.publish("CHANNEL_CREATE", channel.to_json())
        return channel

    def edit_channel(self, channel: Channel, body: Json) -> None:
        channel.apply(body)
        self.gateway.publish("CHANNEL_UPDATE", channel.to_json())

    def move_channels(self, guild_id: int, items: list[Json]) -> None:
        """A bulk reorder: ``position`` and ``parent_id`` of each listed channel."""
        guild = self.state.guilds[guild_id]
        for item in items:
            channel = guild.channels[int(item["id"])]
            if item.get("position") is not None:
                channel.position = int(item["position"])
            if "parent_id" in item:
                channel.parent_id = None if item["parent_id"] is None else int(item["parent_id"])
            self.gateway.publish("CHANNEL_UPDATE", channel.to_json())

    def delete_channel(self, channel: Channel) -> None:
        orphans = self.state.delete_channel(channel)
        self.gateway.publish("CHANNEL_DELETE", channel.to_json())
        for child in orphans:
            self.gateway.publish("CHANNEL_UPDATE", child.to_json())

    def set_overwrites(self, channel: Channel, overwrites: list[Overwrite]) -> None:
        channel.permission_overwrites = overwrites
        self.gateway.publish("CHANNEL_UPDATE", channel.to_json())

    # -- messages ----------------------------------------------------------------------------

    def post_message(self, channel: Channel, body: Json, author: User | None = None) -> Message:
        message = self.state.post_message(channel, body, author)
        self.gateway.publish("MESSAGE_CREATE", self._message_event(channel, message))
        return message

    def edit_message(self, message: Message, body: Json) -> None:
        self.state.edit_message(message, body)
        channel = self.state.channel(message.channel_id)
        if channel is not None:
            self.gateway.publish("MESSAGE_UPDATE", self._message_event(channel, message))

    def delete_message(self, message: Message) -> None:
        self.state.messages.pop(message.id, None)
        channel = self.state.channel(message.channel_id)
        payload: Json = {"id": str(message.id), "channel_id": str(message.channel_id)}
        if channel is not None:
            payload["guild_id"] = str(channel.guild_id)
        self.gateway.publish("MESSAGE_DELETE", payload)

    def _message_event(self, channel: Channel, message: Message) -> Json:
        data = {**message.to_json(), "guild_id": str(channel.guild_id)}
        member = self.state.guilds[channel.guild_id].members.get(message.author.id)
        if member is not None:
            data["member"] = {k: v for k, v in member.to_json().items() if k != "user"}
        return data

    # -- the guild's own settings and its emojis -----------------------------------------------

    def edit_guild(self, guild: Guild, settings: Json, name: str | None = None) -> None:
        """Change settings (Discord's names). A channel setting is kept as a string, as Discord
        answers snowflakes whatever was sent."""
        guild.settings.update(
            {k: str(v) if k.endswith("_channel_id") and v is not None else v for k, v in settings.items()}
        )
        if name is not None:
            guild.name = name
        self.gateway.publish("GUILD_UPDATE", guild.to_json())

    def add_emoji(self, guild: Guild, emoji: Emoji) -> None:
        guild.emojis[emoji.id] = emoji
        self._emojis_changed(guild)

    def edit_emoji(
        self, guild: Guild, emoji: Emoji, name: str | None = None, roles: list[int] | None = None
    ) -> None:
        if name is not None:
            emoji.name = name
        if roles is not None:
            emoji.roles = sorted(roles)
        self._emojis_changed(guild)

    def delete_emoji(self, guild: Guild, emoji_id: int) -> None:
        del guild.emojis[emoji_id]
        self._emojis_changed(guild)

    def _emojis_changed(self, guild: Guild) -> None:
        """GUILD_EMOJIS_UPDATE: the guild's whole list of emojis, after the change."""
        emojis = [e.to_json() for e in guild.emojis.values()]
        self.gateway.publish("GUILD_EMOJIS_UPDATE", {"guild_id": str(guild.id), "emojis": emojis})

    # -- roles and members ---------------------------------------------------------------------

    def create_role(self, guild_id: int, body: Json) -> Role:
        role = self.state.create_role(guild_id, body)
        self.gateway.publish("GUILD_ROLE_CREATE", {"guild_id": str(guild_id), "role": role.to_json()})
        return role

    def edit_role(self, guild_id: int, role: Role, body: Json) -> None:
        role.apply(body)
        self.gateway.publish("GUILD_ROLE_UPDATE", {"guild_id": str(guild_id), "role": role.to_json()})

    def move_roles(self, guild_id: int, moves: dict[int, int]) -> None:
        self.state.move_roles(guild_id, moves)
        guild = self.state.guilds[guild_id]
        for role_id in moves:
            role = guild.roles[role_id].to_json()
            self.gateway.publish("GUILD_ROLE_UPDATE", {"guild_id": str(guild_id), "role": role})

    def delete_role(self, guild_id: int, role_id: int) -> None:
        self.state.delete_role(guild_id, role_id)
        self.gateway.publish("GUILD_ROLE_DELETE", {"guild_id": str(guild_id), "role_id": str(role_id)})

    def add_member(self, guild_id: int, user_id: int, name: str, roles: list[int] | None = None) -> Member:
        member = self.state.add_member(guild_id, user_id, name, roles)
        self.gateway.publish("GUILD_MEMBER_ADD", {**member.to_json(), "guild_id": str(guild_id)})
        return member

    def set_member_roles(self, guild_id: int, member: Member, roles: list[int]) -> None:
        """Replace the member's roles; no event when nothing changes (Discord sends none)."""
        if roles == member.roles:
            return
        member.roles = roles
        self.gateway.publish("GUILD_MEMBER_UPDATE", {**member.to_json(), "guild_id": str(guild_id)})
