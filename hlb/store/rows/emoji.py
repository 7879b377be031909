"""Emoji rows: one row in ``hlb_config.emojis``, the image held as the data URI the bot uploads."""

from __future__ import annotations

from hlb.store.rows.base import field_, fields, flat_storage

KIND = "Emoji"
FIELDS = fields(
    "emojis",
    field_("name", "emoji_name"),
    *("image", "sha256", "animated", "image_data", "roles", "protect"),
)
STORAGE = flat_storage(KIND, "emojis", FIELDS)
