"""REST route handlers of the Discord emulator: users, gateway URL, guilds, channels, overwrites, messages.

Handlers read the already-validated JSON body from ``request[BODY]`` (set by the
``Emulator`` middleware), change state through ``emu.changes`` (which tells the gateway)
and raise ``ApiError`` for Discord's error responses. ``routes_app`` has the rest.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from hlb.testing.models import Channel, Guild, Json, Message, Overwrite

if TYPE_CHECKING:
    from hlb.testing.server import Emulator

UNKNOWN_CHANNEL = 10003
UNKNOWN_GUILD = 10004
UNKNOWN_MESSAGE = 10008
MAX_CHANNELS = 30013
EMPTY_MESSAGE = 50006
INVALID_FORM_BODY = 50035
BODY: web.RequestKey[Any] = web.RequestKey("body", object)


class ApiError(Exception):
    """A Discord error response: HTTP status, JSON code, message and field errors."""

    def __init__(self, status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.errors = status, code, message, errors or {}

    def payload(self) -> Json:
        data: Json = {"code": self.code, "message": self.message}
        if self.errors:
            data["errors"] = self.errors
        return data


def respond(data: Any, status: int = 200) -> web.Response:
    """A JSON response with Content-Type exactly ``application/json`` (disnake requires it)."""
    return web.Response(body=json.dumps(data).encode(), status=status, content_type="application/json")


def no_content() -> web.Response:
    return web.Response(status=204)


def form_error(field: str, message: str) -> ApiError:
    errors = {field: {"_errors": [{"code": "BASE_TYPE_INVALID", "message": message}]}}
    return ApiError(400, INVALID_FORM_BODY, "Invalid Form Body", errors)


def not_empty(body: Json) -> Json:
    """``body`` if it makes a visible message, else Discord's 50006."""
    if not (body.get("content") or body.get("embeds") or body.get("components") or body.get("sticker_ids")):
        raise ApiError(400, EMPTY_MESSAGE, "Cannot send an empty message")
    return body


def snowflake_param(request: web.Request, key: str) -> int:
    raw = request.match_info[key]
    if not raw.isdigit():
        raise form_error(key, "Value is not snowflake.")
    return int(raw)


class Routes:
    """Handlers bound to one emulator."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.state = emu.state
        self.changes = emu.changes

    # -- lookups -----------------------------------------------------------------------------

    def _guild(self, request: web.Request) -> Guild:
        guild = self.state.guilds.get(snowflake_param(request, "guild_id"))
        if guild is None:
            raise ApiError(404, UNKNOWN_GUILD, "Unknown Guild")
        return guild

    def _channel(self, request: web.Request) -> Channel:
        channel = self.state.channel(snowflake_param(request, "channel_id"))
        if channel is None:
            raise ApiError(404, UNKNOWN_CHANNEL, "Unknown Channel")
        return channel

    def _message(self, request: web.Request) -> Message:
        channel = self._channel(request)
        message = self.state.messages.get(snowflake_param(request, "message_id"))
        if message is None or message.channel_id != channel.id:
            raise ApiError(404, UNKNOWN_MESSAGE, "Unknown Message")
        return message

    def _check_parent(self, guild: Guild, body: Json) -> None:
        parent = body.get("parent_id")
        if parent is None:
            return
        channel = guild.channels.get(int(parent))
        if channel is None or channel.type != 4:
            raise form_error("parent_id", "Not a category channel of this guild.")
        if body.get("type") == 4:
            raise form_error("parent_id", "A category cannot have a parent.")

    # -- application and user ---------------------------------------------------------------

    async def me(self, request: web.Request) -> web.Response:
        return respond({**self.state.bot_user.to_json(), "verified": True, "mfa_enabled": False})

    async def app_info(self, request: web.Request) -> web.Response:
        return respond(
            {
                "id": str(self.state.application_id),
                "name": self.state.bot_user.username,
                "description": "",
                "icon": None,
                "bot_public": False,
                "bot_require_code_grant": False,
                "owner": self.state.owner.to_json(),
                "verify_key": "0" * 64,
                "team": None,
                "flags": self.state.application_flags,
                "summary": "",
                "rpc_origins": [],
                "bot": self.state.bot_user.to_json(),
            }
        )

    async def gateway_bot(self, request: web.Request) -> web.Response:
        limit = {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}
        return respond({"url": self.emu.gateway_url, "shards": 1, "session_start_limit": limit})

    # -- guilds and channels ----------------------------------------------------------------

    async def get_guild(self, request: web.Request) -> web.Response:
        return respond(self._guild(request).to_json())

    async def list_channels(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        return respond([c.to_json() for c in guild.channels.values()])

    async def create_channel(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        body: Json = request[BODY] or {}
        if "name" not in body:
            raise form_error("name", "This field is required")
        if len(guild.channels) >= self.emu.max_channels:
            raise ApiError(
                400, MAX_CHANNELS, f"Maximum number of guild channels reached ({self.emu.max_channels})"
            )
        self._check_parent(guild, body)
        channel = self.changes.create_channel(guild.id, body)
        return respond(channel.to_json(), 201)

    async def reorder_channels(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        items: list[Json] = request[BODY] or []
        for item in items:
            if int(item["id"]) not in guild.channels:
                raise form_error("id", f"Channel {item['id']} is not in this guild.")
            self._check_parent(guild, {k: v for k, v in item.items() if k == "parent_id"})
        self.changes.move_channels(guild.id, items)
        return no_content()

    async def get_channel(self, request: web.Request) -> web.Response:
        return respond(self._channel(request).to_json())

    async def edit_channel(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        body: Json = request[BODY] or {}
        if "parent_id" in body:
            self._check_parent(self.state.guilds[channel.guild_id], {**body, "type": channel.type})
        self.changes.edit_channel(channel, body)
        return respond(channel.to_json())

    async def delete_channel(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        self.changes.delete_channel(channel)
        return respond(channel.to_json())

    async def put_overwrite(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        body: Json = request[BODY] or {}
        target = snowflake_param(request, "overwrite_id")
        new = Overwrite.from_json({**body, "id": target})
        rest = [o for o in channel.permission_overwrites if o.id != target]
        self.changes.set_overwrites(channel, [*rest, new])
        return no_content()

    async def delete_overwrite(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        target = snowflake_param(request, "overwrite_id")
        self.changes.set_overwrites(channel, [o for o in channel.permission_overwrites if o.id != target])
        return no_content()

    # -- messages -----------------------------------------------------------------------------

    async def post_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        body = not_empty(request[BODY] or {})
        return respond(self.changes.post_message(channel, body).to_json())

    async def get_message(self, request: web.Request) -> web.Response:
        return respond(self._message(request).to_json())

    async def edit_message(self, request: web.Request) -> web.Response:
        message = self._message(request)
        self.changes.edit_message(message, request[BODY] or {})
        return respond(message.to_json())

    async def delete_message(self, request: web.Request) -> web.Response:
        message = self._message(request)
        self.changes.delete_message(message)
        return no_content()


def add_routes(app: web.Application, emu: Emulator, prefix: str) -> None:
    """Register the user, guild, channel and message routes under ``prefix`` (``/api/v10``)."""
    r = Routes(emu)
    table = [
        ("GET", "/users/@me", r.me),
        ("GET", "/oauth2/applications/@me", r.app_info),
        ("GET", "/gateway/bot", r.gateway_bot),
        ("GET", "/guilds/{guild_id}", r.get_guild),
        ("GET", "/guilds/{guild_id}/channels", r.list_channels),
        ("POST", "/guilds/{guild_id}/channels", r.create_channel),
        ("PATCH", "/guilds/{guild_id}/channels", r.reorder_channels),
        ("GET", "/channels/{channel_id}", r.get_channel),
        ("PATCH", "/channels/{channel_id}", r.edit_channel),
        ("DELETE", "/channels/{channel_id}", r.delete_channel),
        ("PUT", "/channels/{channel_id}/permissions/{overwrite_id}", r.put_overwrite),
        ("DELETE", "/channels/{channel_id}/permissions/{overwrite_id}", r.delete_overwrite),
        ("POST", "/channels/{channel_id}/messages", r.post_message),
        ("GET", "/channels/{channel_id}/messages/{message_id}", r.get_message),
        ("PATCH", "/channels/{channel_id}/messages/{message_id}", r.edit_message),
        ("DELETE", "/channels/{channel_id}/messages/{message_id}", r.delete_message),
    ]
    for method, path, handler in table:
        app.router.add_route(method, prefix + path, handler)
