"""Losing the database is a pause: which errors mean it, capped backoff, one log line per outage end.

A Postgres restart, a failover or a pooler's idle timeout ends the bot's sessions. The
runner's loops treat ``LOST`` errors as "the database is lost" and call ``Links.recover``:
it reopens the bot's shared connections, waiting between tries with jittered backoff
capped at ``Backoff.cap`` seconds, while the other loops wait for it. The outage is
logged once when it starts ("database unreachable: ...; retrying") and once when it ends
("database back after 12 s; reconciling everything"), never on every retry.

At start, ``when_up`` waits the same way for a database that is not up yet (it boots after
the bot, or restarts as the bot deploys): "database unreachable at start: ...; waiting for
it", then "database up after 12 s; starting".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import psycopg
from psycopg.pq import TransactionStatus

from hlb.store import db

log = logging.getLogger("hlb.bot")
T = TypeVar("T")

# A dead session (terminated backend, restart, failover, closed socket) or a refused connect.
LOST: tuple[type[Exception], ...] = (psycopg.OperationalError, psycopg.InterfaceError, db.DatabaseUnavailable)


@dataclass(frozen=True)
class Backoff:
    """Exponential waits between tries: ``first``, doubled each time, never above ``cap`` seconds.

    Each wait is drawn in [half, all] of its step so replicas do not retry in lockstep."""

    first: float = 0.25
    cap: float = 5.0

    def delay(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        step = min(self.cap, self.first * 2 ** min(attempt, 32))
        return step * (0.5 + rng() / 2)


def why(url: str, error: Exception) -> str:
    """What went wrong, for a log line: libpq's first line, never the password."""
    return db.safe_reason(url, error).split("; ")[0]


async def when_up(url: str, job: Callable[[], T], stop: asyncio.Event, backoff: Backoff) -> T | None:
    """``job()``, in a worker thread, once the database at ``url`` answers; None if ``stop`` is set first.

    A database that cannot be reached is waited for, tried again after each ``backoff`` delay
    (a connection attempt that ``stop`` can cut short); so is ``job`` failing because the
    database went away again. Logged when the wait begins (and when its reason changes) and
    when it ends. An unusable URL (``db.InvalidDatabaseUrl``) and any other failure are raised."""
    tries, since, said = 0, 0.0, ""
    while not stop.is_set():
        attempt = asyncio.create_task(_first_answer(url, job))
        stopping = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({attempt, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            unfinished = not attempt.done()
            if unfinished:  # stopped mid-attempt: a host that never answers holds a connect 10 s
                attempt.cancel()
        if unfinished:
            return None
        try:
            result = attempt.result()
        except db.InvalidDatabaseUrl:
            raise
        except LOST as error:
            reason = why(url, error)
            if reason != said:
                log.warning("database unreachable at start: %s; waiting for it", reason)
            since, said = since or time.monotonic(), reason
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), backoff.delay(tries))
            tries += 1
            continue
        if since:
            log.info("database up after %.0f s; starting", time.monotonic() - since)
        return result
    return None


async def _first_answer(url: str, job: Callable[[], T]) -> T:
    await close_quietly(await db.connect_async(url, role="start"))
    return await asyncio.to_thread(job)


async def answers(conn: psycopg.AsyncConnection[Any] | None) -> Exception | None:
    """None when ``conn`` is open and answers ``SELECT 1``; otherwise why it does not.

    A session busy in a query or a transaction is not disturbed: its user meets any loss."""
    if conn is None or conn.closed or conn.info.transaction_status == TransactionStatus.UNKNOWN:
        return psycopg.OperationalError("the connection is closed")
    if conn.info.transaction_status != TransactionStatus.IDLE:
        return None
    try:
        await conn.execute("SELECT 1")
    except LOST as error:
        return error
    return None


async def close_quietly(conn: psycopg.AsyncConnection[Any] | None) -> None:
    if conn is not None:
        with contextlib.suppress(psycopg.Error, OSError):
            await conn.close()


@dataclass
class Links:
    """The bot's shared connections by role, reopened after a loss; the outage logged once."""

    url: str
    roles: tuple[str, ...]
    backoff: Backoff = field(default_factory=Backoff)
    clock: Callable[[], float] = time.monotonic
    conns: dict[str, psycopg.AsyncConnection[Any]] = field(default_factory=dict)
    outages: int = 0  # outages recovered from (tests and logs)
    _since: float | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def open(self) -> None:
        """Open every role's connection (DatabaseUnavailable when the database is away)."""
        for role in self.roles:
            self.conns[role] = await db.connect_async(self.url, role=role)

    @property
    def connected(self) -> bool:
        """Every shared connection is open and no outage is under way (as the last check found)."""
        conns = [self.conns.get(role) for role in self.roles]
        return self._since is None and all(c is not None and not c.closed for c in conns)

    async def close(self) -> None:
        for conn in self.conns.values():
            await close_quietly(conn)

    async def recover(self, error: Exception | None = None) -> bool:
        """Make every shared connection answer again, waiting as long as the database is away.

        Returns True when one had to be reopened: whatever happened meanwhile was missed.
        Callers arriving during a recovery wait for it and find nothing left to do."""
        async with self._lock:
            dead = await self._dead()
            if not dead:
                return False
            self._lost(error or next(iter(dead.values())))
            attempt = 0
            while dead:
                role = next(iter(dead))  # the closed one stays until replaced: users get LOST
                await close_quietly(self.conns.get(role))
                try:
                    self.conns[role] = await db.connect_async(self.url, role=role)
                except LOST:
                    await asyncio.sleep(self.backoff.delay(attempt))
                    attempt += 1
                # all asked again, after each try: one that still answered when the outage began
                # (its session not ended yet) may have died since; its users should meet LOST
                # now, and the outage is not over until it is back
                dead = await self._dead()
            self._back()
            return True

    async def _dead(self) -> dict[str, Exception]:
        """The roles whose connection does not answer, with why."""
        found = {}
        for role in self.roles:
            reason = await answers(self.conns.get(role))
            if reason is not None:
                found[role] = reason
        return found

    def _lost(self, error: Exception) -> None:
        self._since = self.clock()
        log.warning("database unreachable: %s; retrying", why(self.url, error))

    def _back(self) -> None:
        took = self.clock() - (self._since or self.clock())
        self._since = None
        self.outages += 1
        log.info("database back after %.0f s; reconciling everything", took)
