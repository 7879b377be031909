"""Why an action failed, as data: temporary or permanent (kopf's names), and when to try again.

``classify`` turns whatever an action raised (disnake's HTTP errors, ``rest`` errors,
timeouts, a reply without the fields the bot needs, any other exception) into a frozen
``Failure``; ``retry_delay`` says how long the object then waits. Temporary failures (429,
5xx, timeouts, dropped connections) come back soon, with jitter, never before Discord's
``retry_after``. Permanent ones (400, 403, 404, a reply the bot cannot read, a fault) wait an
hour, doubling, unless the object's spec changes or the operator asks
(``hlb reconcile --retry-failed``). Messages never include the token.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp
import disnake

from hlb.reconciler import damping

TEMPORARY = "temporary"
PERMANENT = "permanent"

FIRST_TEMPORARY = 10.0  # seconds; doubles per failure
MAX_TEMPORARY = 900.0
JITTER = 0.2  # a temporary delay is spread over +-20 %, so failed objects do not retry together


class MalformedReply(Exception):
    """Discord (or a server standing in for it) answered 2xx without what the bot needs."""


def temporary_status(status: int) -> bool:
    """Statuses worth trying again unchanged: rate limits and server errors."""
    return status == 429 or status >= 500


@dataclass(frozen=True)
class Failure:
    """One failed action: its class, Discord's HTTP status and JSON code (0 when none), the reason."""

    kind: str  # TEMPORARY | PERMANENT
    message: str
    status: int = 0
    code: int = 0
    retry_after: float = 0.0  # seconds Discord asked to wait (429)
    sent: bool = True  # False: the request never left (a dependency failed first)

    @property
    def temporary(self) -> bool:
        return self.kind == TEMPORARY

    def detail(self) -> dict[str, Any]:
        """What ``reconcile_events.detail`` records about the failure."""
        detail: dict[str, Any] = {"error_kind": self.kind, "message": self.message}
        if self.status:
            detail["status"] = self.status
        if self.code:
            detail["code"] = self.code
        if not self.sent:
            detail["sent"] = False
        return detail


def classify(error: BaseException) -> Failure:
    """The ``Failure`` an exception raised while performing an action stands for."""
    from hlb.bot import rest

    if isinstance(error, rest.RestError):
        kind = TEMPORARY if isinstance(error, rest.TemporaryError) else PERMANENT
        return Failure(kind, str(error), error.status, error.code, error.retry_after)
    if isinstance(error, disnake.HTTPException):
        kind = TEMPORARY if temporary_status(error.status) else PERMANENT
        message = f"HTTP {error.status} (code {error.code}): {error.text}"
        return Failure(kind, message, error.status, error.code, retry_after(error))
    if isinstance(error, (TimeoutError, aiohttp.ClientError, OSError)):
        return Failure(TEMPORARY, f"no answer: {type(error).__name__}: {error}".rstrip(": "))
    if isinstance(error, MalformedReply):
        return Failure(PERMANENT, f"unreadable reply: {error}")
    if isinstance(error, (KeyError, TypeError, ValueError)):
        return Failure(PERMANENT, f"unreadable reply: {type(error).__name__}: {error}")
    return Failure(PERMANENT, f"fault: {type(error).__name__}: {error}")


def retry_after(error: disnake.HTTPException) -> float:
    """Discord's ``Retry-After`` header (seconds) on a 429, else 0."""
    headers: Mapping[str, str] = getattr(error.response, "headers", None) or {}
    try:
        return max(float(headers.get("Retry-After", 0)), 0.0)
    except ValueError:
        return 0.0


def retry_delay(failure: Failure, attempts: int, rng: random.Random | None = None) -> timedelta:
    """How long an object waits after its ``attempts``-th failure in a row."""
    doublings = max(attempts - 1, 0)
    if failure.temporary:
        base = min(FIRST_TEMPORARY * 2 ** min(doublings, 20), MAX_TEMPORARY)
        spread = (rng or random).uniform(1 - JITTER, 1 + JITTER)
        return timedelta(seconds=max(base * spread, failure.retry_after))
    return damping.hold(attempts)  # permanent: an hour, doubling, as a drifted object waits


def unresolved(failure: Failure | None, ref: object) -> Failure:
    """The failure of an action that needed ``ref``, created earlier in the pass, which failed."""
    reason = f"{ref} was not created" + (f": {failure.message}" if failure else "")
    kind = failure.kind if failure else TEMPORARY
    return Failure(kind, reason, retry_after=failure.retry_after if failure else 0.0, sent=False)


def snowflake(body: Any, what: str) -> int:
    """The ``id`` of a reply ``body``, which must be a snowflake; ``MalformedReply`` otherwise."""
    value = body.get("id") if isinstance(body, Mapping) else None
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).isdigit():
        raise MalformedReply(f"{what} answered without an id (got {_shape(body)})")
    return int(value)


def _shape(body: Any) -> str:
    if isinstance(body, Mapping):
        return "an object with " + (", ".join(sorted(map(str, body))[:8]) or "no fields")
    return type(body).__name__
