"""The Role kind: a server role's permissions, colour and flags; its rank is its place among the documents.

A Role's name is its name in Discord (up to 100 characters, unique per guild),
so overwrites, ``allowed_roles``, ``add_role``/``remove_role`` steps and
commands' role options name it as they name any role. ``@everyone`` may be
declared with ``permissions`` only: its name and place are Discord's (E320).

The hierarchy is the order of the Role documents (files in path order, then
document order), top first: ``ranked`` writes each role's place as ``rank``
(0 is the top) once every document of the spec set is known, since one
document alone cannot know it. This module stays light (no Jinja): the compiler
calls ``ranked`` on every compile, cached or not.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from hlb.compiler.kinds.base import Draft, Index, Kind, Problem
from hlb.compiler.model import SpecObject

EVERYONE = "@everyone"
EVERYONE_FIELDS = frozenset({"permissions"})
FLAGS = ("hoist", "mentionable", "protect")


def color_value(color: str) -> int:
    """``#rrggbb`` as the integer Discord stores."""
    return int(color.lstrip("#"), 16)


class RoleRules:
    """Rules of the Role kind."""

    def check(self, draft: Draft, index: Index) -> Iterator[Problem]:
        from hlb.compiler.kinds.channel import permission_problems  # with Jinja: only when checking

        spec = draft.spec
        if draft.name == EVERYONE:
            for field in sorted(set(spec) - EVERYONE_FIELDS):
                message = (f"@everyone takes only spec.permissions (its name, place and look are Discord's); "
                           f"remove spec.{field}")
                yield Problem("E320", message, ("spec", field))
        yield from permission_problems(spec.get("permissions"), ("spec", "permissions"))

    def normalize(self, draft: Draft) -> dict[str, Any]:
        spec = draft.spec
        out: dict[str, Any] = {"permissions": sorted(set(spec.get("permissions") or []))}
        if draft.name == EVERYONE:
            return out
        color = spec.get("color")
        out["color"] = color.lower() if isinstance(color, str) else "#000000"
        for flag in FLAGS:
            out[flag] = bool(spec.get(flag, False))
        if spec.get("unicode_emoji"):
            out["unicode_emoji"] = spec["unicode_emoji"]
        return out


def ranked(objects: Iterable[SpecObject]) -> list[SpecObject]:
    """``objects`` with each Role (but @everyone) ranked in its guild: document order, 0 on top."""
    seen: dict[str, int] = {}
    out: list[SpecObject] = []
    for obj in objects:
        if obj.key.kind == "Role" and obj.key.name != EVERYONE:
            rank = seen.get(obj.key.guild, 0)
            seen[obj.key.guild] = rank + 1
            obj = SpecObject.build(obj.key, obj.labels, {**obj.spec, "rank": rank}, obj.origin)
        out.append(obj)
    return out


KIND = Kind("Role", RoleRules(), "roles")
