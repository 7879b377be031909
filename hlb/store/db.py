"""Database access: resolve the URL (embedded by default), connect, keep the schema at head.

Every command goes through ``resolve_url`` -> ``ensure_schema`` -> ``connect``.
On the hot path this costs one short connection and two tiny queries: the
database's alembic revision is compared with ``hlb.migrations.HEAD`` using
plain SQL, and alembic/SQLAlchemy are imported only when an upgrade is due.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import orjson
import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.types.json import set_json_dumps, set_json_loads

from hlb.migrations import HEAD, REVISIONS, VERSION_TABLE, VERSION_TABLE_SCHEMA, script_location
from hlb.settings import Settings, redact_url

CONNECT_TIMEOUT = 10  # seconds, unless the URL says otherwise
# The bot's sessions live for days: over TCP, a dead peer or a silent network is noticed
# within about 10 s instead of the kernel's hours (libpq ignores these on unix sockets).
BOT_KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,  # milliseconds unacknowledged data may wait
}
# alembic keeps its migration context in module globals: one upgrade at a time per process.
# Across processes, env.py's advisory lock serializes them.
_ALEMBIC = threading.Lock()


class DatabaseError(Exception):
    """A database problem to show the user; ``code`` is its diagnostic code."""

    code = "E605"


class DatabaseUnavailable(DatabaseError):
    """The database cannot be reached (or the embedded one cannot be started)."""

    code = "E605"


class InvalidDatabaseUrl(DatabaseUnavailable):
    """The database URL itself is unusable: no wait or retry makes it reachable."""


class SchemaAhead(DatabaseError):
    """The database was migrated by a newer hlb than this one."""

    code = "E603"


class SchemaBehind(DatabaseError):
    """The database is not at this hlb's migration head and upgrading was not allowed."""

    code = "E603"


def resolve_url(settings: Settings | None = None) -> str:
    """The configured database URL, or the embedded Postgres's (started on demand)."""
    settings = settings if settings is not None else Settings.from_env()
    if settings.database_url is not None:
        return settings.database_url
    from hlb.store.embedded import EmbeddedPostgresError, embedded_url

    try:
        return embedded_url(settings.hlb_home)
    except EmbeddedPostgresError as exc:
        raise DatabaseUnavailable(str(exc)) from exc


def describe(url: str) -> str:
    """Where ``url`` points, for messages: host, port, database and user; never the password."""
    try:
        params = conninfo_to_dict(url)
    except psycopg.Error:
        return redact_url(url)
    host = str(params.get("host") or params.get("hostaddr") or "localhost")
    where = f"socket {host}" if host.startswith("/") else f"{host}:{params.get('port') or 5432}"
    dbname = params.get("dbname") or params.get("user") or "postgres"
    user = f" as {params['user']}" if params.get("user") else ""
    return f"{where}, database {dbname}{user}"


def connect(url: str, *, autocommit: bool = False, application: str = "hlb") -> psycopg.Connection[Any]:
    """A psycopg connection, JSON handled by orjson; DatabaseUnavailable when unreachable.

    ``application`` is its ``application_name`` unless the URL sets one: what a
    waiting apply shows as the holder of the apply lock."""
    params, extra = _options(url, application)
    try:
        conn = psycopg.connect(url, autocommit=autocommit, **extra)
    except psycopg.OperationalError as exc:
        raise _unreachable(url, params, exc) from exc
    return _with_json(conn)


async def connect_async(
    url: str, *, autocommit: bool = True, role: str | None = None
) -> psycopg.AsyncConnection[Any]:
    """The bot's asyncio connection, set up like ``connect`` with TCP keepalives; its
    application_name is ``hlb-bot`` (``hlb-bot <role>``); DatabaseUnavailable when unreachable."""
    params, extra = _options(url, f"hlb-bot {role}" if role else "hlb-bot")
    extra |= {k: v for k, v in BOT_KEEPALIVES.items() if k not in params}
    try:
        conn = await psycopg.AsyncConnection.connect(url, autocommit=autocommit, **extra)
    except psycopg.OperationalError as exc:
        raise _unreachable(url, params, exc) from exc
    return _with_json(conn)


def _options(url: str, application: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The URL's parameters, and the connect options hlb adds unless the URL sets them."""
    try:
        params = conninfo_to_dict(url)
    except psycopg.Error as exc:  # psycopg's message may quote the password: do not repeat it
        raise InvalidDatabaseUrl(
            f"the database URL {redact_url(url)} is not a valid Postgres URL or connection string"
        ) from exc
    defaults = {"connect_timeout": CONNECT_TIMEOUT, "application_name": application}
    return params, {k: v for k, v in defaults.items() if k not in params}


def lost_connection(exc: BaseException) -> bool:
    """Whether ``exc`` is the database going away in the middle of a command (the transaction is gone)."""
    return isinstance(exc, psycopg.OperationalError)


def _unreachable(url: str, params: dict[str, Any], exc: Exception) -> DatabaseUnavailable:
    return DatabaseUnavailable(f"cannot connect to Postgres at {describe(url)}: {safe_reason(url, exc)}")


def safe_reason(url: str, exc: BaseException) -> str:
    """``exc``'s message on one line, for logs: never the password of ``url``."""
    try:
        password = conninfo_to_dict(url).get("password")
    except psycopg.Error:
        password = None
    return _scrub(str(exc), str(password) if password else None)


C = TypeVar("C", psycopg.Connection[Any], psycopg.AsyncConnection[Any])


def _with_json(conn: C) -> C:
    set_json_dumps(json_dumps, conn)
    set_json_loads(orjson.loads, conn)
    return conn


def json_dumps(value: Any) -> bytes:
    """orjson, with the standard library as fallback for what orjson refuses (huge ints)."""
    try:
        return orjson.dumps(value, default=_plain)
    except TypeError:
        return json.dumps(value, default=_plain, ensure_ascii=False).encode()


def sqlalchemy_url(url: str) -> str:
    """``url`` for SQLAlchemy's psycopg 3 dialect (``postgresql+psycopg://``)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if url.startswith("postgresql+"):
        return url
    raise InvalidDatabaseUrl(f"{redact_url(url)} is not a postgresql:// URL")


def current_revision(conn: psycopg.Connection[Any]) -> str | None:
    """The database's alembic revision; None for a database hlb never migrated."""
    table = f"{VERSION_TABLE_SCHEMA}.{VERSION_TABLE}"
    found = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
    if not found or not found[0]:
        return None
    rows = conn.execute(f"SELECT version_num FROM {table} ORDER BY version_num").fetchall()
    if not rows:
        return None
    return ",".join(str(r[0]) for r in rows)


def current(url: str) -> str | None:
    """``hlb db current``: the revision the database is at."""
    with connect(url, autocommit=True) as conn:
        return current_revision(conn)


def ensure_schema(url: str, *, upgrade: bool = True, echo: Callable[[str], Any] = print) -> None:
    """Make sure the database is at this hlb's migration head.

    Behind (or empty): upgrade it and say so in one line (``upgrade=False``:
    raise SchemaBehind instead). Ahead or unknown: raise SchemaAhead."""
    revision = current(url)
    if revision == HEAD:
        return
    check_known(revision, url)
    if not upgrade:
        raise _behind(revision, url)
    run_upgrade(url, echo=echo)


def readable(conn: psycopg.Connection[Any], url: str) -> bool:
    """For read-only commands on an open connection: False when hlb never touched the database,
    True at the migration head; SchemaBehind or SchemaAhead otherwise (never migrates)."""
    revision = current_revision(conn)
    if revision is None:
        return False
    if revision != HEAD:
        check_known(revision, url)
        raise _behind(revision, url)
    return True


def _behind(revision: str | None, url: str) -> SchemaBehind:
    return SchemaBehind(
        f"the database at {describe(url)} is at schema revision {revision or '(empty)'}, "
        f"this hlb needs {HEAD}: run `hlb db upgrade` (or `hlb apply`, which upgrades)"
    )


def run_upgrade(url: str, *, echo: Callable[[str], Any] = print) -> tuple[str | None, str]:
    """``hlb db upgrade``: migrate to head; returns (before, after) and echoes the change."""
    with _ALEMBIC:
        before = current(url)
        check_known(before, url)
        if before == HEAD:
            return before, HEAD
        from alembic import command
        from sqlalchemy import create_engine, pool

        engine = create_engine("postgresql+psycopg://", creator=lambda: connect(url), poolclass=pool.NullPool)
        try:
            with engine.begin() as connection:
                config = alembic_config()
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        finally:
            engine.dispose()
    echo(f"database upgraded from {before or 'empty'} to {HEAD}")
    return before, HEAD


def check_known(revision: str | None, url: str) -> None:
    """Raise SchemaAhead when ``revision`` is not one of this hlb's migrations."""
    if revision is not None and revision not in REVISIONS:
        from hlb import __version__

        raise SchemaAhead(
            f"the database at {describe(url)} is at schema revision {revision}, which this hlb "
            f"({__version__}, newest revision {HEAD}) does not know: a newer hlb migrated it; "
            "upgrade hlb to use this database"
        )


def alembic_config(url: str | None = None) -> Any:
    """An alembic Config built in code (no alembic.ini): hlb's migrations, optionally a URL."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(script_location()))
    if url is not None:
        config.attributes["url"] = sqlalchemy_url(url)
    return config


def _scrub(text: str, password: str | None) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    message = "; ".join(lines) or "connection failed"
    if password:
        message = message.replace(password, "***")
    return message


def _plain(value: Any) -> Any:
    if hasattr(value, "items"):
        return dict(value.items())
    if isinstance(value, (tuple, set, frozenset)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
