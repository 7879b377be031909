"""A database role for the bot: reads ``hlb_config``, writes ``hlb_runtime``, nothing else.

``hlb apply`` and the migrations run as the role that owns both schemas. The bot
needs much less: ``grant_bot`` (``hlb db grant-bot ROLE``) creates a LOGIN role
if missing and grants it exactly

- CONNECT on the database;
- USAGE on ``hlb_config`` and SELECT on its tables (any write privilege an
  earlier grant gave is revoked);
- USAGE on ``hlb_runtime``, SELECT/INSERT/UPDATE/DELETE on its tables and
  USAGE/SELECT on its sequences;
- the same through default privileges, so tables added by later migrations are
  covered (for the schema owners and the role running the command).

No CREATE on either schema. Running it again changes nothing. The bot calls
``check_bot_access`` at start to report what its role cannot do, and to warn
when the role can write ``hlb_config`` (the owner's role, or a superuser).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import psycopg
from psycopg import errors, sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from hlb.migrations import MIGRATION_LOCK_KEY
from hlb.store.db import DatabaseError, DatabaseUnavailable, SchemaBehind, connect, describe

# The same names as hlb.store.models (which imports SQLAlchemy; the CLI's hot path does not).
CONFIG_SCHEMA = "hlb_config"
RUNTIME_SCHEMA = "hlb_runtime"
SCHEMAS = (CONFIG_SCHEMA, RUNTIME_SCHEMA)

WRITES_CONFIG = "the bot's role can write hlb_config; run `hlb db grant-bot` and use that role"

_ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
# Names Postgres reserves or reads as keywords in GRANT ("public" would grant to everyone).
_RESERVED = frozenset({"public", "none", "current_user", "current_role", "session_user"})
_CONFIG_WRITES = ("INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
_RUNTIME_EXTRA = ("TRUNCATE", "REFERENCES", "TRIGGER")  # beyond the DML the bot needs
_RUNTIME_DML = ("SELECT", "INSERT", "UPDATE", "DELETE")


class BotRoleError(DatabaseError):
    """The bot's role cannot be set up: a bad name, a missing role, or a role that must not be used."""

    code = "E606"


def check_role_name(role: str) -> None:
    """Raise BotRoleError unless ``role`` is a plain lowercase identifier Postgres accepts as a role."""
    if not _ROLE_NAME.fullmatch(role):
        raise BotRoleError(
            f"{role!r} is not a usable role name: use lowercase letters, digits and _, "
            "starting with a letter or _, at most 63 characters"
        )
    if role in _RESERVED or role.startswith("pg_"):
        raise BotRoleError(f"{role!r} is reserved by Postgres: choose another role name")


def bot_url(url: str, role: str, password: str | None) -> str:
    """``url`` (an admin URL or key=value string) with ``role`` and ``password`` as the credentials:
    same host, port, database and options."""
    check_role_name(role)
    scheme, sep, _ = url.partition("://")
    if not sep or not scheme.startswith("postgres"):
        params = conninfo_to_dict(url)
        params.pop("password", None)
        params["user"] = role
        if password:
            params["password"] = password
        return make_conninfo("", **params)
    parts = urlsplit(url)
    userinfo = quote(role, safe="")
    if password:
        userinfo += ":" + quote(password, safe="")
    hostport = parts.netloc.rpartition("@")[2]
    query = "&".join(
        pair
        for pair in parts.query.split("&")
        if pair and unquote(pair.partition("=")[0]) not in ("user", "password")
    )
    return urlunsplit((parts.scheme, f"{userinfo}@{hostport}", parts.path, query, parts.fragment))


def grant_bot(url: str, role: str, *, password: str | None = None, create: bool = True) -> list[str]:
    """``hlb db grant-bot ROLE``: set up ``role`` for the bot in one transaction, as the user of
    ``url``; returns the statements run, for display (a password shows as ``'***'``)."""
    check_role_name(role)
    shown: list[str] = []
    try:
        with connect(url, autocommit=True) as conn, conn.transaction():
            _grant(conn, url, role, password, create, shown)
    except errors.InsufficientPrivilege as exc:
        raise BotRoleError(
            f"the database user at {describe(url)} may not set up role {role}: {_first_line(exc)}; "
            "run it as the owner of the hlb schemas with CREATEROLE (or as a superuser)"
        ) from exc
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(
            f"lost the connection to Postgres at {describe(url)} (nothing was changed): {_first_line(exc)}"
        ) from exc
    return shown


def check_bot_access(conn: psycopg.Connection[Any]) -> list[str]:
    """What the connection's role lacks to run the bot; empty when it has exactly what it needs.

    ``WRITES_CONFIG`` among them is a warning, not a lack: the role can write hlb_config."""
    schemas = conn.execute(_SCHEMAS_QUERY, (None, list(SCHEMAS))).fetchall()
    relations = conn.execute(_RELATIONS_QUERY, (None, list(SCHEMAS))).fetchall()
    who = conn.execute("SELECT current_user").fetchone()
    return _problems(str(who[0]) if who else "?", schemas, relations)


async def check_bot_access_async(conn: psycopg.AsyncConnection[Any]) -> list[str]:
    """``check_bot_access`` on the bot's asyncio connection."""
    schemas = await (await conn.execute(_SCHEMAS_QUERY, (None, list(SCHEMAS)))).fetchall()
    relations = await (await conn.execute(_RELATIONS_QUERY, (None, list(SCHEMAS)))).fetchall()
    who = await (await conn.execute("SELECT current_user")).fetchone()
    return _problems(str(who[0]) if who else "?", schemas, relations)


# -- granting -----------------------------------------------------------------------------------


def _grant(
    conn: psycopg.Connection[Any],
    url: str,
    role: str,
    password: str | None,
    create: bool,
    shown: list[str],
) -> None:
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
    owners = dict(
        conn.execute(
            "SELECT nspname, pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = ANY(%s)",
            (list(SCHEMAS),),
        ).fetchall()
    )
    missing = [s for s in SCHEMAS if s not in owners]
    if missing:
        raise SchemaBehind(
            f"the database at {describe(url)} has no {' or '.join(missing)} schema: "
            "run `hlb db upgrade` (or `hlb apply`) first"
        )
    target = sql.Identifier(role)
    if password:  # hashed as libpq does (the server's password_encryption): no clear text is sent
        password = conn.pgconn.encrypt_password(password.encode(), role.encode()).decode()
    found = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    if found is None:
        if not create:
            raise BotRoleError(
                f"role {role} does not exist on the server at {describe(url)}: "
                "create it (CREATE ROLE ... LOGIN), or let grant-bot create it"
            )
        _run(conn, shown, sql.SQL("CREATE ROLE {} LOGIN").format(target), password)
    else:
        _refuse_unsafe(conn, url, role, bool(found[0]))
        if password:
            _run(conn, shown, sql.SQL("ALTER ROLE {}").format(target), password)

    database = conn.execute("SELECT current_database()").fetchone()
    assert database is not None
    config, runtime = sql.Identifier(CONFIG_SCHEMA), sql.Identifier(RUNTIME_SCHEMA)
    maintain = ("MAINTAIN",) if conn.info.server_version >= 170000 else ()
    config_writes = _privileges((*_CONFIG_WRITES, *maintain))
    runtime_extra = _privileges((*_RUNTIME_EXTRA, *maintain))
    dml = _privileges(_RUNTIME_DML)
    statements = [
        sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database[0]), target),
        sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(config, target),
        sql.SQL("REVOKE CREATE ON SCHEMA {} FROM {}").format(config, target),
        sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(config, target),
        sql.SQL("REVOKE {} ON ALL TABLES IN SCHEMA {} FROM {}").format(config_writes, config, target),
        sql.SQL("REVOKE ALL ON ALL SEQUENCES IN SCHEMA {} FROM {}").format(config, target),
        sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(runtime, target),
        sql.SQL("REVOKE CREATE ON SCHEMA {} FROM {}").format(runtime, target),
        sql.SQL("GRANT {} ON ALL TABLES IN SCHEMA {} TO {}").format(dml, runtime, target),
        sql.SQL("REVOKE {} ON ALL TABLES IN SCHEMA {} FROM {}").format(runtime_extra, runtime, target),
        sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {} TO {}").format(runtime, target),
    ]
    for creator in _creators(conn, owners.values()):
        by = sql.Identifier(creator)
        in_config = sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {}").format(by, config)
        in_runtime = sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {}").format(by, runtime)
        statements += [
            sql.SQL("{} GRANT SELECT ON TABLES TO {}").format(in_config, target),
            sql.SQL("{} REVOKE {} ON TABLES FROM {}").format(in_config, config_writes, target),
            sql.SQL("{} GRANT {} ON TABLES TO {}").format(in_runtime, dml, target),
            sql.SQL("{} GRANT USAGE, SELECT ON SEQUENCES TO {}").format(in_runtime, target),
        ]
    for statement in statements:
        _run(conn, shown, statement)

    # What the role can do now, through every grant, membership and PUBLIC: exactly the plan?
    schemas = conn.execute(_SCHEMAS_QUERY, (role, list(SCHEMAS))).fetchall()
    relations = conn.execute(_RELATIONS_QUERY, (role, list(SCHEMAS))).fetchall()
    problems = _problems(role, schemas, relations, writes=_writable(role, relations))
    if problems:
        raise BotRoleError(
            f"role {role} still cannot be used for the bot (nothing was changed): " + "; ".join(problems)
        )


def _refuse_unsafe(conn: psycopg.Connection[Any], url: str, role: str, superuser: bool) -> None:
    """A superuser, or a role that owns the hlb objects (or may act as their owner), must not be
    the bot's: no grant restrains it, and revoking from the owner would break `hlb apply`."""
    if superuser:
        raise BotRoleError(
            f"role {role} is a superuser: no grant can keep it from writing hlb_config; "
            "give the bot a role of its own"
        )
    owner = conn.execute(
        """
        SELECT pg_get_userbyid(o.owner) FROM (
            SELECT nspowner AS owner FROM pg_namespace WHERE nspname = ANY(%(schemas)s)
            UNION
            SELECT c.relowner FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = ANY(%(schemas)s)
        ) o
        WHERE pg_has_role(%(role)s::name, o.owner, 'MEMBER')
        ORDER BY 1 LIMIT 1
        """,
        {"schemas": list(SCHEMAS), "role": role},
    ).fetchone()
    if owner is not None:
        how = "owns" if owner[0] == role else f"is a member of {owner[0]}, which owns"
        raise BotRoleError(
            f"role {role} {how} the hlb schemas at {describe(url)}: that is the role `hlb apply` "
            "and migrations use; give the bot a role of its own"
        )


def _creators(conn: psycopg.Connection[Any], owners: Iterable[str]) -> list[str]:
    """The roles that create hlb tables (schema owners, and the user running the migrations now)
    whose default privileges this user may set."""
    rows = conn.execute(
        "SELECT r FROM unnest(%s::name[] || current_user) AS r "
        "WHERE pg_has_role(current_user, r, 'MEMBER') GROUP BY r ORDER BY r",
        (sorted(set(owners)),),
    ).fetchall()
    return [str(r[0]) for r in rows]


def _privileges(names: Sequence[str]) -> sql.Composable:
    return sql.SQL(", ").join(sql.SQL(name) for name in names)


def _run(
    conn: psycopg.Connection[Any], shown: list[str], statement: sql.Composed, password: str | None = None
) -> None:
    """Run ``statement`` (with ``PASSWORD`` appended when ``password`` is set: already hashed) and
    note it for display, the password masked."""
    display = statement
    if password:
        display = sql.SQL("{} PASSWORD '***'").format(statement)
        statement = sql.SQL("{} PASSWORD {}").format(statement, sql.Literal(password))
    conn.execute(statement)
    shown.append(display.as_string(conn))


# -- checking -----------------------------------------------------------------------------------

_SCHEMAS_QUERY = """
    SELECT n.nspname, has_schema_privilege(w.who, n.oid, 'USAGE')
    FROM pg_namespace n CROSS JOIN (SELECT coalesce(%s::name, current_user) AS who) w
    WHERE n.nspname = ANY(%s)
"""

# Per relation: (schema, name, kind, select, insert, update, delete, truncate, usage).
_RELATIONS_QUERY = """
    SELECT n.nspname, c.relname, c.relkind,
        CASE WHEN c.relkind = 'S' THEN has_sequence_privilege(w.who, c.oid, 'SELECT')
             ELSE has_table_privilege(w.who, c.oid, 'SELECT') END,
        c.relkind <> 'S' AND has_table_privilege(w.who, c.oid, 'INSERT'),
        CASE WHEN c.relkind = 'S' THEN has_sequence_privilege(w.who, c.oid, 'UPDATE')
             ELSE has_table_privilege(w.who, c.oid, 'UPDATE') END,
        c.relkind <> 'S' AND has_table_privilege(w.who, c.oid, 'DELETE'),
        c.relkind <> 'S' AND has_table_privilege(w.who, c.oid, 'TRUNCATE'),
        c.relkind = 'S' AND has_sequence_privilege(w.who, c.oid, 'USAGE')
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    CROSS JOIN (SELECT coalesce(%s::name, current_user) AS who) w
    WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
    ORDER BY n.nspname, c.relname
"""


def _problems(
    role: str,
    schemas: Sequence[Sequence[Any]],
    relations: Sequence[Sequence[Any]],
    *,
    writes: list[str] | None = None,
) -> list[str]:
    fix = f"run `hlb db grant-bot {role}` as the owner of the hlb schemas"
    usable = {str(name): bool(usage) for name, usage in schemas}
    problems = []
    for schema in SCHEMAS:
        if schema not in usable:
            problems.append(f"the database has no {schema} schema: run `hlb db upgrade`")
        elif not usable[schema]:
            problems.append(f"role {role} may not use schema {schema}: {fix}")
    lacks: dict[str, list[str]] = {}
    for schema, name, kind, select, insert, update, delete, _truncate, usage in relations:
        table = f"{schema}.{name}"
        if schema == CONFIG_SCHEMA and kind == "S":
            continue  # hlb apply's sequences: the bot needs none
        needed = {"read": select}
        if schema == RUNTIME_SCHEMA:
            if kind == "S":
                needed = {"use the sequence": usage and select}
            elif kind in ("r", "p"):
                needed.update({"insert into": insert, "update": update, "delete from": delete})
        for what, granted in needed.items():
            if not granted:
                lacks.setdefault(what, []).append(table)
    for what, tables in lacks.items():
        problems.append(f"role {role} may not {what} {', '.join(tables)}: {fix}")
    if writes is not None:
        if writes:
            problems.append(
                f"role {role} can still write {', '.join(writes)} (through PUBLIC or a role "
                "it is a member of): revoke that grant or membership"
            )
    elif _writable(role, relations):
        problems.append(WRITES_CONFIG)
    return problems


def _writable(role: str, relations: Sequence[Sequence[Any]]) -> list[str]:
    """The hlb_config relations ``role`` may change (any of INSERT, UPDATE, DELETE, TRUNCATE)."""
    return [
        f"{schema}.{name}"
        for schema, name, kind, _select, insert, update, delete, truncate, _usage in relations
        if schema == CONFIG_SCHEMA and kind != "S" and (insert or update or delete or truncate)
    ]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
