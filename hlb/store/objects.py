"""The hot path to hlb_config: read hashes, load objects, write changes.

psycopg only (no SQLAlchemy, no alembic): a plan over 10,000 objects reads one
small ``(guild, name, content_hash)`` query per table, and an apply writes with
COPY (new rows) and pipelined executemany (updated rows). Every function runs
inside the caller's transaction and never commits.
"""

from __future__ import annotations

import contextlib
import json
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb, set_json_loads

from hlb.compiler.model import KIND_ORDER, ObjectKey, SpecObject
from hlb.store import bulk_keys
from hlb.store.rows import STORAGES, Row, Storage, TableSpec, storage_for
from hlb.store.rows.base import SCHEMA

REVISIONS = sql.SQL("{}.revisions").format(sql.Identifier(SCHEMA))
Conn = psycopg.Connection[Any]
BULK_UPDATE_THRESHOLD = 100  # more updated objects of one kind than this: COPY to a temp table, one UPDATE


@dataclass(frozen=True)
class StoredState:
    """What the database holds, as far as planning needs: the head revision and every hash."""

    revision: int | None
    hashes: dict[ObjectKey, str]


def read_state(conn: Conn) -> StoredState:
    """The head revision id and the content hash of every stored object."""
    with conn.cursor() as cur:
        row = cur.execute(sql.SQL("SELECT max(id) FROM {}").format(REVISIONS)).fetchone()
        revision = int(row[0]) if row and row[0] is not None else None
        hashes: dict[ObjectKey, str] = {}
        for storage in STORAGES:
            kind, table = storage.kind, storage.main
            guild = sql.Identifier("guild" if "guild" in table.key else "name")
            query = sql.SQL("SELECT {}, name, content_hash FROM {}").format(guild, _table(table))
            for g, n, h in cur.execute(query):
                hashes[ObjectKey(g, kind, n)] = h
    return StoredState(revision, hashes)


def load_objects(conn: Conn, keys: Collection[ObjectKey] | None = None) -> dict[ObjectKey, SpecObject]:
    """The stored objects: all of them (``keys`` None) or just those of ``keys`` that exist."""
    wanted: dict[str, list[ObjectKey]] | None = None
    if keys is not None:
        wanted = _by_kind(keys)
    out: dict[ObjectKey, SpecObject] = {}
    with conn.cursor(row_factory=dict_row) as cur:
        set_json_loads(orjson.loads, cur)
        for storage in STORAGES:
            subset = None if wanted is None else wanted.get(storage.kind)
            if wanted is not None and not subset:
                continue
            mains = _select(cur, storage.main, subset, storage.main.key)
            if not mains:
                continue
            children: dict[tuple[str, ...], dict[str, list[Row]]] = defaultdict(lambda: defaultdict(list))
            for child in storage.children:
                for row in _select(cur, child, subset, child.key):
                    children[tuple(row[c] for c in child.parent)][child.name].append(row)
            for main in mains:
                obj = storage.from_rows(main, children.get(tuple(main[c] for c in storage.main.key), {}))
                out[obj.key] = obj
    return out


@dataclass(frozen=True)
class Changes:
    """The rows of a change set, built and ready to send (``prepare_changes``)."""

    deletes: dict[str, list[ObjectKey]]  # kind -> objects to delete
    updates: dict[str, tuple[list[Row], list[ObjectKey]]]  # kind -> main rows, objects whose children go
    inserts: dict[str, list[list[Any]]]  # table -> rows to COPY, as COPY values


def prepare_changes(
    creates: Sequence[SpecObject], updates: Sequence[SpecObject], deletes: Sequence[ObjectKey]
) -> Changes:
    """Build every row of a change set; pure, so it can run while the database is busy with something else."""
    inserts: dict[str, list[Row]] = defaultdict(list)
    for obj in creates:
        for name, rows in storage_for(obj.key.kind).to_rows(obj).items():
            inserts[name].extend(rows)
    updated: dict[str, tuple[list[Row], list[ObjectKey]]] = {}
    for kind, objs in _group(updates).items():
        storage = storage_for(kind)
        mains: list[Row] = []
        for obj in objs:
            for name, rows in storage.to_rows(obj).items():
                (mains if name == storage.main.name else inserts[name]).extend(rows)
        updated[kind] = (mains, [o.key for o in objs])
    copies = {
        table.name: [_copy_values(table, row) for row in inserts[table.name]]
        for storage in STORAGES
        for table in storage.tables
        if inserts.get(table.name)
    }
    return Changes(_by_kind(deletes), updated, copies)


def write_changes(
    conn: Conn,
    creates: Sequence[SpecObject],
    updates: Sequence[SpecObject],
    deletes: Sequence[ObjectKey],
) -> None:
    """Apply create/update/delete to the tables, inside the caller's transaction."""
    write_prepared(conn, prepare_changes(creates, updates, deletes))


def write_prepared(conn: Conn, changes: Changes) -> None:
    """Write a prepared change set, inside the caller's transaction.

    Deletes first (children go by ON DELETE CASCADE); updated objects keep
    their main row (updated in place, so references to them stay valid) and get
    their child rows replaced; new rows are COPYed. Foreign keys are deferred,
    so the order of rows does not matter until commit; for many new rows they
    are checked once per table instead (``hlb.store.bulk_keys``)."""
    with conn.cursor() as cur:
        for kind, keys in sorted(changes.deletes.items(), key=lambda kv: -KIND_ORDER.index(kv[0])):
            _delete(cur, storage_for(kind).main, keys)
        for kind, (mains, keys) in changes.updates.items():
            storage = storage_for(kind)
            _update(cur, storage.main, mains)
            for child in storage.children:
                _delete(cur, child, keys)
        filled = [t for storage in STORAGES for t in storage.tables if changes.inserts.get(t.name)]
        new_rows = sum(len(changes.inserts[t.name]) for t in filled)
        big = new_rows >= bulk_keys.BULK_ROWS
        with bulk_keys.checked_in_bulk(cur, [t.name for t in filled]) if big else contextlib.nullcontext():
            for table in filled:
                _copy(cur, table, changes.inserts[table.name])


def dumps_json(value: Any) -> bytes:
    """orjson (sorted keys are not needed: jsonb normalizes), stdlib for what orjson refuses."""
    try:
        return orjson.dumps(value, default=_plain)
    except TypeError:
        return json.dumps(value, default=_plain, ensure_ascii=False).encode()


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (tuple, set, frozenset)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _table(table: TableSpec) -> sql.Composable:
    return sql.Identifier(SCHEMA, table.name)


def _by_kind(keys: Iterable[ObjectKey]) -> dict[str, list[ObjectKey]]:
    out: dict[str, list[ObjectKey]] = defaultdict(list)
    for key in keys:
        out[key.kind].append(key)
    return out


def _group(objs: Iterable[SpecObject]) -> dict[str, list[SpecObject]]:
    out: dict[str, list[SpecObject]] = defaultdict(list)
    for obj in objs:
        out[obj.key.kind].append(obj)
    return out


def _key_arrays(table: TableSpec, keys: Sequence[ObjectKey]) -> tuple[sql.Composable, list[list[str]]]:
    """``unnest(...) AS k(cols)`` over the object-identifying columns of ``table``, and its arrays."""
    cols = table.object_key
    arrays = [[k.guild for k in keys], [k.name for k in keys]] if len(cols) == 2 else [[k.name for k in keys]]
    unnest = sql.SQL("unnest({}) AS k({})").format(
        sql.SQL(", ").join(sql.SQL("%s::text[]") for _ in cols),
        sql.SQL(", ").join(map(sql.Identifier, cols)),
    )
    return unnest, arrays


def _select(cur: psycopg.Cursor[Any], table: TableSpec, keys: Sequence[ObjectKey] | None,
            order: Sequence[str]) -> list[Row]:
    columns = sql.SQL(", ").join(sql.Identifier("t", c) for c in table.columns)
    ordering = sql.SQL(", ").join(sql.Identifier("t", c) for c in order)
    if keys is None:
        query = sql.SQL("SELECT {} FROM {} AS t ORDER BY {}").format(columns, _table(table), ordering)
        return list(cur.execute(query))
    unnest, arrays = _key_arrays(table, keys)
    query = sql.SQL("SELECT {} FROM {} AS t JOIN {} USING ({}) ORDER BY {}").format(
        columns, _table(table), unnest, sql.SQL(", ").join(map(sql.Identifier, table.object_key)), ordering
    )
    return list(cur.execute(query, arrays))


def _delete(cur: psycopg.Cursor[Any], table: TableSpec, keys: Sequence[ObjectKey]) -> None:
    if not keys:
        return
    unnest, arrays = _key_arrays(table, keys)
    match = sql.SQL(" AND ").join(
        sql.SQL("t.{} = k.{}").format(sql.Identifier(c), sql.Identifier(c)) for c in table.object_key
    )
    cur.execute(sql.SQL("DELETE FROM {} AS t USING {} WHERE {}").format(_table(table), unnest, match), arrays)


def _params(table: TableSpec, row: Row, columns: Sequence[str]) -> tuple[Any, ...]:
    jsonb = table.jsonb
    return tuple(
        Jsonb(row[c], dumps_json) if c in jsonb and row.get(c) is not None else row.get(c) for c in columns
    )


def _copy_values(table: TableSpec, row: Row) -> list[Any]:
    """A row for text-format COPY: jsonb columns as JSON text (COPY has no parameter types)."""
    values = list(map(row.get, table.columns))
    for i in table.json_positions:
        if values[i] is not None:
            values[i] = dumps_json(values[i]).decode()
    return values


def _update(cur: psycopg.Cursor[Any], table: TableSpec, rows: Sequence[Row]) -> None:
    """Update main rows in place: pipelined executemany for a few, COPY + UPDATE ... FROM for many."""
    if not rows:
        return
    settable = [c for c in table.columns if c not in table.key]
    if len(rows) <= BULK_UPDATE_THRESHOLD:
        query = sql.SQL("UPDATE {} SET {} WHERE {}").format(
            _table(table),
            sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in settable),
            sql.SQL(" AND ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in table.key),
        )
        order = [*settable, *table.key]
        cur.executemany(query, [_params(table, row, order) for row in rows])
        return
    staging = sql.Identifier(f"hlb_staging_{table.name}")
    cur.execute(sql.SQL("CREATE TEMP TABLE {} (LIKE {})").format(staging, _table(table)))
    _copy(cur, table, [_copy_values(table, row) for row in rows], into=staging)
    assign = sql.SQL(", ").join(sql.SQL("{0} = s.{0}").format(sql.Identifier(c)) for c in settable)
    match = sql.SQL(" AND ").join(sql.SQL("t.{0} = s.{0}").format(sql.Identifier(c)) for c in table.key)
    cur.execute(
        sql.SQL("UPDATE {} AS t SET {} FROM {} AS s WHERE {}").format(_table(table), assign, staging, match)
    )
    cur.execute(sql.SQL("DROP TABLE {}").format(staging))


def _copy(
    cur: psycopg.Cursor[Any],
    table: TableSpec,
    rows: Sequence[Sequence[Any]],
    into: sql.Composable | None = None,
) -> None:
    """COPY rows given as ``_copy_values`` into ``table`` (or ``into``, a table like it)."""
    query = sql.SQL("COPY {} ({}) FROM STDIN").format(
        into or _table(table), sql.SQL(", ").join(map(sql.Identifier, table.columns))
    )
    with cur.copy(query) as copy:
        for row in rows:
            copy.write_row(row)


__all__ = [
    "Changes",
    "Storage",
    "StoredState",
    "load_objects",
    "prepare_changes",
    "read_state",
    "write_changes",
    "write_prepared",
]
