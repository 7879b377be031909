"""The bot's own HTTP endpoints, served from its event loop: /metrics, /healthz and /readyz.

``/metrics`` is the bot's registry in Prometheus' text format. ``/healthz`` answers 200 as long
as the bot's asyncio loop runs (it is that loop that answers). ``/readyz`` answers 200 only
while every part ``readiness`` names (the database, the gateway) is connected, else 503; its
JSON body says which part is not. Only GET (and HEAD) are served; nothing here writes.
"""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from hlb.settings import ConfigError

DEFAULT_ADDR = "127.0.0.1:9464"
OFF = "off"
Readiness = Callable[[], Mapping[str, bool]]  # part ("database", "gateway") -> connected now


class AddressError(ConfigError):
    """The metrics address is not HOST:PORT, or nothing can listen there."""

    code = "E703"


@dataclass(frozen=True)
class Address:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_address(text: str) -> Address | None:
    """``HOST:PORT`` (``[::1]:9464`` for IPv6; port 0 picks a free one), or None for ``off``."""
    text = text.strip()
    if text.lower() == OFF:
        return None
    host, sep, port = text.rpartition(":")
    bracketed = host.startswith("[") and host.endswith("]")
    host = host[1:-1] if bracketed else host
    fits = bool(sep and host and port.isdigit() and int(port) <= 65535)
    if not fits or ((bracketed or ":" in host) and not (bracketed and _ipv6(host))):
        raise AddressError(
            f"the metrics address {text!r} is not HOST:PORT (for instance {DEFAULT_ADDR}, or {OFF}): "
            "fix --metrics-addr or HLB_METRICS_ADDR"
        )
    return Address(host, int(port))


def _ipv6(host: str) -> bool:
    try:
        ipaddress.IPv6Address(host)
    except ValueError:
        return False
    return True


def _app(registry: CollectorRegistry, readiness: Readiness) -> web.Application:
    async def metrics(_request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(_request: web.Request) -> web.Response:
        parts = {name: "connected" if up else "disconnected" for name, up in readiness().items()}
        waiting = sorted(name for name, state in parts.items() if state != "connected")
        body = {"ready": not waiting, **parts, "not_connected": waiting}
        return web.json_response(body, status=503 if waiting else 200)

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app


@asynccontextmanager
async def serving(
    address: Address, registry: CollectorRegistry, readiness: Readiness
) -> AsyncIterator[Address]:
    """Serve the endpoints on ``address`` until the block ends; yields the address bound (port 0 resolved)."""
    runner = web.AppRunner(_app(registry, readiness), access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, address.host, address.port)
        try:
            await site.start()
        except OSError as error:
            raise AddressError(
                f"cannot listen on {address} for metrics and health checks: {error.strerror or error}; "
                f"choose another with --metrics-addr HOST:PORT (or HLB_METRICS_ADDR), or --metrics-addr {OFF}"
            ) from None
        bound = runner.addresses[0]
        yield Address(address.host, int(bound[1]))
    finally:
        await runner.cleanup()
