"""The emulator's aiohttp application: Discord v10 REST routes and gateway, rate limits, faults, records.

``Emulator`` wraps the app for tests (``async with Emulator() as emu``). Every REST request
is recorded as a ``Call``; bodies are validated against Discord's OpenAPI spec (``openapi``)
and invalid ones get 400/50035 and are kept in ``Emulator.invalid_requests``. Faults
(``faults``: queued errors, refused or failing routes, replies and writes that drop
fields) are injected through the test API and cleared by ``heal``. The gateway
(``gateway``) is served at ``/gw``; ``HumanActions`` changes state as a person in Discord would.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from hlb.testing import openapi
from hlb.testing.changes import Changes
from hlb.testing.emojis import add_emoji_routes
from hlb.testing.faults import FailRule, Fault, Faults, FieldRule, RouteRule
from hlb.testing.gateway import Gateway
from hlb.testing.human import HumanActions
from hlb.testing.interactions import Interaction, Interactions
from hlb.testing.models import Guild, Json, Member, Role
from hlb.testing.routes import BODY, ApiError, add_routes, respond
from hlb.testing.routes_app import add_app_routes
from hlb.testing.state import EmulatorState

API_PREFIX = "/api/v10"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
TOKEN_PARAMS = ("{webhook_token}", "{interaction_token}")  # routes authorised by their own token
MISSING_PERMISSIONS = 50013
# Per-route bucket limits: (method, route template) -> (requests, window in seconds).
RouteLimits = Mapping[tuple[str, str], tuple[int, float]]


@dataclass(frozen=True)
class Call:
    """One request the emulator received, with the status it answered."""

    method: str
    route: str  # the route template, e.g. /channels/{channel_id}/messages
    path: str
    body: Any
    status: int

    @property
    def is_write(self) -> bool:
        return self.method in WRITE_METHODS


class Emulator(HumanActions):
    """A Discord REST and gateway emulator on 127.0.0.1, for tests and ``python -m hlb.testing``."""

    def __init__(
        self,
        *,
        token: str | None = None,
        application_id: int | None = None,
        rate_limit: int = 50,
        rate_window: float = 1.0,
        max_channels: int = 500,
        validate: bool = True,
        heartbeat_interval: int = 41250,
        interaction_timeout: float = 3.0,
        route_limits: RouteLimits | None = None,
    ) -> None:
        self.state = EmulatorState(application_id)
        self.token = token or "hlb-test." + secrets.token_urlsafe(16)
        self.gateway = Gateway(self.state, self.token, heartbeat_interval)
        self.changes = Changes(self.state, self.gateway)
        self.interactions = Interactions(self.changes, interaction_timeout)
        self.rate_limit = rate_limit
        self.rate_window = rate_window
        # Overrides of rate_limit/rate_window for some routes, e.g.
        # {("POST", "/guilds/{guild_id}/channels"): (5, 1.0)}; buckets stay per major parameter.
        self.route_limits: dict[tuple[str, str], tuple[int, float]] = {
            (method.upper(), route): (int(limit), float(window))
            for (method, route), (limit, window) in (route_limits or {}).items()
        }
        self.max_channels = max_channels
        self.validate = validate
        self.calls: list[Call] = []
        self.invalid_requests: list[tuple[Call, list[openapi.FieldError]]] = []
        self.faults = Faults()
        self._buckets: dict[tuple[str, str], tuple[float, int]] = {}
        self._runner: web.AppRunner | None = None
        self.host = "127.0.0.1"
        self.port = 0
        self.app = self._make_app()

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.host, self.port = host, int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        await self.gateway.drop(1001)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}/gw"

    @property
    def application_id(self) -> int:
        return self.state.application_id

    # -- test API --------------------------------------------------------------------------

    def add_guild(self, name: str = "Test Guild", guild_id: int | None = None) -> Guild:
        return self.state.add_guild(name, guild_id)

    def add_role(self, guild_id: int, name: str, permissions: int = 0) -> Role:
        """A new role (GUILD_ROLE_CREATE goes to connected bots)."""
        return self.changes.create_role(guild_id, {"name": name, "permissions": permissions})

    def add_member(self, guild_id: int, user_id: int, name: str, roles: list[int] | None = None) -> Member:
        """A user joins the guild with ``roles`` (GUILD_MEMBER_ADD goes to connected bots)."""
        return self.changes.add_member(guild_id, user_id, name, roles)

    def forbid(
        self, method: str, route: str, *, channel_id: int | None = None, guild_id: int | None = None
    ) -> None:
        """Matching requests answer 403/50013 Missing Permissions until ``allow_all``.

        ``route`` is a template as in ``Call.route`` (``/channels/{channel_id}/messages``);
        ``channel_id``/``guild_id`` restrict the rule to one channel or guild.
        """
        self.faults.forbidden.append(RouteRule.of(method, route, channel_id=channel_id, guild_id=guild_id))

    def allow_all(self) -> None:
        """Drop every ``forbid`` rule."""
        self.faults.forbidden.clear()

    def fail_route(
        self, method: str, route: str, status: int = 503, code: int = 0, *, channel_id: int | None = None
    ) -> None:
        """Matching requests always answer ``status`` (with Discord's error ``code``) without
        touching state, until ``heal``: a route that is down, or one that always refuses."""
        where = RouteRule.of(method, route, channel_id=channel_id)
        self.faults.failing.append(FailRule(where, status, code, f"{status}: injected fault"))

    def reply_without(
        self,
        method: str,
        route: str,
        *fields: str,
        guild_id: int | None = None,
        channel_id: int | None = None,
    ) -> None:
        """Matching requests are carried out, but their 2xx reply lacks ``fields`` (from the object,
        or from each object of a list): a command overwrite answered without ``id``s, a guild
        without ``roles``, as some Discord-compatible servers answer. Until ``heal``."""
        where = RouteRule.of(method, route, guild_id=guild_id, channel_id=channel_id)
        self.faults.reply_drops.append(FieldRule(where, fields))

    def ignore_on_write(self, method: str, route: str, *fields: str, channel_id: int | None = None) -> None:
        """Matching writes succeed, but the server keeps none of ``fields`` (say ``topic`` on
        ``PATCH /channels/{channel_id}``, of every channel or of one), as a server that stores
        less than Discord. Until ``heal``."""
        self.faults.write_drops.append(FieldRule(RouteRule.of(method, route, channel_id=channel_id), fields))

    def fail_randomly(self, share: float, status: int = 503, seed: int | None = None) -> None:
        """A random ``share`` of requests (0.1: one in ten) answer ``status`` without touching
        state, until ``heal``. ``seed`` makes the draw repeatable."""
        self.faults.flaky, self.faults.flaky_status = share, status
        if seed is not None:
            self.faults.rng.seed(seed)

    def heal(self) -> None:
        """Drop every injected fault: queued errors, ``forbid``, ``fail_route``, ``reply_without``,
        ``ignore_on_write``, ``fail_randomly``."""
        self.faults.clear()

    async def dispatch(self, event: str, payload: Json) -> None:
        """Send any gateway event to every connected bot and wait until it is written."""
        self.gateway.publish(event, payload)
        await self.gateway.flush()

    async def drop_gateway(self, code: int = 4000) -> None:
        """Close every gateway socket abnormally: clients reconnect and RESUME (missed events replay)."""
        await self.gateway.drop(code)

    def interact_command(
        self, guild_id: int, channel_id: int, user_id: int, name: str, options: dict[str, Any] | None = None
    ) -> Interaction:
        """A member runs the guild slash command ``name``: await ``.response()`` for the bot's callback."""
        return self.interactions.command(guild_id, channel_id, user_id, name, options or {})

    def click_button(self, message_id: int, custom_id: str, user_id: int) -> Interaction:
        """A member clicks a button of a stored message: await ``.response()`` for the callback."""
        return self.interactions.component(message_id, custom_id, user_id)

    def select(self, message_id: int, custom_id: str, values: list[str], user_id: int) -> Interaction:
        """A member picks ``values`` in a select menu of a stored message."""
        return self.interactions.component(message_id, custom_id, user_id, values)

    def fail_next(self, n: int, status: int = 503) -> None:
        """The next ``n`` authorised requests answer ``status`` without touching state."""
        self.faults.queued.extend(Fault(status) for _ in range(n))

    def rate_limit_storm(self, n: int, retry_after: float = 0.05, *, is_global: bool = False) -> None:
        """The next ``n`` authorised requests answer 429 (with ``Via``, so disnake retries)."""
        self.faults.queued.extend(Fault(429, retry_after, is_global) for _ in range(n))

    def writes(self, route: str | None = None, method: str | None = None) -> list[Call]:
        """Successful writes, optionally for one route template and method."""
        return [
            c
            for c in self.calls
            if c.is_write
            and c.status < 300
            and (route is None or c.route == route)
            and (method is None or c.method == method)
        ]

    def assert_no_invalid_requests(self) -> None:
        if self.invalid_requests:
            lines = [
                f"{c.method} {c.path}: {[(e.path, e.message) for e in errs]}"
                for c, errs in self.invalid_requests
            ]
            raise AssertionError("invalid requests sent to the Discord emulator:\n" + "\n".join(lines))

    # -- middleware --------------------------------------------------------------------------

    def _make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        add_routes(app, self, API_PREFIX)
        add_app_routes(app, self, API_PREFIX)
        add_emoji_routes(app, self, API_PREFIX)
        app.router.add_get("/gw", self.gateway.handle)
        return app

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(API_PREFIX):
            return await handler(request)
        info = request.match_info
        route = (
            getattr(info.route.resource, "canonical", request.path) if info.route.resource else request.path
        )
        route = route.removeprefix(API_PREFIX)
        body: Any = None
        if request.body_exists:
            raw = await request.read()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
        headers: dict[str, str] = {}
        try:
            response = await self._dispatch(request, handler, route, body, headers)
        except ApiError as err:
            response = respond(err.payload(), err.status)
        except web.HTTPException as err:
            response = respond({"code": 0, "message": f"{err.status}: {err.reason}"}, err.status)
        response.headers.update(headers)
        call = Call(request.method, route, request.path.removeprefix(API_PREFIX), body, response.status)
        self.calls.append(call)
        return response

    async def _dispatch(
        self, request: web.Request, handler: Handler, route: str, body: Any, headers: dict[str, str]
    ) -> web.StreamResponse:
        has_token = any(param in route for param in TOKEN_PARAMS)
        if not has_token and request.headers.get("Authorization") != f"Bot {self.token}":
            raise ApiError(401, 0, "401: Unauthorized")
        if self.faults.queued:
            fault = self.faults.queued.popleft()
            if fault.status == 429:
                headers.update({"Via": "1.1 google", "Retry-After": f"{fault.retry_after:g}"})
                body_429 = {"message": "You are being rate limited.", "retry_after": fault.retry_after}
                return respond({**body_429, "global": fault.is_global}, 429)
            return respond({"code": 0, "message": "Service Unavailable (injected fault)"}, fault.status)
        if self.faults.flakes():
            message = f"{self.faults.flaky_status}: random injected fault"
            return respond({"code": 0, "message": message}, self.faults.flaky_status)
        limited = self._take_bucket(request, route, headers)
        if limited is not None:
            return limited
        if self.faults.is_forbidden(request, route):
            raise ApiError(403, MISSING_PERMISSIONS, "Missing Permissions")
        failing = self.faults.failure(request, route)
        if failing is not None:
            raise ApiError(failing.status, failing.code, failing.message)
        if request.method in WRITE_METHODS and self.validate and body is not None:
            errors = openapi.validate(route, request.method, body)
            if isinstance(body, str):
                errors = [openapi.FieldError("", "The request body contains invalid JSON.")]
            if errors:
                call = Call(request.method, route, request.path.removeprefix(API_PREFIX), body, 400)
                self.invalid_requests.append((call, errors))
                raise ApiError(400, 50035, "Invalid Form Body", openapi.errors_json(errors))
        request[BODY] = self.faults.filter_body(request, route, body)
        response = await handler(request)
        if not self.faults.reply_drops:  # the usual case: no reply is parsed again
            return response
        if isinstance(response, web.Response) and response.status < 300 and response.body:
            reply = self.faults.filter_reply(request, route, json.loads(response.body))  # type: ignore[arg-type]
            if reply is not None:
                return respond(reply, response.status)
        return response

    def _take_bucket(self, request: web.Request, route: str, headers: dict[str, str]) -> web.Response | None:
        info = request.match_info
        majors = ("channel_id", "guild_id", "interaction_id", "webhook_token", "application_id")
        major = next((info[key] for key in majors if key in info), "")
        key = (f"{request.method} {route}", major)
        limit, window = self.route_limits.get((request.method, route), (self.rate_limit, self.rate_window))
        now = time.monotonic()
        start, used = self._buckets.get(key, (now, 0))
        if now - start >= window:
            start, used = now, 0
        reset_after = max(window - (now - start), 0.001)
        headers.update(
            {
                "X-RateLimit-Limit": str(limit),
                "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
                "X-RateLimit-Reset-After": f"{reset_after:.3f}",
                "X-RateLimit-Bucket": f"{abs(hash(key[0])) & 0xFFFFFFFF:08x}",
            }
        )
        if used >= limit:
            headers["X-RateLimit-Remaining"] = "0"
            headers["X-RateLimit-Scope"] = "user"
            headers["Via"] = "1.1 google"
            headers["Retry-After"] = f"{reset_after:.3f}"
            body = {
                "message": "You are being rate limited.",
                "retry_after": round(reset_after, 3),
                "global": False,
            }
            return respond(body, 429)
        self._buckets[key] = (start, used + 1)
        headers["X-RateLimit-Remaining"] = str(limit - used - 1)
        return None
