"""Discord REST calls through disnake's HTTP client: pointing it at a server, retries, typed errors.

disnake obeys rate limits (429, bucket headers) and retries 500/502/504 itself; a 503 or a
dropped connection it raises at once, and it gives up after five 429s in a row, so ``call``
retries those a few times with a short backoff. What still fails is raised as
``TemporaryError`` (worth retrying on a later pass) or ``PermanentError`` (Discord refused
it: fix the spec or the bot's permissions), in the manner of kopf's handler errors.
Messages never include the token.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any, TypeVar

import aiohttp
import disnake
from disnake.http import HTTPClient, Route

from hlb.bot import failures

RETRIES = 4
T = TypeVar("T")
_ATTEMPT: ContextVar[int] = ContextVar("hlb_rest_attempt", default=0)  # per task: ``retry_number``
# Seconds before the first retry, doubled after each (``Settings.discord_retry_delay``): per task,
# and inherited by the tasks it starts, so two clients in one process may differ.
_FIRST_DELAY: ContextVar[float] = ContextVar("hlb_rest_first_delay", default=0.2)


class RestError(Exception):
    """A Discord call that failed: HTTP status (0 when there was no answer), Discord's code and,
    for a 429, the seconds Discord asked to wait."""

    def __init__(self, message: str, status: int = 0, code: int = 0, retry_after: float = 0.0) -> None:
        super().__init__(message)
        self.status, self.code, self.retry_after = status, code, retry_after


class TemporaryError(RestError):
    """Discord was unavailable or rate limited beyond retries: try again later."""


class PermanentError(RestError):
    """Discord refused the request (400, 403, 404...): retrying unchanged will fail again."""


def point_at(api_base: str | None) -> None:
    """Send disnake's requests to ``api_base`` (HLB_DISCORD_API_BASE) instead of discord.com."""
    if api_base:
        Route.BASE = api_base.rstrip("/")


def retry_after_first(seconds: float) -> None:
    """Wait ``seconds`` before the first retry of this task's calls (and its future tasks')."""
    _FIRST_DELAY.set(seconds)


async def call(http: HTTPClient, route: Route, *, json: Any = None, reason: str | None = None) -> Any:
    """One request, retried on 429, 503 and connection errors; errors raised as Temporary/Permanent."""
    if json is None:
        return await retrying(lambda: http.request(route, reason=reason), f"{route.method} {route.path}")
    return await retrying(
        lambda: http.request(route, json=json, reason=reason), f"{route.method} {route.path}"
    )


async def retrying(attempt: Callable[[], Awaitable[T]], what: str) -> T:
    """Run ``attempt`` until it succeeds, retrying what disnake gave up on that may pass later."""
    delay = _FIRST_DELAY.get()
    for tries in range(RETRIES + 1):
        now = _ATTEMPT.set(tries)
        try:
            return await attempt()
        except disnake.HTTPException as error:
            failure: RestError = _classify(what, error)
            if isinstance(failure, PermanentError):
                raise failure from None
        except (TimeoutError, aiohttp.ClientError, OSError) as error:
            failure = TemporaryError(f"{what}: {type(error).__name__}: {error}")
        finally:
            _ATTEMPT.reset(now)
        if tries < RETRIES:
            await asyncio.sleep(delay)
            delay *= 2
    raise failure


def retry_number() -> int:
    """Which try of ``retrying`` the request being sent now is: 0 the first, 1 the first retry..."""
    return _ATTEMPT.get()


def _classify(what: str, error: disnake.HTTPException) -> RestError:
    detail = error.text or getattr(error.response, "reason", "")
    code = f" (code {error.code})" if error.code else ""
    message = f"{what} answered HTTP {error.status}{code}: {detail}"
    if failures.temporary_status(error.status):
        return TemporaryError(message, error.status, error.code, failures.retry_after(error))
    return PermanentError(message, error.status, error.code)
