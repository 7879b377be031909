"""hlb_runtime against a real Postgres: bindings and events round-trip, migrations 0002 and 0003 keep data."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import pytest
from alembic import command
from psycopg.types.json import Jsonb

from hlb import migrations
from hlb.compiler.compile import compile_paths
from hlb.compiler.model import ObjectKey, SpecObject
from hlb.reconciler.state import DRIFTED, ERROR, IN_SYNC, PENDING, Binding
from hlb.store import db, revisions
from hlb.store import objects as store
from hlb.store import runtime_tables as runtime
from hlb.store.rows.guild import STORAGE as GUILD_ROWS
from hlb.store.runtime_tables import ReconcileEvent

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent
G = "homelab"
BIG = 2**63 - 1  # Discord snowflakes need bigint


def run(db_url: str, work: Callable[[psycopg.AsyncConnection[Any]], Awaitable[T]]) -> T:
    """Run ``work`` on a fresh async connection and commit."""

    async def main() -> T:
        async with await psycopg.AsyncConnection.connect(db_url) as conn:
            result = await work(conn)
            await conn.commit()
            return result

    return asyncio.run(main())


def key(name: str, kind: str = "Channel", guild: str = G) -> ObjectKey:
    return ObjectKey(guild, kind, name)


def full_binding() -> Binding:
    return Binding(
        key=key("status"),
        discord_id=BIG,
        channel_id=123456789012345678,
        spec_hash="a" * 32,
        rendered_hash="b" * 32,
        status=ERROR,
        error="403 Missing Permissions",
        attempts=3,
        next_attempt_at=datetime(2026, 11, 26, 10, 0, 5, 123456, tzinfo=UTC),
        reconciled_at=datetime(2026, 11, 26, 12, 0, tzinfo=timezone(timedelta(hours=2))),
        protect=True,
    )


def test_bindings_round_trip_every_field(db_url: str) -> None:
    bindings = [
        full_binding(),
        Binding(key("bare")),
        Binding(key(G, "Guild", G), discord_id=1, status=IN_SYNC),
        Binding(key("other", guild="lab"), status=DRIFTED),
    ]
    run(db_url, lambda c: runtime.save_bindings(c, bindings))
    loaded = run(db_url, runtime.load_bindings)
    assert loaded == {b.key: b for b in bindings}
    assert loaded[key("bare")] == Binding(key("bare"), status=PENDING)  # every None and default kept
    stamp = loaded[key("status")].next_attempt_at
    assert stamp is not None and stamp.tzinfo is not None
    with db.connect(db_url) as conn:
        assert runtime.load_bindings_sync(conn) == loaded
        assert runtime.load_bindings_sync(conn, "lab") == {key("other", guild="lab"): bindings[3]}
    assert run(db_url, lambda c: runtime.load_bindings(c, "lab")) == {key("other", guild="lab"): bindings[3]}
    assert run(db_url, lambda c: runtime.load_bindings(c, "nowhere")) == {}


def updated_at(db_url: str) -> datetime:
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT updated_at FROM hlb_runtime.bindings WHERE name = 'status'").fetchone()
    assert row is not None
    return row[0]  # type: ignore[no-any-return]


def test_save_overwrites_by_key_and_delete_forgets(db_url: str) -> None:
    first = full_binding()
    run(db_url, lambda c: runtime.save_bindings(c, [first, Binding(key("keep"))]))
    before = updated_at(db_url)
    second = Binding(first.key, discord_id=42, status=IN_SYNC, reconciled_at=datetime(2027, 1, 1, tzinfo=UTC))
    run(db_url, lambda c: runtime.save_bindings(c, [second]))
    assert run(db_url, runtime.load_bindings) == {first.key: second, key("keep"): Binding(key("keep"))}
    assert updated_at(db_url) > before

    run(db_url, lambda c: runtime.save_bindings(c, []))  # nothing to do
    run(db_url, lambda c: runtime.delete_bindings(c, [first.key, key("never-bound")]))
    assert run(db_url, runtime.load_bindings) == {key("keep"): Binding(key("keep"))}
    run(db_url, lambda c: runtime.delete_bindings(c, []))
    assert list(run(db_url, runtime.load_bindings)) == [key("keep")]


def test_many_bindings_and_events_go_in_several_statements_the_last_of_a_key_winning(db_url: str) -> None:
    count = 2 * runtime.ROWS_PER_STATEMENT + 7
    bindings = [Binding(key(f"c{i}"), discord_id=i, status=IN_SYNC) for i in range(count)]
    again = Binding(key("c3"), discord_id=3, status=ERROR, error="later")  # one key twice: the last wins
    run(db_url, lambda c: runtime.save_bindings(c, [*bindings, again]))
    assert run(db_url, runtime.load_bindings) == {b.key: b for b in [*bindings, again]}
    events = [ReconcileEvent(key(f"c{i}"), G, "create", i, {"n": i}, "ok") for i in range(count)]
    run(db_url, lambda c: runtime.record_events(c, events))
    recent = run(db_url, lambda c: runtime.recent_events(c, limit=count))
    assert [e.discord_id for e in recent] == list(reversed(range(count)))  # in order, ids ascending


def test_a_cancelled_save_is_a_cancellation_and_the_connection_stays_usable(db_url: str) -> None:
    """Cancelled at any point (the bot stopping mid-pass), saving raises CancelledError, nothing
    else, and the bot's shared connection still answers. psycopg's executemany, cancelled while
    entering its pipeline (after the event loop was busy a while), raised a bare AssertionError
    and left the connection in pipeline mode."""

    async def main() -> list[str]:
        conn = await db.connect_async(db_url)
        seen = []
        try:
            for steps in range(12):
                time.sleep(0.01)  # the loop was busy (a render, a slow machine): psycopg yields early
                save = asyncio.create_task(runtime.save_bindings(conn, [full_binding()]))
                for _ in range(steps):
                    await asyncio.sleep(0)
                save.cancel()
                try:
                    await save
                    seen.append("done")
                except asyncio.CancelledError:
                    seen.append("cancelled")
                await conn.execute("SELECT 1")
            return seen
        finally:
            await conn.close()

    seen = asyncio.run(main())
    assert "cancelled" in seen  # (any other exception fails the test where it is raised)


def test_a_bad_status_is_refused(db_url: str) -> None:
    with pytest.raises(psycopg.errors.CheckViolation, match="bindings_status_check"):
        run(db_url, lambda c: runtime.save_bindings(c, [Binding(key("x"), status="confused")]))
    assert run(db_url, runtime.load_bindings) == {}
    bad = ReconcileEvent(None, G, "create", None, {}, outcome="maybe")
    with pytest.raises(psycopg.errors.CheckViolation, match="reconcile_events_outcome_check"):
        run(db_url, lambda c: runtime.record_events(c, [bad]))


def test_claims_are_won_once_per_slot_and_per_interaction(db_url: str) -> None:
    """The store decides which replica fires a schedule slot or answers an interaction: the first."""
    workflow = SpecObject.build(key("nightly", "Workflow"), {}, {"steps": []})
    slot = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
    assert run(db_url, lambda c: runtime.claim_slot(c, workflow, slot)) is True
    assert run(db_url, lambda c: runtime.claim_slot(c, workflow, slot)) is False
    assert run(db_url, lambda c: runtime.claim_slot(c, workflow, slot + timedelta(days=1))) is True
    assert run(db_url, lambda c: runtime.claim_interaction(c, BIG)) is True
    assert run(db_url, lambda c: runtime.claim_interaction(c, BIG)) is False
    run(db_url, lambda c: runtime.forget_old_claims(c, timedelta(0)))
    assert run(db_url, lambda c: runtime.claim_interaction(c, BIG)) is True  # forgotten, claimable again


def test_events_read_back_newest_first_and_by_guild(db_url: str) -> None:
    events = [
        ReconcileEvent(key("status"), G, "create", BIG, {"fields": ["name", "topic"]}, "ok"),
        ReconcileEvent(key("status"), G, "put_overwrite", BIG, {"target": 5, "allow": "1024"}, "ok"),
        ReconcileEvent(
            None,
            G,
            "overwrite_commands",
            100000000000000001,
            {"count": 2, "n": [1.5, None]},
            "error",
            "429 Too Many Requests",
        ),
        ReconcileEvent(key("other", guild="lab"), "lab", "delete", None, {}, "ok"),
    ]
    started = datetime.now(UTC)
    run(db_url, lambda c: runtime.record_events(c, events[:2]))  # one transaction: the same now()
    run(db_url, lambda c: runtime.record_events(c, events[2:]))
    run(db_url, lambda c: runtime.record_events(c, []))

    recent = run(db_url, runtime.recent_events)
    assert [
        ReconcileEvent(e.key, e.guild, e.action, e.discord_id, e.detail, e.outcome, e.error) for e in recent
    ] == list(reversed(events))
    assert all(e.at.tzinfo is not None and e.at >= started - timedelta(seconds=5) for e in recent)
    assert [e.id for e in recent] == sorted((e.id for e in recent), reverse=True)
    assert recent[1].key is None and recent[1].error == "429 Too Many Requests"

    homelab = run(db_url, lambda c: runtime.recent_events(c, G))
    assert [e.action for e in homelab] == ["overwrite_commands", "put_overwrite", "create"]
    assert [e.action for e in run(db_url, lambda c: runtime.recent_events(c, G, limit=1))] == [
        "overwrite_commands"
    ]
    assert run(db_url, lambda c: runtime.recent_events(c, "nowhere")) == []


def runtime_tables(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'hlb_runtime' ORDER BY 1"
        ).fetchall()
    return [r[0] for r in rows]


def test_upgrade_from_0001_keeps_config_data(empty_db_url: str) -> None:
    command.upgrade(db.alembic_config(empty_db_url), "0001")
    assert db.current(empty_db_url) == "0001" and runtime_tables(empty_db_url) == []
    result = compile_paths([str(ROOT / "specs")], env={})
    assert result.model is not None and len(result.model) > 5
    objects = [o for o in result.model if o.key.kind not in ("Role", "Emoji")]  # 0001 had neither table
    snapshot = [o.to_snapshot() for o in objects]
    with db.connect(empty_db_url) as conn:
        # The Guild row as 0001 held it (its settings columns came with 0008), the rest as written now.
        store.write_changes(conn, [o for o in objects if o.key.kind != "Guild"], [], [])
        for guild in (o for o in objects if o.key.kind == "Guild"):
            row = {k: v for k, v in GUILD_ROWS.to_rows(guild)["guilds"][0].items() if v is not None}
            values = [Jsonb(v) if isinstance(v, dict) else v for v in row.values()]
            columns = ", ".join(row)
            marks = ", ".join(["%s"] * len(row))
            conn.execute(f"INSERT INTO hlb_config.guilds ({columns}) VALUES ({marks})", values)
        rev = revisions.insert_revision(
            conn,
            author="tester",
            git_sha=None,
            message="before 0002",
            snapshot=snapshot,
            summary={},
            parent=None,
        )
        conn.commit()

    lines: list[str] = []
    db.ensure_schema(empty_db_url, echo=lines.append)
    assert lines == [f"database upgraded from 0001 to {migrations.HEAD}"]
    assert runtime_tables(empty_db_url) == [
        "bindings",
        "interaction_claims",
        "reconcile_events",
        "schedule_slots",
        "workflow_runs",
    ]
    with db.connect(empty_db_url) as conn:
        assert store.load_objects(conn) == {o.key: o for o in objects}
        assert store.read_state(conn).revision == rev
        assert runtime.load_bindings_sync(conn) == {}
        kept = revisions.get_revision(conn, rev)  # 0003 turned the snapshot column into json
        assert kept is not None and kept.snapshot == snapshot
        column = "SELECT data_type FROM information_schema.columns WHERE column_name = 'snapshot'"
        assert conn.execute(column).fetchone() == ("json",)
    run(empty_db_url, lambda c: runtime.save_bindings(c, [full_binding()]))

    command.downgrade(db.alembic_config(empty_db_url), "0001")  # drops the runtime tables, roles, emojis
    assert runtime_tables(empty_db_url) == []  # (and the guild settings columns)
    with db.connect(empty_db_url) as conn:
        tables = {
            "Guild": "guilds", "Channel": "channels", "Workflow": "workflows", "Dashboard": "dashboards",
            "Command": "commands",
        }
        for kind, table in tables.items():
            stored = {r[0] for r in conn.execute(f"SELECT content_hash FROM hlb_config.{table}")}
            assert stored == {o.hash for o in objects if o.key.kind == kind}, kind
        kept = revisions.get_revision(conn, rev)
        assert kept is not None and kept.snapshot == snapshot
