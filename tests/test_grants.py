"""The bot's database role against a real PostgreSQL: reads hlb_config, writes hlb_runtime, nothing else."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import errors, sql
from psycopg.conninfo import conninfo_to_dict

from hlb import migrations
from hlb.compiler.compile import compile_paths
from hlb.store import grants, models
from hlb.store.apply import apply_model
from hlb.store.db import SchemaBehind
from hlb.store.grants import WRITES_CONFIG, BotRoleError, bot_url, check_bot_access, grant_bot

ROOT = Path(__file__).resolve().parent.parent


def admin(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(url, autocommit=True)


def drop_role(url: str, role: str) -> None:
    """Roles are cluster-wide: remove every trace of ``role`` from the test database, then the role."""
    with admin(url) as conn:
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is None:
            return
        ident = sql.Identifier(role)
        for schema in grants.SCHEMAS:
            with contextlib.suppress(errors.InvalidSchemaName):
                conn.execute(
                    sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}").format(
                        sql.Identifier(schema), ident
                    )
                )
        conn.execute(sql.SQL("DROP OWNED BY {}").format(ident))
        conn.execute(sql.SQL("DROP ROLE {}").format(ident))


@contextlib.contextmanager
def fresh_role(db_url: str, suffix: str) -> Iterator[str]:
    name = f"{conninfo_to_dict(db_url)['dbname']}_{suffix}"
    drop_role(db_url, name)
    try:
        yield name
    finally:
        drop_role(db_url, name)


@pytest.fixture
def role(db_url: str) -> Iterator[str]:
    """A role name no other test uses (derived from the test database's name), dropped afterwards."""
    with fresh_role(db_url, "bot") as name:
        yield name


@pytest.fixture
def applied(db_url: str) -> str:
    """``db_url`` with the reference specs applied."""
    result = compile_paths([str(ROOT / "specs")], {})
    assert result.ok and result.model is not None
    apply_model(db_url, result.model, author="t", echo=lambda _: None)
    return db_url


def refused(conn: psycopg.Connection[Any], statement: str) -> None:
    with pytest.raises(errors.InsufficientPrivilege), conn.transaction():
        conn.execute(statement)


def test_the_bot_role_reads_config_and_writes_runtime_only(applied: str, role: str) -> None:
    shown = grant_bot(applied, role)
    assert shown[0] == f'CREATE ROLE "{role}" LOGIN'
    assert any(line.startswith("ALTER DEFAULT PRIVILEGES") for line in shown)

    with psycopg.connect(bot_url(applied, role, None), autocommit=True) as bot:
        assert bot.execute("SELECT current_user").fetchone() == (role,)
        for spec_table in models.metadata.sorted_tables:
            if spec_table.schema == models.CONFIG_SCHEMA:
                bot.execute(
                    sql.SQL("SELECT * FROM {}").format(sql.Identifier(spec_table.schema, spec_table.name))
                )
        channels = bot.execute("SELECT count(*) FROM hlb_config.channels").fetchone()
        assert channels is not None and channels[0] > 0
        assert bot.execute("SELECT max(id) FROM hlb_config.revisions").fetchone() == (1,)
        assert bot.execute("SELECT version_num FROM hlb_config.alembic_version").fetchone() is not None

        for table in ("channels", "revisions"):
            refused(bot, f"DELETE FROM hlb_config.{table}")
            refused(bot, f"TRUNCATE hlb_config.{table}")
        refused(bot, "UPDATE hlb_config.channels SET topic = 'x'")
        refused(bot, "INSERT INTO hlb_config.channels (guild, name) VALUES ('g', 'x')")
        refused(bot, "UPDATE hlb_config.revisions SET message = 'x'")
        refused(bot, "INSERT INTO hlb_config.revisions (author, snapshot, summary) VALUES ('x', '{}', '{}')")
        refused(bot, "CREATE TABLE hlb_config.mine (x int)")
        refused(bot, "CREATE TABLE hlb_runtime.mine (x int)")

        bot.execute("INSERT INTO hlb_runtime.bindings (guild, kind, name) VALUES ('g', 'Channel', 'x')")
        bot.execute("UPDATE hlb_runtime.bindings SET status = 'in_sync' WHERE name = 'x'")
        assert bot.execute("SELECT status FROM hlb_runtime.bindings").fetchall() == [("in_sync",)]
        bot.execute("DELETE FROM hlb_runtime.bindings WHERE name = 'x'")
        run = bot.execute(
            "INSERT INTO hlb_runtime.workflow_runs (guild, workflow, trigger, status) "
            "VALUES ('g', 'w', 'manual', 'running') RETURNING id"
        ).fetchone()
        assert run is not None
        bot.execute("UPDATE hlb_runtime.workflow_runs SET status = 'ok' WHERE id = %s", run)
        bot.execute("DELETE FROM hlb_runtime.workflow_runs WHERE id = %s", run)
        refused(bot, "TRUNCATE hlb_runtime.workflow_runs")

        assert check_bot_access(bot) == []
        assert asyncio.run(_check_async(bot_url(applied, role, None))) == []

    with admin(applied) as owner:
        assert check_bot_access(owner) == [WRITES_CONFIG]


async def _check_async(url: str) -> list[str]:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        return await grants.check_bot_access_async(conn)


def test_granting_twice_changes_nothing(applied: str, role: str) -> None:
    first = grant_bot(applied, role)
    second = grant_bot(applied, role)
    assert first[1:] == second
    with pytest.raises(BotRoleError):  # already there: create=False is fine now
        grant_bot(applied, role + "_missing", create=False)
    assert grant_bot(applied, role, create=False) == second
    with psycopg.connect(bot_url(applied, role, None), autocommit=True) as bot:
        assert check_bot_access(bot) == []


def test_broader_earlier_grants_are_revoked(applied: str, role: str) -> None:
    with admin(applied) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        for statement in (
            "GRANT ALL ON ALL TABLES IN SCHEMA hlb_config TO {}",
            "GRANT ALL ON ALL SEQUENCES IN SCHEMA hlb_config TO {}",
            "GRANT ALL ON SCHEMA hlb_config TO {}",
            "GRANT ALL ON SCHEMA hlb_runtime TO {}",
            "ALTER DEFAULT PRIVILEGES IN SCHEMA hlb_config GRANT ALL ON TABLES TO {}",
        ):
            conn.execute(sql.SQL(statement).format(sql.Identifier(role)))
    with psycopg.connect(bot_url(applied, role, None), autocommit=True) as bot:
        assert WRITES_CONFIG in check_bot_access(bot)

    shown = grant_bot(applied, role)
    assert not any(line.startswith("CREATE ROLE") for line in shown)
    with psycopg.connect(bot_url(applied, role, None), autocommit=True) as bot:
        assert check_bot_access(bot) == []
        refused(bot, "DELETE FROM hlb_config.channels")
        refused(bot, "SELECT setval('hlb_config.revisions_id_seq', 5)")
        refused(bot, "CREATE TABLE hlb_config.mine (x int)")
    with admin(applied) as conn:  # the per-schema default privileges too
        conn.execute("CREATE TABLE hlb_config.later (x int)")
    with psycopg.connect(bot_url(applied, role, None), autocommit=True) as bot:
        refused(bot, "INSERT INTO hlb_config.later VALUES (1)")


def test_tables_of_later_migrations_are_covered(applied: str, role: str) -> None:
    grant_bot(applied, role)
    with admin(applied) as conn:  # as a migration would, as the same user
        conn.execute("CREATE TABLE hlb_config.later (x int)")
        conn.execute("CREATE TABLE hlb_runtime.later (id bigint GENERATED ALWAYS AS IDENTITY, x int)")
    with psycopg.connect(bot_url(applied, role, None), autocommit=True) as bot:
        bot.execute("SELECT * FROM hlb_config.later")
        refused(bot, "INSERT INTO hlb_config.later VALUES (1)")
        bot.execute("INSERT INTO hlb_runtime.later (x) VALUES (1)")
        bot.execute("SELECT nextval(pg_get_serial_sequence('hlb_runtime.later', 'id'))")
        bot.execute("UPDATE hlb_runtime.later SET x = 2")
        bot.execute("DELETE FROM hlb_runtime.later")
        assert check_bot_access(bot) == []


def test_a_missing_grant_is_reported(applied: str, role: str) -> None:
    grant_bot(applied, role)
    with admin(applied) as conn:
        conn.execute(sql.SQL("REVOKE DELETE ON hlb_runtime.bindings FROM {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("REVOKE USAGE ON SCHEMA hlb_config FROM {}").format(sql.Identifier(role)))
    with psycopg.connect(bot_url(applied, role, None), autocommit=True) as bot:
        problems = check_bot_access(bot)
    assert len(problems) == 2, problems
    assert f"role {role} may not use schema hlb_config" in problems[0]
    assert f"role {role} may not delete from hlb_runtime.bindings" in problems[1]
    assert f"hlb db grant-bot {role}" in problems[1]


def test_a_password_is_set_and_never_shown(applied: str, role: str) -> None:
    secret = "s3cret p@ss/word"
    shown = grant_bot(applied, role, password=secret)
    assert shown[0] == f"CREATE ROLE \"{role}\" LOGIN PASSWORD '***'"
    assert not any(secret in line for line in shown)
    with admin(applied) as conn:
        stored = conn.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (role,)).fetchone()
    assert stored is not None and stored[0].startswith("SCRAM-SHA-256$")  # hashed before sending
    url = bot_url(applied, role, secret)
    assert conninfo_to_dict(url)["password"] == secret and conninfo_to_dict(url)["user"] == role
    with psycopg.connect(url, autocommit=True) as bot:  # trust auth here: the URL must still be valid
        assert bot.execute("SELECT current_user").fetchone() == (role,)

    again = grant_bot(applied, role, password="other")
    assert again[0] == f"ALTER ROLE \"{role}\" PASSWORD '***'"


def test_unusable_roles_are_refused(applied: str, role: str) -> None:
    for name in ("Bot", "1bot", "bot-role", 'b"x', "", "a" * 64, "public", "pg_bot", "current_user"):
        with pytest.raises(BotRoleError) as raised:
            grant_bot(applied, name)
        assert raised.value.code == "E606"
    with pytest.raises(BotRoleError, match="does not exist"):
        grant_bot(applied, role, create=False)
    with admin(applied) as conn:
        owner = conn.execute("SELECT current_user").fetchone()
        assert owner is not None
    with pytest.raises(BotRoleError, match=r"is a superuser|owns the hlb schemas"):
        grant_bot(applied, owner[0])
    with admin(applied) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN IN ROLE {}").format(sql.Identifier(role), sql.Identifier(owner[0]))
        )
    with pytest.raises(BotRoleError, match="member of"):
        grant_bot(applied, role)


def test_granting_needs_a_migrated_database(empty_db_url: str) -> None:
    with fresh_role(empty_db_url, "bot") as name, pytest.raises(SchemaBehind, match="hlb db upgrade"):
        grant_bot(empty_db_url, name)


def test_a_role_that_only_a_member_can_write_is_refused(applied: str, role: str) -> None:
    with fresh_role(applied, "writer") as writer, admin(applied) as conn:
        conn.execute(sql.SQL("CREATE ROLE {}").format(sql.Identifier(writer)))
        conn.execute(sql.SQL("GRANT INSERT ON hlb_config.channels TO {}").format(sql.Identifier(writer)))
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN IN ROLE {}").format(sql.Identifier(role), sql.Identifier(writer))
        )
        with pytest.raises(BotRoleError, match=r"can still write hlb_config\.channels"):
            grant_bot(applied, role)
        # rolled back: nothing was granted
        usage = conn.execute("SELECT has_schema_privilege(%s, 'hlb_runtime', 'USAGE')", (role,)).fetchone()
        assert usage == (False,)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql://postgres@/hlb?host=/tmp/pg%20dir&port=5433",
            "postgresql://bot:p%40ss%2Fw@/hlb?host=/tmp/pg%20dir&port=5433",
        ),
        (
            "postgresql://admin:secret@db.example:5432/hlb?sslmode=require&user=x&password=y",
            "postgresql://bot:p%40ss%2Fw@db.example:5432/hlb?sslmode=require",
        ),
        ("postgres://db/hlb", "postgres://bot:p%40ss%2Fw@db/hlb"),
    ],
)
def test_bot_url_swaps_only_the_credentials(url: str, expected: str) -> None:
    assert bot_url(url, "bot", "p@ss/w") == expected
    assert conninfo_to_dict(bot_url(url, "bot", "p@ss/w"))["password"] == "p@ss/w"
    assert "password" not in conninfo_to_dict(bot_url(url, "bot", None))


def test_bot_url_of_a_keyword_conninfo() -> None:
    params = conninfo_to_dict(bot_url("host=/tmp/x dbname=hlb user=postgres password=old", "bot", "n e w"))
    assert params == {"host": "/tmp/x", "dbname": "hlb", "user": "bot", "password": "n e w"}


def test_the_names_match_the_schema_and_migrations() -> None:
    assert grants.SCHEMAS == models.SCHEMAS
    env = (ROOT / "migrations" / "env.py").read_text(encoding="utf-8")
    # env.py takes the lock that granting waits on
    assert "pg_advisory_xact_lock(:key)\"), {\"key\": MIGRATION_LOCK_KEY}" in env
    assert grants.MIGRATION_LOCK_KEY == migrations.MIGRATION_LOCK_KEY


OLD_APPLY_LOCK_KEY = 0x686C62_61706C79  # the advisory lock applies took before migration 0004


def test_the_bot_role_can_neither_take_nor_hold_the_apply_lock(applied: str, role: str) -> None:
    grant_bot(applied, role)
    with psycopg.connect(bot_url(applied, role, None)) as bot:
        with pytest.raises(errors.InsufficientPrivilege):
            bot.execute("LOCK TABLE hlb_config.database_identity IN EXCLUSIVE MODE")
        bot.rollback()
        with pytest.raises(errors.InsufficientPrivilege):
            bot.execute("SELECT * FROM hlb_config.database_identity FOR UPDATE")
        bot.rollback()
        # What the bot can hold, it may: the old advisory key, and reads in an open transaction.
        bot.execute("SELECT pg_advisory_xact_lock(%s)", (OLD_APPLY_LOCK_KEY,))
        bot.execute("LOCK TABLE hlb_config.database_identity IN ACCESS SHARE MODE")
        bot.execute("SELECT count(*) FROM hlb_config.channels").fetchone()
        # ... and an apply still goes through at once.
        model = compile_paths([str(ROOT / "specs" / "guild.yaml")], {}).model
        assert model is not None
        said: list[str] = []
        result = apply_model(applied, model, author="t", echo=said.append, lock_timeout=2)
        assert result.revision == 2 and said == []
        bot.rollback()
