"""Foreign keys checked once per table instead of once per row, for big change sets.

Postgres checks a foreign key with one trigger call per inserted row (about
10 µs each, at commit since ours are deferred): some 28,000 calls, a quarter
of a second, when 10,000 objects are created. Adding a constraint instead
validates the whole table with one anti-join. So for a change set of at
least ``BULK_ROWS`` new rows, ``checked_in_bulk`` drops the foreign keys of
the tables being filled, lets the caller COPY, and adds them back exactly as
they were (``pg_get_constraintdef``), which checks every row of those tables
at once. pg_restore loads data the same way.

It is all one transaction: a dangling reference fails the ADD, and the
rollback restores the constraints with everything else. Pending deferred
checks fire first (Postgres will not alter a table with pending trigger
events). The tables are locked up front, in the order readers (the bot,
``hlb plan``) read them, so a reader holding one waits instead of
deadlocking. Where the connected role does not own the tables (so cannot
alter them), the per-row checks stay.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
from psycopg import sql

from hlb.store.rows import STORAGES
from hlb.store.rows.base import SCHEMA

BULK_ROWS = 5_000  # new rows from which re-validating whole tables beats a check per row

_FOREIGN_KEYS = """
    SELECT t.relname, c.conname, pg_get_constraintdef(c.oid)
    FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
    WHERE c.contype = 'f' AND c.connamespace = %s::regnamespace AND t.relname = ANY(%s)
    ORDER BY t.relname, c.conname
"""
_OWNED = """
    SELECT count(*) = cardinality(%s::text[]) FROM pg_class t
    WHERE t.relnamespace = %s::regnamespace AND t.relname = ANY(%s) AND pg_has_role(t.relowner, 'USAGE')
"""


@contextlib.contextmanager
def checked_in_bulk(cur: psycopg.Cursor[Any], tables: Sequence[str]) -> Iterator[None]:
    """Foreign keys of ``tables`` (table names) off for the block, then added back and validated.

    Nothing changes when there are no tables or the role cannot alter them (per-row checks stay).
    """
    owned = cur.execute(_OWNED, (list(tables), SCHEMA, list(tables))).fetchone() if tables else None
    if owned is None or not owned[0]:
        yield
        return
    cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
    every = [t.name for storage in STORAGES for t in storage.tables]
    cur.execute(
        sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(
            sql.SQL(", ").join(sql.Identifier(SCHEMA, name) for name in every)
        )
    )
    keys = cur.execute(_FOREIGN_KEYS, (SCHEMA, list(tables))).fetchall()
    for table, name, _ in keys:
        cur.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(_table(table), sql.Identifier(name)))
    yield
    for table, name, definition in keys:
        cur.execute(
            sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                _table(table), sql.Identifier(name), sql.SQL(definition)
            )
        )
    cur.execute("SET CONSTRAINTS ALL DEFERRED")


def _table(name: str) -> sql.Composable:
    return sql.Identifier(SCHEMA, name)
