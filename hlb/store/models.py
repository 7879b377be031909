"""SQLAlchemy Core tables of both schemas: the single definition alembic migrates to.

``hlb_config`` is written by ``hlb apply`` only: one table per kind, keyed by
the natural key ``(guild, name)``, real columns for the scalar fields of the
normalized spec (docs/model.md), jsonb for nested structure, a ``content_hash``
and ``labels`` per object. ``extra`` holds spec keys this version of hlb has no
column for, so a stored object always reads back exactly as it was written.
Every foreign key is DEFERRABLE INITIALLY DEFERRED: the order of inserts inside
an apply transaction does not matter. ``hlb_runtime`` belongs to the bot:
bindings of spec objects to Discord objects, the log of what it sent to
Discord, workflow runs and the cron slots already fired: its tables are in
``hlb.store.runtime_models`` (on this module's ``metadata``), its queries in
``hlb.store.runtime_tables``.

The hot path (``hlb.store.objects``) does not import this module. The row
mapping (``hlb.store.rows``) reads the columns, types and keys of the
hlb_config tables from ``hlb/store/rows/tables.py``, generated from these tables
(``python -m hlb.store.rows.generate``), and ``tests/test_migrations.py``
compares them with what the migrations build: a column is written down here and
in its migration only.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSON, JSONB, UUID
from sqlalchemy.types import DateTime

from hlb.compiler.enums import (
    ADOPT_MODES,
    AFK_TIMEOUTS,
    BUTTON_STYLES,
    CHANNEL_TYPES,
    COMPONENT_TYPES,
    DEFAULT_NOTIFICATIONS,
    EXPLICIT_CONTENT_FILTERS,
    OPTION_TYPES,
    STEP_TYPES,
    VERIFICATION_LEVELS,
)

CONFIG_SCHEMA = "hlb_config"
RUNTIME_SCHEMA = "hlb_runtime"
SCHEMAS = (CONFIG_SCHEMA, RUNTIME_SCHEMA)
VERSION_TABLE = "alembic_version"  # kept in hlb_config, so SELECT on hlb_config covers it

NAMING = {
    "pk": "%(table_name)s_pkey",
    "fk": "%(table_name)s_%(column_0_N_name)s_fkey",
    "uq": "%(table_name)s_%(column_0_N_name)s_key",
    "ck": "%(table_name)s_%(constraint_name)s_check",
    "ix": "%(table_name)s_%(column_0_N_name)s_idx",
}

metadata = MetaData(naming_convention=NAMING)


def _one_of(column: str, values: Iterable[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _deferred(
    columns: list[str], table: str, refcolumns: list[str], ondelete: str | None = None
) -> ForeignKeyConstraint:
    target = [f"{CONFIG_SCHEMA}.{table}.{c}" for c in refcolumns]
    return ForeignKeyConstraint(columns, target, ondelete=ondelete, deferrable=True, initially="DEFERRED")


def _object_columns() -> list[Column[object]]:
    """The columns every object table ends with."""
    return [
        Column("labels", JSONB, nullable=False),
        Column("extra", JSONB, nullable=False),
        Column("content_hash", Text, nullable=False),
    ]


def _guild_fk() -> ForeignKeyConstraint:
    return _deferred(["guild"], "guilds", ["name"])


guilds = Table(
    "guilds",
    metadata,
    Column("name", Text, primary_key=True),
    Column("discord_id", Text, nullable=False),
    Column("prune", Boolean, nullable=False),
    Column("adopt", Text, nullable=False),
    *_object_columns(),
    # The optional settings (NULL: not managed); channels by their hlb name. Last: added by 0007.
    Column("verification_level", Text),
    Column("default_notifications", Text),
    Column("explicit_content_filter", Text),
    Column("system_channel", Text),
    Column("rules_channel", Text),
    Column("afk_channel", Text),
    Column("afk_timeout", Integer),
    Column("preferred_locale", Text),
    Column("description", Text),
    CheckConstraint("discord_id ~ '^[0-9]+$'", name="discord_id"),
    CheckConstraint(_one_of("adopt", ADOPT_MODES), name="adopt"),
    CheckConstraint(_one_of("verification_level", VERIFICATION_LEVELS), name="verification_level"),
    CheckConstraint(_one_of("default_notifications", DEFAULT_NOTIFICATIONS), name="default_notifications"),
    CheckConstraint(
        _one_of("explicit_content_filter", EXPLICIT_CONTENT_FILTERS), name="explicit_content_filter"
    ),
    CheckConstraint(f"afk_timeout IN ({', '.join(map(str, AFK_TIMEOUTS))})", name="afk_timeout"),
    UniqueConstraint("discord_id", deferrable=True, initially="DEFERRED"),
    schema=CONFIG_SCHEMA,
)

channels = Table(
    "channels",
    metadata,
    Column("guild", Text, primary_key=True),
    Column("name", Text, primary_key=True),
    Column("type", Text, nullable=False),
    Column("display_name", Text, nullable=False),
    Column("category", Text),
    Column("topic", Text),
    Column("position", Integer),
    Column("nsfw", Boolean, nullable=False),
    Column("slowmode", Integer, nullable=False),
    Column("bitrate", Integer),
    Column("user_limit", Integer),
    Column("protect", Boolean, nullable=False),
    Column("permissions", JSONB, nullable=False),
    *_object_columns(),
    _guild_fk(),
    _deferred(["guild", "category"], "channels", ["guild", "name"]),
    CheckConstraint(_one_of("type", CHANNEL_TYPES), name="type"),
    CheckConstraint("slowmode BETWEEN 0 AND 21600", name="slowmode"),
    CheckConstraint(
        "type IN ('voice', 'stage') OR (bitrate IS NULL AND user_limit IS NULL)", name="voice_only"
    ),
    Index(None, "guild", "category"),
    schema=CONFIG_SCHEMA,
)

roles = Table(
    "roles",
    metadata,
    Column("guild", Text, primary_key=True),
    Column("name", Text, primary_key=True),
    Column("permissions", JSONB, nullable=False),
    Column("color", Text),
    Column("hoist", Boolean),
    Column("mentionable", Boolean),
    Column("unicode_emoji", Text),
    Column("protect", Boolean),
    Column("rank", Integer),
    *_object_columns(),
    _guild_fk(),
    CheckConstraint("color ~ '^#[0-9a-f]{6}$'", name="color"),
    CheckConstraint("rank >= 0", name="rank"),
    schema=CONFIG_SCHEMA,
)

emojis = Table(
    "emojis",
    metadata,
    Column("guild", Text, primary_key=True),
    Column("name", Text, primary_key=True),
    Column("emoji_name", Text, nullable=False),
    Column("image", Text, nullable=False),  # the path as the spec wrote it (for export)
    Column("sha256", Text, nullable=False),
    Column("animated", Boolean, nullable=False),
    Column("image_data", Text, nullable=False),  # the image as a data URI: what the bot uploads
    Column("roles", JSONB),
    Column("protect", Boolean, nullable=False),
    *_object_columns(),
    _guild_fk(),
    CheckConstraint("emoji_name ~ '^[A-Za-z0-9_]{2,32}$'", name="emoji_name"),
    schema=CONFIG_SCHEMA,
)

workflows = Table(
    "workflows",
    metadata,
    Column("guild", Text, primary_key=True),
    Column("name", Text, primary_key=True),
    Column("allowed_roles", JSONB),
    Column("inputs", JSONB, nullable=False),
    Column("triggers", JSONB, nullable=False),
    *_object_columns(),
    _guild_fk(),
    schema=CONFIG_SCHEMA,
)

workflow_steps = Table(
    "workflow_steps",
    metadata,
    Column("guild", Text, primary_key=True),
    Column("workflow", Text, primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("type", Text, nullable=False),
    Column("step_id", Text),
    Column("condition", Text),
    Column("config", JSONB, nullable=False),
    _deferred(["guild", "workflow"], "workflows", ["guild", "name"], ondelete="CASCADE"),
    CheckConstraint(_one_of("type", STEP_TYPES), name="type"),
    schema=CONFIG_SCHEMA,
)

dashboards = Table(
    "dashboards",
    metadata,
    Column("guild", Text, primary_key=True),
    Column("name", Text, primary_key=True),
    Column("channel", Text, nullable=False),
    Column("refresh", Integer),
    Column("sources", JSONB),
    Column("content", Text),
    Column("embeds", JSONB, nullable=False),
    *_object_columns(),
    _guild_fk(),
    _deferred(["guild", "channel"], "channels", ["guild", "name"]),
    CheckConstraint("refresh >= 30", name="refresh"),
    Index(None, "guild", "channel"),
    schema=CONFIG_SCHEMA,
)

dashboard_components = Table(
    "dashboard_components",
    metadata,
    Column("guild", Text, primary_key=True),
    Column("dashboard", Text, primary_key=True),
    Column("row", Integer, primary_key=True),
    Column("col", Integer, primary_key=True),
    Column("type", Text, nullable=False),
    Column("label", Text),
    Column("style", Text),
    Column("workflow", Text),
    Column("url", Text),
    Column("emoji", JSONB),
    Column("disabled", Boolean),
    Column("placeholder", Text),
    Column("min_values", Integer),
    Column("max_values", Integer),
    Column("options", JSONB),
    Column("extra", JSONB, nullable=False),
    _deferred(["guild", "dashboard"], "dashboards", ["guild", "name"], ondelete="CASCADE"),
    _deferred(["guild", "workflow"], "workflows", ["guild", "name"]),
    CheckConstraint(_one_of("type", COMPONENT_TYPES), name="type"),
    CheckConstraint(_one_of("style", BUTTON_STYLES), name="style"),
    CheckConstraint("row >= 0 AND col >= 0", name="grid"),
    Index(None, "guild", "workflow"),
    schema=CONFIG_SCHEMA,
)

commands = Table(
    "commands",
    metadata,
    Column("guild", Text, primary_key=True),
    Column("name", Text, primary_key=True),
    Column("description", Text, nullable=False),
    Column("default_member_permissions", JSONB),
    Column("reply", JSONB),
    Column("workflow", Text),
    *_object_columns(),
    _guild_fk(),
    _deferred(["guild", "workflow"], "workflows", ["guild", "name"]),
    CheckConstraint("reply IS NULL OR workflow IS NULL", name="reply_or_workflow"),
    Index(None, "guild", "workflow"),
    schema=CONFIG_SCHEMA,
)

command_options = Table(
    "command_options",
    metadata,
    Column("guild", Text, primary_key=True),
    Column("command", Text, primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("name", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("required", Boolean, nullable=False),
    Column("choices", JSONB),
    Column("min_value", JSONB),  # a JSON number: keeps 1 and 1.0 apart
    Column("max_value", JSONB),
    Column("min_length", Integer),
    Column("max_length", Integer),
    Column("extra", JSONB, nullable=False),
    _deferred(["guild", "command"], "commands", ["guild", "name"], ondelete="CASCADE"),
    UniqueConstraint("guild", "command", "name", deferrable=True, initially="DEFERRED"),
    CheckConstraint(_one_of("type", OPTION_TYPES), name="type"),
    schema=CONFIG_SCHEMA,
)

revisions = Table(
    "revisions",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("author", Text, nullable=False),
    Column("git_sha", Text),
    Column("message", Text),
    Column("parent_revision", BigInteger, ForeignKey(f"{CONFIG_SCHEMA}.revisions.id")),
    Column("snapshot", JSON, nullable=False),  # written once, read whole: json, not jsonb (0003)
    Column("summary", JSONB, nullable=False),
    schema=CONFIG_SCHEMA,
)

# One row, made when migration 0004 runs: which database a saved plan was made against. Applies
# also lock this table IN EXCLUSIVE MODE, a lock only roles that may write hlb_config can take.
database_identity = Table(
    "database_identity",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True, server_default=func.gen_random_uuid()),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    schema=CONFIG_SCHEMA,
)

# The hlb_runtime tables (written by the bot only) are defined in their own module; importing it
# here puts them on ``metadata`` too, so alembic and the checks see both schemas.
from hlb.store import runtime_models  # noqa: E402, F401  (after ``metadata``, which it imports)
