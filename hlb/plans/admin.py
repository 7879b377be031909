"""The administrator warning: a plan giving a role ``administrator``, or taking it away, says so loudly.

``administrator`` overrides every other permission and every channel
overwrite, so a role gaining it is the change a reviewer must not miss; and
a role losing it may be the one the bot itself depends on (the plan cannot
know which roles the bot holds: that is Discord's), which would leave the bot
unable to converge anything. Text, Markdown and JSON plans all carry it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hlb.compiler.plan import CreateOp, DeleteOp, Plan
from hlb.plans.review import code

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
