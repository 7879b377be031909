"""Workflow rows: ``hlb_config.workflows`` plus one ``workflow_steps`` row per step, in order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hlb.compiler.enums import STEP_TYPES
from hlb.compiler.model import SpecObject
from hlb.store.rows.base import (
    Row,
    Rows,
    Storage,
    build_object,
    child_rows,
    fields,
    join,
    main_row,
    table_spec,
)

KIND = "Workflow"
STEP_META = ("id", "when")
FIELDS = fields("workflows", "allowed_roles", "inputs", "triggers")
WORKFLOWS = table_spec("workflows")
STEPS = table_spec("workflow_steps", parent="workflow")


def to_rows(obj: SpecObject) -> Rows:
    extra: dict[str, Any] = {}
    main = main_row(obj, FIELDS, extra, lists=("steps",))
    steps = child_rows(obj.spec, "steps", extra, lambda items: _step_rows(obj, items))
    return {WORKFLOWS.name: [main], STEPS.name: steps}


def _step_rows(obj: SpecObject, steps: list[Any]) -> list[Row] | None:
    """One row per step: ``{<type>: config, id?, when?}``; None for any other shape."""
    rows: list[Row] = []
    for position, step in enumerate(steps):
        if not isinstance(step, dict):
            return None
        types = [k for k in step if k not in STEP_META]
        if len(types) != 1 or types[0] not in STEP_TYPES or step[types[0]] is None:
            return None
        step_id, when = step.get("id"), step.get("when")
        if (step_id is not None and type(step_id) is not str) or (when is not None and type(when) is not str):
            return None
        if ("id" in step and step_id is None) or ("when" in step and when is None):
            return None
        rows.append({
            "guild": obj.key.guild,
            "workflow": obj.key.name,
            "position": position,
            "type": types[0],
            "step_id": step_id,
            "condition": when,
            "config": step[types[0]],
        })
    return rows


def from_rows(main: Mapping[str, Any], children: Mapping[str, Sequence[Row]]) -> SpecObject:
    spec = join(main, FIELDS, main.get("extra"))
    rows = children.get(STEPS.name) or ()
    if rows:
        steps: list[dict[str, Any]] = []
        for row in sorted(rows, key=lambda r: r["position"]):
            step: dict[str, Any] = {row["type"]: row["config"]}
            if row.get("step_id") is not None:
                step["id"] = row["step_id"]
            if row.get("condition") is not None:
                step["when"] = row["condition"]
            steps.append(step)
        spec["steps"] = steps
    return build_object(KIND, main, spec)


STORAGE = Storage(KIND, (WORKFLOWS, STEPS), to_rows, from_rows)
