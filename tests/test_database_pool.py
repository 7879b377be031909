"""The test databases used again (tests/database_pool.py): emptied like new, renamed, or dropped."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from cli_inprocess import hlb
from conftest import admin_connection, database_url, new_pool
from database_pool import DatabasePool

ROOT = Path(__file__).resolve().parents[1]
CLAIMS = "hlb_runtime.interaction_claims"


@pytest.fixture
def pool(pg_admin_url: str, template_db: str) -> Iterator[DatabasePool]:
    """A pool of its own, so these tests see every database it makes."""
    made = new_pool(pg_admin_url, template_db)
    yield made
    made.close()


def _counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables "
            "WHERE schemaname IN ('hlb_config', 'hlb_runtime') ORDER BY 1").fetchall()
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for (t,) in tables}  # type: ignore[index]


def _exists(pg_admin_url: str, name: str) -> bool:
    found = admin_connection(pg_admin_url).execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
    return found.fetchone() is not None


def _apply_minimal(url: str, where: Path) -> None:
    env = {**os.environ, "DATABASE_URL": url}
    done = hlb(env, where, "apply", str(ROOT / "examples" / "minimal"), "--auto-approve")
    assert done.returncode == 0, done.stderr


def test_a_used_database_comes_back_empty_under_a_new_name_with_its_identity(
    pool: DatabasePool, pg_admin_url: str, tmp_path: Path
) -> None:
    first = pool.take()
    new = _counts(database_url(pg_admin_url, first))
    with psycopg.connect(database_url(pg_admin_url, first)) as conn:
        identity = conn.execute("SELECT id FROM hlb_config.database_identity").fetchall()
    _apply_minimal(database_url(pg_admin_url, first), tmp_path)
    used = _counts(database_url(pg_admin_url, first))
    assert used["hlb_config.revisions"] == 1 and used["hlb_config.channels"] > 0
    pool.give_back(first)

    second = pool.take()
    assert pool.reused == 1 and second != first and not _exists(pg_admin_url, first)
    url = database_url(pg_admin_url, second)
    assert _counts(url) == new  # alembic_version and the identity kept, the rest empty
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT id FROM hlb_config.database_identity").fetchall() == identity
    _apply_minimal(url, tmp_path)  # the revision sequence starts again: revision 1, not 2
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT max(id) FROM hlb_config.revisions").fetchone() == (1,)
    pool.give_back(second)


@pytest.mark.parametrize("change", [
    "CREATE TABLE hlb_config.extra (id int)",
    "ALTER TABLE hlb_config.channels ADD COLUMN added_by_a_test int",
    "DROP INDEX hlb_runtime.bindings_discord_id_idx",
    "GRANT SELECT ON hlb_config.channels TO PUBLIC",
    "ALTER DATABASE {name} SET work_mem = '8MB'",
    "UPDATE hlb_config.alembic_version SET version_num = '0001'",
    "DELETE FROM hlb_config.database_identity",
    "CREATE FUNCTION hlb_config.one() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "ALTER TABLE hlb_config.channels ALTER COLUMN topic SET DEFAULT 'x'",
    "ALTER TABLE hlb_config.channels DISABLE TRIGGER ALL",
    "ALTER SEQUENCE hlb_config.revisions_id_seq INCREMENT BY 2",
])
def test_a_database_whose_catalog_or_kept_rows_changed_is_dropped(
    pool: DatabasePool, pg_admin_url: str, change: str
) -> None:
    name = pool.take()
    with psycopg.connect(database_url(pg_admin_url, name), autocommit=True) as conn:
        conn.execute(change.format(name=name))  # type: ignore[arg-type]
    pool.give_back(name)
    assert not _exists(pg_admin_url, name)
    assert pool.take() and pool.reused == 0  # a new copy of the template, not the changed one


def test_a_database_that_grew_is_dropped_not_kept_with_its_dead_rows(
    pool: DatabasePool, pg_admin_url: str
) -> None:
    name = pool.take()
    with psycopg.connect(database_url(pg_admin_url, name), autocommit=True) as conn:
        conn.execute(f"INSERT INTO {CLAIMS} (interaction_id) SELECT generate_series(1, 40000)")
    pool.give_back(name)
    pool.take()
    assert pool.reused == 0


def test_a_session_left_open_is_ended_and_cannot_reach_the_next_test(
    pool: DatabasePool, pg_admin_url: str
) -> None:
    name = pool.take()
    left_open = psycopg.connect(database_url(pg_admin_url, name), autocommit=True)
    left_open.execute(f"BEGIN; INSERT INTO {CLAIMS} (interaction_id) VALUES (1)")  # and holds a lock
    pool.give_back(name)
    assert left_open.closed or left_open.broken or _is_dead(left_open)
    with pytest.raises(psycopg.OperationalError, match="does not exist"):
        psycopg.connect(database_url(pg_admin_url, name)).close()
    again = pool.take()
    assert pool.reused == 1 and _counts(database_url(pg_admin_url, again))[CLAIMS] == 0


def _is_dead(conn: psycopg.Connection[Any]) -> bool:
    try:
        conn.execute("SELECT 1")
    except psycopg.OperationalError:
        return True
    return False
