"""Runtime state of the bot in hlb_runtime: bindings, reconcile events, workflow runs, schedule slots, interaction claims.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

Mirrors the hlb_runtime tables of hlb/models.py (tests/test_migrations.py runs
alembic's check). hlb_config is untouched: upgrading keeps every applied spec.
The downgrade drops these tables; the hlb_runtime schema stays (0001's).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('bindings',
    sa.Column('guild', sa.Text(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('discord_id', sa.BigInteger(), nullable=True),
    sa.Column('channel_id', sa.BigInteger(), nullable=True),
    sa.Column('spec_hash', sa.Text(), nullable=True),
    sa.Column('rendered_hash', sa.Text(), nullable=True),
    sa.Column('status', sa.Text(), server_default=sa.text("'pending'"), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reconciled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('protect', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('in_sync', 'pending', 'drifted', 'error')", name=op.f('bindings_status_check')),
    sa.PrimaryKeyConstraint('guild', 'kind', 'name', name=op.f('bindings_pkey')),
    schema='hlb_runtime'
    )
    op.create_index(op.f('bindings_discord_id_idx'), 'bindings', ['discord_id'], unique=False, schema='hlb_runtime')
    op.create_table('reconcile_events',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('guild', sa.Text(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=True),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('action', sa.Text(), nullable=False),
    sa.Column('discord_id', sa.BigInteger(), nullable=True),
    sa.Column('detail', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('outcome', sa.Text(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.CheckConstraint("outcome IN ('ok', 'error')", name=op.f('reconcile_events_outcome_check')),
    sa.PrimaryKeyConstraint('id', name=op.f('reconcile_events_pkey')),
    schema='hlb_runtime'
    )
    op.create_index(op.f('reconcile_events_guild_at_idx'), 'reconcile_events', ['guild', 'at'], unique=False, schema='hlb_runtime')
    op.create_table('schedule_slots',
    sa.Column('guild', sa.Text(), nullable=False),
    sa.Column('workflow', sa.Text(), nullable=False),
    sa.Column('slot', sa.DateTime(timezone=True), nullable=False),
    sa.Column('fired_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('guild', 'workflow', 'slot', name=op.f('schedule_slots_pkey')),
    schema='hlb_runtime'
    )
    op.create_table('interaction_claims',
    sa.Column('interaction_id', sa.BigInteger(), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('interaction_id', name=op.f('interaction_claims_pkey')),
    schema='hlb_runtime'
    )
    op.create_table('workflow_runs',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('guild', sa.Text(), nullable=False),
    sa.Column('workflow', sa.Text(), nullable=False),
    sa.Column('trigger', sa.Text(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=True),
    sa.Column('inputs', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('steps', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('running', 'ok', 'error', 'refused')", name=op.f('workflow_runs_status_check')),
    sa.CheckConstraint("trigger IN ('command', 'button', 'select', 'schedule', 'manual')", name=op.f('workflow_runs_trigger_check')),
    sa.PrimaryKeyConstraint('id', name=op.f('workflow_runs_pkey')),
    schema='hlb_runtime'
    )
    op.create_index(op.f('workflow_runs_guild_workflow_started_at_idx'), 'workflow_runs', ['guild', 'workflow', 'started_at'], unique=False, schema='hlb_runtime')


def downgrade() -> None:
    op.drop_index(op.f('workflow_runs_guild_workflow_started_at_idx'), table_name='workflow_runs', schema='hlb_runtime')
    op.drop_table('workflow_runs', schema='hlb_runtime')
    op.drop_table('interaction_claims', schema='hlb_runtime')
    op.drop_table('schedule_slots', schema='hlb_runtime')
    op.drop_index(op.f('reconcile_events_guild_at_idx'), table_name='reconcile_events', schema='hlb_runtime')
    op.drop_table('reconcile_events', schema='hlb_runtime')
    op.drop_index(op.f('bindings_discord_id_idx'), table_name='bindings', schema='hlb_runtime')
    op.drop_table('bindings', schema='hlb_runtime')
