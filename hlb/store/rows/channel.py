"""Channel rows: one row in ``hlb_config.channels``; the overwrite set stays jsonb."""

from __future__ import annotations

from hlb.compiler.enums import CHANNEL_TYPES
from hlb.store.rows.base import field_, fields, flat_storage

KIND = "Channel"
FIELDS = fields(
    "channels",
    field_("type", choices=CHANNEL_TYPES),
    *("display_name", "category", "topic", "position", "nsfw", "slowmode", "bitrate", "user_limit"),
    *("protect", "permissions"),
)
STORAGE = flat_storage(KIND, "channels", FIELDS)
