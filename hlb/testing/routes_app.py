"""REST route handlers of the Discord emulator: guild commands, interaction responses, roles and members.

Interaction callbacks and webhook followups carry their own token instead of the bot's
``Authorization`` header (the middleware lets them through); ``interactions`` holds the rules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from hlb.testing.models import Guild, Json, Member, Role
from hlb.testing.routes import BODY, ApiError, Routes, form_error, no_content, respond, snowflake_param

if TYPE_CHECKING:
    from hlb.testing.server import Emulator

UNKNOWN_APPLICATION = 10002
UNKNOWN_MEMBER = 10007
UNKNOWN_ROLE = 10011
MISSING_PERMISSIONS = 50013
INVALID_ROLE = 50028
MAX_MEMBERS_PAGE = 1000


class AppRoutes(Routes):
    """Command, interaction, webhook, role and member handlers bound to one emulator."""

    def __init__(self, emu: Emulator) -> None:
        super().__init__(emu)
        self.interactions = emu.interactions

    def _role(self, request: web.Request, guild: Guild) -> Role:
        role = guild.roles.get(snowflake_param(request, "role_id"))
        if role is None:
            raise ApiError(404, UNKNOWN_ROLE, "Unknown Role")
        return role

    def _member(self, request: web.Request, guild: Guild) -> Member:
        member = guild.members.get(snowflake_param(request, "user_id"))
        if member is None:
            raise ApiError(404, UNKNOWN_MEMBER, "Unknown Member")
        return member

    # -- application commands ---------------------------------------------------------------

    def _command_scope(self, request: web.Request) -> Guild | None:
        """The guild of a guild-command route, None for the global commands."""
        if snowflake_param(request, "application_id") != self.state.application_id:
            raise ApiError(404, UNKNOWN_APPLICATION, "Unknown Application")
        return self._guild(request) if "guild_id" in request.match_info else None

    async def list_commands(self, request: web.Request) -> web.Response:
        guild = self._command_scope(request)
        listed = self.state.global_commands if guild is None else guild.commands
        return respond([c.to_json() for c in listed.values()])

    async def put_commands(self, request: web.Request) -> web.Response:
        guild = self._command_scope(request)
        bodies: list[Json] = request[BODY] or []
        names = [(b.get("type", 1), b["name"]) for b in bodies]
        if len(names) != len(set(names)):
            raise form_error("name", "Application command names must be unique")
        written = self.state.overwrite_commands(None if guild is None else guild.id, bodies)
        return respond([c.to_json() for c in written])

    # -- interaction responses ----------------------------------------------------------------

    async def interaction_callback(self, request: web.Request) -> web.Response:
        iid = snowflake_param(request, "interaction_id")
        self.interactions.callback(iid, request.match_info["interaction_token"], request[BODY] or {})
        return no_content()

    def _webhook_ids(self, request: web.Request) -> tuple[int, str]:
        return snowflake_param(request, "webhook_id"), request.match_info["webhook_token"]

    async def execute_webhook(self, request: web.Request) -> web.Response:
        message = self.interactions.followup(*self._webhook_ids(request), request[BODY] or {})
        if request.query.get("wait", "").lower() in ("1", "true"):
            return respond(message.to_json())
        return no_content()

    async def get_original(self, request: web.Request) -> web.Response:
        return respond(self.interactions.original(*self._webhook_ids(request)).to_json())

    async def edit_original(self, request: web.Request) -> web.Response:
        message = self.interactions.edit_original(*self._webhook_ids(request), request[BODY] or {})
        return respond(message.to_json())

    async def delete_original(self, request: web.Request) -> web.Response:
        self.interactions.delete_original(*self._webhook_ids(request))
        return no_content()

    # -- roles -----------------------------------------------------------------------------------

    async def list_roles(self, request: web.Request) -> web.Response:
        return respond([r.to_json() for r in self._guild(request).roles.values()])

    async def create_role(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        return respond(self.changes.create_role(guild.id, request[BODY] or {}).to_json())

    async def get_role(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        return respond(self._role(request, guild).to_json())

    def _below_bot(self, guild: Guild, role: Role) -> None:
        """Discord's hierarchy rule: the bot changes only roles below its highest role."""
        if role.id != guild.id and role.position >= self.state.bot_top(guild.id):
            raise ApiError(403, MISSING_PERMISSIONS, "Missing Permissions")

    async def edit_role(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        role = self._role(request, guild)
        body: Json = request[BODY] or {}
        if role.managed:
            raise ApiError(400, INVALID_ROLE, "Invalid Role")
        self._below_bot(guild, role)
        if role.id == guild.id and "name" in body:
            raise form_error("name", "The @everyone role cannot be renamed.")
        self.changes.edit_role(guild.id, role, body)
        return respond(role.to_json())

    async def reorder_roles(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        items: list[Json] = request[BODY] or []
        moves: dict[int, int] = {}
        for item in items:
            role = guild.roles.get(int(item["id"]))
            if role is None:
                raise form_error("id", f"Role {item['id']} is not in this guild.")
            if role.id == guild.id:
                raise form_error("id", "The @everyone role cannot be moved.")
            position = int(item.get("position") or 0)
            self._below_bot(guild, role)
            if position >= self.state.bot_top(guild.id):
                raise ApiError(403, MISSING_PERMISSIONS, "Missing Permissions")
            moves[role.id] = position
        self.changes.move_roles(guild.id, moves)
        return respond([r.to_json() for r in sorted(guild.roles.values(), key=lambda r: r.position)])

    async def delete_role(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        role = self._role(request, guild)
        if role.id == guild.id or role.managed:
            raise ApiError(400, INVALID_ROLE, "Invalid Role")
        self._below_bot(guild, role)
        self.changes.delete_role(guild.id, role.id)
        return no_content()

    # -- members -----------------------------------------------------------------------------------

    async def list_members(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        try:
            limit = int(request.query.get("limit", "1"))
            after = int(request.query.get("after", "0"))
        except ValueError as err:
            raise form_error("limit", "Value is not int.") from err
        if not 1 <= limit <= MAX_MEMBERS_PAGE:
            raise form_error("limit", f"int value should be between 1 and {MAX_MEMBERS_PAGE}.")
        members = sorted((m for m in guild.members.values() if m.user.id > after), key=lambda m: m.user.id)
        return respond([m.to_json() for m in members[:limit]])

    async def get_member(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        return respond(self._member(request, guild).to_json())

    async def add_member_role(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        member, role = self._member(request, guild), self._role(request, guild)
        if role.id not in member.roles:
            self.changes.set_member_roles(guild.id, member, [*member.roles, role.id])
        return no_content()

    async def remove_member_role(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        member, role = self._member(request, guild), self._role(request, guild)
        self.changes.set_member_roles(guild.id, member, [r for r in member.roles if r != role.id])
        return no_content()


def add_app_routes(app: web.Application, emu: Emulator, prefix: str) -> None:
    """Register the command, interaction, webhook, role and member routes under ``prefix``."""
    r = AppRoutes(emu)
    commands = "/applications/{application_id}/guilds/{guild_id}/commands"
    global_commands = "/applications/{application_id}/commands"
    original = "/webhooks/{webhook_id}/{webhook_token}/messages/@original"
    member_role = "/guilds/{guild_id}/members/{user_id}/roles/{role_id}"
    table = [
        ("GET", commands, r.list_commands),
        ("PUT", commands, r.put_commands),
        ("GET", global_commands, r.list_commands),
        ("PUT", global_commands, r.put_commands),
        ("POST", "/interactions/{interaction_id}/{interaction_token}/callback", r.interaction_callback),
        ("POST", "/webhooks/{webhook_id}/{webhook_token}", r.execute_webhook),
        ("GET", original, r.get_original),
        ("PATCH", original, r.edit_original),
        ("DELETE", original, r.delete_original),
        ("GET", "/guilds/{guild_id}/roles", r.list_roles),
        ("POST", "/guilds/{guild_id}/roles", r.create_role),
        ("PATCH", "/guilds/{guild_id}/roles", r.reorder_roles),
        ("GET", "/guilds/{guild_id}/roles/{role_id}", r.get_role),
        ("PATCH", "/guilds/{guild_id}/roles/{role_id}", r.edit_role),
        ("DELETE", "/guilds/{guild_id}/roles/{role_id}", r.delete_role),
        ("GET", "/guilds/{guild_id}/members", r.list_members),
        ("GET", "/guilds/{guild_id}/members/{user_id}", r.get_member),
        ("PUT", member_role, r.add_member_role),
        ("DELETE", member_role, r.remove_member_role),
    ]
    for method, path, handler in table:
        app.router.add_route(method, prefix + path, handler)
