"""Migrations: head matches alembic, upgrade/downgrade work, and they build exactly hlb.store.models."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool

from hlb import migrations
from hlb.store import db
from hlb.store.models import SCHEMAS, metadata


def engine_for(url: str) -> Any:
    connect = lambda: psycopg.connect(url)  # noqa: E731
    return create_engine("postgresql+psycopg://", creator=connect, poolclass=pool.NullPool)


def test_head_constant_matches_alembic() -> None:
    script = ScriptDirectory.from_config(db.alembic_config())
    assert script.get_current_head() == migrations.HEAD
    history = [rev.revision for rev in script.walk_revisions()]  # newest first
    assert tuple(reversed(history)) == migrations.REVISIONS


CATALOG = {
    "columns": """
        SELECT table_schema, table_name, column_name, ordinal_position, data_type, is_nullable,
               column_default, is_identity, identity_generation
        FROM information_schema.columns
        WHERE table_schema = ANY(%(s)s) AND table_name <> 'alembic_version'""",
    "constraints": """
        SELECT n.nspname, c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid),
               c.condeferrable, c.condeferred
        FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
        WHERE n.nspname = ANY(%(s)s) AND c.conrelid::regclass::text NOT LIKE '%%alembic_version'""",
    "indexes": """
        SELECT schemaname, tablename, indexname, indexdef FROM pg_indexes
        WHERE schemaname = ANY(%(s)s) AND tablename <> 'alembic_version'""",
    "schemas": "SELECT nspname FROM pg_namespace WHERE nspname = ANY(%(s)s)",
}


def read_catalog(execute: Callable[[str, dict[str, Any]], Any]) -> dict[str, list[Any]]:
    """Everything that defines hlb's schemas, as Postgres itself describes it."""
    schemas = {"s": list(SCHEMAS)}
    return {name: sorted(execute(q, schemas).fetchall(), key=repr) for name, q in CATALOG.items()}


def catalog(url: str) -> dict[str, list[Any]]:
    with psycopg.connect(url) as conn:
        return read_catalog(conn.execute)


def modeled_catalog(url: str) -> dict[str, list[Any]]:
    """The catalog of an empty database given hlb.store.models by ``metadata.create_all``."""
    engine = engine_for(url)
    with engine.begin() as conn:
        for schema in SCHEMAS:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        metadata.create_all(conn)
    engine.dispose()
    return catalog(url)


def autogenerate_differences(conn: Any) -> list[Any]:
    """What alembic's autogenerate would change to make the database equal hlb.store.models."""
    ctx = MigrationContext.configure(conn, opts={
        "include_schemas": True,
        "include_name": lambda name, type_, _: name in SCHEMAS if type_ == "schema" else True,
        "version_table_schema": migrations.VERSION_TABLE_SCHEMA,
        "compare_type": True,
        "compare_server_default": True,
    })
    return list(compare_metadata(ctx, metadata))


def test_migrations_build_exactly_the_models(empty_db_url: str, db_url: str) -> None:
    migrated, modeled = catalog(db_url), modeled_catalog(empty_db_url)  # alembic vs create_all
    for part in migrated:
        assert migrated[part] == modeled[part], part
    assert len(migrated["constraints"]) > 40


def test_alembic_check_reports_no_differences(db_url: str) -> None:
    command.check(db.alembic_config(db_url))  # raises when models and migrations differ
    engine = engine_for(db_url)
    with engine.connect() as conn:
        assert autogenerate_differences(conn) == []
    engine.dispose()


# Differences between the database and hlb.store.models, with the check that must report each:
# alembic's autogenerate (types, nullability, server defaults, indexes, columns) or, for what
# alembic does not compare (CHECK constraints, deferrability), the catalog comparison above.
DRIFTS = [
    ("alembic", "ALTER TABLE hlb_runtime.bindings ALTER COLUMN attempts SET DEFAULT 1"),
    ("alembic", "ALTER TABLE hlb_config.channels ALTER COLUMN topic TYPE varchar(100)"),
    ("alembic", "ALTER TABLE hlb_config.channels ALTER COLUMN topic SET NOT NULL"),
    ("alembic", "DROP INDEX hlb_config.channels_guild_category_idx"),
    ("alembic", "CREATE INDEX extra_idx ON hlb_config.commands (description)"),
    ("alembic", "ALTER TABLE hlb_config.guilds ADD COLUMN note text"),
    ("catalog", "ALTER TABLE hlb_config.commands DROP CONSTRAINT commands_reply_or_workflow_check"),
    ("catalog", "ALTER TABLE hlb_config.channels ALTER CONSTRAINT channels_guild_fkey NOT DEFERRABLE"),
]


def test_every_kind_of_drift_is_reported(empty_db_url: str, db_url: str) -> None:
    modeled = modeled_catalog(empty_db_url)
    engine = engine_for(db_url)
    with engine.connect() as conn:
        for check, drift in DRIFTS:
            with conn.begin() as tx:  # Postgres DDL is transactional: each drift is undone after
                conn.exec_driver_sql(drift)
                seen = read_catalog(conn.exec_driver_sql)
                found = autogenerate_differences(conn)
                tx.rollback()
            assert found if check == "alembic" else seen != modeled, drift
        assert autogenerate_differences(conn) == []
    engine.dispose()


def test_upgrade_downgrade_upgrade(empty_db_url: str) -> None:
    lines: list[str] = []
    assert db.current(empty_db_url) is None
    db.ensure_schema(empty_db_url, echo=lines.append)
    assert lines == [f"database upgraded from empty to {migrations.HEAD}"]
    assert db.current(empty_db_url) == migrations.HEAD

    command.downgrade(db.alembic_config(empty_db_url), "base")
    assert db.current(empty_db_url) is None
    with psycopg.connect(empty_db_url) as conn:
        left = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ANY(%s)", (list(SCHEMAS),)
        ).fetchall()
    assert left == [("alembic_version",)]  # the version table stays, in hlb_config

    db.run_upgrade(empty_db_url, echo=lines.append)
    assert db.current(empty_db_url) == migrations.HEAD
    assert lines[-1] == f"database upgraded from empty to {migrations.HEAD}"
    command.check(db.alembic_config(empty_db_url))


def test_concurrent_upgrades_serialize(empty_db_url: str) -> None:
    """Two hlb processes (and two threads of one) upgrading an empty database at once."""
    code = "import sys; from hlb.store import db; db.ensure_schema(sys.argv[1], echo=lambda _: None)"
    procs = [subprocess.Popen([sys.executable, "-c", code, empty_db_url], stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    errors: list[BaseException] = []

    def run() -> None:
        try:
            db.ensure_schema(empty_db_url, echo=lambda _: None)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    for p in procs:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    assert db.current(empty_db_url) == migrations.HEAD


def test_offline_mode_is_refused(db_url: str) -> None:
    with pytest.raises(RuntimeError, match="online only"):
        command.upgrade(db.alembic_config(db_url), "head", sql=True)


def identity(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT id::text FROM hlb_config.database_identity").fetchall()


def test_0004_gives_an_existing_database_one_identity_of_its_own(empty_db_url: str, db_url: str) -> None:
    command.upgrade(db.alembic_config(empty_db_url), "0003")
    with psycopg.connect(empty_db_url) as conn:  # a database in use before 0004
        conn.execute(
            "INSERT INTO hlb_config.revisions (author, snapshot, summary) VALUES ('old', '[]', '{}')"
        )
    db.ensure_schema(empty_db_url, echo=lambda _: None)
    ours = identity(empty_db_url)
    assert len(ours) == 1 and len(ours[0][0]) == 36
    assert ours != identity(db_url)  # another database (migrated on its own) has another id
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT author FROM hlb_config.revisions").fetchall() == [("old",)]
    command.downgrade(db.alembic_config(empty_db_url), "0003")
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT to_regclass('hlb_config.database_identity')").fetchone() == (None,)
