"""A Guild's optional settings get columns, and the Emoji kind its table.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03

``guilds`` gains one nullable column per setting (NULL: the setting is not
managed) with CHECKs on the three enumerations and the AFK timeouts; ``emojis`` holds one row per
Emoji, with the image as the data URI the bot uploads (the bot never reads
spec files). It touches only these two tables; the downgrade drops both again.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SETTINGS: tuple[tuple[str, sa.types.TypeEngine[object]], ...] = (
    ('verification_level', sa.Text()),
    ('default_notifications', sa.Text()),
    ('explicit_content_filter', sa.Text()),
    ('system_channel', sa.Text()),
    ('rules_channel', sa.Text()),
    ('afk_channel', sa.Text()),
    ('afk_timeout', sa.Integer()),
    ('preferred_locale', sa.Text()),
    ('description', sa.Text()),
)
_CHECKS = (
    ('verification_level', "verification_level IN ('none', 'low', 'medium', 'high', 'very_high')"),
    ('default_notifications', "default_notifications IN ('all_messages', 'only_mentions')"),
    (
        'explicit_content_filter',
        "explicit_content_filter IN ('disabled', 'members_without_roles', 'all_members')",
    ),
    ('afk_timeout', 'afk_timeout IN (60, 300, 900, 1800, 3600)'),
)


def upgrade() -> None:
    for name, type_ in _SETTINGS:
        op.add_column('guilds', sa.Column(name, type_, nullable=True), schema='hlb_config')
    for name, condition in _CHECKS:
        op.create_check_constraint(op.f(f'guilds_{name}_check'), 'guilds', condition, schema='hlb_config')
    op.create_table('emojis',
    sa.Column('guild', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('emoji_name', sa.Text(), nullable=False),
    sa.Column('image', sa.Text(), nullable=False),
    sa.Column('sha256', sa.Text(), nullable=False),
    sa.Column('animated', sa.Boolean(), nullable=False),
    sa.Column('image_data', sa.Text(), nullable=False),
    sa.Column('roles', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('protect', sa.Boolean(), nullable=False),
    sa.Column('labels', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('extra', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('content_hash', sa.Text(), nullable=False),
    sa.CheckConstraint("emoji_name ~ '^[A-Za-z0-9_]{2,32}$'", name=op.f('emojis_emoji_name_check')),
    sa.ForeignKeyConstraint(['guild'], ['hlb_config.guilds.name'], name=op.f('emojis_guild_fkey'), initially='DEFERRED', deferrable=True),
    sa.PrimaryKeyConstraint('guild', 'name', name=op.f('emojis_pkey')),
    schema='hlb_config'
    )


def downgrade() -> None:
    op.drop_table('emojis', schema='hlb_config')
    for name, _ in _CHECKS:
        op.drop_constraint(op.f(f'guilds_{name}_check'), 'guilds', schema='hlb_config')
    for name, _ in reversed(_SETTINGS):
        op.drop_column('guilds', name, schema='hlb_config')
