"""The database's identity: one random uuid, made when this migration runs.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03

A saved plan (`hlb plan -o`) records this id, and `hlb apply plan.json`
refuses a plan made against another database. `hlb apply` also locks this
table IN EXCLUSIVE MODE to serialize applies: Postgres lets only roles with
UPDATE, DELETE or TRUNCATE on the table take that lock, so the bot's
read-only role can neither take nor hold it. An existing database gets its id
at upgrade; the downgrade drops the table.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('database_identity',
    sa.Column('id', postgresql.UUID(as_uuid=False), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('database_identity_pkey')),
    schema='hlb_config'
    )
    op.execute('INSERT INTO "hlb_config"."database_identity" DEFAULT VALUES')


def downgrade() -> None:
    op.drop_table('database_identity', schema='hlb_config')
