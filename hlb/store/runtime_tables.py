"""The bot's runtime state in hlb_runtime: bindings, the log of what it sent, runs and claims.

psycopg only (async for the bot; ``load_bindings_sync`` for ``hlb status``),
sharing one set of queries and row mappings. Every function runs inside the
caller's transaction and never commits. Event details say what was sent
(changed field names, ids), never tokens or secret values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb, set_json_loads

from hlb.compiler.model import ObjectKey, SpecObject
from hlb.reconciler.state import Binding
from hlb.store.db import json_dumps

SCHEMA = "hlb_runtime"
BINDINGS = sql.Identifier(SCHEMA, "bindings")
EVENTS = sql.Identifier(SCHEMA, "reconcile_events")
KEY_COLUMNS = ("guild", "kind", "name")
# Binding fields stored in columns of the same name, in this order after the key.
BINDING_COLUMNS = (
    "discord_id",
    "channel_id",
    "spec_hash",
    "rendered_hash",
    "status",
    "error",
    "error_kind",
    "attempted_hash",
    "written_hash",
    "flaps",
    "attempts",
    "next_attempt_at",
    "reconciled_at",
    "protect",
)
EVENT_COLUMNS = ("guild", "kind", "name", "action", "discord_id", "detail", "outcome", "error")


@dataclass(frozen=True)
class ReconcileEvent:
    """One call the bot made to Discord (or tried to): what, on which object, and how it went.

    ``key`` is None for guild-wide actions without a spec object of their own."""

    key: ObjectKey | None
    guild: str
    action: str
    discord_id: int | None
    detail: Mapping[str, Any]
    outcome: str
    error: str | None = None


@dataclass(frozen=True, kw_only=True)
class RecordedEvent(ReconcileEvent):
    """A reconcile event as stored: with its id and the time it was recorded."""

    id: int
    at: datetime


def _columns(names: Sequence[str]) -> sql.Composable:
    return sql.SQL(", ").join(map(sql.Identifier, names))


_SELECT_BINDINGS = sql.SQL("SELECT {} FROM {}").format(_columns(KEY_COLUMNS + BINDING_COLUMNS), BINDINGS)
_GUILD_FILTER = sql.SQL(" WHERE guild = %s")
_ORDER_BINDINGS = sql.SQL(" ORDER BY guild, kind, name")

# Rows go in one statement each ``ROWS_PER_STATEMENT`` (a VALUES list), never through
# executemany: its pipeline mode breaks the shared connection when the task is cancelled
# (psycopg turns the cancellation into an AssertionError and leaves the pipeline open).
ROWS_PER_STATEMENT = 500
_UPSERT_BINDINGS = (  # the VALUES list goes between the two parts
    sql.SQL("INSERT INTO {} ({}, updated_at) VALUES ").format(
        BINDINGS, _columns(KEY_COLUMNS + BINDING_COLUMNS)
    ),
    sql.SQL(" ON CONFLICT ({key}) DO UPDATE SET {updates}, updated_at = now()").format(
        key=_columns(KEY_COLUMNS),
        updates=sql.SQL(", ").join(
            sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in BINDING_COLUMNS
        ),
    ),
)

_DELETE_BINDINGS = sql.SQL(
    "DELETE FROM {} WHERE (guild, kind, name) IN (SELECT * FROM unnest(%s::text[], %s::text[], %s::text[]))"
).format(BINDINGS)

_INSERT_EVENTS = (sql.SQL("INSERT INTO {} ({}) VALUES ").format(EVENTS, _columns(EVENT_COLUMNS)), sql.SQL(""))

_SELECT_EVENTS = sql.SQL("SELECT id, at, {} FROM {}").format(_columns(EVENT_COLUMNS), EVENTS)
_ORDER_EVENTS = sql.SQL(" ORDER BY at DESC, id DESC LIMIT %s")


def _bindings_query(guild: str | None) -> tuple[sql.Composed, tuple[Any, ...]]:
    if guild is None:
        return _SELECT_BINDINGS + _ORDER_BINDINGS, ()
    return _SELECT_BINDINGS + _GUILD_FILTER + _ORDER_BINDINGS, (guild,)


def _binding(row: Sequence[Any]) -> Binding:
    guild, kind, name, *fields = row
    return Binding(ObjectKey(guild, kind, name), **dict(zip(BINDING_COLUMNS, fields, strict=True)))


def _binding_params(binding: Binding) -> tuple[Any, ...]:
    key = binding.key
    return (key.guild, key.kind, key.name, *(getattr(binding, c) for c in BINDING_COLUMNS))


def _delete_params(keys: Iterable[ObjectKey]) -> tuple[list[str], list[str], list[str]] | None:
    keys = list(keys)
    if not keys:
        return None
    return [k.guild for k in keys], [k.kind for k in keys], [k.name for k in keys]


def _event_params(event: ReconcileEvent) -> tuple[Any, ...]:
    kind, name = (event.key.kind, event.key.name) if event.key is not None else (None, None)
    detail = Jsonb(event.detail, json_dumps)
    return (event.guild, kind, name, event.action, event.discord_id, detail, event.outcome, event.error)


def _events_query(guild: str | None, limit: int) -> tuple[sql.Composed, tuple[Any, ...]]:
    if guild is None:
        return _SELECT_EVENTS + _ORDER_EVENTS, (limit,)
    return _SELECT_EVENTS + _GUILD_FILTER + _ORDER_EVENTS, (guild, limit)


def _event(row: Sequence[Any]) -> RecordedEvent:
    id_, at, guild, kind, name, action, discord_id, detail, outcome, error = row
    key = ObjectKey(guild, kind, name) if kind is not None and name is not None else None
    return RecordedEvent(key, guild, action, discord_id, detail, outcome, error, id=id_, at=at)


async def load_bindings(
    conn: psycopg.AsyncConnection[Any], guild: str | None = None
) -> dict[ObjectKey, Binding]:
    """Every binding, or those of one guild."""
    query, params = _bindings_query(guild)
    async with conn.cursor() as cur:
        await cur.execute(query, params)
        return {b.key: b for b in map(_binding, await cur.fetchall())}


def load_bindings_sync(conn: psycopg.Connection[Any], guild: str | None = None) -> dict[ObjectKey, Binding]:
    """``load_bindings`` on a synchronous connection (``hlb status``)."""
    query, params = _bindings_query(guild)
    with conn.cursor() as cur:
        return {b.key: b for b in map(_binding, cur.execute(query, params).fetchall())}


async def save_bindings(conn: psycopg.AsyncConnection[Any], bindings: Iterable[Binding]) -> None:
    """Insert or overwrite bindings by key (every field; ``updated_at`` becomes now())."""
    latest = {b.key: b for b in bindings}  # one row per key: a statement may not upsert a row twice
    await _insert_rows(conn, _UPSERT_BINDINGS, [_binding_params(b) for b in latest.values()], "now()")


async def delete_bindings(conn: psycopg.AsyncConnection[Any], keys: Iterable[ObjectKey]) -> None:
    """Forget the bindings of ``keys`` (keys without a binding are ignored)."""
    params = _delete_params(keys)
    if params is not None:
        await conn.execute(_DELETE_BINDINGS, params)


async def record_events(conn: psycopg.AsyncConnection[Any], events: Iterable[ReconcileEvent]) -> None:
    """Append events to the reconcile log."""
    await _insert_rows(conn, _INSERT_EVENTS, [_event_params(e) for e in events])


async def _insert_rows(
    conn: psycopg.AsyncConnection[Any],
    query: tuple[sql.Composable, sql.Composable],
    rows: Sequence[tuple[Any, ...]],
    *extra: str,
) -> None:
    """Run ``query`` with a VALUES list of ``rows`` between its two parts, ``ROWS_PER_STATEMENT``
    rows at a time; each row's placeholders are followed by the SQL expressions ``extra``."""
    head, tail = query
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        chunk = rows[start : start + ROWS_PER_STATEMENT]
        row = sql.SQL("({})").format(
            sql.SQL(", ").join([*(sql.Placeholder() * len(chunk[0])), *map(sql.SQL, extra)])
        )
        statement = head + sql.SQL(", ").join([row] * len(chunk)) + tail
        await conn.execute(statement, [value for values in chunk for value in values])


async def recent_events(
    conn: psycopg.AsyncConnection[Any], guild: str | None = None, limit: int = 100
) -> list[RecordedEvent]:
    """The newest ``limit`` events (of one guild, or all), newest first."""
    query, params = _events_query(guild, limit)
    async with conn.cursor() as cur:
        set_json_loads(orjson.loads, cur)
        await cur.execute(query, params)
        return [_event(row) for row in await cur.fetchall()]


# --- workflow runs ------------------------------------------------------------------------------

RUNS = sql.Identifier(SCHEMA, "workflow_runs")
_INSERT_RUN = sql.SQL(
    "INSERT INTO {} (guild, workflow, trigger, user_id, inputs, status, started_at) "
    "VALUES (%s, %s, %s, %s, %s, 'running', clock_timestamp()) RETURNING id"
).format(RUNS)
_FINISH_RUN = sql.SQL(
    "UPDATE {} SET status = %s, error = %s, steps = %s, finished_at = clock_timestamp() WHERE id = %s"
).format(RUNS)


async def start_run(
    conn: psycopg.AsyncConnection[Any],
    *,
    guild: str,
    workflow: str,
    trigger: str,
    user_id: int | None,
    inputs: Mapping[str, Any],
) -> int:
    """Record a workflow run as 'running'; its id. ``inputs`` must already be redacted."""
    params = (guild, workflow, trigger, user_id, Jsonb(dict(inputs), json_dumps))
    async with conn.cursor() as cur:
        await cur.execute(_INSERT_RUN, params)
        row = await cur.fetchone()
    assert row is not None  # INSERT ... RETURNING always returns the row
    return int(row[0])


async def finish_run(
    conn: psycopg.AsyncConnection[Any],
    run_id: int,
    *,
    status: str,
    error: str | None,
    steps: Sequence[Mapping[str, Any]],
) -> None:
    """Close a run: its final status ('ok', 'error', 'refused'), error and per-step results."""
    await conn.execute(_FINISH_RUN, (status, error, Jsonb(list(steps), json_dumps), run_id))


# --- claims: one replica fires a schedule slot, one answers an interaction ----------------------


async def claim_slot(conn: psycopg.AsyncConnection[Any], workflow: SpecObject, slot: datetime) -> bool:
    """True for exactly one caller per (workflow, slot), across processes and restarts."""
    cur = await conn.execute(
        "INSERT INTO hlb_runtime.schedule_slots (guild, workflow, slot) VALUES (%s, %s, %s) "
        "ON CONFLICT DO NOTHING RETURNING slot",
        (workflow.key.guild, workflow.key.name, slot),
    )
    return await cur.fetchone() is not None


async def claim_interaction(conn: psycopg.AsyncConnection[Any], interaction_id: int) -> bool:
    """True for exactly one replica per interaction: the one that answers it."""
    cur = await conn.execute(
        "INSERT INTO hlb_runtime.interaction_claims (interaction_id) VALUES (%s) "
        "ON CONFLICT DO NOTHING RETURNING interaction_id",
        (interaction_id,),
    )
    return await cur.fetchone() is not None


async def forget_old_claims(conn: psycopg.AsyncConnection[Any], older_than: timedelta) -> None:
    await conn.execute(
        "DELETE FROM hlb_runtime.interaction_claims WHERE claimed_at < now() - %s", (older_than,)
    )
