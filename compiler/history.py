"""Revisions: list them, show one with its changes, and roll back to one."""

from __future__ import annotations

from dataclasses import dataclass

from hlb.compiler import store
from hlb.compiler.model import Model
from hlb.compiler.plan import Plan, diff_models
from hlb.db import connect, readable


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
