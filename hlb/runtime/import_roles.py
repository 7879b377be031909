"""Import: an observed guild's roles as Role spec documents, top first, as the reconciler compares them.

``role_documents`` is pure, like ``hlb.runtime.import_specs.guild_to_documents`` that
calls it. Each role becomes a Role document in the hierarchy's order (its place in Discord,
top first), with its permissions, colour, flags and emoji exactly as Discord holds them, so
the Guild's ``adopt: by-name`` binds every role at the first reconcile without a write.

Left out, each with a warning where the user could expect it:

- roles managed by an integration or a bot (the bot's own role, a booster role): nobody may
  edit them, and names in overwrites still find them in the server;
- roles whose name another role shares, or that is all digits (overwrites keep naming them
  by id, as before);
- permission bits hlb has no name for (the first reconcile would clear them).

``@everyone`` is always imported with its permissions: they are the base of every channel's
permissions, and an import hands them to the specs as they are.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from hlb.compiler.kinds.role import EVERYONE
from hlb.compiler.model import API_VERSION
from hlb.compiler.permissions import PERMISSIONS, from_bits, to_bits
from hlb.reconciler.state import ObservedGuild, ObservedRole

KNOWN_BITS = to_bits(PERMISSIONS)


def role_documents(observed: ObservedGuild, guild: str, warnings: list[str]) -> list[dict[str, Any]]:
    """The Role documents of ``observed`` (guild object ``guild``), top first, @everyone last."""
    counts = Counter(r.name for r in observed.roles)
    documents: list[dict[str, Any]] = []
    told: set[str] = set()
    for role in _top_first(observed.roles):
        everyone = role.id == observed.id
        if role.managed:
            continue
        if not everyone and (counts[role.name] > 1 or role.name.isdigit() or not role.name.strip()):
            if role.name not in told:
                told.add(role.name)
                shared = counts[role.name] > 1
                why = f"{counts[role.name]} roles have this name" if shared else "the name reads as an id"
                warnings.append(f"role {role.name!r} not imported: {why}; overwrites name it by id")
            continue
        documents.append(_document(role, EVERYONE if everyone else role.name, guild, warnings))
    return documents


def _top_first(roles: Iterable[ObservedRole]) -> list[ObservedRole]:
    """Discord's order, top first (ties: the newer role is lower, as Discord shows them)."""
    return sorted(roles, key=lambda r: (-r.position, r.id))


def _document(role: ObservedRole, name: str, guild: str, warnings: list[str]) -> dict[str, Any]:
    unknown = role.permissions & ~KNOWN_BITS
    if unknown:
        warnings.append(
            f"role {role.name!r}: permission bits hlb does not know ({unknown:#x}) left out, "
            "so the first reconcile clears them"
        )
    spec: dict[str, Any] = {"permissions": from_bits(role.permissions)}
    if name != EVERYONE:
        if role.color:
            spec["color"] = f"#{role.color:06x}"
        if role.hoist:
            spec["hoist"] = True
        if role.mentionable:
            spec["mentionable"] = True
        if role.unicode_emoji:
            spec["unicode_emoji"] = role.unicode_emoji
    return {"apiVersion": API_VERSION, "kind": "Role", "name": name, "guild": guild, "spec": spec}
