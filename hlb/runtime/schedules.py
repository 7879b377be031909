"""Cron schedules of workflows: which slot is due now, and claiming it so it fires exactly once.

A slot is due while ``now`` is within ``GRACE`` after it, so a bot restarted inside a
slot still fires it, and a bot that was down for hours does not replay old ones. Every
replica may try; the row inserted into ``hlb_runtime.schedule_slots`` decides who fires.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import psycopg

from hlb.compiler.model import Model, SpecObject

GRACE = timedelta(minutes=2)


def due_slot(expression: str, now: datetime, grace: timedelta = GRACE) -> datetime | None:
    """The latest slot of ``expression`` (cron, UTC) at or before ``now``, if within ``grace``."""
    from croniter import croniter

    slot: datetime = croniter(expression, now + timedelta(microseconds=1)).get_prev(datetime)
    return slot if now - slot <= grace else None


def scheduled(model: Model) -> Iterator[tuple[SpecObject, str]]:
    """Every (workflow, cron expression) of the model."""
    for workflow in model.of_kind("Workflow"):
        for trigger in workflow.spec.get("triggers") or ():
            if "schedule" in trigger:
                yield workflow, str(trigger["schedule"])


def due(model: Model, now: datetime, grace: timedelta = GRACE) -> list[tuple[SpecObject, datetime]]:
    found = []
    for workflow, expression in scheduled(model):
        slot = due_slot(expression, now, grace)
        if slot is not None:
            found.append((workflow, slot))
    return found


async def claim(conn: psycopg.AsyncConnection[Any], workflow: SpecObject, slot: datetime) -> bool:
    """True for exactly one caller per (workflow, slot), across processes and restarts."""
    cur = await conn.execute(
        "INSERT INTO hlb_runtime.schedule_slots (guild, workflow, slot) VALUES (%s, %s, %s) "
        "ON CONFLICT DO NOTHING RETURNING slot",
        (workflow.key.guild, workflow.key.name, slot),
    )
    return await cur.fetchone() is not None


async def claim_interaction(conn: psycopg.AsyncConnection[Any], interaction_id: int) -> bool:
    """True for exactly one replica per interaction: the one that answers it."""
    cur = await conn.execute(
        "INSERT INTO hlb_runtime.interaction_claims (interaction_id) VALUES (%s) "
        "ON CONFLICT DO NOTHING RETURNING interaction_id",
        (interaction_id,),
    )
    return await cur.fetchone() is not None


async def forget_old_claims(conn: psycopg.AsyncConnection[Any], older_than: timedelta) -> None:
    await conn.execute(
        "DELETE FROM hlb_runtime.interaction_claims WHERE claimed_at < now() - %s", (older_than,)
    )
