"""The Guild kind: the server a spec set manages; the schema checks nearly all, normalize adds defaults.

A guild's id is usually interpolated (``id: "${HLB_GUILD_ID}"``); the schema
has already checked that it is a string of digits. Two Guild objects with the
same id (E308) can only be seen with every Guild at once, which ``Index``
does not offer a kind check: that belongs to the compiler's cross-document checks.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from hlb.compiler.kinds.base import Draft, Index, Kind, Problem


class GuildRules:
    """Rules of the Guild kind."""


    def check(self, draft: Draft, index: Index) -> Iterator[Problem]:
        guild_id = draft.spec.get("id")
        if isinstance(guild_id, str) and guild_id.strip("0") == "":
            message = "spec.id is all zeros; use the server's id (in Discord: right click, Copy ID)"
            yield Problem("E206", message, ("spec", "id"))

    def normalize(self, draft: Draft) -> dict[str, Any]:
        spec = draft.spec
        raw_id = spec.get("id", "")
        return {
            "id": str(raw_id).strip(),
            "prune": bool(spec.get("prune", True)),
            "adopt": spec.get("adopt", "none"),
        }


KIND = Kind("Guild", GuildRules(), "guilds", reconciled=False)
