"""Plan and apply against PostgreSQL: one transaction, a lock, a revision, a NOTIFY.

``plan_against`` reads what the database holds and compares; ``apply_model``
does the same inside one transaction under the apply lock
(``hlb.store.lock``), lets the caller approve the plan, writes the
rows, records a revision and notifies ``hlb_applied``. Applying a model equal
to the stored state writes nothing. A saved plan carries the identity of the
database and the revision it was computed against, and is refused by another
database or once this one has moved on.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass

import psycopg

from hlb.compiler.model import Model
from hlb.compiler.plan import Plan, compute_plan
from hlb.plans.saved_plan import PlannedOn
from hlb.settings import ConfigError
from hlb.store import objects as store
from hlb.store import revisions
from hlb.store.db import HEAD, connect, current_revision, describe, ensure_schema, readable
from hlb.store.lock import DEFAULT_LOCK_TIMEOUT, database_identity, lock_for_apply

NOTIFY_CHANNEL = "hlb_applied"


class StalePlan(Exception):
    """A saved plan computed against a revision that is no longer current."""

    def __init__(self, planned: int | None, current: int | None) -> None:
        planned_s = "an empty database" if planned is None else f"revision {planned}"
        super().__init__(
            f"the saved plan was computed against {planned_s}, but the database is now at revision "
            f"{current}; run `hlb plan` again and review the new plan"
        )


class OtherDatabase(Exception):
    """A saved plan computed against another database than the one being applied to."""

    def __init__(self, planned: str | None, current: str | None) -> None:
        planned_s = "a database hlb had never applied to" if planned is None else f"database {planned}"
        super().__init__(
            f"the saved plan was computed against {planned_s}, not this one (database {current}); "
            "run `hlb plan -o` against this database and review the new plan"
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
        plan = compute_plan(
            desired, state.hashes, lambda keys: store.load_objects(conn, keys), state.revision
        )
        return dataclasses.replace(plan, database_id=database_identity(conn))


def apply_model(
    url: str,
    desired: Model,
    *,
    author: str,
    git_sha: str | None = None,
    message: str | None = None,
    planned: PlannedOn | None = None,
    approve: Callable[[Plan], None] | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    echo: Callable[[str], None] = print,
    before_commit: Callable[[psycopg.Connection], None] | None = None,
) -> ApplyResult:
    """Apply ``desired`` in one transaction; ``planned`` (a saved plan's origin) guards staleness.

    ``approve`` sees the plan (under the lock, before anything is written) and
    raises to stop the apply; the transaction then rolls back. ``before_commit``
    is a hook for fault-injection tests (for example a test that terminates the
    connection to prove a failed apply changes nothing).
    """
    with connect(url, application=f"hlb apply (pid {os.getpid()})") as conn:
        at_head = current_revision(conn) == HEAD  # one connection for the check and the apply
        conn.rollback()  # hold no snapshot or lock while a migration runs on a connection of its own
        if not at_head:
            ensure_schema(url, upgrade=True, echo=echo)
        with conn.transaction():
            lock_for_apply(conn, timeout=lock_timeout, echo=echo)
            state = store.read_state(conn)
            identity = database_identity(conn)
            if planned is not None:
                check_planned_on(planned, identity, state.revision)
            plan = compute_plan(
                desired, state.hashes, lambda keys: store.load_objects(conn, keys), state.revision
            )
            plan = dataclasses.replace(plan, database_id=identity)
            if not plan.has_changes:
                return ApplyResult(plan, None)
            if approve is not None:
                approve(plan)
            revision = revisions.insert_revision(
                conn,
                author=author,
                git_sha=git_sha,
                message=message,
                snapshot=desired.to_snapshot(),
                summary=plan.summary(),
                parent=state.revision,
            )
            store.write_changes(conn, plan.creates(), plan.updates(), plan.deletes())
            conn.execute("SELECT pg_notify(%s, %s)", (NOTIFY_CHANNEL, str(revision)))
            if before_commit is not None:
                before_commit(conn)
    return ApplyResult(plan, revision)


def check_planned_on(planned: PlannedOn, identity: str | None, revision: int | None) -> None:
    """Raise OtherDatabase or StalePlan unless a saved plan was made here, at ``revision``.

    A plan made against a database hlb had never migrated has no identity: it
    only fits a database that holds no revision yet."""
    if planned.database_id is None:
        if revision is not None:
            raise OtherDatabase(None, identity)
        return
    if planned.database_id != identity:
        raise OtherDatabase(planned.database_id, identity)
    if planned.base_revision != revision:
        raise StalePlan(planned.base_revision, revision)


def stored_model(url: str) -> tuple[int | None, Model]:
    """The current revision and everything the database holds, as a model."""
    with connect(url) as conn:
        if not readable(conn, url):
            return None, Model()
        state = store.read_state(conn)
        return state.revision, Model.of(store.load_objects(conn, None).values())


def preflight(url: str) -> Model:
    """What the bot serves: refused (ConfigError) unless the database is at the migration head
    and holds a revision."""
    ensure_schema(url, upgrade=False)
    revision, model = stored_model(url)
    if revision is None:
        raise ConfigError(
            f"the database at {describe(url)} holds no revision yet: run `hlb apply SPECS` first"
        )
    return model


__all__ = [
    "ApplyResult",
    "OtherDatabase",
    "StalePlan",
    "apply_model",
    "check_planned_on",
    "plan_against",
    "preflight",
    "stored_model",
]
