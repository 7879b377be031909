"""Revision snapshots as json rather than jsonb.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

A snapshot is written once and read whole (`hlb show`, `hlb rollback`): json
stores the text as sent, where jsonb first takes it apart into its binary
form, which for the snapshot of 10,000 objects costs the server about as much
again as compressing it. The ``->`` and ``->>`` operators work on json too.
The conversion keeps every snapshot; the downgrade converts them back.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute('ALTER TABLE "hlb_config"."revisions" ALTER COLUMN "snapshot" TYPE json USING "snapshot"::json')


def downgrade() -> None:
    op.execute('ALTER TABLE "hlb_config"."revisions" ALTER COLUMN "snapshot" TYPE jsonb USING "snapshot"::jsonb')
