"""Command rows: ``hlb_config.commands`` plus one ``command_options`` row per option, in order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hlb.compiler.enums import OPTION_TYPES
from hlb.compiler.model import SpecObject
from hlb.store.rows.base import (
    Row,
    Rows,
    Storage,
    build_object,
    child_rows,
    field_,
    fields,
    fits,
    join,
    main_row,
    split,
    table_spec,
)

KIND = "Command"
FIELDS = fields("commands", "description", "default_member_permissions", "reply", "workflow")
OPTION_FIELDS = fields(
    "command_options",
    *("name", field_("type", choices=OPTION_TYPES), "description", "required", "choices"),
    *("min_value", "max_value", "min_length", "max_length"),
)
REQUIRED = OPTION_FIELDS[:4]  # NOT NULL columns
COMMANDS = table_spec("commands")
OPTIONS = table_spec("command_options", parent="command")


def to_rows(obj: SpecObject) -> Rows:
    extra: dict[str, Any] = {}
    main = main_row(obj, FIELDS, extra, lists=("options",))
    options = child_rows(obj.spec, "options", extra, lambda items: _option_rows(obj, items))
    return {COMMANDS.name: [main], OPTIONS.name: options}


def _option_rows(obj: SpecObject, options: list[Any]) -> list[Row] | None:
    """One row per option; None when an option lacks a field its NOT NULL column needs."""
    rows: list[Row] = []
    for position, option in enumerate(options):
        if not isinstance(option, dict) or not fits(option, REQUIRED):
            return None
        extra: dict[str, Any] = {}
        row = {"guild": obj.key.guild, "command": obj.key.name, "position": position}
        row |= split(option, OPTION_FIELDS, extra)
        row["extra"] = extra
        rows.append(row)
    return rows


def from_rows(main: Mapping[str, Any], children: Mapping[str, Sequence[Row]]) -> SpecObject:
    spec = join(main, FIELDS, main.get("extra"))
    rows = children.get(OPTIONS.name) or ()
    if rows:
        ordered = sorted(rows, key=lambda r: r["position"])
        spec["options"] = [join(row, OPTION_FIELDS, row.get("extra")) for row in ordered]
    return build_object(KIND, main, spec)


STORAGE = Storage(KIND, (COMMANDS, OPTIONS), to_rows, from_rows)
