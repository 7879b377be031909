"""Interactions the emulator sends to the bot (slash commands, buttons, selects) and their responses.

``Interactions`` builds INTERACTION_CREATE payloads as Discord does, keeps each
``Interaction`` by id and token, and applies what the bot answers: the callback (once,
within ``timeout`` seconds), followups and the ``@original`` message.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from hlb.testing.changes import Changes
from hlb.testing.models import EPHEMERAL, Channel, Guild, Json, Member, Message
from hlb.testing.routes import UNKNOWN_CHANNEL, UNKNOWN_MESSAGE, ApiError, form_error, not_empty

UNKNOWN_WEBHOOK = 10015
UNKNOWN_INTERACTION = 10062
ALREADY_ACKNOWLEDGED = 40060
LOADING = 1 << 7
TOKEN_LIFETIME = 15 * 60.0
APPLICATION_COMMAND, MESSAGE_COMPONENT = 2, 3
REPLY, DEFERRED_REPLY, DEFERRED_UPDATE, UPDATE_MESSAGE, MODAL = 4, 5, 6, 7, 9
ALLOWED_CALLBACKS = {
    APPLICATION_COMMAND: {REPLY, DEFERRED_REPLY, MODAL},
    MESSAGE_COMPONENT: {REPLY, DEFERRED_REPLY, DEFERRED_UPDATE, UPDATE_MESSAGE, MODAL},
}
RESOLVED_KEYS = {6: "users", 7: "channels", 8: "roles"}
SELECT_TYPES = frozenset({3, 5, 6, 7, 8})


@dataclass
class Interaction:
    """One interaction sent to the bot, the callback it answered and the messages it made."""

    id: int
    token: str
    type: int
    channel_id: int
    payload: Json
    message_id: int | None = None  # the message whose component was used
    created: float = field(default_factory=time.monotonic)
    callbacks: list[Json] = field(default_factory=list)
    original: Message | None = None
    followups: list[Message] = field(default_factory=list)
    answered: asyncio.Future[Json] = field(default_factory=lambda: asyncio.get_running_loop().create_future())

    async def response(self, timeout: float = 5.0) -> Json:
        """The callback body the bot sent (waits for it)."""
        return await asyncio.wait_for(asyncio.shield(self.answered), timeout)


class Interactions:
    """Every interaction sent, and the rules Discord applies to answering them."""

    def __init__(self, changes: Changes, timeout: float = 3.0) -> None:
        self.changes = changes
        self.state = changes.state
        self.timeout = timeout
        self.by_id: dict[int, Interaction] = {}

    # -- sending -------------------------------------------------------------------------------

    def command(
        self, guild_id: int, channel_id: int, user_id: int, name: str, options: dict[str, Any]
    ) -> Interaction:
        guild = self.state.guilds[guild_id]
        channel = guild.channels[channel_id]
        command = guild.command_named(name)
        definitions = {o["name"]: o for o in command.body.get("options") or []}
        missing = [n for n, o in definitions.items() if o.get("required") and n not in options]
        if missing:
            raise ValueError(f"command {name!r} requires options {missing}")
        values: list[Json] = []
        resolved: dict[str, Json] = {}
        for key, value in options.items():
            if key not in definitions:
                raise KeyError(f"command {name!r} has no option {key!r}")
            kind = int(definitions[key]["type"])
            given = self._option_value(guild, kind, value, resolved)
            values.append({"name": key, "type": kind, "value": given})
        data = {"id": str(command.id), "name": name, "type": 1, "guild_id": str(guild_id), "options": values}
        if resolved:
            data["resolved"] = resolved
        return self._send(APPLICATION_COMMAND, guild, channel, user_id, {"data": data})

    def component(
        self, message_id: int, custom_id: str, user_id: int, values: list[str] | None = None
    ) -> Interaction:
        message = self.state.messages[message_id]
        component = message.component(custom_id)
        kind = int(component["type"])
        if component.get("disabled"):
            raise ValueError(f"component {custom_id!r} is disabled")
        if (values is None) != (kind not in SELECT_TYPES):
            raise ValueError(f"component {custom_id!r} has type {kind}")
        if kind == 3 and values is not None:
            allowed = {o["value"] for o in component.get("options") or []}
            if not set(values) <= allowed:
                raise ValueError(f"values {sorted(set(values) - allowed)} are not options of {custom_id!r}")
        channel = self.state.channel(message.channel_id)
        if channel is None:
            raise KeyError(f"message {message_id} is not in a guild channel")
        data: Json = {"custom_id": custom_id, "component_type": kind}
        if values is not None:
            data["values"] = values
        extra = {"data": data, "message": message.to_json()}
        guild = self.state.guilds[channel.guild_id]
        inter = self._send(MESSAGE_COMPONENT, guild, channel, user_id, extra)
        inter.message_id = message.id
        return inter

    def _option_value(self, guild: Guild, kind: int, value: Any, resolved: dict[str, Json]) -> Any:
        key = RESOLVED_KEYS.get(kind)
        if key is None:
            return value
        oid, ref = int(value), str(value)
        if kind == 6:
            member = guild.members[oid]
            resolved.setdefault("users", {})[ref] = member.user.to_json()
            entry = {k: v for k, v in member.to_json().items() if k != "user"}
            entry["permissions"] = str(guild.permissions(member))
            resolved.setdefault("members", {})[ref] = entry
        elif kind == 7:
            channel = guild.channels[oid]
            resolved.setdefault("channels", {})[ref] = {**channel.to_json(), "permissions": "0"}
        else:
            resolved.setdefault("roles", {})[ref] = guild.roles[oid].to_json()
        return ref

    def _send(self, kind: int, guild: Guild, channel: Channel, user_id: int, extra: Json) -> Interaction:
        member: Member = guild.members[user_id]
        bot = guild.members[self.state.bot_user.id]
        iid = self.state.ids.next()
        token = "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48)
        payload: Json = {
            "id": str(iid),
            "application_id": str(self.state.application_id),
            "type": kind,
            "token": token,
            "version": 1,
            "guild_id": str(guild.id),
            "guild": {"id": str(guild.id), "locale": "en-US", "features": []},
            "channel_id": str(channel.id),
            "channel": channel.to_json(),
            "member": {**member.to_json(), "permissions": str(guild.permissions(member, channel))},
            "app_permissions": str(guild.permissions(bot, channel)),
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(guild.id)},
            "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
            **extra,
        }
        inter = Interaction(id=iid, token=token, type=kind, channel_id=channel.id, payload=payload)
        self.by_id[iid] = inter
        self.changes.gateway.publish("INTERACTION_CREATE", payload)
        return inter

    # -- answers -------------------------------------------------------------------------------

    def callback(self, interaction_id: int, token: str, body: Json) -> None:
        """The initial response: once, within ``timeout`` seconds, of a type this interaction allows."""
        inter = self.by_id.get(interaction_id)
        if inter is None or inter.token != token:
            raise ApiError(404, UNKNOWN_INTERACTION, "Unknown interaction")
        if inter.callbacks:
            raise ApiError(400, ALREADY_ACKNOWLEDGED, "Interaction has already been acknowledged.")
        if time.monotonic() - inter.created > self.timeout:
            raise ApiError(404, UNKNOWN_INTERACTION, "Unknown interaction")
        kind, data = int(body["type"]), body.get("data") or {}
        if kind not in ALLOWED_CALLBACKS[inter.type]:
            raise form_error("type", f"Interaction response type {kind} is invalid here.")
        if kind == REPLY:
            inter.original = self._post(inter, not_empty(data))
        elif kind == DEFERRED_REPLY:
            inter.original = self._post(inter, {"flags": LOADING | int(data.get("flags") or 0) & EPHEMERAL})
        elif kind in (DEFERRED_UPDATE, UPDATE_MESSAGE):
            inter.original = self.state.messages.get(inter.message_id or 0)
            if kind == UPDATE_MESSAGE and inter.original is not None:
                self.changes.edit_message(inter.original, data)
        inter.callbacks.append(body)
        if not inter.answered.done():
            inter.answered.set_result(body)

    def followup(self, application_id: int, token: str, body: Json) -> Message:
        """A followup message; the first after a deferred reply replaces the "thinking" message."""
        inter = self._webhook(application_id, token)
        original = inter.original
        if original is not None and original.flags & LOADING:
            self._edit(original, body)
            inter.followups.append(original)
            return original
        message = self._post(inter, not_empty(body))
        inter.followups.append(message)
        return message

    def original(self, application_id: int, token: str) -> Message:
        original = self._webhook(application_id, token).original
        if original is None:
            raise ApiError(404, UNKNOWN_MESSAGE, "Unknown Message")
        return original

    def edit_original(self, application_id: int, token: str, body: Json) -> Message:
        original = self.original(application_id, token)
        self._edit(original, body)
        return original

    def delete_original(self, application_id: int, token: str) -> None:
        inter = self._webhook(application_id, token)
        original = self.original(application_id, token)
        if original.id in self.state.messages:
            self.changes.delete_message(original)
        inter.original = None

    def _webhook(self, application_id: int, token: str) -> Interaction:
        """The acknowledged interaction behind a webhook token (Unknown Webhook otherwise)."""
        if application_id == self.state.application_id:
            for inter in self.by_id.values():
                fresh = time.monotonic() - inter.created <= TOKEN_LIFETIME
                if inter.token == token and inter.callbacks and fresh:
                    return inter
        raise ApiError(404, UNKNOWN_WEBHOOK, "Unknown Webhook")

    def _post(self, inter: Interaction, body: Json) -> Message:
        channel = self.state.channel(inter.channel_id)
        if channel is None:
            raise ApiError(404, UNKNOWN_CHANNEL, "Unknown Channel")
        if int(body.get("flags") or 0) & EPHEMERAL:
            return self.state.new_message(channel.id, body)
        return self.changes.post_message(channel, body)

    def _edit(self, message: Message, body: Json) -> None:
        """Edit a response: it stops "thinking", and stays ephemeral if it was."""
        flags = message.flags & EPHEMERAL | int(body.get("flags") or 0) & ~(LOADING | EPHEMERAL)
        body = {**body, "flags": flags}
        if message.id in self.state.messages:
            self.changes.edit_message(message, body)
        else:
            self.state.edit_message(message, body)
