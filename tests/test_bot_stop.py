"""Stopping the bot is prompt whatever runs, and quiet: a loop that swallows its cancellation is
asked again, and reads cancelled before they started leave no coroutine behind.

A real ``Runner`` against the emulator and a real Postgres. Libraries sometimes turn a
cancellation into another exception (psycopg did, inside a reconcile pass's bookkeeping:
a bare AssertionError, caught as a fault); the loop then runs on, and the bot waited for it
for ever after SIGTERM.
"""

from __future__ import annotations

import asyncio
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest
from reconcile_world import World, emulator_settings, run_world
from test_bot import FAST

from hlb.bot.observe import read_guild
from hlb.bot.runner import Runner
from hlb.bot.session import rest_client
from hlb.settings import Settings
from hlb.testing import Emulator

pytestmark = pytest.mark.timeout(60)


@dataclass
class SwallowingRunner(Runner):
    """A runner whose health loop swallows the first cancellation, as a faulty library would."""

    swallowed: int = 0

    async def _health(self) -> None:
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                if self.swallowed:
                    raise
                self.swallowed += 1


def test_a_loop_that_swallows_its_cancellation_does_not_hold_the_bot_up(db_url: str, tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        w.apply()
        settings = Settings(discord_token=w.emu.token, discord_api_base=w.emu.base_url)
        bot, stop = SwallowingRunner(settings, w.url, FAST), asyncio.Event()
        task = asyncio.create_task(bot.run(stop))
        await asyncio.wait_for(bot.ready.wait(), 15)
        stop.set()
        await asyncio.wait_for(task, 3)  # before: waited for the health loop for ever
        assert bot.swallowed == 1

    run_world(db_url, tmp_path, scenario)


def test_reads_cancelled_before_they_ran_leave_no_request_never_awaited() -> None:
    """A pass stopped mid-read (SIGTERM) cancels the reads it handed to gather before they ran;
    a request made outside them was then reported on stderr as never awaited."""

    async def main() -> None:
        async with Emulator() as emu:
            guild = emu.add_guild("G")
            async with rest_client(emulator_settings(emu)) as (client, _application):
                task = asyncio.create_task(read_guild(client.http, guild.id))
                await asyncio.sleep(0)  # read_guild has given its two reads to gather; neither ran
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        asyncio.run(main())
    assert not [str(w.message) for w in caught if "never awaited" in str(w.message)]
