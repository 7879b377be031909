"""Leader election among bot replicas: one Postgres advisory lock, held by one session.

Every replica runs ``Leadership.run``: it opens its election session (``application_name``
``hlb-bot leader``) and tries ``pg_try_advisory_lock(LEADER_LOCK)`` every ``interval``
seconds. The replica whose session holds the lock leads; the lock lives and dies with that
session, so a leader whose session is lost stops leading at once (``abdicate``) and another
replica takes over at its next attempt. ``leading()`` asks the session before each pass:
a replica never leads on a session that no longer answers.

``hlb serve`` reads the same two facts (the lock key and the session name) from
``pg_locks`` and ``pg_stat_activity`` to show which replica leads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg

from hlb.store import db
from hlb.store.dblink import LOST, answers, close_quietly

LEADER_LOCK = 0x686C62_6C656164  # "hlb" "lead": one key per database
ELECTION_ROLE = "leader"
ELECTION_APP = f"hlb-bot {ELECTION_ROLE}"  # every replica's election session, leader or not
log = logging.getLogger("hlb.bot")


@dataclass
class Leadership:
    """One replica's claim on the leader lock; ``leader`` is True while its session holds it."""

    url: str
    interval: float  # seconds between attempts (and checks that the held lock's session answers)
    on_elected: Callable[[], None]  # called once each time this replica becomes the leader
    leader: bool = False
    conn: psycopg.AsyncConnection[Any] | None = None  # the election session
    _now: asyncio.Event = field(default_factory=asyncio.Event)

    def check_now(self) -> None:
        """Attempt (or check) at once instead of at the next interval: a session may be gone."""
        self._now.set()

    async def run(self) -> None:
        """Claim the lock, or check the session holding it, every ``interval`` seconds, forever."""
        try:
            while True:
                if self.conn is None or self.conn.closed:
                    self.conn = await db.connect_async(self.url, role=ELECTION_ROLE)
                if not self.leader:
                    cur = await self.conn.execute("SELECT pg_try_advisory_lock(%s)", (LEADER_LOCK,))
                    row = await cur.fetchone()
                    if row and row[0]:
                        self.leader = True
                        log.info("event=leader elected=true")
                        self.on_elected()
                else:
                    await self.conn.execute("SELECT 1")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._now.wait(), self.interval)
                self._now.clear()
        except LOST as error:
            await self.abdicate(self.conn, type(error).__name__)
            raise
        finally:  # stopped, or lost: the lock goes with the session
            self.leader = False
            conn, self.conn = self.conn, None
            await close_quietly(conn)

    async def abdicate(self, conn: psycopg.AsyncConnection[Any] | None, reason: str) -> None:
        """Leadership lived on ``conn``, which was lost: stop leading, drop the session."""
        if conn is None or conn is not self.conn:
            return  # a newer session already holds (or seeks) the lock
        if self.leader:
            log.warning("event=leader elected=false reason=%s", reason)
        self.leader, self.conn = False, None
        await close_quietly(conn)

    async def leading(self) -> bool:
        """True only while the lock's session answers: never lead on a lost session."""
        if not self.leader:
            return False
        conn = self.conn
        lost = await answers(conn)
        if lost is not None:
            await self.abdicate(conn, type(lost).__name__)
            self.check_now()
            return False
        return True
