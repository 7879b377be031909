"""Faults the emulator can inject: error statuses, refused routes, and servers that observe less.

Discord-compatible servers (Spacebar, older Discord versions) differ from Discord in ways a
bot must survive: a 2xx reply without a field (a command bulk overwrite without ``id``, a
guild without ``roles``), a write that silently drops a field (a channel that keeps no
``topic``), a route the bot may never use (403/50013). ``Faults`` holds the rules the
``Emulator`` test API adds; the middleware asks it about each request.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class Fault:
    """One queued error answer: a status (429 with ``retry_after``, maybe global)."""

    status: int
    retry_after: float = 0.0
    is_global: bool = False


@dataclass(frozen=True)
class RouteRule:
    """Requests a rule applies to: a method, a route template, optionally some path ids."""

    method: str
    route: str
    ids: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, method: str, route: str, **ids: int | None) -> RouteRule:
        given = tuple((key, str(value)) for key, value in ids.items() if value is not None)
        return cls(method.upper(), route, given)

    def matches(self, request: web.Request, route: str) -> bool:
        info = request.match_info
        return (
            request.method == self.method
            and route == self.route
            and all(info.get(key) == value for key, value in self.ids)
        )


@dataclass(frozen=True)
class FailRule:
    """Matching requests answer ``status`` with Discord's error ``code`` and ``message``."""

    where: RouteRule
    status: int
    code: int
    message: str


@dataclass(frozen=True)
class FieldRule:
    """``fields`` are dropped from what matching requests send or what their 2xx reply holds."""

    where: RouteRule
    fields: tuple[str, ...]


@dataclass
class Faults:
    """Every injected fault of one emulator."""

    queued: deque[Fault] = field(default_factory=deque)
    forbidden: list[RouteRule] = field(default_factory=list)
    failing: list[FailRule] = field(default_factory=list)
    reply_drops: list[FieldRule] = field(default_factory=list)
    write_drops: list[FieldRule] = field(default_factory=list)
    flaky: float = 0.0  # the share of requests answered ``flaky_status`` at random
    flaky_status: int = 503
    rng: random.Random = field(default_factory=random.Random)

    def flakes(self) -> bool:
        """True when this request is one of the ``flaky`` share that fails at random."""
        return self.flaky > 0 and self.rng.random() < self.flaky

    def is_forbidden(self, request: web.Request, route: str) -> bool:
        return any(rule.matches(request, route) for rule in self.forbidden)

    def failure(self, request: web.Request, route: str) -> FailRule | None:
        return next((rule for rule in self.failing if rule.where.matches(request, route)), None)

    def filter_body(self, request: web.Request, route: str, body: Any) -> Any:
        """The request body as a server that keeps fewer fields would store it."""
        return strip(body, _fields(self.write_drops, request, route))

    def filter_reply(self, request: web.Request, route: str, data: Any) -> Any | None:
        """The 2xx JSON reply with the dropped fields removed, or None when no rule applies."""
        dropped = _fields(self.reply_drops, request, route)
        return strip(data, dropped) if dropped else None

    def clear(self) -> None:
        self.queued.clear()
        self.forbidden.clear()
        self.failing.clear()
        self.reply_drops.clear()
        self.write_drops.clear()
        self.flaky = 0.0


def _fields(rules: Iterable[FieldRule], request: web.Request, route: str) -> set[str]:
    return {f for rule in rules if rule.where.matches(request, route) for f in rule.fields}


def strip(data: Any, fields: set[str]) -> Any:
    """``data`` without ``fields``: from an object, or from each object of a list."""
    if not fields:
        return data
    if isinstance(data, dict):
        return {k: v for k, v in data.items() if k not in fields}
    if isinstance(data, list):
        return [strip(item, fields) for item in data]
    return data
