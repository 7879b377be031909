"""Migrated test databases used again: emptied and checked after a test instead of dropped.

A ``CREATE DATABASE ... TEMPLATE`` copies about a thousand files and a ``DROP`` deletes them: on
the development machine's ext4 disk, with the rest of the suite writing beside it, that was
0.1-0.2 s of wall and most of the embedded server's CPU per test, more than many tests cost. So
a database a test is done with is given back: its sessions are ended, and if its catalog
(schemas, tables, columns, constraints, indexes, sequences, grants, functions, settings, ...)
and the rows hlb's migrations wrote are exactly the template's and it stayed small, its rows are
deleted, its sequences restarted, and it waits, renamed, for the next test. Anything else (a
test that altered the schema, granted a role, ran a downgrade, wrote megabytes) drops it as
before. Every test gets a database of a name no test had before, so a client left behind by an
earlier test cannot reach the next one's.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

_NAMES = itertools.count()  # one count per process, for every test database: a name is never used twice


def unique_name(kind: str) -> str:
    """A database name no other database of this process had (``hlb_test_<pid>_<n>``, ``hlb_pool_...``)."""
    return f"hlb_{kind}_{os.getpid()}_{next(_NAMES)}"

# A database that grew past this keeps its dead rows and bloated indexes; one from the template is ~0.
REUSE_LIMIT_BYTES = 1024 * 1024

_USER_NAMESPACES = """
    SELECT oid FROM pg_namespace
    WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
      AND nspname NOT LIKE 'pg\\_temp\\_%' AND nspname NOT LIKE 'pg\\_toast\\_temp\\_%'
"""

def fingerprint_query(kept_tables: list[str]) -> str:
    """One md5 for everything in the database a test could change besides the rows of the tables
    the template has empty and the sequences, and the size of its relations."""
    kept = "".join(f", (SELECT string_agg(t::text, ',' ORDER BY t::text) FROM {t} t)" for t in kept_tables)
    return f"""
WITH ns AS ({_USER_NAMESPACES}),
rel AS (SELECT oid, relkind FROM pg_class WHERE relnamespace IN (SELECT oid FROM ns))
SELECT md5(concat_ws(' | ',
  (SELECT string_agg(format('%s %s %s %s', oid, nspname, nspowner, nspacl), ',' ORDER BY oid)
     FROM pg_namespace WHERE oid IN (SELECT oid FROM ns)),
  (SELECT string_agg(format('%s %s %s %s %s %s %s %s %s', oid, relname, relnamespace, relkind, relowner,
                            relacl, reloptions, relpersistence, relrowsecurity), ',' ORDER BY oid)
     FROM pg_class WHERE oid IN (SELECT oid FROM rel)),
  (SELECT string_agg(format('%s %s %s %s %s %s %s %s', attrelid, attnum, attname, atttypid, atttypmod,
                            attnotnull, attisdropped, attacl), ',' ORDER BY attrelid, attnum)
     FROM pg_attribute WHERE attrelid IN (SELECT oid FROM rel)),
  (SELECT string_agg(format('%s %s %s', adrelid, adnum, pg_get_expr(adbin, adrelid)), ','
                         ORDER BY adrelid, adnum)
     FROM pg_attrdef WHERE adrelid IN (SELECT oid FROM rel)),
  (SELECT string_agg(format('%s %s %s %s', conrelid, conname, pg_get_constraintdef(oid), convalidated), ','
                         ORDER BY conrelid, conname)
     FROM pg_constraint WHERE connamespace IN (SELECT oid FROM ns)),
  (SELECT string_agg(pg_get_indexdef(indexrelid), ',' ORDER BY indexrelid)
     FROM pg_index WHERE indrelid IN (SELECT oid FROM rel)),
  (SELECT string_agg(format('%s %s %s %s %s', seqrelid, seqstart, seqincrement, seqmax, seqcycle), ','
                         ORDER BY seqrelid)
     FROM pg_sequence WHERE seqrelid IN (SELECT oid FROM rel)),
  (SELECT string_agg(format('%s %s %s', tgrelid, tgname, tgenabled), ',' ORDER BY tgrelid, tgname)
     FROM pg_trigger WHERE tgrelid IN (SELECT oid FROM rel)),
  (SELECT string_agg(format('%s %s', ev_class, rulename), ',' ORDER BY ev_class, rulename)
     FROM pg_rewrite WHERE ev_class IN (SELECT oid FROM rel)),
  (SELECT string_agg(format('%s %s %s %s', oid, proname, md5(prosrc), proacl), ',' ORDER BY oid)
     FROM pg_proc WHERE pronamespace IN (SELECT oid FROM ns)),
  (SELECT string_agg(format('%s %s %s', oid, typname, typacl), ',' ORDER BY oid)
     FROM pg_type WHERE typnamespace IN (SELECT oid FROM ns) AND typrelid = 0),
  (SELECT string_agg(format('%s %s', enumtypid, enumlabel), ',' ORDER BY enumtypid, enumsortorder)
     FROM pg_enum),
  (SELECT string_agg(format('%s %s', extname, extversion), ',' ORDER BY extname) FROM pg_extension),
  (SELECT string_agg(format('%s %s', evtname, evtenabled), ',' ORDER BY evtname) FROM pg_event_trigger),
  (SELECT string_agg(format('%s %s %s', polrelid, polname, polcmd), ',' ORDER BY polrelid, polname)
     FROM pg_policy),
  (SELECT string_agg(format('%s %s %s', defaclrole, defaclnamespace, defaclacl), ',' ORDER BY oid)
     FROM pg_default_acl),
  (SELECT format('%s %s %s', datacl, datallowconn, datconnlimit)
     FROM pg_database WHERE datname = current_database()),
  (SELECT string_agg(format('%s %s', setrole, setconfig), ',' ORDER BY setrole)
     FROM pg_db_role_setting WHERE setdatabase = (SELECT oid FROM pg_database
                                                  WHERE datname = current_database())),
  (SELECT count(*) FROM pg_largeobject_metadata){kept}
)), (SELECT coalesce(sum(pg_relation_size(oid)), 0) FROM rel WHERE relkind IN ('r', 'i', 't', 'm'))
"""


def _tables_and_sequences(conn: psycopg.Connection[Any]) -> tuple[list[str], list[str], list[str]]:
    """The template copy's tables with rows, its empty tables, and its sequences, as quoted names."""
    tables = conn.execute(
        "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables "
        f"WHERE schemaname::regnamespace IN ({_USER_NAMESPACES}) ORDER BY 1"
    ).fetchall()
    with_rows: list[str] = []
    empty: list[str] = []
    for (table,) in tables:
        (has_rows,) = conn.execute(f"SELECT EXISTS (SELECT FROM {table})").fetchone() or (False,)
        (with_rows if has_rows else empty).append(table)
    sequences = conn.execute(
        "SELECT format('%I.%I', schemaname, sequencename) FROM pg_sequences ORDER BY 1"
    ).fetchall()
    return with_rows, empty, [name for (name,) in sequences]


@dataclass(frozen=True)
class CleanState:
    """What a copy of the template looks like, and the statements that bring a used one back to it."""

    query: str  # -> (fingerprint, size in bytes)
    fingerprint: str
    reset: str

    @classmethod
    def read(cls, conn: psycopg.Connection[Any]) -> CleanState:
        with_rows, empty, sequences = _tables_and_sequences(conn)
        query = fingerprint_query(with_rows)  # the rows hlb's migrations wrote are kept, and checked
        reset = "SET session_replication_role = replica;"  # no FK or user triggers: every table empties
        reset += "".join(f"DELETE FROM {table};" for table in empty)
        reset += "".join(f"ALTER SEQUENCE {sequence} RESTART;" for sequence in sequences)
        reset += "RESET session_replication_role;"
        (fingerprint, _size) = conn.execute(query).fetchone() or ("", 0)
        return cls(query=query, fingerprint=fingerprint, reset=reset)


@dataclass
class DatabasePool:
    """This worker's migrated databases: ``take`` one for a test, ``give_back`` it after."""

    admin: Callable[[], psycopg.Connection[Any]]  # the worker's maintenance connection
    url_of: Callable[[str], str]  # a database's name -> its URL
    template: str
    _free: list[str] = field(default_factory=list)
    _clean: CleanState | None = None
    reused: int = 0

    def _execute(self, statement: sql.Composed) -> None:
        self.admin().execute(statement)

    def _rename(self, old: str, new: str) -> None:
        rename = sql.SQL("ALTER DATABASE {} RENAME TO {}")
        self._execute(rename.format(sql.Identifier(old), sql.Identifier(new)))

    def take(self) -> str:
        """A database at the migration head with no rows of its own, by a name no test had."""
        name = unique_name("test")
        while self._free:
            old = self._free.pop()
            try:
                self._rename(old, name)
            except psycopg.errors.ObjectInUse:  # a client of an earlier test came back: not this one
                self._drop(old)
                continue
            self.reused += 1
            return name
        self._execute(sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
            sql.Identifier(name), sql.Identifier(self.template)))  # FILE_COPY: half the time of WAL_LOG here
        if self._clean is None:
            with psycopg.connect(self.url_of(name), autocommit=True) as conn:
                self._clean = CleanState.read(conn)
        return name

    @contextlib.contextmanager
    def lease(self) -> Iterator[str]:
        """The URL of a database taken for the block, given back after it."""
        name = self.take()
        try:
            yield self.url_of(name)
        finally:
            self.give_back(name)

    def give_back(self, name: str) -> None:
        """End ``name``'s sessions; keep it for another test if it is the template's again, else drop it."""
        try:  # waits up to 5 s for each to end (PostgreSQL 14 and later; else the drop below ends them)
            self.admin().execute(
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
        except psycopg.Error:
            self._drop(name)
            return
        if self._reset(name):
            pooled = unique_name("pool")
            try:
                self._rename(name, pooled)
            except psycopg.errors.ObjectInUse:
                self._drop(name)
                return
            self._free.append(pooled)
        else:
            self._drop(name)

    def _reset(self, name: str) -> bool:
        clean = self._clean
        if clean is None:
            return False
        try:
            with psycopg.connect(self.url_of(name), autocommit=True) as conn:
                (fingerprint, size) = conn.execute(clean.query).fetchone() or ("", 0)
                if fingerprint != clean.fingerprint or size > REUSE_LIMIT_BYTES:
                    return False
                conn.execute(clean.reset)
                return True
        except psycopg.Error:  # e.g. the test dropped it, or left it unreachable: make a new one
            return False

    def _drop(self, name: str) -> None:
        self._execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def close(self) -> None:
        """Drop the databases waiting for a test."""
        while self._free:
            self._drop(self._free.pop())
