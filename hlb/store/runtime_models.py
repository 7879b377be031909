"""SQLAlchemy Core tables of ``hlb_runtime``, the bot's schema: bindings, its log, runs, slots, claims.

Part of the single definition alembic migrates to: they sit on ``hlb.store.models.metadata``,
which imports this module, so importing either gives the complete metadata. Written by the bot
only; ``hlb.store.runtime_tables`` holds the queries over them.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Identity,
    Index,
    Integer,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import DateTime

from hlb.store.models import RUNTIME_SCHEMA, _one_of, metadata

BINDING_STATUSES = ("in_sync", "pending", "drifted", "error")  # hlb.reconciler.state
EVENT_OUTCOMES = ("ok", "error")
RUN_TRIGGERS = ("command", "button", "select", "schedule", "manual")
RUN_STATUSES = ("running", "ok", "error", "refused")

bindings = Table(
    "bindings",
    metadata,
    Column("guild", Text, primary_key=True),
    Column("kind", Text, primary_key=True),
    Column("name", Text, primary_key=True),
    Column("discord_id", BigInteger),
    Column("channel_id", BigInteger),
    Column("spec_hash", Text),
    Column("rendered_hash", Text),
    Column("status", Text, nullable=False, server_default=text("'pending'")),
    Column("error", Text),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("reconciled_at", DateTime(timezone=True)),
    Column("protect", Boolean, nullable=False, server_default=text("false")),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("error_kind", Text),  # temporary | permanent (hlb.bot.failures), migration 0005
    Column("attempted_hash", Text),  # the spec hash the failed attempt was for, migration 0005
    Column("written_hash", Text),  # the healing writes last sent (hlb.reconciler.damping), migration 0006
    Column("flaps", Integer, nullable=False, server_default=text("0")),  # sent that many times, 0006
    CheckConstraint(_one_of("status", BINDING_STATUSES), name="status"),
    Index(None, "discord_id"),
    schema=RUNTIME_SCHEMA,
)

reconcile_events = Table(
    "reconcile_events",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("guild", Text, nullable=False),
    Column("kind", Text),
    Column("name", Text),
    Column("action", Text, nullable=False),
    Column("discord_id", BigInteger),
    Column("detail", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("outcome", Text, nullable=False),
    Column("error", Text),
    CheckConstraint(_one_of("outcome", EVENT_OUTCOMES), name="outcome"),
    Index(None, "guild", "at"),
    schema=RUNTIME_SCHEMA,
)

workflow_runs = Table(
    "workflow_runs",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("guild", Text, nullable=False),
    Column("workflow", Text, nullable=False),
    Column("trigger", Text, nullable=False),
    Column("user_id", BigInteger),
    Column("inputs", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("steps", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("status", Text, nullable=False),
    Column("error", Text),
    Column("started_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("finished_at", DateTime(timezone=True)),
    CheckConstraint(_one_of("trigger", RUN_TRIGGERS), name="trigger"),
    CheckConstraint(_one_of("status", RUN_STATUSES), name="status"),
    Index(None, "guild", "workflow", "started_at"),
    schema=RUNTIME_SCHEMA,
)

# One row per cron slot fired: the primary key makes a slot fire once across bot replicas.
schedule_slots = Table(
    "schedule_slots",
    metadata,
    Column("guild", Text, primary_key=True),
    Column("workflow", Text, primary_key=True),
    Column("slot", DateTime(timezone=True), primary_key=True),
    Column("fired_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    schema=RUNTIME_SCHEMA,
)

# Several bot replicas receive the same interaction: the one that inserts its id answers it.
interaction_claims = Table(
    "interaction_claims",
    metadata,
    Column("interaction_id", BigInteger, primary_key=True),
    Column("claimed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    schema=RUNTIME_SCHEMA,
)
