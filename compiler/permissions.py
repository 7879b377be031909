"""Discord's permission flags by their snake_case names, and conversions to bit sets.

``PERMISSIONS`` is the single source of the permission names a spec may use:
``schemas/common.schema.json`` carries the same list as the ``permission``
enum (editors complete from it), and ``tests/test_schema.py`` keeps the two in
step. After adding a flag here, run ``python -m hlb.compiler.permissions`` to
rewrite the enum in the schema file.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path

# Discord's flags in bit order (https://discord.com/developers/docs/topics/permissions).
PERMISSIONS: dict[str, int] = {
    "create_instant_invite": 0,
    "kick_members": 1,
    "ban_members": 2,
    "administrator": 3,
    "manage_channels": 4,
    "manage_guild": 5,
    "add_reactions": 6,
    "view_audit_log": 7,
    "priority_speaker": 8,
    "stream": 9,
    "view_channel": 10,
    "send_messages": 11,
    "send_tts_messages": 12,
    "manage_messages": 13,
    "embed_links": 14,
    "attach_files": 15,
    "read_message_history": 16,
    "mention_everyone": 17,
    "use_external_emojis": 18,
    "view_guild_insights": 19,
    "connect": 20,
    "speak": 21,
    "mute_members": 22,
    "deafen_members": 23,
    "move_members": 24,
    "use_vad": 25,
    "change_nickname": 26,
    "manage_nicknames": 27,
    "manage_roles": 28,
    "manage_webhooks": 29,
    "manage_guild_expressions": 30,
    "use_application_commands": 31,
    "request_to_speak": 32,
    "manage_events": 33,
    "manage_threads": 34,
    "create_public_threads": 35,
    "create_private_threads": 36,
    "use_external_stickers": 37,
    "send_messages_in_threads": 38,
    "use_embedded_activities": 39,
    "moderate_members": 40,
    "view_creator_monetization_analytics": 41,
    "use_soundboard": 42,
    "create_guild_expressions": 43,
    "create_events": 44,
    "use_external_sounds": 45,
    "send_voice_messages": 46,
    "send_polls": 49,
    "use_external_apps": 50,
    "pin_messages": 51,
    "bypass_slowmode": 52,
}

# Names other tools (disnake, older Discord docs) use for the same flags. They are
# not accepted in specs; diagnostics use them to suggest the Discord name.
ALIASES: dict[str, str] = {
    "read_messages": "view_channel",
    "external_emojis": "use_external_emojis",
    "external_stickers": "use_external_stickers",
    "use_voice_activation": "use_vad",
    "manage_permissions": "manage_roles",
    "manage_emojis": "manage_guild_expressions",
    "manage_emojis_and_stickers": "manage_guild_expressions",
    "use_slash_commands": "use_application_commands",
    "start_embedded_activities": "use_embedded_activities",
    "timeout_members": "moderate_members",
    "manage_server": "manage_guild",
    "admin": "administrator",
}

SCHEMA_FILE = Path(__file__).parent / "schemas" / "common.schema.json"


def permission_names() -> list[str]:
    """The permission names in bit order, as the schema's enum lists them."""
    return sorted(PERMISSIONS, key=PERMISSIONS.__getitem__)


def to_bits(names: Iterable[str]) -> int:
    """The permission integer Discord expects for a set of names (KeyError on unknown names)."""
    value = 0
    for name in names:
        value |= 1 << PERMISSIONS[name]
    return value


def from_bits(value: int) -> list[str]:
    """The names of the flags set in ``value``, in bit order; unknown bits are ignored."""
    return [name for name in permission_names() if value >> PERMISSIONS[name] & 1]


def write_schema_enum(path: Path = SCHEMA_FILE) -> bool:
    """Rewrite the ``permission`` enum of the common schema from ``PERMISSIONS``.

    Returns whether the file changed.
    """
    text = path.read_text(encoding="utf-8")
    schema = json.loads(text)
    schema["$defs"]["permission"]["enum"] = permission_names()
    new = json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
    if new == text:
        return False
    path.write_text(new, encoding="utf-8")
    return True


if __name__ == "__main__":  # pragma: no cover - maintenance entry point
    changed = write_schema_enum()
    print(f"{SCHEMA_FILE}: {'updated' if changed else 'already up to date'}", file=sys.stderr)
