"""What the bot did, read from hlb_runtime for `hlb serve`: object status, workflow runs, replicas.

The status of each object is ``hlb status``'s (``hlb.runtime.status.object_status`` over the
applied model and the bindings), with the bot's last action on it from the reconcile log:
which fields it found differing and why. Replicas are found the way leader election
records itself: every ``hlb bot run`` keeps an election session (``application_name``
``hlb-bot leader``) and the leader's holds the advisory lock; that session's last query is
its heartbeat. Plain JSON-ready dicts (docs/api/*.schema.json); nothing here writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from hlb.compiler.model import Model, ObjectKey
from hlb.serve.queries import NotFound, RunFilter
from hlb.store.db import connect, readable
from hlb.store.leadership import ELECTION_APP, LEADER_LOCK

_LAST_ACTIONS = """
SELECT DISTINCT ON (kind, name) kind, name, at, action, detail, outcome, error
FROM hlb_runtime.reconcile_events WHERE guild = %s AND kind IS NOT NULL
ORDER BY kind, name, at DESC, id DESC
"""
_LAST_PASS = "SELECT guild, max(reconciled_at) FROM hlb_runtime.bindings GROUP BY guild"
_RUNS = """
SELECT id, guild, workflow, trigger, inputs, steps, status, error, started_at, finished_at
FROM hlb_runtime.workflow_runs
WHERE (%(workflow)s::text IS NULL OR workflow = %(workflow)s)
  AND (%(outcome)s::text IS NULL OR status = %(outcome)s)
ORDER BY started_at DESC, id DESC LIMIT %(limit)s
"""
_REPLICAS = """
SELECT a.pid, host(a.client_addr), a.backend_start, coalesce(a.state_change, a.query_start),
       EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.locktype = 'advisory' AND l.granted
               AND l.classid = %(high)s::oid AND l.objid = %(low)s::oid AND l.objsubid = 1)
FROM pg_stat_activity a
WHERE a.datname = current_database() AND a.application_name = %(app)s
ORDER BY a.backend_start
"""


def _when(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _stored(url: str) -> tuple[int | None, Model]:
    from hlb.store.apply import stored_model

    return stored_model(url)


def guilds(url: str) -> dict[str, Any]:
    """Each applied Guild with its objects' counts per Discord state and the bot's last pass."""
    from hlb.runtime.status import summary

    revision, model = _stored(url)
    with connect(url) as conn:
        last = dict(conn.execute(_LAST_PASS).fetchall()) if readable(conn, url) else {}
    out = [
        {
            "name": g.key.name,
            "summary": summary(_rows(url, model, g.key.name)),
            "last_reconcile": _when(last.get(g.key.name)),
        }
        for g in model.of_kind("Guild")
    ]
    return {"revision": revision, "guilds": out}


def _rows(url: str, model: Model, guild: str) -> list[Any]:
    from hlb.runtime.status import object_status
    from hlb.store.runtime_tables import load_bindings_sync

    with connect(url) as conn:
        bindings = load_bindings_sync(conn, guild) if readable(conn, url) else {}
    return object_status(Model.of(o for o in model if o.key.guild == guild), bindings)


def guild(url: str, name: str) -> dict[str, Any]:
    """``hlb status`` of one guild: each object on both layers, its error, and the bot's last action."""
    from hlb.runtime.status import status_json

    revision, model = _stored(url)
    if ObjectKey(name, "Guild", name) not in model.by_key():
        raise NotFound(f"no Guild named {name!r} is applied")
    rows = _rows(url, model, name)
    with connect(url) as conn:
        actions = {(k, n): _action(rest) for k, n, *rest in conn.execute(_LAST_ACTIONS, (name,))}
    body = status_json(rows)
    for entry in body["objects"]:
        entry["last_action"] = actions.get((entry["kind"], entry["name"]))
    return {"guild": name, "revision": revision, **body}


def _action(row: Sequence[Any]) -> dict[str, Any]:
    at, action, detail, outcome, error = row
    detail = detail or {}
    return {
        "at": _when(at),
        "action": action,
        "reason": detail.get("reason"),
        "fields": [str(f) for f in detail.get("fields") or []],
        "outcome": outcome,
        "error": error,
    }


def runs(url: str, where: RunFilter) -> dict[str, Any]:
    """Workflow runs, newest first, optionally of one workflow and one outcome; each step's result."""
    params = {"workflow": where.workflow, "outcome": where.outcome, "limit": where.limit}
    with connect(url) as conn:
        if not readable(conn, url):
            return {"runs": [], "workflows": []}
        found = conn.execute(_RUNS, params).fetchall()
        names = [
            r[0] for r in conn.execute("SELECT DISTINCT workflow FROM hlb_runtime.workflow_runs ORDER BY 1")
        ]
    return {"runs": [_run(row) for row in found], "workflows": names}


def _run(row: Sequence[Any]) -> dict[str, Any]:
    id_, guild_, workflow, trigger, inputs, steps, status, error, started, finished = row
    return {
        "id": id_,
        "guild": guild_,
        "workflow": workflow,
        "trigger": trigger,
        "inputs": inputs,  # redacted by the bot before it was stored (hlb.runtime.workflows.redact)
        "status": status,
        "error": error,
        "started_at": _when(started),
        "finished_at": _when(finished),
        "steps": [
            {
                "id": str(s.get("id")),
                "kind": str(s.get("kind")),
                "status": str(s.get("status")),
                "duration_ms": s.get("duration_ms"),
                "error": s.get("error"),
            }
            for s in steps or []
        ],
    }


def replicas(url: str) -> dict[str, Any]:
    """Every running bot replica: whether it leads, its last heartbeat; and the last pass per guild."""
    params = {"high": LEADER_LOCK >> 32, "low": LEADER_LOCK & 0xFFFFFFFF, "app": ELECTION_APP}
    with connect(url) as conn:
        found = conn.execute(_REPLICAS, params).fetchall()
        last = conn.execute(_LAST_PASS).fetchall() if readable(conn, url) else []
    listed = [
        {
            "pid": pid,
            "address": address or "local socket",
            "started_at": _when(started),
            "last_heartbeat": _when(beat),
            "leader": bool(leader),
        }
        for pid, address, started, beat, leader in found
    ]
    return {
        "running": bool(listed),
        "replicas": listed,
        "last_passes": [{"guild": g, "at": _when(at)} for g, at in sorted(last)],
    }


def previews(url: str, now: datetime | None = None) -> dict[str, str]:
    """``hlb preview`` of the applied dashboards (no sample data, nothing fetched): file name -> HTML."""
    from hlb.preview import build_previews
    from hlb.preview_html import command_views, render_pages

    now = now or datetime.now(UTC)
    _revision, model = _stored(url)
    return render_pages(build_previews(model, {}, now=now), command_views(model), now)
