"""The emulator's guild-modify and emoji routes, and the CDN route that serves emoji images.

``PATCH /guilds/{id}`` keeps the settings hlb manages (channels must be of the
guild and of a fitting type, as Discord checks). The emoji routes check the image
data URI (a PNG, JPEG, WebP or GIF of at most 256 KiB, as Discord does) and the
slots: as many static as animated emojis per guild, by premium tier, else Discord's
30008. Bodies were validated against Discord's OpenAPI spec by the middleware.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import TYPE_CHECKING

from aiohttp import web

from hlb.testing.models import Emoji, Guild, Json
from hlb.testing.routes import BODY, ApiError, Routes, form_error, no_content, respond, snowflake_param

if TYPE_CHECKING:
    from hlb.testing.server import Emulator

UNKNOWN_EMOJI = 10014
MAX_EMOJIS = 30008
SLOTS = {0: 50, 1: 100, 2: 150, 3: 250}  # static and animated each, by premium tier
MAX_IMAGE = 256 * 1024
_DATA_URI = re.compile(r"^data:image/(png|jpeg|jpg|gif|webp);base64,(.*)$", re.DOTALL)
_MAGIC = {"png": b"\x89PNG", "jpeg": b"\xff\xd8\xff", "jpg": b"\xff\xd8\xff", "gif": b"GIF8", "webp": b"RIFF"}
# Discord's channel types a setting accepts: afk a voice channel, system and rules text ones.
_CHANNEL_TYPES = {"afk_channel_id": {2}, "system_channel_id": {0}, "rules_channel_id": {0}}
GUILD_SETTINGS = frozenset(
    {"verification_level", "default_message_notifications", "explicit_content_filter", "afk_timeout",
     "preferred_locale", "description", *_CHANNEL_TYPES}
)


def decode_image(uri: object) -> tuple[bytes, bool]:
    """The bytes of an image data URI and whether it is animated (a GIF); Discord's 50035 when bad."""
    match = _DATA_URI.match(uri) if isinstance(uri, str) else None
    if match is None:
        raise form_error("image", "Invalid image data")
    kind, data = match.groups()
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise form_error("image", "Invalid image data") from None
    if not raw.startswith(_MAGIC[kind]):
        raise form_error("image", "Invalid image data")
    if len(raw) > MAX_IMAGE:
        raise form_error("image", "File cannot be larger than 256.0 kb.")
    return raw, kind == "gif"


class EmojiRoutes(Routes):
    """Guild-modify, emoji and emoji CDN handlers bound to one emulator."""

    def _emoji(self, request: web.Request, guild: Guild) -> Emoji:
        emoji = guild.emojis.get(snowflake_param(request, "emoji_id"))
        if emoji is None:
            raise ApiError(404, UNKNOWN_EMOJI, "Unknown Emoji")
        return emoji

    def _roles(self, guild: Guild, body: Json) -> list[int]:
        roles = [int(r) for r in body.get("roles") or ()]
        for role in roles:
            if role not in guild.roles:
                raise form_error("roles", f"Role {role} is not in this guild.")
        return sorted(roles)

    async def modify_guild(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        body: Json = request[BODY] or {}
        for key, types in _CHANNEL_TYPES.items():
            value = body.get(key)
            if value is not None:
                channel = guild.channels.get(int(value))
                if channel is None or channel.type not in types:
                    raise form_error(key, "Not a channel of this guild of the right type.")
        changed = {k: v for k, v in body.items() if k in GUILD_SETTINGS}
        self.changes.edit_guild(guild, changed, str(body["name"]) if "name" in body else None)
        return respond(guild.to_json())

    async def list_emojis(self, request: web.Request) -> web.Response:
        return respond([e.to_json() for e in self._guild(request).emojis.values()])

    async def get_emoji(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        return respond(self._emoji(request, guild).to_json())

    async def create_emoji(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        body: Json = request[BODY] or {}
        image, animated = decode_image(body.get("image"))
        limit = SLOTS.get(guild.premium_tier, SLOTS[0])
        if sum(1 for e in guild.emojis.values() if e.animated == animated) >= limit:
            kind = "animated emojis" if animated else "emojis"
            raise ApiError(400, MAX_EMOJIS, f"Maximum number of {kind} reached ({limit})")
        emoji = Emoji(self.state.ids.next(), str(body["name"]), image, animated, self._roles(guild, body))
        self.changes.add_emoji(guild, emoji)
        return respond(emoji.to_json(), status=201)

    async def modify_emoji(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        emoji = self._emoji(request, guild)
        body: Json = request[BODY] or {}
        name = str(body["name"]) if "name" in body else None
        self.changes.edit_emoji(guild, emoji, name, self._roles(guild, body) if "roles" in body else None)
        return respond(emoji.to_json())

    async def delete_emoji(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        self.changes.delete_emoji(guild, self._emoji(request, guild).id)
        return no_content()

    async def cdn_emoji(self, request: web.Request) -> web.Response:
        """``/emojis/{id}.{ext}`` on Discord's CDN: the image bytes."""
        emoji_id = snowflake_param(request, "emoji_id")
        for guild in self.state.guilds.values():
            if emoji_id in guild.emojis:
                emoji = guild.emojis[emoji_id]
                kind = "image/gif" if emoji.animated else "image/png"
                return web.Response(body=emoji.image, content_type=kind)
        raise ApiError(404, UNKNOWN_EMOJI, "Unknown Emoji")


def add_emoji_routes(app: web.Application, emu: Emulator, prefix: str) -> None:
    """Register guild-modify and the emoji routes under ``prefix``, and the CDN route at the root."""
    r = EmojiRoutes(emu)
    table = [
        ("PATCH", "/guilds/{guild_id}", r.modify_guild),
        ("GET", "/guilds/{guild_id}/emojis", r.list_emojis),
        ("POST", "/guilds/{guild_id}/emojis", r.create_emoji),
        ("GET", "/guilds/{guild_id}/emojis/{emoji_id}", r.get_emoji),
        ("PATCH", "/guilds/{guild_id}/emojis/{emoji_id}", r.modify_emoji),
        ("DELETE", "/guilds/{guild_id}/emojis/{emoji_id}", r.delete_emoji),
    ]
    for method, path, handler in table:
        app.router.add_route(method, prefix + path, handler)
    app.router.add_get("/emojis/{emoji_id}.{ext}", r.cdn_emoji)
