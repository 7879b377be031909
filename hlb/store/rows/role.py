"""Role rows: one row in ``hlb_config.roles`` per role; @everyone keeps only its permissions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hlb.compiler.model import SpecObject
from hlb.store.rows.base import Row, Rows, Storage, build_object, fields, join, main_row, table_spec

KIND = "Role"
FIELDS = fields("roles", "permissions", "color", "hoist", "mentionable", "unicode_emoji", "protect", "rank")
ROLES = table_spec("roles")


def to_rows(obj: SpecObject) -> Rows:
    return {ROLES.name: [main_row(obj, FIELDS, {})]}


def from_rows(main: Mapping[str, Any], children: Mapping[str, Sequence[Row]]) -> SpecObject:
    return build_object(KIND, main, join(main, FIELDS, main.get("extra")))


STORAGE = Storage(KIND, (ROLES,), to_rows, from_rows)
