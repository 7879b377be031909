"""The running bot against a server that keeps less than it is sent, and what it logs.

The real disnake client (REST and gateway) against the emulator, a real Postgres: a topic
the server will not keep is written a bounded number of times, then reported as drifted
(one warning) until the spec changes; the bot's own writes, echoed back by the gateway,
are not drift and make no extra pass; a held object warns once and says once when it healed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cli_inprocess
import pytest
from reconcile_world import GUILD_ID, ROOT, World, run_world
from test_bot import FAST, eventually, logs_topic

from hlb.bot.runner import Runner
from hlb.reconciler.damping import MAX_FLAPS

pytestmark = pytest.mark.timeout(90)

CHANNEL = "/channels/{channel_id}"
QUIET = ("topic: Noisy machine output", "topic: Quieter machine output")
CALM = ("topic: Quieter machine output", "topic: Calm machine output")


def bot_for(w: World, resync: float = 600.0) -> Runner:
    settings = w.settings()
    return Runner(settings, w.url, replace(FAST, resync=resync))


def lines(caplog: pytest.LogCaptureFixture, start: str, level: int | None = None) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.getMessage().startswith(start) and (level is None or r.levelno == level)
    ]


async def launched(
    w: World, caplog: pytest.LogCaptureFixture, level: int = logging.INFO, **options: float
) -> tuple[Runner, asyncio.Event, asyncio.Task[None]]:
    """Apply the specs and start a bot on them (logs captured from ``level``)."""
    caplog.set_level(level, logger="hlb.bot")
    w.apply()
    bot = bot_for(w, **options)
    stop, task = await started(w, bot)
    return bot, stop, task


async def change(w: World, old: str, new: str) -> None:
    """Edit the logs channel's spec and apply it (the bot hears the NOTIFY)."""
    w.edit_spec("channels/infra.yaml", old, new)
    await asyncio.to_thread(w.apply)


async def started(w: World, bot: Runner) -> tuple[asyncio.Event, asyncio.Task[None]]:
    stop = asyncio.Event()
    task = asyncio.create_task(bot.run(stop))
    await asyncio.wait_for(bot.ready.wait(), 15)
    await eventually(lambda: bool(bot.client.guilds))
    return stop, task


async def quiet(bot: Runner, still: float = 0.5) -> None:
    """Wait until no pass has run for ``still`` seconds (the passes of the start are over)."""
    while True:
        passes = bot.passes
        await asyncio.sleep(still)
        if bot.passes == passes:
            return


async def stopped(stop: asyncio.Event, task: asyncio.Task[None]) -> None:
    assert not task.done(), "the bot ended by itself"
    stop.set()
    await asyncio.wait_for(task, 10)


def test_a_topic_the_server_does_not_keep_is_written_three_times_then_reported_once(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario(w: World) -> None:
        bot, stop, task = await launched(w, caplog, resync=0.1)  # a pass every tick: the old bot PATCHed
        logs = w.emu.state.guilds[GUILD_ID].channel_named("📜-logs", 0)
        w.emu.ignore_on_write("PATCH", CHANNEL, "topic")  # as Spacebar: the PATCH succeeds, no topic
        await change(w, *QUIET)

        def patches() -> int:
            return sum(1 for c in w.emu.calls if c.method == "PATCH" and c.path == f"/channels/{logs.id}")

        await eventually(lambda: w.binding("Channel", "logs").status == "drifted")
        passes = bot.passes
        await eventually(lambda: bot.passes >= passes + 5)  # more passes: no more writes
        assert patches() == MAX_FLAPS
        drifted = w.binding("Channel", "logs")
        assert drifted.error is not None and drifted.error.startswith(
            "topic does not stick: wrote 'Quieter machine output"
        ), drifted.error
        assert "server keeps 'Noisy machine output" in drifted.error
        assert drifted.next_attempt_at is not None
        warned = lines(caplog, "event=drifted subject=Channel/homelab/logs", logging.WARNING)
        assert len(warned) == 1 and "topic does not stick" in warned[0], warned
        assert not lines(caplog, "event=drift key=Channel/homelab/logs"), "its own writes are not drift"

        w.emu.heal()  # the server keeps topics again; a spec change releases the channel at once
        await change(w, *CALM)
        await eventually(lambda: logs_topic(w.emu).startswith("Calm"))
        await eventually(lambda: w.binding("Channel", "logs").status == "in_sync")
        assert patches() == MAX_FLAPS + 1
        await eventually(lambda: bool(lines(caplog, "event=healed subject=Channel/homelab/logs was=drifted")))
        await stopped(stop, task)

    run_world(db_url, tmp_path, scenario)


def test_the_bots_own_writes_echoed_back_are_not_drift_and_make_no_extra_pass(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario(w: World) -> None:
        bot, stop, task = await launched(w, caplog, logging.DEBUG)
        bot.drift.echoes.window = 1.0
        await quiet(bot)
        passes = bot.passes
        await change(w, *QUIET)
        await eventually(lambda: logs_topic(w.emu).startswith("Quieter"))
        await asyncio.sleep(0.5)  # the CHANNEL_UPDATE echo has arrived and been judged
        assert bot.passes == passes + 1, "the echo of the bot's own write made another pass"
        assert not lines(caplog, "event=drift "), lines(caplog, "event=drift ")

        # a person's edit after the echo window is drift: healed from the gateway event
        await asyncio.sleep(bot.drift.echoes.window - 0.5)
        logs = w.emu.state.guilds[GUILD_ID].channel_named("📜-logs", 0)
        w.emu.human_edit_channel(logs.id, name="renamed-by-hand")
        await eventually(lambda: w.emu.state.guilds[GUILD_ID].channels[logs.id].name == "📜-logs")
        assert lines(caplog, "event=drift key=Channel/homelab/logs")
        await stopped(stop, task)

    run_world(db_url, tmp_path, scenario)


def test_a_held_object_warns_once_over_many_passes_and_says_once_when_it_healed(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario(w: World) -> None:
        bot, stop, task = await launched(w, caplog)
        logs = w.emu.state.guilds[GUILD_ID].channel_named("📜-logs", 0)
        w.emu.forbid("PATCH", CHANNEL, channel_id=logs.id)
        await change(w, *QUIET)
        await eventually(lambda: w.binding("Channel", "logs").status == "error")
        for _ in range(3):  # three more passes while it is held
            passes = bot.passes
            bot.request(None)
            await eventually(lambda: bot.passes > passes)  # noqa: B023 - awaited at once
        held = lines(caplog, "event=held subject=Channel/homelab/logs")
        assert len(held) == 1 and "403" in held[0] and "permanent" in held[0], held
        warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len([r for r in warnings if "Channel/homelab/logs" in r.getMessage()]) == 1
        w.emu.allow_all()
        await change(w, *CALM)
        await eventually(lambda: logs_topic(w.emu).startswith("Calm"))
        healed: Callable[[], list[str]] = lambda: lines(  # noqa: E731
            caplog, "event=healed subject=Channel/homelab/logs was=held", logging.INFO
        )
        await eventually(lambda: len(healed()) == 1)
        await stopped(stop, task)

    run_world(db_url, tmp_path, scenario)


def test_cli_reconcile_and_status_live_show_a_drifted_channel_and_retry_failed_writes_it_again(
    db_url: str, tmp_path: Path
) -> None:
    async def scenario(w: World) -> None:
        w.now = datetime.now(UTC)  # the CLI below runs on the real clock
        w.apply()
        await w.reconcile()
        w.emu.ignore_on_write("PATCH", CHANNEL, "topic")
        w.edit_spec("channels/infra.yaml", *QUIET)
        w.apply()
        for _ in range(MAX_FLAPS + 2):
            w.now += timedelta(seconds=1)
            await w.reconcile()
        assert w.binding("Channel", "logs").status == "drifted"
        env = {
            **os.environ,
            "DATABASE_URL": w.url,
            "HLB_GUILD_ID": str(GUILD_ID),
            "DISCORD_TOKEN": w.emu.token,
            "HLB_DISCORD_API_BASE": w.emu.base_url,
            "HLB_HOME": str(tmp_path / ".hlb"),
        }

        def hlb(*args: str) -> subprocess.CompletedProcess[str]:  # in this process: the output is the point

            return cli_inprocess.hlb(env, ROOT, *args)

        logs = w.emu.state.guilds[GUILD_ID].channel_named("📜-logs", 0)
        patches = sum(1 for c in w.emu.calls if c.method == "PATCH" and c.path == f"/channels/{logs.id}")
        assert patches == MAX_FLAPS
        again = await asyncio.to_thread(hlb, "reconcile")
        assert "≠ Channel/homelab/logs drifted" in again.stdout, again.stdout + again.stderr
        live = await asyncio.to_thread(hlb, "status", "--live")
        assert live.returncode == 0, live.stderr
        row = next(line for line in live.stdout.splitlines() if line.startswith("Channel/homelab/logs "))
        assert " drifted " in row, live.stdout
        assert "topic does not stick: wrote 'Quieter machine output" in live.stdout
        assert "[drifted: not written again before" in live.stdout
        retried = await asyncio.to_thread(hlb, "reconcile", "--retry-failed")
        assert "~ update channel Channel/homelab/logs: topic (" in retried.stdout, retried.stdout
        after = sum(1 for c in w.emu.calls if c.method == "PATCH" and c.path == f"/channels/{logs.id}")
        assert after == MAX_FLAPS + 1

    run_world(db_url, tmp_path, scenario)
