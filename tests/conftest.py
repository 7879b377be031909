"""Shared database fixtures: one Postgres per session, a migrated template, a fresh database per test.

The session starts hlb's own embedded Postgres in a temporary ``HLB_HOME``
(or uses ``HLB_TEST_DATABASE_URL``, a maintenance database on a server where
the user may create databases). A database migrated to head is built once and
used as a template. Each test gets a database of its own, copied from the
template or, when an earlier test left one the template's again, that one
emptied and renamed (tests/database_pool.py). Nothing is mocked.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import bytecode
import psycopg
import pytest
from database_pool import DatabasePool, unique_name
from psycopg import sql

from hlb.store import db, embedded

pytest_plugins = ["hlb.testing.pytest_plugin", "cpu_durations"]

bytecode.write_bytecode()  # before the workers and the test modules: see tests/bytecode.py

# Bots started by tests (`hlb bot run`, in-process or as processes) serve their metrics on a free
# port, never on the default 9464 that concurrent test runs would fight over.
os.environ.setdefault("HLB_METRICS_ADDR", "127.0.0.1:0")


def database_url(url: str, database: str) -> str:
    """``url`` pointing at another database on the same server."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + quote(database), parts.query, parts.fragment))


def _admin(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(url, autocommit=True)


_ADMIN: dict[str, psycopg.Connection[Any]] = {}


def admin_connection(url: str) -> psycopg.Connection[Any]:
    """This process's one maintenance connection to ``url``: a connection costs the server ~5 ms of CPU,
    and every test database took two (create, drop). A closed or broken one is replaced."""
    conn = _ADMIN.get(url)
    if conn is None or conn.closed or conn.broken:
        conn = _ADMIN[url] = _admin(url)
    return conn


def _close_admin_connections() -> None:
    while _ADMIN:
        _ADMIN.popitem()[1].close()


PACKAGES = ("hlb", "compiler", "reconciler", "bot", "migrations")  # the folders of the hlb package

# Tests that take many seconds (a subprocess, a browser, mypy): they run first, so that the
# workers of `pytest -n` start them early and finish together instead of one waiting on the last.
# `--maxschedchunk=1` (pyproject.toml) makes xdist hand them out one by one: by default the first
# worker got the first quarter of the collection in one chunk, all of these in it.
LONG_TESTS = (
    "test_quality.py::test_mypy_is_clean",
    "test_getting_started.py::test_walk_the_getting_started_guide",
    "test_preview.py::test_the_pages_render_in_headless_chromium",
    "test_loader_differential.py::test_both_paths_read_back_what_ruamel_wrote",
    "test_first_hour.py::test_an_install_from_git_pins_the_workflow_and_the_version",
    "test_first_hour.py::test_the_embedded_database_lifecycle",
    "test_bot_database.py::test_hlb_bot_run_rides_out_a_database_restart",
    "test_reference_apply.py::test_reference_apply_writes_the_rows_hlb_apply_writes",
    "test_embedded_security.py::test_the_first_command_after_the_server_died_starts_it_again",
    "test_schema.py::test_mutations_get_the_same_verdict_on_both_paths",
    "test_status_live.py::test_a_slow_reconcile_shows_progress_on_a_terminal",
)


def pytest_configure(config: pytest.Config) -> None:
    """In each worker, before collection: write its share of the byte code (tests/bytecode.py)."""
    root = Path(__file__).resolve().parent.parent
    sources = [p for package in PACKAGES for p in (root / package).rglob("*.py")]
    in_tests = list((root / "tests").glob("*.py"))
    tests = [p for p in in_tests if p.name.startswith("test_") or p.name == "conftest.py"]
    helpers = [p for p in in_tests if p not in tests]
    bytecode.compile_share(config, sources + helpers, tests)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: one worker per core and one more. A third of a worker's time is waiting (bots,
    timeouts, PostgreSQL), so on CI's two cores a third worker fills it: 96 s against 116-122 s."""
    return len(os.sched_getaffinity(0)) + 1


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Move the tests named in ``LONG_TESTS`` to the front, in that order; the rest keep theirs."""
    rank = {name: i for i, name in enumerate(LONG_TESTS)}

    def key(item: pytest.Item) -> int:
        name = f"{item.path.name}::{item.name.split('[')[0]}"
        return rank.get(name, len(rank))

    items.sort(key=key)  # stable


@pytest.fixture(scope="session")
def pg_admin_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
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
    _close_admin_connections()
    if (cpu := request.config.pluginmanager.get_plugin("cpu_durations")) is not None:
        cpu.note_server(request.config, server.pid)  # --cpu-durations counts the server's CPU too
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


def new_pool(admin_url: str, template: str) -> DatabasePool:
    """A pool of databases copied from ``template`` on the server of ``admin_url``."""
    return DatabasePool(
        lambda: admin_connection(admin_url), lambda name: database_url(admin_url, name), template)


@pytest.fixture(scope="session")
def database_pool(pg_admin_url: str, template_db: str) -> Iterator[DatabasePool]:
    """This worker's migrated test databases, used again when a test leaves one as it found it."""
    pool = new_pool(pg_admin_url, template_db)
    yield pool
    pool.close()


@pytest.fixture
def empty_db_url(pg_admin_url: str) -> Iterator[str]:
    """A fresh database with nothing in it (not migrated)."""
    with _fresh_database(pg_admin_url) as url:
        yield url


@pytest.fixture
def db_url(database_pool: DatabasePool) -> Iterator[str]:
    """A database of its own at the migration head, with no rows but those the migrations wrote."""
    with database_pool.lease() as url:
        yield url


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection[Any]]:
    """A connection to ``db_url`` (not autocommit: the test decides when to commit)."""
    with db.connect(db_url) as connection:
        yield connection


@contextlib.contextmanager
def _fresh_database(admin_url: str) -> Iterator[str]:
    """An empty database (CREATE DATABASE), dropped WITH (FORCE) afterwards; a migrated one is
    ``db_url``'s, from the pool."""
    name = unique_name("test")
    admin_connection(admin_url).execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield database_url(admin_url, name)
    finally:
        drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        admin_connection(admin_url).execute(drop)


@pytest.fixture
def deep_dir(tmp_path: Path) -> Path:
    """A working directory whose path is far longer than a unix socket path may be."""
    path = tmp_path.joinpath(*(["a-rather-long-directory-name"] * 6), "with space")
    path.mkdir(parents=True)
    return path


def pytest_collection_finish(session: pytest.Session) -> None:
    """Keep the garbage collector off what collection built, and run it less often.

    A worker holds about a million long-lived objects (hypothesis, SQLAlchemy, disnake, every test
    module); each full collection walked them all, about 8% of a worker's CPU. Frozen, they are
    never walked again; a larger first generation makes young collections rarer. Together about
    4 s of the suite's CPU. Only the test process is tuned: hlb's library code never touches gc.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
