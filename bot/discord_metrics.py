"""Where the bot's Discord traffic meets its metrics: REST requests, interaction responses, the gateway.

- ``watch_http`` measures every request one disnake client sends through its ``HTTPClient``
  (that client only, nothing process-wide): its time, its failure by status and Discord code,
  and whether it is a retry of ``rest.retrying``; labels are route templates, never ids.
- ``answering`` measures, for the interaction being handled, the responses disnake sends through
  its webhook adapter (interaction callbacks and followups do not pass ``HTTPClient``), and the
  time from receiving the interaction to its first response (``hlb_interaction_ack_seconds``).
- ``GatewayWatch`` follows the gateway's connect, resume and disconnect events: whether it is
  connected now (``/readyz``) and how often it came back (``hlb_gateway_reconnects_total``).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
import disnake
from disnake.http import HTTPClient, Route
from disnake.webhook.async_ import AsyncWebhookAdapter, async_context

from hlb.bot import rest
from hlb.bot.metrics import BotMetrics, route_label

T = TypeVar("T")
CALLBACK = "/interactions/{webhook_id}/{webhook_token}/callback"  # an interaction's first response


async def measured(metrics: BotMetrics, route: Route, call: Awaitable[T]) -> T:
    """Await one Discord request, recording its time, its failure and whether it is a retry."""
    label = route_label(route.method, route.path)
    if rest.retry_number() > 0:
        metrics.retries.labels(label).inc()
    started = time.perf_counter()
    try:
        return await call
    except disnake.HTTPException as error:
        metrics.api_error(label, error.status, error.code)
        raise
    except (TimeoutError, aiohttp.ClientError, OSError):
        metrics.api_error(label, 0, 0)
        raise
    finally:
        metrics.operation_seconds.labels(label).observe(time.perf_counter() - started)


def watch_http(http: HTTPClient, metrics: BotMetrics) -> None:
    """Measure every request ``http`` sends from now on."""
    send = http.request

    async def request(route: Route, **kwargs: Any) -> Any:
        return await measured(metrics, route, send(route, **kwargs))

    http.request = request  # type: ignore[method-assign]  # this client's requests only


class _Answering(AsyncWebhookAdapter):
    """disnake's webhook adapter, measuring one interaction's responses and its first one."""

    def __init__(self, metrics: BotMetrics, received: float) -> None:
        super().__init__()
        self.metrics, self.received, self.acked = metrics, received, False

    async def request(self, route: Route, session: aiohttp.ClientSession, **kwargs: Any) -> Any:
        answer = await measured(self.metrics, route, super().request(route, session, **kwargs))
        if not self.acked and route.path == CALLBACK:
            self.acked = True
            self.metrics.ack_seconds.observe(time.perf_counter() - self.received)
        return answer


@contextmanager
def answering(metrics: BotMetrics | None) -> Iterator[None]:
    """Within (the handler of an interaction received just now), its responses are measured.

    disnake sends interaction responses with the adapter of its ``async_context`` variable;
    set here for this handler's task only (a context variable), so other handlers are unaffected."""
    if metrics is None:
        yield
        return
    token = async_context.set(_Answering(metrics, time.perf_counter()))
    try:
        yield
    finally:
        async_context.reset(token)


@dataclass
class GatewayWatch:
    """Whether the gateway is connected, from disnake's connect, resumed and disconnect events."""

    metrics: BotMetrics
    connected: bool = False
    dropped: bool = False  # it was connected once and dropped since: the next connect is a reconnect

    def install(self, client: disnake.Client) -> GatewayWatch:
        client.add_listener(self._up, "on_connect")
        client.add_listener(self._up, "on_resumed")
        client.add_listener(self._down, "on_disconnect")
        return self

    async def _up(self) -> None:
        if self.dropped:
            self.metrics.gateway_reconnects.inc()
            self.dropped = False
        self.connected = True

    async def _down(self) -> None:
        self.dropped = self.dropped or self.connected
        self.connected = False
