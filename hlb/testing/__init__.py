"""hlb.testing: an emulator of Discord's REST API (v10) that the real disnake client runs against.

Use ``async with Emulator() as emu`` in tests, point disnake's ``Route.BASE`` at
``emu.base_url``, then assert on ``emu.state`` and ``emu.calls``. ``python -m hlb.testing``
runs one standalone.
"""

from __future__ import annotations

from hlb.testing.openapi import FieldError, load_spec, validate
from hlb.testing.routes import ApiError
from hlb.testing.server import Call, Emulator
from hlb.testing.state import Channel, Command, EmulatorState, Guild, Member, Message, Overwrite, Role, User

__all__ = [
    "ApiError",
    "Call",
    "Channel",
    "Command",
    "Emulator",
    "EmulatorState",
    "FieldError",
    "Guild",
    "Member",
    "Message",
    "Overwrite",
    "Role",
    "User",
    "load_spec",
    "validate",
]
