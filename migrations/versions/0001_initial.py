"""Initial schema: hlb_config (objects of every kind, their children, revisions) and hlb_runtime.

Revision ID: 0001
Revises:
Create Date: 2026-11-22

Mirrors hlb/models.py exactly (tests/test_migrations.py runs alembic's check).
alembic_version lives in hlb_config (env.py creates that schema first), so a
downgrade drops the tables and hlb_runtime but leaves the hlb_config schema.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute('CREATE SCHEMA IF NOT EXISTS "hlb_config"')
    op.execute('CREATE SCHEMA IF NOT EXISTS "hlb_runtime"')
    op.create_table('guilds',
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('discord_id', sa.Text(), nullable=False),
    sa.Column('prune', sa.Boolean(), nullable=False),
    sa.Column('adopt', sa.Text(), nullable=False),
    sa.Column('labels', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('extra', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('content_hash', sa.Text(), nullable=False),
    sa.CheckConstraint("adopt IN ('none', 'by-name')", name=op.f('guilds_adopt_check')),
    sa.CheckConstraint("discord_id ~ '^[0-9]+$'", name=op.f('guilds_discord_id_check')),
    sa.PrimaryKeyConstraint('name', name=op.f('guilds_pkey')),
    sa.UniqueConstraint('discord_id', deferrable=True, initially='DEFERRED', name=op.f('guilds_discord_id_key')),
    schema='hlb_config'
    )
    op.create_table('revisions',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('author', sa.Text(), nullable=False),
    sa.Column('git_sha', sa.Text(), nullable=True),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('parent_revision', sa.BigInteger(), nullable=True),
    sa.Column('snapshot', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('summary', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.ForeignKeyConstraint(['parent_revision'], ['hlb_config.revisions.id'], name=op.f('revisions_parent_revision_fkey')),
    sa.PrimaryKeyConstraint('id', name=op.f('revisions_pkey')),
    schema='hlb_config'
    )
    op.create_table('channels',
    sa.Column('guild', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('type', sa.Text(), nullable=False),
    sa.Column('display_name', sa.Text(), nullable=False),
    sa.Column('category', sa.Text(), nullable=True),
    sa.Column('topic', sa.Text(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=True),
    sa.Column('nsfw', sa.Boolean(), nullable=False),
    sa.Column('slowmode', sa.Integer(), nullable=False),
    sa.Column('bitrate', sa.Integer(), nullable=True),
    sa.Column('user_limit', sa.Integer(), nullable=True),
    sa.Column('protect', sa.Boolean(), nullable=False),
    sa.Column('permissions', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('labels', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('extra', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('content_hash', sa.Text(), nullable=False),
    sa.CheckConstraint("type IN ('text', 'voice', 'category', 'announcement', 'forum', 'stage')", name=op.f('channels_type_check')),
    sa.CheckConstraint("type IN ('voice', 'stage') OR (bitrate IS NULL AND user_limit IS NULL)", name=op.f('channels_voice_only_check')),
    sa.CheckConstraint('slowmode BETWEEN 0 AND 21600', name=op.f('channels_slowmode_check')),
    sa.ForeignKeyConstraint(['guild', 'category'], ['hlb_config.channels.guild', 'hlb_config.channels.name'], name=op.f('channels_guild_category_fkey'), initially='DEFERRED', deferrable=True),
    sa.ForeignKeyConstraint(['guild'], ['hlb_config.guilds.name'], name=op.f('channels_guild_fkey'), initially='DEFERRED', deferrable=True),
    sa.PrimaryKeyConstraint('guild', 'name', name=op.f('channels_pkey')),
    schema='hlb_config'
    )
    op.create_index(op.f('channels_guild_category_idx'), 'channels', ['guild', 'category'], unique=False, schema='hlb_config')
    op.create_table('workflows',
    sa.Column('guild', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('allowed_roles', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('inputs', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('triggers', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('labels', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('extra', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('content_hash', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['guild'], ['hlb_config.guilds.name'], name=op.f('workflows_guild_fkey'), initially='DEFERRED', deferrable=True),
    sa.PrimaryKeyConstraint('guild', 'name', name=op.f('workflows_pkey')),
    schema='hlb_config'
    )
    op.create_table('commands',
    sa.Column('guild', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('default_member_permissions', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('reply', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('workflow', sa.Text(), nullable=True),
    sa.Column('labels', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('extra', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('content_hash', sa.Text(), nullable=False),
    sa.CheckConstraint('reply IS NULL OR workflow IS NULL', name=op.f('commands_reply_or_workflow_check')),
    sa.ForeignKeyConstraint(['guild', 'workflow'], ['hlb_config.workflows.guild', 'hlb_config.workflows.name'], name=op.f('commands_guild_workflow_fkey'), initially='DEFERRED', deferrable=True),
    sa.ForeignKeyConstraint(['guild'], ['hlb_config.guilds.name'], name=op.f('commands_guild_fkey'), initially='DEFERRED', deferrable=True),
    sa.PrimaryKeyConstraint('guild', 'name', name=op.f('commands_pkey')),
    schema='hlb_config'
    )
    op.create_index(op.f('commands_guild_workflow_idx'), 'commands', ['guild', 'workflow'], unique=False, schema='hlb_config')
    op.create_table('dashboards',
    sa.Column('guild', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('channel', sa.Text(), nullable=False),
    sa.Column('refresh', sa.Integer(), nullable=True),
    sa.Column('sources', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('content', sa.Text(), nullable=True),
    sa.Column('embeds', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('labels', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('extra', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('content_hash', sa.Text(), nullable=False),
    sa.CheckConstraint('refresh >= 30', name=op.f('dashboards_refresh_check')),
    sa.ForeignKeyConstraint(['guild', 'channel'], ['hlb_config.channels.guild', 'hlb_config.channels.name'], name=op.f('dashboards_guild_channel_fkey'), initially='DEFERRED', deferrable=True),
    sa.ForeignKeyConstraint(['guild'], ['hlb_config.guilds.name'], name=op.f('dashboards_guild_fkey'), initially='DEFERRED', deferrable=True),
    sa.PrimaryKeyConstraint('guild', 'name', name=op.f('dashboards_pkey')),
    schema='hlb_config'
    )
    op.create_index(op.f('dashboards_guild_channel_idx'), 'dashboards', ['guild', 'channel'], unique=False, schema='hlb_config')
    op.create_table('workflow_steps',
    sa.Column('guild', sa.Text(), nullable=False),
    sa.Column('workflow', sa.Text(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('type', sa.Text(), nullable=False),
    sa.Column('step_id', sa.Text(), nullable=True),
    sa.Column('condition', sa.Text(), nullable=True),
    sa.Column('config', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.CheckConstraint("type IN ('reply', 'send', 'http', 'add_role', 'remove_role', 'refresh')", name=op.f('workflow_steps_type_check')),
    sa.ForeignKeyConstraint(['guild', 'workflow'], ['hlb_config.workflows.guild', 'hlb_config.workflows.name'], name=op.f('workflow_steps_guild_workflow_fkey'), ondelete='CASCADE', initially='DEFERRED', deferrable=True),
    sa.PrimaryKeyConstraint('guild', 'workflow', 'position', name=op.f('workflow_steps_pkey')),
    schema='hlb_config'
    )
    op.create_table('command_options',
    sa.Column('guild', sa.Text(), nullable=False),
    sa.Column('command', sa.Text(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('type', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('required', sa.Boolean(), nullable=False),
    sa.Column('choices', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('min_value', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('max_value', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('min_length', sa.Integer(), nullable=True),
    sa.Column('max_length', sa.Integer(), nullable=True),
    sa.Column('extra', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.CheckConstraint("type IN ('string', 'integer', 'number', 'boolean', 'user', 'channel', 'role', 'mentionable')", name=op.f('command_options_type_check')),
    sa.ForeignKeyConstraint(['guild', 'command'], ['hlb_config.commands.guild', 'hlb_config.commands.name'], name=op.f('command_options_guild_command_fkey'), ondelete='CASCADE', initially='DEFERRED', deferrable=True),
    sa.PrimaryKeyConstraint('guild', 'command', 'position', name=op.f('command_options_pkey')),
    sa.UniqueConstraint('guild', 'command', 'name', deferrable=True, initially='DEFERRED', name=op.f('command_options_guild_command_name_key')),
    schema='hlb_config'
    )
    op.create_table('dashboard_components',
    sa.Column('guild', sa.Text(), nullable=False),
    sa.Column('dashboard', sa.Text(), nullable=False),
    sa.Column('row', sa.Integer(), nullable=False),
    sa.Column('col', sa.Integer(), nullable=False),
    sa.Column('type', sa.Text(), nullable=False),
    sa.Column('label', sa.Text(), nullable=True),
    sa.Column('style', sa.Text(), nullable=True),
    sa.Column('workflow', sa.Text(), nullable=True),
    sa.Column('url', sa.Text(), nullable=True),
    sa.Column('emoji', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('disabled', sa.Boolean(), nullable=True),
    sa.Column('placeholder', sa.Text(), nullable=True),
    sa.Column('min_values', sa.Integer(), nullable=True),
    sa.Column('max_values', sa.Integer(), nullable=True),
    sa.Column('options', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('extra', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.CheckConstraint("style IN ('primary', 'secondary', 'success', 'danger', 'link')", name=op.f('dashboard_components_style_check')),
    sa.CheckConstraint("type IN ('button', 'select')", name=op.f('dashboard_components_type_check')),
    sa.CheckConstraint('row >= 0 AND col >= 0', name=op.f('dashboard_components_grid_check')),
    sa.ForeignKeyConstraint(['guild', 'dashboard'], ['hlb_config.dashboards.guild', 'hlb_config.dashboards.name'], name=op.f('dashboard_components_guild_dashboard_fkey'), ondelete='CASCADE', initially='DEFERRED', deferrable=True),
    sa.ForeignKeyConstraint(['guild', 'workflow'], ['hlb_config.workflows.guild', 'hlb_config.workflows.name'], name=op.f('dashboard_components_guild_workflow_fkey'), initially='DEFERRED', deferrable=True),
    sa.PrimaryKeyConstraint('guild', 'dashboard', 'row', 'col', name=op.f('dashboard_components_pkey')),
    schema='hlb_config'
    )
    op.create_index(op.f('dashboard_components_guild_workflow_idx'), 'dashboard_components', ['guild', 'workflow'], unique=False, schema='hlb_config')


def downgrade() -> None:
    op.drop_index(op.f('dashboard_components_guild_workflow_idx'), table_name='dashboard_components', schema='hlb_config')
    op.drop_table('dashboard_components', schema='hlb_config')
    op.drop_table('command_options', schema='hlb_config')
    op.drop_table('workflow_steps', schema='hlb_config')
    op.drop_index(op.f('dashboards_guild_channel_idx'), table_name='dashboards', schema='hlb_config')
    op.drop_table('dashboards', schema='hlb_config')
    op.drop_index(op.f('commands_guild_workflow_idx'), table_name='commands', schema='hlb_config')
    op.drop_table('commands', schema='hlb_config')
    op.drop_table('workflows', schema='hlb_config')
    op.drop_index(op.f('channels_guild_category_idx'), table_name='channels', schema='hlb_config')
    op.drop_table('channels', schema='hlb_config')
    op.drop_table('revisions', schema='hlb_config')
    op.drop_table('guilds', schema='hlb_config')
    op.execute('DROP SCHEMA IF EXISTS "hlb_runtime"')
