"""Channel rows: one row in ``hlb_config.channels``; the overwrite set stays jsonb."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hlb.compiler.enums import CHANNEL_TYPES
from hlb.compiler.model import SpecObject
from hlb.store.rows.base import (
    Row,
    Rows,
    Storage,
    build_object,
    field_,
    fields,
    join,
    main_row,
    table_spec,
)

KIND = "Channel"
FIELDS = fields(
    "channels",
    field_("type", choices=CHANNEL_TYPES),
    *("display_name", "category", "topic", "position", "nsfw", "slowmode", "bitrate", "user_limit"),
    *("protect", "permissions"),
)
CHANNELS = table_spec("channels")


def to_rows(obj: SpecObject) -> Rows:
    return {CHANNELS.name: [main_row(obj, FIELDS, {})]}


def from_rows(main: Mapping[str, Any], children: Mapping[str, Sequence[Row]]) -> SpecObject:
    return build_object(KIND, main, join(main, FIELDS, main.get("extra")))


STORAGE = Storage(KIND, (CHANNELS,), to_rows, from_rows)
