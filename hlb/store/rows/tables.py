"""The hlb_config tables as the row mapping reads them, made from hlb.store.models: do not edit.

Run ``python -m hlb.store.rows.generate`` after changing a table there
(``hlb.store.rows.generate`` says why this is written out).
"""

from __future__ import annotations

from typing import Literal

ColumnType = Literal["text", "int", "bool", "json"]

SCHEMA = "hlb_config"

# Each table's columns in order, with their types.
COLUMNS: dict[str, tuple[tuple[str, ColumnType], ...]] = {
    "guilds": (
        ("name", "text"),
        ("discord_id", "text"),
        ("prune", "bool"),
        ("adopt", "text"),
        ("labels", "json"),
        ("extra", "json"),
        ("content_hash", "text"),
    ),
    "channels": (
        ("guild", "text"),
        ("name", "text"),
        ("type", "text"),
        ("display_name", "text"),
        ("category", "text"),
        ("topic", "text"),
        ("position", "int"),
        ("nsfw", "bool"),
        ("slowmode", "int"),
        ("bitrate", "int"),
        ("user_limit", "int"),
        ("protect", "bool"),
        ("permissions", "json"),
        ("labels", "json"),
        ("extra", "json"),
        ("content_hash", "text"),
    ),
    "roles": (
        ("guild", "text"),
        ("name", "text"),
        ("permissions", "json"),
        ("color", "text"),
        ("hoist", "bool"),
        ("mentionable", "bool"),
        ("unicode_emoji", "text"),
        ("protect", "bool"),
        ("rank", "int"),
        ("labels", "json"),
        ("extra", "json"),
        ("content_hash", "text"),
    ),
    "workflows": (
        ("guild", "text"),
        ("name", "text"),
        ("allowed_roles", "json"),
        ("inputs", "json"),
        ("triggers", "json"),
        ("labels", "json"),
        ("extra", "json"),
        ("content_hash", "text"),
    ),
    "commands": (
        ("guild", "text"),
        ("name", "text"),
        ("description", "text"),
        ("default_member_permissions", "json"),
        ("reply", "json"),
        ("workflow", "text"),
        ("labels", "json"),
        ("extra", "json"),
        ("content_hash", "text"),
    ),
    "dashboards": (
        ("guild", "text"),
        ("name", "text"),
        ("channel", "text"),
        ("refresh", "int"),
        ("sources", "json"),
        ("content", "text"),
        ("embeds", "json"),
        ("labels", "json"),
        ("extra", "json"),
        ("content_hash", "text"),
    ),
    "workflow_steps": (
        ("guild", "text"),
        ("workflow", "text"),
        ("position", "int"),
        ("type", "text"),
        ("step_id", "text"),
        ("condition", "text"),
        ("config", "json"),
    ),
    "command_options": (
        ("guild", "text"),
        ("command", "text"),
        ("position", "int"),
        ("name", "text"),
        ("type", "text"),
        ("description", "text"),
        ("required", "bool"),
        ("choices", "json"),
        ("min_value", "json"),
        ("max_value", "json"),
        ("min_length", "int"),
        ("max_length", "int"),
        ("extra", "json"),
    ),
    "dashboard_components": (
        ("guild", "text"),
        ("dashboard", "text"),
        ("row", "int"),
        ("col", "int"),
        ("type", "text"),
        ("label", "text"),
        ("style", "text"),
        ("workflow", "text"),
        ("url", "text"),
        ("emoji", "json"),
        ("disabled", "bool"),
        ("placeholder", "text"),
        ("min_values", "int"),
        ("max_values", "int"),
        ("options", "json"),
        ("extra", "json"),
    ),
}

# Each table's primary key columns.
KEYS: dict[str, tuple[str, ...]] = {
    "guilds": ("name",),
    "channels": ("guild", "name"),
    "roles": ("guild", "name"),
    "workflows": ("guild", "name"),
    "commands": ("guild", "name"),
    "dashboards": ("guild", "name"),
    "workflow_steps": ("guild", "workflow", "position"),
    "command_options": ("guild", "command", "position"),
    "dashboard_components": ("guild", "dashboard", "row", "col"),
}
