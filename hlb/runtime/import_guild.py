"""Import, the guild-wide parts: its settings, roles and custom emojis as Guild fields and documents.

Pure like ``hlb.runtime.import_specs`` (which calls it). Every setting Discord reports is written,
by the names the spec uses, so reconciling the imported specs changes nothing; an Emoji document
names its image file ``emojis/<name>.<type>`` (the images were downloaded by the bot's importer
and come in as bytes), which ``write_specs`` writes beside it.

``role_documents`` makes each role a Role document in the hierarchy's order (its place in
Discord, top first), as the reconciler compares them, with its permissions, colour, flags and
emoji exactly as Discord holds them, so the Guild's ``adopt: by-name`` binds every role at the
first reconcile without a write.

Roles left out, each with a warning where the user could expect it:

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
from collections.abc import Iterable, Mapping
from typing import Any

from hlb.compiler.enums import (
    AFK_TIMEOUTS,
    DEFAULT_NOTIFICATIONS,
    EXPLICIT_CONTENT_FILTERS,
    VERIFICATION_LEVELS,
)
from hlb.compiler.kinds.emoji import EMOJI_NAME, image_type
from hlb.compiler.kinds.role import EVERYONE
from hlb.compiler.model import API_VERSION
from hlb.compiler.permissions import PERMISSIONS, from_bits, to_bits
from hlb.reconciler.state import ObservedGuild, ObservedRole

_ENUMS: tuple[tuple[str, str, Mapping[str, int]], ...] = (
    ("verification_level", "verification_level", VERIFICATION_LEVELS),
    ("default_message_notifications", "default_notifications", DEFAULT_NOTIFICATIONS),
    ("explicit_content_filter", "explicit_content_filter", EXPLICIT_CONTENT_FILTERS),
)
_CHANNELS = (("system_channel_id", "system_channel"), ("rules_channel_id", "rules_channel"),
             ("afk_channel_id", "afk_channel"))
MAX_DESCRIPTION = 120


def imported_settings(observed: ObservedGuild, channel_names: Mapping[int, str]) -> dict[str, Any]:
    """The Guild spec fields for the settings ``observed`` reports (channels by their imported names)."""
    seen = observed.settings
    spec: dict[str, Any] = {}
    for field, key, values in _ENUMS:
        names = {number: name for name, number in values.items()}
        if seen.get(field) in names:
            spec[key] = names[seen[field]]
    for field, key in _CHANNELS:
        channel = seen.get(field)
        if channel is not None and int(channel) in channel_names:
            spec[key] = channel_names[int(channel)]
    if seen.get("afk_timeout") in AFK_TIMEOUTS:
        spec["afk_timeout"] = seen["afk_timeout"]
    if isinstance(seen.get("preferred_locale"), str):
        spec["preferred_locale"] = seen["preferred_locale"]
    description = seen.get("description")
    if isinstance(description, str) and description and len(description) <= MAX_DESCRIPTION:
        spec["description"] = description
    return spec


def emoji_documents(
    observed: ObservedGuild,
    guild: str,
    images: Mapping[int, bytes],
    roles: Mapping[int, str],
    warnings: list[str],
) -> tuple[list[dict[str, Any]], dict[str, bytes]]:
    """One Emoji document per custom emoji hlb may manage, and the image files they name."""
    from hlb.runtime.import_specs import slug, unique

    documents: list[dict[str, Any]] = []
    files: dict[str, bytes] = {}
    used: set[str] = set()
    for emoji in sorted(observed.emojis, key=lambda e: (e.name, e.id)):
        label = f"emoji {emoji.name!r} ({emoji.id})"
        data = images.get(emoji.id)
        kind = image_type(data) if data is not None else None
        if emoji.managed:
            warnings.append(f"skipped {label}: an integration manages it")
            continue
        if data is None or kind is None or not EMOJI_NAME.match(emoji.name):
            warnings.append(f"skipped {label}: its image could not be downloaded or read")
            continue
        name = unique(slug(emoji.name.replace("_", "-"), "emoji"), used)
        path = f"emojis/{name}.{kind}"
        files[path] = data
        spec: dict[str, Any] = {"name": emoji.name, "image": path}
        if emoji.roles:
            spec["roles"] = [roles.get(r, str(r)) for r in emoji.roles]
        document = {"apiVersion": API_VERSION, "kind": "Emoji", "name": name, "guild": guild, "spec": spec}
        documents.append(document)
    return documents, files


# Roles.

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
