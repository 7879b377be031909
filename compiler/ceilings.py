"""Discord's per-guild ceilings, checked across files once every object is linked to its guild.

Discord refuses the channel or command that goes over, so an apply would
leave the guild half converged; these checks name that object instead (E402
at its name, or at its ``spec.category``):

- 500 channels per guild, categories included;
- 50 channels per category;
- 100 guild slash commands;
- 250 roles per guild (@everyone included).

Objects count in document order (files in path order), so the object named
is the first one over the ceiling; one diagnostic per ceiling and guild (or
category) is enough to say what to fix. The limits inside one object (25
options, 25 choices, 5 rows of 5 components ...) are the schema's and the
kind checks'. Like guild resolution, this runs on every compile, cached or
not.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from hlb.compiler.checks import Row
from hlb.compiler.diagnostics import Diagnostic
from hlb.compiler.model import SpecObject
from hlb.compiler.units import at

MAX_CHANNELS = 500  # per guild, categories included
MAX_PER_CATEGORY = 50
MAX_COMMANDS = 100  # guild slash commands
MAX_ROLES = 250  # per guild, @everyone included


def ceiling_problems(rows: Iterable[Row], objects: Iterable[SpecObject]) -> list[Diagnostic]:
    """E402 for the first channel, category child and command of a guild over Discord's ceilings.

    ``rows``: every document with its guild, in document order; ``objects``:
    those that passed their kind's checks (their normalized spec names the category).
    """
    category_of = {
        (obj.key.guild, obj.key.name): obj.spec["category"]
        for obj in objects
        if obj.key.kind == "Channel" and isinstance(obj.spec.get("category"), str)
    }
    counts: Counter[tuple[str, ...]] = Counter()
    problems: list[Diagnostic] = []

    def over(key: tuple[str, ...], limit: int) -> bool:
        """Count one more object under ``key``; True for the first one over ``limit``."""
        counts[key] += 1
        return counts[key] == limit + 1

    for item, guild in rows:
        kind, name = item.data["kind"], item.data["name"]
        category = category_of.get((guild, name)) if kind == "Channel" else None
        if kind == "Channel" and over(("channels", guild), MAX_CHANNELS):
            message = (f"Channel '{name}' is channel {MAX_CHANNELS + 1} of guild '{guild}'; Discord allows "
                       f"at most {MAX_CHANNELS} channels per guild, categories included: remove some or "
                       "move them to another guild")
            problems.append(at(item.doc, ("name",), "E402", message))
        if category is not None and over(("category", guild, category), MAX_PER_CATEGORY):
            message = (f"Channel '{name}' is channel {MAX_PER_CATEGORY + 1} in category '{category}'; "
                       f"Discord allows at most {MAX_PER_CATEGORY} channels per category: put it in "
                       "another category")
            problems.append(at(item.doc, ("spec", "category"), "E402", message))
        if kind == "Command" and over(("commands", guild), MAX_COMMANDS):
            message = (f"Command '{name}' is slash command {MAX_COMMANDS + 1} of guild '{guild}'; Discord "
                       f"allows at most {MAX_COMMANDS} guild slash commands: remove some, or turn some "
                       "into options of one command")
            problems.append(at(item.doc, ("name",), "E402", message))
        if kind == "Role" and over(("roles", guild), MAX_ROLES):
            message = (f"Role '{name}' is role {MAX_ROLES + 1} of guild '{guild}'; Discord allows at most "
                       f"{MAX_ROLES} roles per guild, @everyone included: remove some")
            problems.append(at(item.doc, ("name",), "E402", message))
    return problems
