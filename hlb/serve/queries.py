"""What `hlb serve` shows, read from the database: plain JSON-ready dicts, one function per page.

Every function takes the read-only URL (``readonly_url``) and reuses the code of the
command that prints the same thing: ``hlb history`` and ``hlb show`` (revisions and their
plan), ``hlb status`` (each object on both layers), the bot's runtime tables (workflow runs,
reconcile events) and ``hlb preview`` (dashboards). The dicts are the JSON API's bodies
(docs/api/*.schema.json) and what the HTML templates render. Nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from hlb.compiler.model import Model, ObjectKey
from hlb.store import revisions as stored_revisions
from hlb.store.db import connect, readable
from hlb.store.revisions import short_sha

READ_ONLY = "-c default_transaction_read_only=on"


class NotFound(LookupError):
    """The page asked for names something the database does not hold."""


@dataclass(frozen=True)
class RunFilter:
    workflow: str | None = None
    outcome: str | None = None
    limit: int = 50


def readonly_url(url: str) -> str:
    """``url`` whose every session starts its transactions read only: a bug here cannot write."""
    options = str(conninfo_to_dict(url).get("options") or "")
    return make_conninfo(url, options=f"{options} {READ_ONLY}".strip())


def _when(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _key(key: ObjectKey) -> dict[str, str]:
    return {"guild": key.guild, "kind": key.kind, "name": key.name}


# --- revisions ---------------------------------------------------------------------------------


def _revision_row(r: stored_revisions.RevisionInfo) -> dict[str, Any]:
    s = r.summary or {}
    return {
        "id": r.id,
        "created_at": _when(r.created_at),
        "author": r.author,
        "git_sha": r.git_sha,
        "git_short": short_sha(r.git_sha) if r.git_sha else None,
        "message": r.message,
        "parent": r.parent,
        "counts": {a: int(s.get(a, 0)) for a in ("create", "update", "delete")},
    }


def revisions(url: str, limit: int = 50) -> dict[str, Any]:
    """``hlb history``: the newest revisions, newest first."""
    from hlb.store.revisions import list_history

    return {"revisions": [_revision_row(r) for r in list_history(url, limit)]}


def revision(url: str, rev: int) -> dict[str, Any]:
    """``hlb show REV``: the revision, its plan in the words of ``hlb show``, permission changes in words."""
    from hlb.compiler.plan import action_of
    from hlb.plans.render import render_revision
    from hlb.plans.review import permission_changes
    from hlb.store.revisions import RevisionNotFound, show_revision

    try:
        detail = show_revision(url, rev)
    except RevisionNotFound as error:
        raise NotFound(str(error)) from error
    changes = [
        {
            **_key(op.key),
            "action": action_of(op),
            "permissions": [c.sentence() for c in permission_changes(op)],
        }
        for op in detail.changes.ops
    ]
    return {
        **_revision_row(detail.info),
        "objects": len(detail.model),
        "plan": render_revision(detail.changes, rev),
        "changes": changes,
    }


def object_history(url: str, key: ObjectKey, limit: int = 50) -> dict[str, Any]:
    """The revisions (of the newest ``limit``) that created, changed or deleted one object."""
    with connect(url) as conn:
        infos = stored_revisions.list_revisions(conn, limit + 1) if readable(conn, url) else []
        snapshots = {i.id: _hash_of(conn, i.id, key) for i in infos}
    found = []
    for info, older in zip(infos, [*infos[1:], None], strict=True):
        now, before = snapshots[info.id], snapshots[older.id] if older is not None else None
        if older is None and len(infos) > limit:
            break  # the oldest listed is only the base of the one after it
        if now != before:
            action = "create" if before is None else "delete" if now is None else "update"
            found.append({**_revision_row(info), "action": action})
    if not found and not any(snapshots.values()):
        raise NotFound(f"no revision holds {key}")
    return {"object": _key(key), "revisions": found}


def _hash_of(conn: Any, rev: int, key: ObjectKey) -> str | None:
    found = stored_revisions.get_revision(conn, rev)
    if found is None:
        return None
    for item in found.snapshot:
        if (item["guild"], item["kind"], item["name"]) == (key.guild, key.kind, key.name):
            return str(Model.from_snapshot([item]).objects[0].hash)
    return None
