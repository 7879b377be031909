"""Import, the guild's settings and custom emojis: observed values as Guild spec fields and Emoji documents.

Pure like ``hlb.runtime.import_specs`` (which calls it): the images were downloaded by the
bot's importer and come in as bytes. Every setting Discord reports is written, by the names
the spec uses, so reconciling the imported specs changes nothing; an Emoji document names
its image file ``emojis/<name>.<type>``, which ``write_specs`` writes beside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hlb.compiler.enums import (
    AFK_TIMEOUTS,
    DEFAULT_NOTIFICATIONS,
    EXPLICIT_CONTENT_FILTERS,
    VERIFICATION_LEVELS,
)
from hlb.compiler.kinds.emoji import EMOJI_NAME, image_type
from hlb.compiler.model import API_VERSION
from hlb.reconciler.state import ObservedGuild

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
