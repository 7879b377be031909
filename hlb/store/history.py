"""Revisions: list them, show one with its changes, and roll back to one.

``history_lines`` and ``show_text`` are what `hlb history` and `hlb show`
print: a revision is something that happened, so it is told in the past tense,
and a revision applied from a work tree with local edits shows its commit as
``abc1234-dirty``.
"""

from __future__ import annotations

from dataclasses import dataclass

from hlb.compiler.model import Model
from hlb.compiler.plan import Plan, diff_models
from hlb.compiler.wording import PLAIN, Paint, plural
from hlb.gitinfo import short_sha
from hlb.plans.render import render_revision
from hlb.store import objects as store
from hlb.store.db import connect, readable


class RevisionNotFound(LookupError):
    def __init__(self, rev: int) -> None:
        super().__init__(f"revision {rev} does not exist; `hlb history` lists the revisions")


@dataclass(frozen=True)
class RevisionDetail:
    info: store.RevisionInfo
    model: Model
    changes: Plan  # from the parent revision's snapshot to this one


def list_history(url: str, limit: int = 50) -> list[store.RevisionInfo]:
    with connect(url) as conn:
        if not readable(conn, url):
            return []
        return store.list_revisions(conn, limit)


def show_revision(url: str, rev: int) -> RevisionDetail:
    with connect(url) as conn:
        if not readable(conn, url):
            raise RevisionNotFound(rev)
        found = store.get_revision(conn, rev)
        if found is None:
            raise RevisionNotFound(rev)
        parent = store.get_revision(conn, found.parent) if found.parent is not None else None
    model = Model.from_snapshot(found.snapshot)
    before = Model.from_snapshot(parent.snapshot) if parent is not None else Model()
    return RevisionDetail(found, model, diff_models(before, model, found.parent))


def revision_model(url: str, rev: int) -> Model:
    """The full compiled snapshot of revision ``rev`` (what a rollback re-applies)."""
    return show_revision(url, rev).model


def history_lines(revisions: list[store.RevisionInfo]) -> list[str]:
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
