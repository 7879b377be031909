"""Plan and apply against a real PostgreSQL: revisions, no-op applies, stale plans, failures, locking."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import psycopg
import pytest

from hlb.cli_common import write_export
from hlb.compiler.compile import compile_paths
from hlb.compiler.model import Model, ObjectKey
from hlb.compiler.plan import CreateOp, DeleteOp, UpdateOp
from hlb.plans.render import render_markdown, render_text
from hlb.plans.saved_plan import dump_saved_plan, load_saved_plan
from hlb.store import objects as store
from hlb.store.apply import StalePlan, apply_model, plan_against, stored_model
from hlb.store.revisions import list_history, revision_model, show_revision

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"


def compiled(*paths: Path, env: dict[str, str] | None = None) -> Model:
    result = compile_paths([str(p) for p in paths], env=env or {})
    assert result.ok, "\n".join(d.format_text() for d in result.diagnostics)
    assert result.model is not None
    return result.model


def apply(db_url: str, model: Model, **kw: object):  # type: ignore[no-untyped-def]
    return apply_model(db_url, model, author="tester", echo=lambda _: None, **kw)  # type: ignore[arg-type]


def revisions(db_url: str) -> int:
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT count(*) FROM hlb_config.revisions").fetchone()
        assert row is not None
        return int(row[0])


@pytest.fixture
def specs_copy(tmp_path: Path) -> Path:
    target = tmp_path / "specs"
    shutil.copytree(SPECS, target)
    return target


def test_first_apply_creates_everything_and_second_writes_nothing(db_url: str) -> None:
    model = compiled(SPECS)
    plan = plan_against(db_url, model)
    assert plan.base_revision is None
    assert [type(op) for op in plan.ops] == [CreateOp] * len(model)

    first = apply(db_url, model, message="initial")
    assert first.revision == 1
    assert first.plan.summary() == {"create": len(model), "update": 0, "delete": 0}

    second = apply(db_url, model)
    assert second.revision is None and not second.plan.has_changes
    assert revisions(db_url) == 1
    assert not plan_against(db_url, model).has_changes

    revision, stored = stored_model(db_url)
    assert revision == 1
    assert stored.by_key() == model.by_key()


def test_changed_topic_is_one_update_with_old_and_new(db_url: str, specs_copy: Path) -> None:
    apply(db_url, compiled(specs_copy))
    model = compiled(specs_copy)
    status = next(o for o in model.of_kind("Channel") if "topic" in o.spec)
    old_topic = status.spec["topic"]
    for path in specs_copy.rglob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        if f"topic: {old_topic}" in text:
            path.write_text(
                text.replace(f"topic: {old_topic}", "topic: A brand new topic", 1), encoding="utf-8"
            )
            break
    else:
        pytest.fail(f"could not find the topic {old_topic!r} in the spec files")
    plan = plan_against(db_url, compiled(specs_copy))
    assert plan.summary() == {"create": 0, "update": 1, "delete": 0}
    (op,) = plan.ops
    assert isinstance(op, UpdateOp)
    assert [(c.dotted, c.old, c.new) for c in op.changes] == [("spec.topic", old_topic, "A brand new topic")]
    assert f'~ spec.topic: "{old_topic}" -> "A brand new topic"' in render_text(plan)


def test_removed_objects_are_deleted_in_reverse_order(db_url: str) -> None:
    full = compiled(SPECS)
    apply(db_url, full)
    keep = Model.of(o for o in full if o.key.kind in ("Guild", "Channel"))
    plan = plan_against(db_url, keep)
    deleted = [op.key for op in plan.ops if isinstance(op, DeleteOp)]
    assert plan.summary() == {"create": 0, "update": 0, "delete": len(full) - len(keep)}
    assert set(deleted) == {o.key for o in full if o.key.kind not in ("Guild", "Channel")}
    order = ["Guild", "Role", "Channel", "Workflow", "Dashboard", "Command"]
    kinds = [k.kind for k in deleted]
    assert kinds == sorted(kinds, key=order.index, reverse=True)
    markdown = render_markdown(plan)
    assert f"> **⚠️ Destructive changes ({len(deleted)})**" in markdown
    assert f"> - **delete** {deleted[0].kind} `{deleted[0].name}`" in markdown
    assert apply(db_url, keep).revision == 2
    _, stored = stored_model(db_url)
    assert stored.by_key() == keep.by_key()


def test_saved_plan_is_refused_when_the_database_moved_on(db_url: str, specs_copy: Path) -> None:
    apply(db_url, compiled(specs_copy))
    model = compiled(specs_copy)
    changed = Model.of(o for o in model if o.key.kind != "Command")
    saved = load_saved_plan(dump_saved_plan(plan_against(db_url, changed)))
    assert saved.planned_on.base_revision == 1 and saved.desired.by_key() == changed.by_key()

    apply(db_url, Model.of(o for o in model if o.key.kind != "Dashboard"))  # someone else applied: revision 2
    with pytest.raises(StalePlan, match=r"revision 1.*now at revision 2"):
        apply(db_url, saved.desired, planned=saved.planned_on)
    assert revisions(db_url) == 2

    fresh = load_saved_plan(dump_saved_plan(plan_against(db_url, changed)))
    assert apply(db_url, fresh.desired, planned=fresh.planned_on).revision == 3


def test_a_failure_mid_apply_leaves_the_previous_state(db_url: str, specs_copy: Path) -> None:
    model = compiled(specs_copy)
    apply(db_url, model)
    before = stored_model(db_url)

    def kill_connection(conn: psycopg.Connection) -> None:
        pid = conn.info.backend_pid
        with psycopg.connect(db_url, autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s)", (pid,))

    smaller = Model.of(o for o in model if o.key.kind != "Command")
    with pytest.raises(psycopg.OperationalError):
        apply(db_url, smaller, before_commit=kill_connection)
    assert stored_model(db_url) == before
    assert revisions(db_url) == 1


def test_concurrent_applies_serialize(db_url: str) -> None:
    model = compiled(SPECS)
    variants = [Model.of(o for o in model if o.key.kind != kind) for kind in ("Command", "Dashboard")]
    errors: list[BaseException] = []

    def run(m: Model) -> None:
        try:
            apply(db_url, m)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(m,)) for m in variants]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    history = list_history(db_url)
    assert [r.id for r in history] == [2, 1]
    assert history[0].parent == 1 and history[1].parent is None
    _, stored = stored_model(db_url)
    assert stored.by_key() in (variants[0].by_key(), variants[1].by_key())


def test_apply_notifies_listeners_with_the_revision(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as listener:
        listener.execute("LISTEN hlb_applied")
        result = apply(db_url, compiled(SPECS))
        notes = list(listener.notifies(timeout=5, stop_after=1))
    assert [(n.channel, n.payload) for n in notes] == [("hlb_applied", str(result.revision))]


def test_history_show_and_rollback(db_url: str) -> None:
    full = compiled(SPECS)
    smaller = Model.of(o for o in full if o.key.kind != "Command")
    apply(db_url, full, message="everything")
    apply(db_url, smaller, message="drop commands")
    detail = show_revision(db_url, 2)
    assert detail.info.message == "drop commands"
    assert {type(op) for op in detail.changes.ops} == {DeleteOp}
    assert revision_model(db_url, 1).by_key() == full.by_key()

    rolled = apply(db_url, revision_model(db_url, 1), message="rollback to revision 1")
    assert rolled.revision == 3
    assert rolled.plan.summary()["create"] == len(full.of_kind("Command"))
    assert [r.id for r in list_history(db_url)] == [3, 2, 1]


def test_export_validates_and_reapplies_with_no_changes(db_url: str, tmp_path: Path) -> None:
    apply(db_url, compiled(SPECS))
    revision, stored = stored_model(db_url)
    files = write_export(stored, tmp_path / "export", revision)
    assert {f.name for f in files} == {
        "guilds.yaml",
        "roles.yaml",
        "channels.yaml",
        "workflows.yaml",
        "dashboards.yaml",
        "commands.yaml",
    }
    again = compiled(tmp_path / "export")
    assert again.by_key() == stored.by_key()
    assert not plan_against(db_url, again).has_changes


@pytest.mark.parametrize("example", ["minimal", "multi-guild"])
def test_examples_apply_and_reapply_cleanly(db_url: str, example: str) -> None:
    model = compiled(ROOT / "examples" / example)
    assert apply(db_url, model).revision == 1
    assert not plan_against(db_url, model).has_changes


def test_secret_values_never_reach_the_database(db_url: str) -> None:
    secret_env = {"PROM_TOKEN": "s3cr3t-prom-value", "DEPLOY_TOKEN": "s3cr3t-deploy-value"}
    model = compiled(SPECS, env=secret_env)
    apply(db_url, model)
    with psycopg.connect(db_url) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema IN ('hlb_config', 'hlb_runtime')"
        ).fetchall()
        dump = "".join(
            str(conn.execute(f'SELECT json_agg(t)::text FROM "{schema}"."{name}" t').fetchone())
            for schema, name in tables
        )
    assert "${secret:PROM_TOKEN}" in dump
    for value in secret_env.values():
        assert value not in dump


def test_state_reads_match_what_was_applied(db_url: str) -> None:
    model = compiled(SPECS)
    apply(db_url, model)
    with psycopg.connect(db_url) as conn:
        state = store.read_state(conn)
        assert state.revision == 1
        assert state.hashes == {o.key: o.hash for o in model}
        some = [ObjectKey(o.key.guild, o.key.kind, o.key.name) for o in model.objects[:3]]
        assert set(store.load_objects(conn, some)) == set(some)
