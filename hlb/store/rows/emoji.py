"""Emoji rows: one row in ``hlb_config.emojis``, the image held as the data URI the bot uploads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

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

KIND = "Emoji"
FIELDS = fields(
    "emojis",
    field_("name", "emoji_name"),
    *("image", "sha256", "animated", "image_data", "roles", "protect"),
)
EMOJIS = table_spec("emojis")


def to_rows(obj: SpecObject) -> Rows:
    return {EMOJIS.name: [main_row(obj, FIELDS, {})]}


def from_rows(main: Mapping[str, Any], children: Mapping[str, Sequence[Row]]) -> SpecObject:
    return build_object(KIND, main, join(main, FIELDS, main.get("extra")))


STORAGE = Storage(KIND, (EMOJIS,), to_rows, from_rows)
