"""Big change sets check foreign keys once per table: same result, same constraints, same failures."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from test_store import G, channel, guild, realistic

from hlb.compiler.model import ObjectKey
from hlb.store import bulk_keys
from hlb.store import objects as store

CONSTRAINTS = """
    SELECT t.relname, c.conname, pg_get_constraintdef(c.oid), c.condeferrable, c.condeferred
    FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
    WHERE c.connamespace = 'hlb_config'::regnamespace ORDER BY 1, 2
"""


def constraints(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return conn.execute(CONSTRAINTS).fetchall()


@pytest.fixture
def bulk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every change set counts as big."""
    monkeypatch.setattr(bulk_keys, "BULK_ROWS", 1)


def bulk_checks_ran(conn: psycopg.Connection[Any]) -> bool:
    """Whether this transaction dropped and re-added the foreign keys (their OIDs are new)."""
    row = conn.execute(
        "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND xmin::text = txid_current()::text"
    ).fetchone()
    return row is not None and row[0] > 0


@pytest.mark.usefixtures("bulk")
def test_a_big_change_set_writes_the_same_rows_and_keeps_every_constraint(
    conn: psycopg.Connection[Any],
) -> None:
    before = constraints(conn)
    objects = realistic()
    store.write_changes(conn, list(reversed(objects)), [], [])  # children before parents: still fine
    assert bulk_checks_ran(conn)
    conn.commit()
    assert store.load_objects(conn) == {o.key: o for o in objects}
    assert constraints(conn) == before
    assert len([c for c in before if c[2].startswith("FOREIGN KEY")]) >= 10


@pytest.mark.usefixtures("bulk")
def test_a_dangling_reference_fails_the_big_change_set_and_changes_nothing(
    conn: psycopg.Connection[Any],
) -> None:
    before = constraints(conn)
    with pytest.raises(psycopg.errors.ForeignKeyViolation, match="category"):
        store.write_changes(conn, [guild(), channel("status", category="nowhere")], [], [])
    conn.rollback()
    assert store.read_state(conn).hashes == {}
    assert constraints(conn) == before
    store.write_changes(conn, [guild(), channel("status")], [], [])  # and the constraints still hold
    conn.commit()
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        conn.execute(
            "INSERT INTO hlb_config.channels (guild, name, type, display_name, category, nsfw, slowmode,"
            " protect, permissions, labels, extra, content_hash) VALUES ('homelab', 'x', 'text', 'x',"
            " 'nowhere', false, 0, false, '[]', '{}', '{}', 'h')"
        )
        conn.commit()
    conn.rollback()


@pytest.mark.usefixtures("bulk")
def test_deletes_with_pending_checks_come_before_a_big_change_set(conn: psycopg.Connection[Any]) -> None:
    objects = realistic()
    store.write_changes(conn, objects, [], [])
    conn.commit()
    gone = next(o.key for o in objects if o.key.kind == "Channel" and o.spec.get("type") == "voice")
    added = [channel(f"new-{i}") for i in range(3)]
    store.write_changes(conn, added, [], [gone])  # the delete queues a deferred check on channels
    assert bulk_checks_ran(conn)
    conn.commit()
    expected = {o.key for o in objects if o.key != gone} | {o.key for o in added}
    assert set(store.read_state(conn).hashes) == expected


def test_small_change_sets_keep_the_per_row_checks(conn: psycopg.Connection[Any]) -> None:
    store.write_changes(conn, [guild(), channel("status")], [], [])
    assert not bulk_checks_ran(conn)
    conn.commit()
    assert set(store.read_state(conn).hashes) == {ObjectKey(G, "Guild", G), ObjectKey(G, "Channel", "status")}
