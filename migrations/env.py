"""Alembic environment of hlb: online only, both schemas, the version table in hlb_config.

``hlb.store.db`` runs alembic programmatically and hands over an open SQLAlchemy
connection in ``config.attributes["connection"]`` (inside its transaction);
otherwise ``config.attributes["url"]`` or the ``sqlalchemy.url`` option names
the database. A transaction-level advisory lock serializes concurrent
upgrades: the second one waits, then finds the database at head.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool, text
from sqlalchemy.engine import Connection

from hlb.migrations import MIGRATION_LOCK_KEY, VERSION_TABLE, VERSION_TABLE_SCHEMA
from hlb.store.models import SCHEMAS, metadata


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Compare only hlb's own schemas (never public or other applications' tables)."""
    if type_ == "schema":
        return name in SCHEMAS
    return True


def run_migrations(connection: Connection) -> None:
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{VERSION_TABLE_SCHEMA}"'))
    context.configure(
        connection=connection,
        target_metadata=metadata,
        include_schemas=True,
        include_name=include_name,
        version_table=VERSION_TABLE,
        version_table_schema=VERSION_TABLE_SCHEMA,
        compare_type=True,
        compare_server_default=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    if context.is_offline_mode():
        raise RuntimeError("hlb migrations run online only: point alembic at a database")
    config = context.config
    given = config.attributes.get("connection")
    if given is not None:
        run_migrations(given)
        return
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL: set config.attributes['url'] or sqlalchemy.url")
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.begin() as connection:
            run_migrations(connection)
    finally:
        engine.dispose()


main()
