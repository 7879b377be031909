"""Render plans for people and machines: Terraform-style text, stable JSON, Markdown.

The Markdown form (a pull-request comment) is built in ``review.py``. The JSON
form is documented in docs/plan-format.md and versioned by
``format_version``; a saved plan (``hlb plan -o plan.json``) is the same JSON
plus the full desired model (``hlb.compiler.saved_plan``). A mass delete
(``hlb.compiler.guard``) is marked in every form.
"""

from __future__ import annotations

import json
from typing import Any

from hlb.compiler.guard import mass_delete, warning_line
from hlb.compiler.plan import PLAN_FORMAT_VERSION, CreateOp, DeleteOp, Op, Plan, UpdateOp, action_of
from hlb.compiler.review import render_review

SYMBOL = {"create": "+", "update": "~", "delete": "-"}
_MAX_VALUE = 100


def short(value: Any) -> str:
    """A value as compact JSON, cut to fit one line."""
    text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 3] + "..."


def summary_line(plan: Plan) -> str:
    s = plan.summary()
    if not plan.has_changes:
        return "No changes. The database matches the specs."
    return f"Plan: {s['create']} to create, {s['update']} to update, {s['delete']} to delete."


def render_text(plan: Plan, *, detail: bool = True) -> str:
    """The plan as text; ``detail=False`` gives one line per object (what `hlb apply` logs)."""
    if not plan.has_changes:
        return summary_line(plan)
    base = "an empty database" if plan.base_revision is None else f"revision {plan.base_revision}"
    lines = [f"hlb will make these changes (against {base}):", ""]
    for op in plan.ops:
        lines.extend(_op_lines(op, detail))
        if detail:
            lines.append("")
    if not detail:
        lines.append("")
    lines.append(summary_line(plan))
    found = mass_delete(plan)
    if found is not None:
        lines += ["", warning_line(found)]
    return "\n".join(lines)


def _op_lines(op: Op, detail: bool = True) -> list[str]:
    symbol = SYMBOL[action_of(op)]
    key = op.key
    head = f"  {symbol} {key.kind} {key.name}" + (f" (guild {key.guild})" if key.kind != "Guild" else "")
    if not detail:
        return [head]
    if isinstance(op, CreateOp):
        origin = f"  # {op.new.origin.file}:{op.new.origin.line}" if op.new.origin else ""
        body = [f"      {k}: {short(v)}" for k, v in op.new.spec.items()]
        body += [f"      labels.{k}: {short(v)}" for k, v in op.new.labels.items()]
        return [head + origin, *body]
    if isinstance(op, UpdateOp):
        body = []
        for c in op.changes:
            if c.added:
                body.append(f"      + {c.dotted}: {short(c.new)}")
            elif c.removed:
                body.append(f"      - {c.dotted}: {short(c.old)}")
            else:
                body.append(f"      ~ {c.dotted}: {short(c.old)} -> {short(c.new)}")
        return [head, *body]
    return [head]


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """The plan as docs/plan-format.md describes it (a saved plan adds to it: ``hlb.compiler.saved_plan``)."""
    changes: list[dict[str, Any]] = []
    for op in plan.ops:
        entry: dict[str, Any] = {
            "action": action_of(op),
            "kind": op.key.kind,
            "guild": op.key.guild,
            "name": op.key.name,
        }
        if isinstance(op, CreateOp | UpdateOp):
            entry["hash"] = op.new.hash
        if isinstance(op, UpdateOp | DeleteOp):
            entry["old_hash"] = op.old.hash
        if isinstance(op, CreateOp):
            entry["spec"] = op.new.spec
        if isinstance(op, UpdateOp):
            entry["fields"] = [
                {"path": c.dotted, "old": c.old, "new": c.new, "added": c.added, "removed": c.removed}
                for c in op.changes
            ]
        changes.append(entry)
    payload: dict[str, Any] = {
        "format_version": PLAN_FORMAT_VERSION,
        "base_revision": plan.base_revision,
        "has_changes": plan.has_changes,
        "summary": plan.summary(),
        "changes": changes,
        "mass_delete": None if (found := mass_delete(plan)) is None else found.to_json(),
    }
    return payload


def render_json(plan: Plan) -> str:
    return json.dumps(plan_to_json(plan), indent=2, ensure_ascii=False, default=str)


def render_markdown(plan: Plan) -> str:
    """The plan as a pull-request comment (GitHub-flavoured Markdown); see ``hlb.compiler.review``."""
    review = render_review(plan)
    found = mass_delete(plan)
    if found is None:
        return review
    marker, _, rest = review.partition("\n")
    return f"{marker}\n> [!CAUTION]\n> **Mass delete**: {found.reason}.\n\n{rest}"
