"""A pytest plugin with the emulator as fixtures: ``pytest_plugins = ["hlb.testing.pytest_plugin"]``.

``discord_emulator`` serves an ``Emulator`` from a thread of its own, so the code under test
may run its own event loop (``asyncio.run``, a CLI command); tests read ``emu.state`` and
``emu.calls`` directly. For async tests, ``async with Emulator() as emu`` is simpler.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from hlb.testing.server import Emulator


@contextlib.contextmanager
def emulator_in_thread(**options: Any) -> Iterator[Emulator]:
    """Start an emulator on a background event loop; stop it (and the loop) afterwards."""
    loop = asyncio.new_event_loop()
    emu = Emulator(**options)
    thread = threading.Thread(target=loop.run_forever, name="hlb-emulator", daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(emu.start(), loop).result(10)
        yield emu
    finally:
        asyncio.run_coroutine_threadsafe(emu.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@pytest.fixture
def discord_emulator() -> Iterator[Emulator]:
    """A running emulator with no guild yet (``emu.add_guild(...)``), checked for invalid requests."""
    with emulator_in_thread() as emu:
        yield emu
        emu.assert_no_invalid_requests()
