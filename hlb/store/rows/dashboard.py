"""Dashboard rows: ``hlb_config.dashboards`` plus one ``dashboard_components`` row per grid cell."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hlb.compiler.enums import BUTTON_STYLES, COMPONENT_TYPES
from hlb.compiler.model import SpecObject
from hlb.store.rows.base import (
    Row,
    Rows,
    Storage,
    build_object,
    child_rows,
    field_,
    fields,
    join,
    main_row,
    split,
    table_spec,
)

KIND = "Dashboard"
FIELDS = fields("dashboards", "channel", "refresh", "sources", "content", "embeds")
# The keys of a button's or a select's body (one table holds both).
BODY_FIELDS = fields(
    "dashboard_components",
    *("label", field_("style", choices=BUTTON_STYLES), "workflow", "url", "emoji", "disabled"),
    *("placeholder", "min_values", "max_values", "options"),
)
DASHBOARDS = table_spec("dashboards")
COMPONENTS = table_spec("dashboard_components", parent="dashboard")


def to_rows(obj: SpecObject) -> Rows:
    extra: dict[str, Any] = {}
    main = main_row(obj, FIELDS, extra, lists=("components",))
    cells = child_rows(obj.spec, "components", extra, lambda grid: _component_rows(obj, grid))
    return {DASHBOARDS.name: [main], COMPONENTS.name: cells}


def _component_rows(obj: SpecObject, grid: list[Any]) -> list[Row] | None:
    """One row per ``{button: {...}}`` / ``{select: {...}}`` cell; None for any other shape."""
    rows: list[Row] = []
    for r, items in enumerate(grid):
        if not isinstance(items, list) or not items:
            return None
        for c, item in enumerate(items):
            if not isinstance(item, dict) or len(item) != 1:
                return None
            ((type_, body),) = item.items()
            if type_ not in COMPONENT_TYPES or not isinstance(body, dict):
                return None
            extra: dict[str, Any] = {}
            cell = {"guild": obj.key.guild, "dashboard": obj.key.name, "row": r, "col": c, "type": type_}
            cell |= split(body, BODY_FIELDS, extra)
            cell["extra"] = extra
            rows.append(cell)
    return rows


def from_rows(main: Mapping[str, Any], children: Mapping[str, Sequence[Row]]) -> SpecObject:
    spec = join(main, FIELDS, main.get("extra"))
    cells = children.get(COMPONENTS.name) or ()
    if cells:
        grid: list[list[dict[str, Any]]] = []
        for cell in sorted(cells, key=lambda x: (x["row"], x["col"])):
            while len(grid) <= cell["row"]:
                grid.append([])
            grid[cell["row"]].append({cell["type"]: join(cell, BODY_FIELDS, cell.get("extra"))})
        spec["components"] = grid
    return build_object(KIND, main, spec)


STORAGE = Storage(KIND, (DASHBOARDS, COMPONENTS), to_rows, from_rows)
