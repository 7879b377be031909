"""Row mappings and the store against a real Postgres: round trips, FKs, writes, state, revisions."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest

from hlb.compiler.compile import compile_paths
from hlb.compiler.model import Model, ObjectKey, SpecObject
from hlb.store import objects as store
from hlb.store import revisions
from hlb.store.lock import ApplyLockTimeout, lock_for_apply
from hlb.store.rows import STORAGES, storage_for

ROOT = Path(__file__).resolve().parent.parent
G = "homelab"


def obj(kind: str, name: str, spec: dict[str, Any], labels: dict[str, str] | None = None,
        guild: str = G) -> SpecObject:
    return SpecObject.build(ObjectKey(guild if kind != "Guild" else name, kind, name), labels or {}, spec)


def guild(name: str = G, gid: str = "100000000000000001", **spec: Any) -> SpecObject:
    return obj("Guild", name, {"id": gid, "prune": True, "adopt": "none", **spec})


def channel(name: str, guild_: str = G, **spec: Any) -> SpecObject:
    base = {"type": "text", "display_name": name, "nsfw": False, "slowmode": 0, "protect": False,
            "permissions": []}
    return obj("Channel", name, base | spec, guild=guild_)


def realistic() -> list[SpecObject]:
    """Every kind, every documented field, in the normalized form of docs/model.md."""
    return [
        guild(adopt="by-name"),
        channel("infra", type="category", display_name="Infra", position=0),
        channel("status", display_name="📊-status", category="infra", topic="Live status", position=10,
                slowmode=30, permissions=[
                    {"role": "@everyone", "allow": [], "deny": ["send_messages"]},
                    {"role": "admins", "allow": ["manage_messages", "send_messages"], "deny": []},
                    {"member": "123456789012345678", "allow": ["view_channel"], "deny": []},
                ]),
        channel("war-room", type="voice", category="infra", bitrate=64000, user_limit=10, protect=True,
                nsfw=True),
        channel("stage", type="stage", user_limit=10000),
        obj("Workflow", "restart-plex", {
            "allowed_roles": ["admins", "987654321"],
            "inputs": [{"name": "service", "type": "string", "required": False}],
            "triggers": [{"schedule": "0 8 * * *"}],
            "steps": [
                {"id": "call", "http": {"method": "POST", "url": "http://dash:5000/api", "headers": {
                    "Authorization": "Bearer ${secret:DASH_TOKEN}"}, "json": {"service": "plex", "n": 1.5},
                    "timeout": 10, "expect": [200, 204]}},
                {"reply": {"content": "Restarted: {{ steps.call.status }}", "ephemeral": True}},
                {"send": {"channel": "status", "content": "{{ user.name }} restarted Plex",
                          "embeds": [{"title": "x"}]}, "when": "steps.call.status == 200"},
                {"add_role": {"role": "on-call", "member": "{{ user.id }}"}, "id": "add", "when": "true"},
                {"remove_role": {"role": "on-call", "member": "{{ user.id }}"}},
                {"refresh": {"dashboard": "server-status"}},
            ],
        }, labels={"team": "infra"}),
        obj("Workflow", "noop", {"inputs": [], "triggers": [], "steps": [{"reply": {"content": "hi",
                                                                                     "ephemeral": False}}]}),
        obj("Dashboard", "server-status", {
            "channel": "status",
            "refresh": 300,
            "sources": {"nodes": {"http": {"url": "http://prom:9090/api/v1/query?query=up", "method": "GET",
                                           "headers": {}, "timeout": 5}}},
            "content": "Updated {{ now | datetime }}",
            "embeds": [{"title": "Homelab", "color": "#2ecc71", "url": "https://grafana.example/d/home",
                        "fields": [{"name": "CPU", "value": "{{ sources.nodes.cpu }}", "inline": True}],
                        "footer": {"text": "managed by hlb"}, "thumbnail": "https://example/icon.png"}],
            "components": [
                [{"button": {"label": "Restart Plex", "style": "danger", "workflow": "restart-plex",
                             "disabled": False, "emoji": "🔁"}},
                 {"button": {"label": "Grafana", "style": "link", "url": "https://grafana.example",
                             "disabled": True}}],
                [{"select": {"placeholder": "Pick a service", "workflow": "restart-plex", "min_values": 0,
                             "max_values": 2, "options": [
                                 {"label": "Plex", "value": "plex", "description": "Media server"},
                                 {"label": "Grafana", "value": "grafana"}]}}],
            ],
        }),
        obj("Dashboard", "static", {"channel": "status", "embeds": [], "components": []}),
        obj("Command", "uptime", {
            "description": "Show host uptime",
            "options": [
                {"name": "host", "type": "string", "description": "Which host", "required": True,
                 "choices": [{"name": "nas", "value": "nas"}, {"name": "pi", "value": "pi"}],
                 "min_length": 1, "max_length": 32},
                {"name": "count", "type": "integer", "description": "How many", "required": False,
                 "min_value": 1, "max_value": 10},
                {"name": "ratio", "type": "number", "description": "Ratio", "required": False,
                 "min_value": 0.5, "max_value": 1.0, "choices": [{"name": "half", "value": 0.5}]},
            ],
            "default_member_permissions": ["manage_guild"],
            "reply": {"content": "{{ options.host }} is up", "ephemeral": False},
        }),
        obj("Command", "restart", {"description": "Restart", "options": [], "workflow": "restart-plex"}),
    ]


def odd_shapes() -> list[SpecObject]:
    """Shapes the columns cannot hold exactly: they must still read back unchanged (via ``extra``)."""
    return [
        guild("odd", "200000000000000002", future_flag={"x": 1}),
        channel("c1", guild_="odd", position=2**40, topic=None, default_auto_archive=60),
        obj("Workflow", "w1", {"inputs": [], "triggers": [], "steps": [{"wait": {"seconds": 5}}]},
            guild="odd"),
        obj("Workflow", "w2", {"inputs": [], "triggers": []}, guild="odd"),  # no steps key at all
        obj("Dashboard", "d1", {"channel": "c1", "embeds": [], "components": [[]]}, guild="odd"),
        obj("Dashboard", "d2", {"channel": "c1", "embeds": [], "components": [
            [{"button": {"label": "x", "style": "fancy", "workflow": "w1", "custom": [1]}}]]}, guild="odd"),
        obj("Command", "c1", {"description": "d", "options": [{"name": "x", "type": "string",
                                                               "required": True}]}, guild="odd"),
        obj("Command", "c2", {"description": "d", "options": [
            {"name": "x", "type": "string", "description": "d", "required": True, "autocomplete": True}]},
            guild="odd"),
    ]


def as_stored(rows: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Rows as they come back from Postgres: JSON values went through JSON text."""
    return orjson.loads(orjson.dumps(rows))  # type: ignore[no-any-return]


@pytest.mark.parametrize("o", realistic() + odd_shapes(), ids=lambda o: str(o.key))
def test_rows_round_trip_every_kind(o: SpecObject) -> None:
    storage = storage_for(o.key.kind)
    rows = as_stored(storage.to_rows(o))
    assert set(rows) <= {t.name for t in storage.tables}
    for table in storage.tables:
        for row in rows.get(table.name, []):
            assert set(row) == set(table.columns), table.name
    (main,) = rows[storage.main.name]
    back = storage.from_rows(main, {t.name: rows.get(t.name, []) for t in storage.children})
    assert back == o and back.hash == o.hash and back.spec == o.spec and back.labels == o.labels


def spills(o: SpecObject) -> dict[str, Any]:
    """What of ``o`` lands in its main row's ``extra``, besides empty child lists."""
    storage = storage_for(o.key.kind)
    extra = storage.to_rows(o)[storage.main.name][0]["extra"]
    return {k: v for k, v in extra.items() if v != [] or k not in ("components", "options", "steps")}


def test_documented_fields_use_real_columns_not_extra() -> None:
    for o in realistic():
        storage = storage_for(o.key.kind)
        rows = storage.to_rows(o)
        assert spills(o) == {}, o.key
        for child in storage.children:
            assert all(r.get("extra", {}) == {} for r in rows[child.name]), o.key
    uptime = storage_for("Command").to_rows(realistic()[-2])
    assert [r["name"] for r in uptime["command_options"]] == ["host", "count", "ratio"]
    dash = storage_for("Dashboard").to_rows(realistic()[7])
    assert [(r["row"], r["col"], r["type"], r["workflow"]) for r in dash["dashboard_components"]] == [
        (0, 0, "button", "restart-plex"), (0, 1, "button", None), (1, 0, "select", "restart-plex")]


def test_row_tables_are_generated_from_the_models() -> None:
    """hlb/store/rows/tables.py is hlb.store.models' hlb_config tables written out (so `hlb apply` need
    not import SQLAlchemy): regenerate it with `python -m hlb.store.rows.generate` after a change."""
    from hlb.store.rows import generate

    assert generate.TARGET.read_text(encoding="utf-8") == generate.render()


def test_row_mappings_hold_every_column_of_their_tables() -> None:
    """The row mapping reads its tables from hlb.store.models: each column is a field of the
    mapping, or one the mapping fills itself (keys, labels, extra, hash, the kind of a cell)."""
    from hlb.store.models import CONFIG_SCHEMA, metadata
    from hlb.store.rows import channel, command, dashboard, guild, workflow

    own = {"labels", "extra", "content_hash"}
    mapped = {
        "guilds": guild.FIELDS, "channels": channel.FIELDS, "workflows": workflow.FIELDS,
        "dashboards": dashboard.FIELDS, "commands": command.FIELDS,
        "command_options": command.OPTION_FIELDS, "dashboard_components": dashboard.BODY_FIELDS,
    }
    for name, fields in mapped.items():
        table = metadata.tables[f"{CONFIG_SCHEMA}.{name}"]
        key = {c.name for c in table.primary_key.columns}
        cell = {"type"} if name == "dashboard_components" else set()  # the cell's {type: body} key
        assert {c.name for c in table.columns} - key - own - cell == {f.column for f in fields}, name
    assert {t.name for t in metadata.sorted_tables if t.schema == CONFIG_SCHEMA} == {
        t.name for s in STORAGES for t in s.tables} | {"revisions", "database_identity"}


def apply(conn: psycopg.Connection[Any], creates: Sequence[SpecObject] = (),
          updates: Sequence[SpecObject] = (), deletes: Sequence[ObjectKey] = ()) -> None:
    store.write_changes(conn, creates, updates, deletes)
    conn.commit()


def test_everything_written_reads_back_exactly(conn: psycopg.Connection[Any]) -> None:
    objects = realistic() + odd_shapes()
    apply(conn, list(reversed(objects)))  # reverse registry order: FKs are deferred
    assert store.load_objects(conn) == {o.key: o for o in objects}
    assert store.read_state(conn) == store.StoredState(None, {o.key: o.hash for o in objects})


def compiled(path: Path) -> Model:
    """The model of a shipped spec set, which must compile to something: a failure is a regression."""
    result = compile_paths([str(path)], env={})
    assert result.model is not None and len(result.model), (
        f"{path} no longer compiles: " + "; ".join(str(d) for d in result.diagnostics)
    )
    return result.model


@pytest.mark.parametrize("path", ["specs", "examples/minimal", "examples/multi-guild"])
def test_compiled_spec_sets_read_back_exactly(conn: psycopg.Connection[Any], path: str) -> None:
    model = compiled(ROOT / path)
    apply(conn, list(model))
    assert store.load_objects(conn) == model.by_key()
    for o in model:  # the real normalizer's output fits the columns: nothing spills into extra
        assert spills(o) == {}, o.key


def test_foreign_keys_are_deferred_to_commit(conn: psycopg.Connection[Any]) -> None:
    conn.execute("INSERT INTO hlb_config.channels (guild, name, type, display_name, category, nsfw, slowmode,"
                 " protect, permissions, labels, extra, content_hash) VALUES ('homelab', 'status', 'text', "
                 "'status', 'infra', false, 0, false, '[]', '{}', '{}', 'h')")
    apply(conn, [channel("infra", type="category"), guild()])  # category and guild after the channel
    assert set(store.read_state(conn).hashes) == {
        ObjectKey(G, "Guild", G), ObjectKey(G, "Channel", "infra"), ObjectKey(G, "Channel", "status")}


def test_a_dangling_reference_fails_at_commit(conn: psycopg.Connection[Any]) -> None:
    store.write_changes(conn, [guild(), channel("status", category="nowhere")], [], [])
    with pytest.raises(psycopg.errors.ForeignKeyViolation, match="category"):
        conn.commit()
    conn.rollback()
    assert store.read_state(conn).hashes == {}


def test_check_constraints_reject_impossible_rows(conn: psycopg.Connection[Any]) -> None:
    with pytest.raises(psycopg.errors.CheckViolation):
        apply(conn, [guild(), channel("x", bitrate=64000)])  # bitrate on a text channel
    conn.rollback()


def counts(conn: psycopg.Connection[Any]) -> dict[str, int]:
    out = {}
    for s in STORAGES:
        for t in s.tables:
            row = conn.execute(f"SELECT count(*) FROM hlb_config.{t.name}").fetchone()
            assert row is not None
            out[t.name] = row[0]
    return out


def test_create_update_delete(conn: psycopg.Connection[Any]) -> None:
    objects = realistic()
    apply(conn, objects)
    assert counts(conn) == {"guilds": 1, "channels": 4, "workflows": 2, "workflow_steps": 7, "dashboards": 2,
                            "dashboard_components": 3, "commands": 2, "command_options": 3,
                            "roles": 0, "emojis": 0}
    by_key = {o.key: o for o in objects}
    wf_key, dash_key = ObjectKey(G, "Workflow", "restart-plex"), ObjectKey(G, "Dashboard", "server-status")
    status_key = ObjectKey(G, "Channel", "status")
    # update: fewer steps, a new topic on a channel others reference, labels only on a command
    wf = obj("Workflow", "restart-plex", {**by_key[wf_key].spec, "steps": [{"reply": {"content": "x"}}]})
    status = channel("status", category="infra", topic="new topic")
    cmd = SpecObject.build(ObjectKey(G, "Command", "uptime"), {"v": "2"}, by_key[ObjectKey(G, "Command",
                                                                                           "uptime")].spec)
    apply(conn, updates=[wf, status, cmd])
    loaded = store.load_objects(conn)
    assert loaded[wf_key] == wf and loaded[status_key] == status and loaded[cmd.key] == cmd
    assert counts(conn)["workflow_steps"] == 2 and counts(conn)["command_options"] == 3
    # delete a dashboard and the command: their child rows go too
    apply(conn, deletes=[dash_key, cmd.key])
    assert counts(conn)["dashboard_components"] == 0 and counts(conn)["command_options"] == 0
    expected = {**{o.key: o for o in objects}, wf.key: wf, status.key: status}
    del expected[dash_key], expected[cmd.key]
    assert store.load_objects(conn) == expected
    assert store.read_state(conn).hashes == {k: o.hash for k, o in expected.items()}


def test_deleting_a_referenced_object_alone_is_refused(conn: psycopg.Connection[Any]) -> None:
    apply(conn, realistic())
    store.write_changes(conn, [], [], [ObjectKey(G, "Workflow", "restart-plex")])
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        conn.commit()
    conn.rollback()


def test_many_updates_take_the_bulk_path(conn: psycopg.Connection[Any]) -> None:
    n = store.BULK_UPDATE_THRESHOLD + 50
    chans = [channel(f"c{i}", topic="old") for i in range(n)]
    apply(conn, [guild(), *chans])
    changed = [channel(f"c{i}", topic=f"new {i}", position=i) for i in range(n)]
    apply(conn, updates=changed)
    apply(conn, updates=changed[:3])  # and the small path again, in a later transaction
    assert store.load_objects(conn) == {o.key: o for o in [guild(), *changed]}


def test_load_objects_subset(conn: psycopg.Connection[Any]) -> None:
    objects = realistic() + odd_shapes()
    apply(conn, objects)
    missing = ObjectKey(G, "Command", "none")
    wanted = [objects[1].key, objects[5].key, objects[7].key, objects[-1].key, missing]
    got = store.load_objects(conn, wanted)
    assert got == {k: o for k, o in ((o.key, o) for o in objects) if k in wanted}
    assert store.load_objects(conn, []) == {}
    assert store.load_objects(conn, [objects[0].key]) == {objects[0].key: objects[0]}


def test_revisions(conn: psycopg.Connection[Any]) -> None:
    model = Model.of(realistic())
    assert revisions.list_revisions(conn) == [] and revisions.get_revision(conn, 1) is None
    first = revisions.insert_revision(conn, author="alice", git_sha="abc123", message="initial",
                                  snapshot=model.to_snapshot(), summary={"create": len(model)}, parent=None)
    second = revisions.insert_revision(conn, author="bob", git_sha=None, message=None, snapshot=[],
                                   summary={"delete": len(model)}, parent=first)
    conn.commit()
    assert (first, second) == (1, 2)
    assert store.read_state(conn).revision == 2
    infos = revisions.list_revisions(conn)
    assert [(r.id, r.author, r.parent, r.summary) for r in infos] == [
        (2, "bob", 1, {"delete": len(model)}), (1, "alice", None, {"create": len(model)})]
    assert revisions.list_revisions(conn, limit=1)[0].id == 2
    rev = revisions.get_revision(conn, 1)
    assert rev is not None and rev.git_sha == "abc123" and rev.message == "initial"
    assert rev.created_at.tzinfo is not None
    assert Model.from_snapshot(rev.snapshot).by_key() == model.by_key()


def test_applies_serialize_on_the_apply_lock(db_url: str) -> None:
    with psycopg.connect(db_url) as first, psycopg.connect(db_url) as second:
        lock_for_apply(first)
        lines: list[str] = []
        with pytest.raises(ApplyLockTimeout, match=r"waiting 0\.2s.*pid \d+"):
            lock_for_apply(second, timeout=0.2, echo=lines.append)
        assert len(lines) == 1 and "waiting for the apply lock, held by" in lines[0]
        second.rollback()
        released = threading.Timer(0.2, first.commit)
        released.start()
        started = time.monotonic()
        lock_for_apply(second, timeout=10, echo=lines.append)  # waits for the first transaction to end
        assert time.monotonic() - started >= 0.1
        released.join()
        second.commit()
