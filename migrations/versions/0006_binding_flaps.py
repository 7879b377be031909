"""Bindings count the writes that did not stick, so a value a server will not keep is reported, not rewritten.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03

``written_hash`` is a hash of the last writes the bot sent to heal an object (the
fields and overwrites, as sent); ``flaps`` how many times in a row it sent exactly
those writes. When the same writes are due a fourth time, the value does not stick:
the object is marked ``drifted`` and held like a permanent error. The downgrade drops
both columns.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('bindings', sa.Column('written_hash', sa.Text(), nullable=True), schema='hlb_runtime')
    op.add_column(
        'bindings',
        sa.Column('flaps', sa.Integer(), server_default=sa.text('0'), nullable=False),
        schema='hlb_runtime',
    )


def downgrade() -> None:
    op.drop_column('bindings', 'flaps', schema='hlb_runtime')
    op.drop_column('bindings', 'written_hash', schema='hlb_runtime')
