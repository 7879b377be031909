"""Revisions in hlb_config: record one per apply, list them, show one with its changes, roll back.

``history_lines`` and ``show_text`` are what `hlb history` and `hlb show`
print: a revision is something that happened, so it is told in the past tense,
and a revision applied from a work tree with local edits shows its commit as
``abc1234-dirty``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from psycopg import sql
from psycopg.types.json import Json, Jsonb, set_json_loads

from hlb.compiler.model import Model
from hlb.compiler.plan import Plan, diff_models
from hlb.compiler.wording import PLAIN, Paint, plural
from hlb.plans.render import render_revision
from hlb.store.db import connect, readable
from hlb.store.objects import REVISIONS, Conn, dumps_json


@dataclass(frozen=True)
class RevisionInfo:
    """One applied revision, without its snapshot."""

    id: int
    created_at: datetime
    author: str
    git_sha: str | None
    message: str | None
    parent: int | None
    summary: dict[str, Any]


@dataclass(frozen=True)
class Revision(RevisionInfo):
    """A revision with the full compiled model it recorded (``Model.to_snapshot()``)."""

    snapshot: list[dict[str, Any]]


def insert_revision(
    conn: Conn,
    *,
    author: str,
    git_sha: str | None,
    message: str | None,
    snapshot: list[dict[str, Any]],
    summary: dict[str, Any],
    parent: int | None,
) -> int:
    """Record a revision; returns its id."""
    query = sql.SQL(
        "INSERT INTO {} (author, git_sha, message, parent_revision, snapshot, summary) "
        "VALUES (%s, %s, %s, %s, %s, %s) RETURNING id"
    ).format(REVISIONS)
    params = (author, git_sha, message, parent, Json(snapshot, dumps_json), Jsonb(summary, dumps_json))
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return int(row[0])


def list_revisions(conn: Conn, limit: int = 50) -> list[RevisionInfo]:
    """The newest ``limit`` revisions, newest first."""
    query = sql.SQL(
        "SELECT id, created_at, author, git_sha, message, parent_revision, summary "
        "FROM {} ORDER BY id DESC LIMIT %s"
    ).format(REVISIONS)
    with conn.cursor() as cur:
        set_json_loads(orjson.loads, cur)
        return [RevisionInfo(*row) for row in cur.execute(query, (limit,))]


def get_revision(conn: Conn, rev: int) -> Revision | None:
    """One revision with its snapshot, or None when there is no such revision."""
    query = sql.SQL(
        "SELECT id, created_at, author, git_sha, message, parent_revision, summary, snapshot "
        "FROM {} WHERE id = %s"
    ).format(REVISIONS)
    with conn.cursor() as cur:
        set_json_loads(orjson.loads, cur)
        row = cur.execute(query, (rev,)).fetchone()
    return Revision(*row) if row is not None else None


DIRTY = "-dirty"  # the end of a git sha applied from a work tree with local edits


def short_sha(sha: str | None) -> str:
    """A sha as people read it: 7 characters, ``-dirty`` kept (``abc1234-dirty``); ``-`` when unknown."""
    if not sha:
        return "-"
    dirty = sha.endswith(DIRTY)
    return sha.removesuffix(DIRTY)[:7] + (DIRTY if dirty else "")


class RevisionNotFound(LookupError):
    def __init__(self, rev: int) -> None:
        super().__init__(f"revision {rev} does not exist; `hlb history` lists the revisions")


@dataclass(frozen=True)
class RevisionDetail:
    info: RevisionInfo
    model: Model
    changes: Plan  # from the parent revision's snapshot to this one


def list_history(url: str, limit: int = 50) -> list[RevisionInfo]:
    with connect(url) as conn:
        if not readable(conn, url):
            return []
        return list_revisions(conn, limit)


def show_revision(url: str, rev: int) -> RevisionDetail:
    with connect(url) as conn:
        if not readable(conn, url):
            raise RevisionNotFound(rev)
        found = get_revision(conn, rev)
        if found is None:
            raise RevisionNotFound(rev)
        parent = get_revision(conn, found.parent) if found.parent is not None else None
    model = Model.from_snapshot(found.snapshot)
    before = Model.from_snapshot(parent.snapshot) if parent is not None else Model()
    return RevisionDetail(found, model, diff_models(before, model, found.parent))


def revision_model(url: str, rev: int) -> Model:
    """The full compiled snapshot of revision ``rev`` (what a rollback re-applies)."""
    return show_revision(url, rev).model


def history_lines(revisions: list[RevisionInfo]) -> list[str]:
    """One line per revision: id, when, commit, counts, author, message."""
    lines = []
    for r in revisions:
        s = r.summary or {}
        counts = f"+{s.get('create', 0)} ~{s.get('update', 0)} -{s.get('delete', 0)}"
        when = r.created_at.strftime("%Y-%m-%d %H:%M:%S")
        sha = short_sha(r.git_sha)
        lines.append(f"{r.id:>5}  {when}  {sha:<13}  {counts:<14}  {r.author}  {r.message or ''}".rstrip())
    return lines


def show_text(detail: RevisionDetail, *, paint: Paint = PLAIN) -> str:
    """One revision for people: who applied it, when, from which commit, why, and what it changed."""
    r = detail.info
    lines = [
        f"Revision {r.id} ({plural(len(detail.model), 'object')})",
        f"applied: {r.created_at.isoformat()}",
        f"by:      {r.author}",
        f"git:     {r.git_sha or '-'}",
        f"message: {r.message or '-'}",
        "",
        render_revision(detail.changes, r.id, paint=paint),
    ]
    return "\n".join(lines)
