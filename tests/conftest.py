"""Shared database fixtures: one Postgres per session, a migrated template, a fresh database per test.

The session starts hlb's own embedded Postgres in a temporary ``HLB_HOME``
(or uses ``HLB_TEST_DATABASE_URL``, a maintenance database on a server where
the user may create databases). A database migrated to head is built once and
used as a template: each test gets ``CREATE DATABASE ... TEMPLATE`` (a few ms)
and it is dropped afterwards. Nothing is mocked.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

from hlb.store import db, embedded

pytest_plugins = ["hlb.testing.pytest_plugin"]

_counter = itertools.count()
# Bots started by tests (`hlb bot run`, in-process or as processes) serve their metrics on a free
# port, never on the default 9464 that concurrent test runs would fight over.
os.environ.setdefault("HLB_METRICS_ADDR", "127.0.0.1:0")


def database_url(url: str, database: str) -> str:
    """``url`` pointing at another database on the same server."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + quote(database), parts.query, parts.fragment))


def _admin(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(url, autocommit=True)


@pytest.fixture(scope="session")
def pg_admin_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A maintenance-database URL on the session's Postgres server."""
    given = os.environ.get("HLB_TEST_DATABASE_URL")
    if given:
        yield given
        return
    home = tmp_path_factory.mktemp("hlb-home")
    server = embedded.ensure_running(home)
    with _admin(server.url("postgres")) as conn:  # a test server: durability is not needed
        for setting in ("fsync", "synchronous_commit", "full_page_writes"):
            conn.execute(sql.SQL("ALTER SYSTEM SET {} = off").format(sql.Identifier(setting)))
        conn.execute("SELECT pg_reload_conf()")
    yield server.url("postgres")
    embedded.stop(home)


@pytest.fixture(scope="session")
def template_db(pg_admin_url: str) -> Iterator[str]:
    """The name of a database migrated to head, used as the template of every test database."""
    name = f"hlb_template_{os.getpid()}"
    with _admin(pg_admin_url) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    db.ensure_schema(database_url(pg_admin_url, name), echo=lambda _: None)
    yield name
    with _admin(pg_admin_url) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def empty_db_url(pg_admin_url: str) -> Iterator[str]:
    """A fresh database with nothing in it (not migrated)."""
    with _fresh_database(pg_admin_url, None) as url:
        yield url


@pytest.fixture
def db_url(pg_admin_url: str, template_db: str) -> Iterator[str]:
    """A fresh database at the migration head, dropped after the test."""
    with _fresh_database(pg_admin_url, template_db) as url:
        yield url


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection[Any]]:
    """A connection to ``db_url`` (not autocommit: the test decides when to commit)."""
    with db.connect(db_url) as connection:
        yield connection


@contextlib.contextmanager
def _fresh_database(admin_url: str, template: str | None) -> Iterator[str]:
    """CREATE DATABASE (optionally from a template), DROP ... WITH (FORCE) afterwards."""
    name = f"hlb_test_{os.getpid()}_{next(_counter)}"
    create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    with _admin(admin_url) as conn:
        if template is not None:
            create = sql.SQL("{} TEMPLATE {}").format(create, sql.Identifier(template))
        conn.execute(create)
    try:
        yield database_url(admin_url, name)
    finally:
        with _admin(admin_url) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def deep_dir(tmp_path: Path) -> Path:
    """A working directory whose path is far longer than a unix socket path may be."""
    path = tmp_path.joinpath(*(["a-rather-long-directory-name"] * 6), "with space")
    path.mkdir(parents=True)
    return path
