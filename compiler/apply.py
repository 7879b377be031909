"""Plan and apply against PostgreSQL: one transaction, a lock, a revision, a NOTIFY.

``plan_against`` reads what the database holds and compares; ``apply_model``
does the same inside one transaction under an advisory lock, writes the rows,
records a revision and notifies ``hlb_applied``. Applying a model equal to the
stored state writes nothing. A saved plan carries the revision it was computed
against and is refused once the database has moved on.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import psycopg

from hlb.compiler import store
from hlb.compiler.model import Model
from hlb.compiler.plan import Plan, compute_plan
from hlb.db import connect, ensure_schema, readable

NOTIFY_CHANNEL = "hlb_applied"
_ANY = object()


class StalePlan(Exception):
    """A saved plan computed against a revision that is no longer current."""

    def __init__(self, planned: int | None, current: int | None) -> None:
        planned_s = "an empty database" if planned is None else f"revision {planned}"
        super().__init__(
            f"the saved plan was computed against {planned_s}, but the database is now at revision "
            f"{current}; run `hlb plan` again and review the new plan"
        )


@dataclass(frozen=True)
class ApplyResult:
    plan: Plan
    revision: int | None  # the new revision, None when nothing changed


def plan_against(url: str, desired: Model) -> Plan:
    """What applying ``desired`` would change; reads only, never migrates."""
    with connect(url) as conn:
        if not readable(conn, url):  # a database hlb never touched: everything is new
            return compute_plan(desired, {}, lambda keys: {}, None)
        state = store.read_state(conn)
        return compute_plan(
            desired, state.hashes, lambda keys: store.load_objects(conn, keys), state.revision
        )


def apply_model(
    url: str,
    desired: Model,
    *,
    author: str,
    git_sha: str | None = None,
    message: str | None = None,
    expected_base: object = _ANY,
    echo: Callable[[str], None] = print,
    before_commit: Callable[[psycopg.Connection], None] | None = None,
) -> ApplyResult:
    """Apply ``desired`` in one transaction; ``expected_base`` (a saved plan's base) guards staleness.

    ``before_commit`` is a hook for fault-injection tests (for example a test
    that terminates the connection to prove a failed apply changes nothing).
    """
    ensure_schema(url, upgrade=True, echo=echo)
    with connect(url) as conn, conn.transaction():
        store.lock_for_apply(conn)
        state = store.read_state(conn)
        if expected_base is not _ANY and expected_base != state.revision:
            raise StalePlan(expected_base if isinstance(expected_base, int) else None, state.revision)
        plan = compute_plan(
            desired, state.hashes, lambda keys: store.load_objects(conn, keys), state.revision
        )
        if not plan.has_changes:
            return ApplyResult(plan, None)
        # The server stores the revision's snapshot (parsing and compressing megabytes of JSON)
        # while this thread builds the rows; the connection serves one of them at a time.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="hlb-revision") as pool:
            recorded = pool.submit(
                store.insert_revision,
                conn,
                author=author,
                git_sha=git_sha,
                message=message,
                snapshot=desired.to_snapshot(),
                summary=plan.summary(),
                parent=state.revision,
            )
            changes = store.prepare_changes(plan.creates(), plan.updates(), plan.deletes())
            revision = recorded.result()
        store.write_prepared(conn, changes)
        conn.execute("SELECT pg_notify(%s, %s)", (NOTIFY_CHANNEL, str(revision)))
        if before_commit is not None:
            before_commit(conn)
    return ApplyResult(plan, revision)


def stored_model(url: str) -> tuple[int | None, Model]:
    """The current revision and everything the database holds, as a model."""
    with connect(url) as conn:
        if not readable(conn, url):
            return None, Model()
        state = store.read_state(conn)
        return state.revision, Model.of(store.load_objects(conn, None).values())


__all__ = ["ApplyResult", "StalePlan", "apply_model", "plan_against", "stored_model"]
