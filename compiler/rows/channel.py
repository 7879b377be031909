"""Channel rows: one row in ``hlb_config.channels``; the overwrite set stays jsonb."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hlb.compiler.enums import CHANNEL_TYPES
from hlb.compiler.model import SpecObject
from hlb.compiler.rows.base import (
    Row,
    Rows,
    Storage,
    build_object,
    field_,
    fields,
    join,
    main_row,
    object_table,
)

KIND = "Channel"
FIELDS = fields(
    field_("type", "text", choices=tuple(CHANNEL_TYPES)),
    field_("display_name", "text"),
    field_("category", "text"),
    field_("topic", "text"),
    field_("position", "int"),
    field_("nsfw", "bool"),
    field_("slowmode", "int"),
    field_("bitrate", "int"),
    field_("user_limit", "int"),
    field_("protect", "bool"),
    field_("permissions", "json"),
)
CHANNELS = object_table("channels", FIELDS)


def to_rows(obj: SpecObject) -> Rows:
    return {CHANNELS.name: [main_row(obj, FIELDS, {})]}


def from_rows(main: Mapping[str, Any], children: Mapping[str, Sequence[Row]]) -> SpecObject:
    return build_object(KIND, main, join(main, FIELDS, main.get("extra")))


STORAGE = Storage(KIND, (CHANNELS,), to_rows, from_rows)
