"""Render plans for people and machines: Terraform-style text, stable JSON, Markdown.

The Markdown form (a pull-request comment) is built in ``review.py``. The JSON
form is documented in docs/plan-format.md and versioned by
``format_version``; a saved plan (``hlb plan -o plan.json``) is the same JSON
plus the full desired model (``hlb.plans.saved_plan``). A mass delete is
marked in every form.

The text form says a Channel's permission changes in words, with the same
describer as the Markdown form (``review.permission_changes``), and shows
every value whole. ``render_text`` is the plan (future tense);
``render_applied``, ``render_rollback`` and ``render_revision`` tell the same
lines in the past tense for `hlb apply`, `hlb rollback` and `hlb show`. A
``Paint`` (``hlb.compiler.wording``) colours the lines on a terminal.

The mass-delete guard: a plan is a mass delete when it deletes a Guild, or
deletes at least ``MIN_DELETES`` objects and more than a quarter of those the
database held. ``hlb apply`` and ``hlb rollback`` refuse such a plan when they
do not ask (no terminal, or ``--auto-approve``) unless ``--allow-mass-delete``
is given; ``hlb plan`` marks it in every format. Pure: it looks at the plan only.

The administrator warning: a plan giving a role ``administrator``, or taking it away, says so
loudly. ``administrator`` overrides every other permission and every channel overwrite, so a
role gaining it is the change a reviewer must not miss; and a role losing it may be the one the
bot itself depends on (the plan cannot know which roles the bot holds: that is Discord's),
which would leave the bot unable to converge anything. Text, Markdown and JSON plans all carry it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, assert_never

from hlb.compiler.model import KIND_ORDER
from hlb.compiler.plan import PLAN_FORMAT_VERSION, CreateOp, DeleteOp, Op, Plan, UpdateOp, action_of
from hlb.compiler.wording import PLAIN, Paint, plural
from hlb.plans.review import IN_WORDS, PermissionChange, code, permission_changes, render_review

SYMBOL = {"create": "+", "update": "~", "delete": "-"}
_PAST = {"create": "created", "update": "updated", "delete": "deleted"}


_SHORT = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "), default=str)


_PLAIN_TEXT = re.compile(r'[^"\\\x00-\x1f\x7f-\x9f\u2028\u2029]*')  # what JSON writes as it is, quoted


def short(value: Any) -> str:
    """A value as compact JSON on one line, whole: a reviewer sees what will be written. An image
    data URI (an emoji's ``image_data``) is the exception: its kind and size stand for its bytes."""
    kind = type(value)
    if kind is str:
        if value.startswith("data:image/") and ";base64," in value:
            head, data = value.split(";base64,", 1)
            return _SHORT.encode(f"{head};base64,... ({len(data) * 3 // 4} bytes)")
        if _PLAIN_TEXT.fullmatch(value):  # most values: no quote, backslash or control character
            return f'"{value}"'
    elif kind is bool:
        return "true" if value else "false"
    elif kind is int:
        return str(value)
    return _SHORT.encode(value)


def summary_line(plan: Plan) -> str:
    s = plan.summary()
    if not plan.has_changes:
        return "No changes. The database matches the specs."
    return f"Plan: {s['create']} to create, {s['update']} to update, {s['delete']} to delete."


def done_counts(plan: Plan) -> str:
    """``1 created, 0 updated, 2 deleted``: the counts of a plan that was carried out."""
    s = plan.summary()
    return ", ".join(f"{s[action]} {past}" for action, past in _PAST.items())


def _base(plan: Plan) -> str:
    return "an empty database" if plan.base_revision is None else f"revision {plan.base_revision}"


def render_text(plan: Plan, *, paint: Paint = PLAIN) -> str:
    """The plan as text, in the future tense."""
    if not plan.has_changes:
        return summary_line(plan)
    lines = [f"hlb will make these changes (against {_base(plan)}):", "", *_body(plan, paint)]
    lines.append(paint.strong(summary_line(plan)))
    found = mass_delete(plan)
    if found is not None:
        lines += ["", paint.warning(warning_line(found))]
    admin = admin_changes(plan)
    if admin:
        lines += ["", paint.warning(admin_line(admin))]
    return "\n".join(lines)


def render_applied(plan: Plan, revision: int | None, *, paint: Paint = PLAIN) -> str:
    """What `hlb apply` changed, field by field as the plan showed it, in the past tense."""
    if not plan.has_changes or revision is None:
        return "No changes. The database already matches the specs; no revision was made."
    head = f"Applied revision {revision} (on top of {_base(plan)}):"
    return _past(plan, head, f"Applied revision {revision}: {done_counts(plan)}.", paint)


def render_rollback(plan: Plan, target: int, revision: int, *, paint: Paint = PLAIN) -> str:
    """What `hlb rollback` changed, in the past tense."""
    head = f"Rolled back to revision {target} as revision {revision} (on top of {_base(plan)}):"
    return _past(plan, head, f"Rolled back to revision {target}: new revision {revision}.", paint)


def render_revision(plan: Plan, revision: int, *, paint: Paint = PLAIN) -> str:
    """What one stored revision changed (`hlb show`), in the past tense."""
    if not plan.has_changes:
        return f"Revision {revision} changed nothing (against {_base(plan)})."
    head = f"Revision {revision} made these changes (against {_base(plan)}):"
    return _past(plan, head, f"Revision {revision}: {done_counts(plan)}.", paint)


def _past(plan: Plan, head: str, tail: str, paint: Paint) -> str:
    return "\n".join([head, "", *_body(plan, paint), paint.strong(tail)])


def _body(plan: Plan, paint: Paint) -> list[str]:
    """One block per op, each followed by a blank line."""
    lines: list[str] = []
    for op in plan.ops:
        lines.extend(map(paint.sign, _op_lines(op)) if paint.on else _op_lines(op))
        lines.append("")
    return lines


def _op_lines(op: Op) -> list[str]:
    symbol = SYMBOL[action_of(op)]
    key = op.key
    head = f"  {symbol} {key.kind} {key.name}" + (f" (guild {key.guild})" if key.kind != "Guild" else "")
    words = [_permission_line(c) for c in permission_changes(op)]
    in_words = op.key.kind in IN_WORDS  # a Channel's overwrites and a Role's permissions: in words
    match op:
        case CreateOp():
            origin = f"  # {op.new.origin.file}:{op.new.origin.line}" if op.new.origin else ""
            spec = {k: v for k, v in op.new.spec.items() if not (in_words and k == "permissions")}
            body = [f"      {k}: {short(v)}" for k, v in spec.items()]
            body += [f"      labels.{k}: {short(v)}" for k, v in op.new.labels.items()]
            return [head + origin, *body, *words]
        case UpdateOp():
            body = []
            moved = False
            for c in op.changes:
                if in_words and c.path[:2] == ("spec", "permissions"):
                    moved = True
                elif c.added:
                    body.append(f"      + {c.dotted}: {short(c.new)}")
                elif c.removed:
                    body.append(f"      - {c.dotted}: {short(c.old)}")
                else:
                    body.append(f"      ~ {c.dotted}: {short(c.old)} -> {short(c.new)}")
            if moved and not words:
                words = ["      ~ permissions: overwrites reordered; no permission changes"]
            return [head, *body, *words]
        case DeleteOp():
            return [head]
        case _:
            assert_never(op)


def _permission_line(change: PermissionChange) -> str:
    """``+ permissions: role ops gains send_messages in #deploys``; ``-`` when it takes a permission away."""
    return f"      {'-' if change.destructive else '+'} permissions: {change.sentence()}"


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """The plan as docs/plan-format.md describes it (a saved plan adds to it: ``hlb.plans.saved_plan``)."""
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
        "administrator": [c.to_json() for c in admin_changes(plan)],
    }
    return payload


def render_json(plan: Plan) -> str:
    return json.dumps(plan_to_json(plan), indent=2, ensure_ascii=False, default=str)


def render_markdown(plan: Plan) -> str:
    """The plan as a pull-request comment (GitHub-flavoured Markdown); see ``hlb.plans.review``."""
    review = render_review(plan)
    found, admin = mass_delete(plan), admin_changes(plan)
    if found is None and not admin:
        return review
    marker, _, rest = review.partition("\n")
    blocks = [] if found is None else [f"> [!CAUTION]\n> **Mass delete**: {found.reason}."]
    blocks += [admin_markdown(admin)] if admin else []
    return f"{marker}\n" + "\n\n".join(blocks) + f"\n\n{rest}"


# --- the mass-delete guard --------------------------------------------------------------------------

MIN_DELETES = 10
MAX_SHARE = 0.25  # deleting more than this share of the managed objects is a mass delete
SHOWN = 10  # objects a refusal names before "and N more"


@dataclass(frozen=True)
class MassDelete:
    """Why a plan counts as a mass delete."""

    guilds: tuple[str, ...]  # Guild objects the plan deletes
    deletes: int  # objects deleted in all
    managed: int  # objects the database held before

    @property
    def reason(self) -> str:
        if self.guilds:
            names = ", ".join(self.guilds)
            return f"it deletes Guild {names} and everything in it ({plural(self.deletes, 'object')} in all)"
        return (
            f"it deletes {self.deletes} of the {self.managed} objects the database holds "
            f"(at least {MIN_DELETES} and more than {MAX_SHARE:.0%})"
        )

    def to_json(self) -> dict[str, Any]:
        return {"guilds": list(self.guilds), "deletes": self.deletes, "managed": self.managed,
                "reason": self.reason}


def mass_delete(plan: Plan) -> MassDelete | None:
    """The plan's mass delete, or None when it deletes little (or nothing)."""
    deleted = plan.deletes()
    guilds = tuple(sorted(k.name for k in deleted if k.kind == "Guild"))
    managed = plan.managed_before
    if guilds or (len(deleted) >= MIN_DELETES and len(deleted) > managed * MAX_SHARE):
        return MassDelete(guilds, len(deleted), managed)
    return None


def warning_line(found: MassDelete) -> str:
    """One loud line for `hlb plan` and the refusals of apply and rollback."""
    return (
        f"WARNING: mass delete: {found.reason}. Without a terminal `hlb apply` refuses this "
        "plan unless --allow-mass-delete is given."
    )


class MassDeleteRefused(Exception):
    """A mass delete that nobody was asked about and ``--allow-mass-delete`` did not allow (E609)."""

    def __init__(self, plan: Plan, found: MassDelete) -> None:
        deleted = sorted(plan.deletes(), key=lambda k: k.sort_key())
        kinds = [k.kind for k in deleted]
        counts = ", ".join(plural(kinds.count(kind), kind) for kind in KIND_ORDER if kind in kinds)
        names = [f"{k.kind} {k.name}" + (f" (guild {k.guild})" if k.kind != "Guild" else "") for k in deleted]
        shown = ", ".join(names[:SHOWN]) + (f" and {len(names) - SHOWN} more" if len(names) > SHOWN else "")
        super().__init__(
            f"refused a mass delete: {found.reason}. It would delete {counts}: {shown}. Nothing was changed. "
            "Check the paths given (a directory, not one file of it?) and review with `hlb plan`; "
            "if this is intended, run again with --allow-mass-delete"
        )


# The administrator warning.

ADMINISTRATOR = "administrator"


@dataclass(frozen=True)
class AdminChange:
    """One role gaining or losing ``administrator``."""

    guild: str
    role: str
    gains: bool

    def sentence(self) -> str:
        if self.gains:
            return f"role {self.role} gains administrator (every permission, in every channel)"
        return f"role {self.role} loses administrator (if the bot depends on this role, it loses its rights)"

    def to_json(self) -> dict[str, Any]:
        return {"guild": self.guild, "role": self.role, "change": "gains" if self.gains else "loses"}


def admin_changes(plan: Plan) -> list[AdminChange]:
    """Every Role op of ``plan`` that adds or removes ``administrator`` (a deleted role included)."""
    found: list[AdminChange] = []
    for op in plan.ops:
        if op.key.kind != "Role":
            continue
        before = not isinstance(op, CreateOp) and ADMINISTRATOR in (op.old.spec.get("permissions") or ())
        after = not isinstance(op, DeleteOp) and ADMINISTRATOR in (op.new.spec.get("permissions") or ())
        if before != after:
            found.append(AdminChange(op.key.guild, op.key.name, after))
    return found


def admin_line(changes: list[AdminChange]) -> str:
    """The text plan's warning line."""
    return "WARNING: administrator: " + "; ".join(c.sentence() for c in changes) + "."


def admin_markdown(changes: list[AdminChange]) -> str:
    """The Markdown plan's warning block."""
    lines = ["> [!WARNING]", "> **administrator** changes hands:"]
    lines += [f"> - role {code(c.role)} **{'gains' if c.gains else 'loses'}** `administrator`"
              for c in changes]
    return "\n".join(lines)
