"""The Role kind's table: a server role's permissions, colour, flags and rank in the hierarchy.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

One row per Role object, keyed by (guild, name) like every kind. @everyone keeps
only ``permissions``: its other columns are null. ``rank`` is the role's place
among the guild's Role documents, 0 on top. The downgrade drops the table.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('roles',
    sa.Column('guild', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('permissions', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('color', sa.Text(), nullable=True),
    sa.Column('hoist', sa.Boolean(), nullable=True),
    sa.Column('mentionable', sa.Boolean(), nullable=True),
    sa.Column('unicode_emoji', sa.Text(), nullable=True),
    sa.Column('protect', sa.Boolean(), nullable=True),
    sa.Column('rank', sa.Integer(), nullable=True),
    sa.Column('labels', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('extra', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('content_hash', sa.Text(), nullable=False),
    sa.CheckConstraint("color ~ '^#[0-9a-f]{6}$'", name=op.f('roles_color_check')),
    sa.CheckConstraint('rank >= 0', name=op.f('roles_rank_check')),
    sa.ForeignKeyConstraint(['guild'], ['hlb_config.guilds.name'], name=op.f('roles_guild_fkey'), initially='DEFERRED', deferrable=True),
    sa.PrimaryKeyConstraint('guild', 'name', name=op.f('roles_pkey')),
    schema='hlb_config'
    )


def downgrade() -> None:
    op.drop_table('roles', schema='hlb_config')
