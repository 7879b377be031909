"""hlb.testing: an emulator of Discord's REST API and gateway (v10) that the real disnake client runs against.

Use ``async with Emulator() as emu`` in tests, point disnake's ``Route.BASE`` at
``emu.base_url`` (the gateway URL comes from ``GET /gateway/bot``), then assert on
``emu.state`` and ``emu.calls``; drive the bot with ``emu.interact_command``,
``emu.click_button`` and the ``emu.human_*`` helpers. Inject faults with ``emu.fail_next``,
``emu.rate_limit_storm``, ``emu.forbid``, ``emu.fail_route``, ``emu.reply_without`` and
``emu.ignore_on_write``; ``emu.heal`` clears them. ``python -m hlb.testing`` runs one standalone.
Each guild gives the bot a managed role of its own; roles at or above it answer 403/50013 to
the bot's edits, moves and deletes (Discord's hierarchy rule).
"""

from __future__ import annotations

from hlb.testing.gateway import Gateway
from hlb.testing.interactions import Interaction
from hlb.testing.models import Channel, Command, Guild, Member, Message, Overwrite, Role, User
from hlb.testing.openapi import FieldError, load_spec, validate
from hlb.testing.routes import ApiError
from hlb.testing.server import Call, Emulator
from hlb.testing.state import EmulatorState

__all__ = [
    "ApiError",
    "Call",
    "Channel",
    "Command",
    "Emulator",
    "EmulatorState",
    "FieldError",
    "Gateway",
    "Guild",
    "Interaction",
    "Member",
    "Message",
    "Overwrite",
    "Role",
    "User",
    "load_spec",
    "validate",
]
