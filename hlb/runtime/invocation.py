"""What starts a workflow run and what a run may do: the contract between triggers and the engine.

Triggers (a slash command, a button or select click, a schedule, a ``refresh``) build an
``Invocation``; the workflow engine runs its steps and asks an ``Effects`` implementation
to act on Discord. The bot's implementation talks to Discord through disnake; the
interaction handler's adds replies to the interaction.

Cron schedules: a slot is due while ``now`` is within ``GRACE`` after it, so a bot
restarted inside a slot still fires it, and a bot that was down for hours does not replay
old ones. Every replica may try; the row ``hlb.store.runtime_tables.claim_slot`` inserts
into ``hlb_runtime.schedule_slots`` decides who fires.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from hlb.compiler.model import Model, ObjectKey, SpecObject


@dataclass(frozen=True)
class Actor:
    """The member who triggered a run (None for schedules)."""

    id: int
    name: str
    roles: tuple[int, ...] = ()
    role_names: tuple[str, ...] = ()

    def context(self) -> dict[str, Any]:
        """What templates see as ``user`` / ``member``."""
        roles = list(self.role_names)
        return {"id": str(self.id), "name": self.name, "mention": f"<@{self.id}>", "roles": roles}


@dataclass(frozen=True)
class Invocation:
    """One request to run a workflow."""

    guild: SpecObject  # the Guild object
    workflow: SpecObject
    trigger: str  # one of hlb.store.runtime_models.RUN_TRIGGERS (a CHECK on workflow_runs.trigger)
    actor: Actor | None = None
    channel_id: int | None = None
    inputs: Mapping[str, Any] = field(default_factory=dict)
    extra_context: Mapping[str, Any] = field(default_factory=dict)  # e.g. {"channel": {...}}


@dataclass(frozen=True)
class Message:
    """A message a step sends: content and embeds in Discord's JSON."""

    content: str | None = None
    embeds: Sequence[Mapping[str, Any]] = ()
    ephemeral: bool = False


class StepFailed(Exception):
    """A step could not do its job; the message is shown to the user and stored on the run."""


class Effects(Protocol):
    """What workflow steps may do on Discord. Methods raise ``StepFailed`` with a clear message."""

    async def reply(self, message: Message) -> None:
        """Answer the interaction that started the run (no-op with a note for schedules)."""

    async def send(self, channel: str, message: Message) -> None:
        """Post to the managed channel named ``channel`` (a Channel object name)."""

    async def add_role(self, role: str, member_id: int) -> None:
        """Give ``role`` (a role name or id) to a member."""

    async def remove_role(self, role: str, member_id: int) -> None:
        """Take ``role`` (a role name or id) from a member."""

    async def refresh(self, dashboard: str) -> None:
        """Re-render the dashboard named ``dashboard`` now."""


# --- cron schedules ------------------------------------------------------------------------------

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


def due_schedules(model: Model, now: datetime, grace: timedelta = GRACE) -> list[tuple[SpecObject, datetime]]:
    found = []
    for workflow, expression in scheduled(model):
        slot = due_slot(expression, now, grace)
        if slot is not None:
            found.append((workflow, slot))
    return found


def due_refreshes(model: Model, now: datetime, next_refresh: dict[ObjectKey, datetime]) -> list[str]:
    """The guilds of the live dashboards (``refresh:``) due at ``now``; ``next_refresh`` keeps
    each dashboard's next time between calls (a dashboard first seen is due one period later)."""
    due_guilds: list[str] = []
    for dashboard in model.of_kind("Dashboard"):
        period = dashboard.spec.get("refresh")
        if not period:
            continue
        due = next_refresh.setdefault(dashboard.key, now + timedelta(seconds=float(period)))
        if now >= due:
            next_refresh[dashboard.key] = now + timedelta(seconds=float(period))
            due_guilds.append(dashboard.key.guild)
    return due_guilds
