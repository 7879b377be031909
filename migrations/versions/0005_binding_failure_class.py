"""Bindings remember how an object failed: temporary or permanent, and for which spec.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03

``error_kind`` is 'temporary' (429, 5xx, timeouts: retried soon) or 'permanent'
(Discord refused the request or answered what the bot cannot read: held for an
hour, doubling). ``attempted_hash`` is the spec hash the failed attempt was for,
so a changed spec is tried at once instead of waiting out the hold. Both are
empty for objects that have not failed; the downgrade drops them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('bindings', sa.Column('error_kind', sa.Text(), nullable=True), schema='hlb_runtime')
    op.add_column('bindings', sa.Column('attempted_hash', sa.Text(), nullable=True), schema='hlb_runtime')


def downgrade() -> None:
    op.drop_column('bindings', 'attempted_hash', schema='hlb_runtime')
    op.drop_column('bindings', 'error_kind', schema='hlb_runtime')
