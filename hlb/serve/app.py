"""The `hlb serve` web app: HTML pages and the JSON API (/api/v1/) over the database, read only.

``make_app(config)`` is a plain aiohttp application that tests start in-process; ``run``
serves it until ``stop`` is set (the CLI owns signals). Every session it opens is read
only (``queries.readonly_url``); GET and HEAD are the only methods (others get 405). With a
token, every request must carry it: ``Authorization: Bearer``, or the ``hlb_serve_token``
cookie a browser gets by opening any page once with ``?token=`` (it is then redirected to
the same page without it). The token is compared in constant time and never rendered or
logged: the access log shows paths without their query string.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from jinja2 import Environment, PackageLoader, select_autoescape
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from hlb.compiler.model import KIND_ORDER, ObjectKey
from hlb.serve import queries, state
from hlb.serve.config import ServeConfig
from hlb.store import db
from hlb.store.apply import NOTIFY_CHANNEL

COOKIE = "hlb_serve_token"
ALLOWED = ("GET", "HEAD")
KEEPALIVE = 15.0  # seconds between comments on an idle event stream
log = logging.getLogger("hlb.serve")

URL = web.AppKey("url", str)
CONFIG = web.AppKey("config", ServeConfig)
TEMPLATES = web.AppKey("templates", Environment)

Loader = Callable[[str, web.Request], dict[str, Any]]


@dataclass(frozen=True)
class Route:
    """One page and its API twin: the same loader, rendered by ``template`` or as JSON."""

    path: str  # after / for the page, after /api/v1/ for the API
    loader: Loader
    template: str
    schema: str  # docs/api/<schema>.schema.json


def _rev(request: web.Request) -> int:
    return int(request.match_info["rev"])


def _object(request: web.Request) -> ObjectKey:
    m = request.match_info
    if m["kind"] not in KIND_ORDER:
        raise queries.NotFound(f"{m['kind']!r} is not a kind ({', '.join(KIND_ORDER)})")
    return ObjectKey(m["guild"], m["kind"], m["name"])


def _runs(url: str, request: web.Request) -> dict[str, Any]:
    q = request.query
    where = queries.RunFilter(q.get("workflow") or None, q.get("outcome") or None)
    return {**state.runs(url, where), "filter": {"workflow": where.workflow, "outcome": where.outcome}}


ROUTES = (
    Route("revisions", lambda url, _r: queries.revisions(url), "revisions.html", "revisions"),
    Route("revisions/{rev:\\d+}", lambda url, r: queries.revision(url, _rev(r)), "revision.html", "revision"),
    Route(
        "objects/{guild}/{kind}/{name}",
        lambda url, r: queries.object_history(url, _object(r)),
        "object.html",
        "object",
    ),
    Route("guilds", lambda url, _r: state.guilds(url), "guilds.html", "guilds"),
    Route("guilds/{name}", lambda url, r: state.guild(url, r.match_info["name"]), "guild.html", "guild"),
    Route("runs", _runs, "runs.html", "runs"),
    Route("replicas", lambda url, _r: state.replicas(url), "replicas.html", "replicas"),
)


def _overview(url: str, _request: web.Request) -> dict[str, Any]:
    return {
        "revisions": queries.revisions(url, 10)["revisions"],
        **state.guilds(url),
        "bot": state.replicas(url),
    }


def make_app(config: ServeConfig) -> web.Application:
    """The application; nothing connects until a request comes."""
    app = web.Application(middlewares=[_only_reads, _authorized, _errors])
    app[CONFIG] = config
    app[URL] = _session_url(config.url)
    app[TEMPLATES] = Environment(
        loader=PackageLoader("hlb.serve", "templates"), autoescape=select_autoescape(default=True)
    )
    app.router.add_get("/", _page(_overview, "index.html"))
    for route in ROUTES:
        app.router.add_get(f"/{route.path}", _page(route.loader, route.template))
        app.router.add_get(f"/api/v1/{route.path}", _api(route.loader))
    app.router.add_get("/previews/", _preview)
    app.router.add_get("/previews/{page}", _preview)
    app.router.add_get("/events", _events)
    return app


def _session_url(url: str) -> str:
    named = "application_name" in conninfo_to_dict(url)
    return queries.readonly_url(url if named else make_conninfo(url, application_name="hlb-serve"))


def _page(loader: Loader, template: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        data = await asyncio.to_thread(loader, request.app[URL], request)
        return _html(request, template, data)

    return handler


def _api(loader: Loader) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.json_response(await asyncio.to_thread(loader, request.app[URL], request))

    return handler


def _html(request: web.Request, template: str, data: dict[str, Any], status: int = 200) -> web.Response:
    page = request.app[TEMPLATES].get_template(template)
    text = page.render(data=data, refresh=request.app[CONFIG].refresh, path=request.path)
    return web.Response(text=text, status=status, content_type="text/html")


async def _preview(request: web.Request) -> web.StreamResponse:
    pages = await asyncio.to_thread(state.previews, request.app[URL])
    page = request.match_info.get("page") or "index.html"
    if page not in pages:
        raise queries.NotFound(f"no preview page {page!r}")
    return web.Response(text=pages[page], content_type="text/html")


async def _events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: ``applied`` with the revision each time an apply commits (NOTIFY hlb_applied)."""
    conn = await psycopg.AsyncConnection.connect(request.app[URL], autocommit=True)
    try:
        await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        await response.write(b": listening\n\n")
        try:
            while True:
                async for notify in conn.notifies(timeout=KEEPALIVE):
                    await response.write(f"event: applied\ndata: {notify.payload}\n\n".encode())
                await response.write(b": keepalive\n\n")
        except psycopg.OperationalError:  # the database went away: end the stream, the browser reconnects
            return response
    finally:
        await conn.close()


# --- middlewares -------------------------------------------------------------------------------


@web.middleware
async def _only_reads(request: web.Request, handler: Any) -> web.StreamResponse:
    if request.method not in ALLOWED:
        raise web.HTTPMethodNotAllowed(request.method, ALLOWED, text="read only: GET and HEAD only\n")
    return await handler(request)


@web.middleware
async def _authorized(request: web.Request, handler: Any) -> web.StreamResponse:
    token = request.app[CONFIG].token
    if token is None:
        return await handler(request)
    given = request.query.get("token")
    if given is not None and _same(given, token):
        query = {k: v for k, v in request.query.items() if k != "token"}
        response = web.HTTPSeeOther(str(request.rel_url.with_query(query)))
        response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", path="/")
        raise response
    header = request.headers.get("Authorization", "")
    bearer = header[7:] if header[:7].lower() == "bearer " else None
    if any(v is not None and _same(v, token) for v in (bearer, request.cookies.get(COOKIE))):
        return await handler(request)
    message = "a token is required: send Authorization: Bearer TOKEN, or open the page with ?token=TOKEN"
    return _failure(request, 401, "unauthorized", message, {"WWW-Authenticate": "Bearer"})


def _same(given: str, token: str) -> bool:
    return hmac.compare_digest(given.encode(), token.encode())


@web.middleware
async def _errors(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await handler(request)
    except queries.NotFound as error:
        return _failure(request, 404, "not_found", str(error))
    except db.DatabaseError as error:
        return _failure(request, 503, "database", f"{error.code} {error}")
    except psycopg.OperationalError as error:
        reason = db.safe_reason(request.app[CONFIG].url, error)
        return _failure(request, 503, "database", f"E605 the database does not answer: {reason}")


def _failure(
    request: web.Request, status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    body = {"error": {"status": status, "code": code, "message": message}}
    if request.path.startswith("/api/"):
        response = web.json_response(body, status=status)
    else:
        response = _html(request, "error.html", body, status)
    response.headers.update(headers or {})
    return response


# --- serving -----------------------------------------------------------------------------------


class AccessLog(AbstractAccessLogger):
    """One line per request: method, path (never the query string, which may hold the token), status."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info("%s %s %s %.0fms", request.method, request.path, response.status, time * 1000)


async def run(
    app: web.Application, host: str, port: int, stop: asyncio.Event, ready: Callable[[str], None]
) -> None:
    """Serve ``app`` on ``host:port`` until ``stop`` is set; ``ready`` gets the URL once listening."""
    runner = web.AppRunner(app, access_log_class=AccessLog, access_log=log, shutdown_timeout=1.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        ready(site.name)
        await stop.wait()
    finally:
        with contextlib.suppress(Exception):
            await runner.cleanup()
