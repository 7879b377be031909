"""The mass-delete guard: which plans delete so much that nobody should apply them unasked.

A plan is a mass delete when it deletes a Guild, or deletes at least
``MIN_DELETES`` objects and more than a quarter of those the database held.
``hlb apply`` and ``hlb rollback`` refuse such a plan when they do not ask
(no terminal, or ``--auto-approve``) unless ``--allow-mass-delete`` is given;
``hlb plan`` marks it in every format. Pure: it looks at the plan only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hlb.compiler.model import KIND_ORDER
from hlb.compiler.plan import Plan
from hlb.compiler.wording import plural

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


__all__ = ["MAX_SHARE", "MIN_DELETES", "MassDelete", "MassDeleteRefused", "mass_delete", "warning_line"]
