"""The long-running bot: apply -> Discord within a second, leader election and handover, schedules once.

Runners talk to the emulator's gateway and REST API with the real disnake client, and to a
real Postgres. The two-process test runs ``hlb bot run`` twice and kills the leader.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import cli_inprocess
import psycopg
import pytest
from click.testing import CliRunner
from reconcile_world import GUILD_ID, ROOT, World, applied_specs, bot_process, run_world, seed_homelab

from hlb.bot.runner import BotOptions, Runner
from hlb.cli import main
from hlb.testing import Emulator

pytestmark = pytest.mark.timeout(90)

SECRET = "s3cr3t-value-that-must-not-leak"
FAST = BotOptions(resync=600, election=0.2, tick=0.1, debounce=0.02)


async def eventually(check: Callable[[], bool], within: float = 10.0) -> float:
    """Poll ``check`` until true; return the seconds it took (fail after ``within``)."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > within:
            raise AssertionError(f"not true within {within}s")
        await asyncio.sleep(0.01)
    return time.monotonic() - start


def runner(w: World, clock: Callable[[], datetime] | None = None) -> Runner:
    settings = w.settings()
    made = Runner(settings, w.url, FAST)
    if clock is not None:
        made.clock = clock
    return made


def logs_topic(emu: Emulator) -> str:
    channel = emu.state.guilds[GUILD_ID].channel_named("📜-logs", 0)
    return channel.topic or ""


def test_an_apply_reaches_discord_within_a_second(db_url: str, tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        w.apply()
        bot, stop = runner(w), asyncio.Event()
        task = asyncio.create_task(bot.run(stop))
        await asyncio.wait_for(bot.ready.wait(), 15)
        assert bot.leader and logs_topic(w.emu).startswith("Noisy")
        w.edit_spec("channels/infra.yaml", "topic: Noisy machine output", "topic: Quieter machine output")
        await asyncio.to_thread(w.apply)  # returns after COMMIT
        took = await eventually(lambda: logs_topic(w.emu).startswith("Quieter"))
        print(f"apply -> Discord: {took * 1000:.0f} ms")
        assert took < 1.0
        stop.set()
        await asyncio.wait_for(task, 10)

    run_world(db_url, tmp_path, scenario)


def test_a_channel_deleted_by_hand_is_healed_from_the_gateway_event(db_url: str, tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        w.apply()
        bot, stop = runner(w), asyncio.Event()
        task = asyncio.create_task(bot.run(stop))
        await asyncio.wait_for(bot.ready.wait(), 15)
        guild = w.emu.state.guilds[GUILD_ID]
        await eventually(lambda: bool(bot.client.guilds))
        logs = guild.channel_named("📜-logs", 0)
        w.emu.human_delete_channel(logs.id)
        await eventually(lambda: any(c.name == "📜-logs" for c in guild.channels.values()), within=5)
        stop.set()
        await asyncio.wait_for(task, 10)

    run_world(db_url, tmp_path, scenario)


def test_a_schedule_fires_once_across_replicas_and_a_handover(db_url: str, tmp_path: Path) -> None:
    slot_time = datetime(2026, 11, 26, 8, 0, 20, tzinfo=UTC)  # daily-report: "0 8 * * *"

    async def scenario(w: World) -> None:
        w.apply()
        first, second = runner(w, lambda: slot_time), runner(w, lambda: slot_time)
        stops = asyncio.Event(), asyncio.Event()
        tasks = [asyncio.create_task(first.run(stops[0])), asyncio.create_task(second.run(stops[1]))]
        await eventually(lambda: first.leader or second.leader)
        leader, follower = (first, second) if first.leader else (second, first)
        assert not follower.leader
        await eventually(lambda: runs(w.url) == 1)
        stops[0 if leader is first else 1].set()  # the leader goes away inside the slot
        await eventually(lambda: follower.leader)
        await asyncio.sleep(0.5)  # the new leader ticks several times within the slot
        assert runs(w.url) == 1
        stops[1 if leader is first else 0].set()
        await asyncio.wait_for(asyncio.gather(*tasks), 15)  # a bot that does not stop fails here

    run_world(db_url, tmp_path, scenario)


def runs(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM hlb_runtime.workflow_runs WHERE workflow = 'daily-report'"
        ).fetchone()
        return int(row[0]) if row else 0


def test_bot_refuses_to_start_without_a_revision(empty_db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", empty_db_url)
    monkeypatch.setenv("DISCORD_TOKEN", "unused")
    result = CliRunner().invoke(main, ["bot", "run"])
    assert result.exit_code == 1
    assert "hlb db upgrade" in result.output or "hlb apply" in result.output
    assert "Traceback" not in result.output


def test_two_bot_processes_one_leads_and_the_other_takes_over(
    db_url: str, discord_emulator: Emulator, tmp_path: Path
) -> None:
    emu = discord_emulator
    seed_homelab(emu)
    specs = tmp_path / "specs"
    secrets = {"HLB_SECRET_PROM_TOKEN": SECRET, "HLB_SECRET_SONARR_API_KEY": SECRET}
    env = applied_specs(db_url, emu, specs, None, **secrets)
    logs = [tmp_path / "bot1.log", tmp_path / "bot2.log"]
    bots = [bot_process(env, log) for log in logs]
    try:
        leader_log = wait_for_leader(logs)
        leader = bots[logs.index(leader_log)]
        deadline = time.monotonic() + 20
        while "event=reconcile guild=homelab" not in leader_log.read_text():  # its first pass is done
            assert time.monotonic() < deadline, leader_log.read_text()
            time.sleep(0.05)
        assert logs_topic(emu).startswith("Noisy")
        leader.send_signal(signal.SIGKILL)
        leader.wait(10)
        infra = specs / "channels" / "infra.yaml"
        infra.write_text(
            infra.read_text().replace("topic: Noisy machine output", "topic: Quieter machine output")
        )
        applied = cli_inprocess.hlb(env, Path.cwd(), "apply", str(specs))  # the bots are the processes here
        assert applied.returncode == 0, applied.stderr
        deadline = time.monotonic() + 15
        while not logs_topic(emu).startswith("Quieter"):
            assert time.monotonic() < deadline, [log.read_text() for log in logs]
            time.sleep(0.05)
        other = logs[1 - logs.index(leader_log)].read_text()
        assert "event=leader elected=true" in other
        everything = "".join(log.read_text() for log in logs) + runtime_dump(db_url)
        assert emu.token not in everything and SECRET not in everything
    finally:
        for bot in bots:
            if bot.poll() is None:
                bot.send_signal(signal.SIGTERM)
                bot.wait(15)
    assert all(b.returncode is not None for b in bots)


def runtime_dump(url: str) -> str:
    """Every row of every hlb_runtime table, as text."""
    with psycopg.connect(url) as conn:
        tables = [
            r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'hlb_runtime'")
        ]
        return "".join(
            str(row) for table in tables for row in conn.execute(f"SELECT * FROM hlb_runtime.{table}")
        )


def wait_for_leader(logs: list[Path], within: float = 20.0) -> Path:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for log in logs:
            if log.exists() and "event=leader elected=true" in log.read_text():
                return log
        time.sleep(0.05)
    raise AssertionError("no leader: " + " | ".join(log.read_text() for log in logs if log.exists()))


def test_bot_says_what_is_wrong_when_discord_is_unreachable(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    runner = CliRunner()
    assert runner.invoke(main, ["apply", str(ROOT / "examples" / "minimal")]).exit_code == 0
    monkeypatch.setenv("DISCORD_TOKEN", "some-token")
    monkeypatch.setenv("HLB_DISCORD_API_BASE", "http://127.0.0.1:9/api/v10")  # nothing listens there
    result = runner.invoke(main, ["bot", "run"])
    assert result.exit_code == 1 and "E701 cannot log in to Discord at http://127.0.0.1:9" in result.output
    assert "Traceback" not in result.output and "some-token" not in result.output


def test_the_bot_runs_as_its_read_only_role(db_url: str, tmp_path: Path) -> None:
    from test_grants import fresh_role

    from hlb.store.grants import bot_url, grant_bot

    with fresh_role(db_url, "botrun") as role:
        grant_bot(db_url, role)
        as_bot = bot_url(db_url, role, None)

        async def scenario(w: World) -> None:
            w.apply()  # as the owner, like CI
            settings = w.settings()
            bot, stop = Runner(settings, as_bot, FAST), asyncio.Event()
            task = asyncio.create_task(bot.run(stop))
            await asyncio.wait_for(bot.ready.wait(), 15)
            assert logs_topic(w.emu).startswith("Noisy") and w.binding("Channel", "logs").status == "in_sync"
            stop.set()
            await asyncio.wait_for(task, 10)

        run_world(db_url, tmp_path, scenario)
        with psycopg.connect(as_bot, autocommit=True) as conn:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("UPDATE hlb_config.channels SET topic = 'hacked'")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("DELETE FROM hlb_config.revisions")


def test_a_malformed_reply_fails_one_action_and_the_bot_goes_on(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    commands = "/applications/{application_id}/guilds/{guild_id}/commands"

    async def scenario(w: World) -> None:
        w.emu.reply_without("PUT", commands, "id")  # as Spacebar answers a bulk overwrite
        w.apply()
        bot, stop = runner(w), asyncio.Event()
        caplog.set_level(logging.INFO, logger="hlb.bot")
        task = asyncio.create_task(bot.run(stop))
        await asyncio.wait_for(bot.ready.wait(), 15)
        assert not task.done() and logs_topic(w.emu).startswith("Noisy")
        summary = next(
            r.getMessage() for r in caplog.records if r.getMessage().startswith("event=reconcile ")
        )
        sent = sum(1 for c in w.emu.calls if c.is_write)
        assert f" writes={sent} " in summary and " failed=1" in summary, summary
        w.emu.heal()
        w.edit_spec("channels/infra.yaml", "topic: Noisy machine output", "topic: Quieter machine output")
        await asyncio.to_thread(w.apply)
        await eventually(lambda: logs_topic(w.emu).startswith("Quieter"))
        assert not task.done()
        stop.set()
        await asyncio.wait_for(task, 10)

    run_world(db_url, tmp_path, scenario)
