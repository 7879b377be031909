"""The apply lock and the database's identity: who may apply, who is applying, which database this is.

Applies serialize on ``LOCK TABLE hlb_config.database_identity IN EXCLUSIVE
MODE``, held until the apply's transaction ends. Postgres grants that mode
only to roles with UPDATE, DELETE or TRUNCATE on the table, so the bot's
read-only role (``hlb db grant-bot``) can neither take nor hold it; plain
SELECTs still run beside it. An apply that finds the lock taken says at once
who holds it (the holder's ``application_name``, pid and start time), then
waits up to its timeout and gives up with ``ApplyLockTimeout``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import errors, pq

IDENTITY_TABLE = "hlb_config.database_identity"
DEFAULT_LOCK_TIMEOUT = 300.0  # seconds: `--lock-timeout` of `hlb apply` and `hlb rollback`
Conn = psycopg.Connection[Any]

_LOCK = f"LOCK TABLE {IDENTITY_TABLE} IN EXCLUSIVE MODE"
_HOLDERS = """
SELECT a.pid, coalesce(nullif(a.application_name, ''), '(no application_name)'), a.usename,
       coalesce(a.xact_start, a.backend_start)
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'relation' AND l.granted AND l.relation = %s::regclass
  AND l.mode NOT IN ('AccessShareLock', 'RowShareLock') AND l.pid <> pg_backend_pid()
ORDER BY coalesce(a.xact_start, a.backend_start), a.pid
"""


@dataclass(frozen=True)
class LockHolder:
    """A session holding the apply lock, as pg_stat_activity shows it."""

    pid: int
    application: str
    user: str | None
    since: datetime | None

    def describe(self) -> str:
        since = f" since {self.since.strftime('%Y-%m-%d %H:%M:%S %Z').strip()}" if self.since else ""
        user = f" as {self.user}" if self.user else ""
        return f"'{self.application}' (pid {self.pid}{user}){since}"


def _who(holders: tuple[LockHolder, ...]) -> str:
    """The sessions holding the lock, as a waiting apply names them."""
    return ", ".join(h.describe() for h in holders) or "another session"


class ApplyLockTimeout(Exception):
    """Another session held the apply lock longer than the apply would wait."""

    def __init__(self, waited: float, holders: tuple[LockHolder, ...]) -> None:
        super().__init__(
            f"gave up after waiting {waited:g}s for the apply lock, held by {_who(holders)}; "
            "nothing was changed. Run the command again once it is done, "
            "or give it longer with --lock-timeout"
        )


def lock_holders(conn: Conn) -> tuple[LockHolder, ...]:
    """The other sessions holding a lock on the identity table that keeps an apply out."""
    rows = conn.execute(_HOLDERS, (IDENTITY_TABLE,)).fetchall()
    return tuple(LockHolder(int(pid), str(app), user, since) for pid, app, user, since in rows)


def lock_for_apply(
    conn: Conn, *, timeout: float = DEFAULT_LOCK_TIMEOUT, echo: Callable[[str], Any] = print
) -> None:
    """Take the apply lock inside the caller's transaction (released at commit or rollback).

    Tries without waiting first; when the lock is taken, echoes who holds it and
    waits at most ``timeout`` seconds in all (ApplyLockTimeout after that).
    InsufficientPrivilege when the role may not write hlb_config."""
    started = time.monotonic()
    if conn.info.transaction_status == pq.TransactionStatus.IDLE:
        if conn.autocommit:
            raise ValueError("the apply lock is held by a transaction: take it inside one")
        conn.execute("SELECT 1")  # opens the transaction the lock will be held in
    try:
        with conn.transaction():  # a savepoint: a refused NOWAIT leaves the transaction usable
            conn.execute(_LOCK + " NOWAIT")
        return
    except errors.LockNotAvailable:
        pass
    holders = lock_holders(conn)
    echo(f"waiting for the apply lock, held by {_who(holders)} (giving up after {timeout:g}s)")
    remaining = max(timeout - (time.monotonic() - started), 0.001)
    try:
        with conn.transaction():
            conn.execute(f"SET LOCAL lock_timeout = {int(remaining * 1000) or 1}")
            conn.execute(_LOCK)
            conn.execute("SET LOCAL lock_timeout TO DEFAULT")
    except errors.LockNotAvailable:
        raise ApplyLockTimeout(timeout, lock_holders(conn) or holders) from None


def database_identity(conn: Conn) -> str | None:
    """This database's id (made by migration 0004); None before the schema has it."""
    found = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (IDENTITY_TABLE,)).fetchone()
    if not found or not found[0]:
        return None
    row = conn.execute(f"SELECT id::text FROM {IDENTITY_TABLE} ORDER BY created_at, id LIMIT 1").fetchone()
    return str(row[0]) if row else None


__all__ = [
    "DEFAULT_LOCK_TIMEOUT",
    "ApplyLockTimeout",
    "LockHolder",
    "database_identity",
    "lock_for_apply",
    "lock_holders",
]
