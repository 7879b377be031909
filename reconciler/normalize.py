"""Values as Discord stores them, so a comparison does not see a difference Discord would erase.

Discord trims names and topics, stores an empty topic as none, lowercases text channel
names and joins their words with hyphens, and sends numbers and permission bitfields as
strings or ints alike. ``same`` compares a desired and an observed value of one channel
field the way Discord would store both.
"""

from __future__ import annotations

import re
from typing import Any

# Channel types whose names Discord lowercases and hyphenates: text, announcement, forum.
SLUG_NAMED = frozenset({0, 5, 15})
INT_FIELDS = frozenset({"type", "rate_limit_per_user", "bitrate", "user_limit", "parent_id", "position"})
_SPACES = re.compile(r"\s+")


def channel_value(field: str, value: Any, kind: int) -> Any:
    """``value`` of channel ``field`` (Discord's field name) as Discord would store it."""
    if value is None:
        return None
    if field == "name":
        name = str(value).strip()
        return _SPACES.sub("-", name.lower()) if kind in SLUG_NAMED else name
    if field == "topic":
        return str(value).strip() or None
    if field == "nsfw":
        return bool(value)
    if field in INT_FIELDS:
        return _int(value)
    return value


def same(field: str, desired: Any, observed: Any, kind: int) -> bool:
    """True when Discord would store ``desired`` as ``observed`` for channel ``field``."""
    return channel_value(field, desired, kind) == channel_value(field, observed, kind)


def _int(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return value
