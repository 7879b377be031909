"""Reconcile passes through faults: one bad reply fails one action; temporary vs permanent errors.

The real disnake client against the emulator's injected faults, and a real Postgres: a reply
without an id, a route that always answers 403 or 503, a guild payload without roles.
"""

from __future__ import annotations

import os
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import cli_inprocess
import psycopg
import pytest
from reconcile_world import GUILD_ID, ROOT, World, only_ok, run_world, seed_homelab

from hlb.bot.reconcile import GuildReport
from hlb.testing import Emulator

pytestmark = pytest.mark.timeout(90)

CHANNELS = "/guilds/{guild_id}/channels"
CHANNEL = "/channels/{channel_id}"
MESSAGE = "/channels/{channel_id}/messages/{message_id}"
COMMANDS = "/applications/{application_id}/guilds/{guild_id}/commands"
HOUR = timedelta(hours=1)


def write_calls(w: World) -> int:
    """Write requests the emulator received, whatever it answered."""
    return sum(1 for c in w.emu.calls if c.is_write)


def patches(w: World, channel_id: int) -> int:
    """PATCHes of one channel the emulator received, whatever it answered."""
    return sum(1 for c in w.emu.calls if c.method == "PATCH" and c.path == f"/channels/{channel_id}")


def error_events(w: World) -> list[tuple[str, str, dict[str, Any]]]:
    with psycopg.connect(w.url) as conn:
        query = "SELECT name, action, detail FROM hlb_runtime.reconcile_events WHERE outcome = 'error'"
        rows = conn.execute(query + " ORDER BY id")
        return [(str(n), str(a), dict(d)) for n, a, d in rows]


def the(reports: list[GuildReport]) -> GuildReport:
    (report,) = reports
    assert report.error is None and report.execution is not None, report.error
    return report


def test_a_403_is_permanent_held_an_hour_doubling_until_the_spec_changes_or_retry_failed(
    db_url: str, tmp_path: Path
) -> None:
    async def scenario(w: World) -> None:
        w.apply()
        only_ok(await w.reconcile())
        converged_hash = w.binding("Channel", "logs").spec_hash
        guild = w.emu.state.guilds[GUILD_ID]
        logs, chat = guild.channel_named("📜-logs", 0), guild.channel_named("💬-chat", 0)
        w.emu.forbid("PATCH", CHANNEL, channel_id=logs.id)
        w.edit_spec("channels/infra.yaml", "topic: Noisy machine output", "topic: Quieter machine output")
        w.edit_spec("channels/general.yaml", "topic: Anything goes", "topic: Most things go")
        w.apply()
        report = the(await w.reconcile())
        assert [o.action.key.name for o in report.execution.failed] == ["logs"]  # type: ignore[union-attr]
        assert chat.topic is not None and chat.topic.startswith("Most things go")
        failed = w.binding("Channel", "logs")
        assert (failed.status, failed.error_kind, failed.attempts) == ("error", "permanent", 1)
        assert failed.error is not None and "403" in failed.error and "50013" in failed.error
        assert failed.next_attempt_at == w.now + HOUR
        assert failed.spec_hash == converged_hash  # the last state that was true is kept
        (event,) = error_events(w)
        assert event[0:2] == ("logs", "update channel")
        assert (
            event[2]["status"] == 403 and event[2]["code"] == 50013 and event[2]["error_kind"] == "permanent"
        )

        calls = patches(w, logs.id)
        w.now += timedelta(minutes=5)
        held = the(await w.reconcile())
        assert held.plan is not None and [k.name for k in held.plan.waiting] == ["logs"]
        assert patches(w, logs.id) == calls, "a permanent error is not retried on the next pass"

        w.now += HOUR  # the hold elapsed: tried again, refused again, held twice as long
        the(await w.reconcile())
        assert patches(w, logs.id) == calls + 1
        again = w.binding("Channel", "logs")
        assert again.attempts == 2 and again.next_attempt_at == w.now + 2 * HOUR

        w.edit_spec("channels/infra.yaml", "topic: Quieter machine output", "topic: Calm machine output")
        w.apply()
        the(await w.reconcile())  # a changed spec is tried at once
        assert patches(w, logs.id) == calls + 2 and w.binding("Channel", "logs").attempts == 3

        w.emu.allow_all()
        w.now += timedelta(minutes=5)
        the(await w.reconcile())
        assert patches(w, logs.id) == calls + 2  # granted in Discord, but still held
        only_ok(await w.reconcile(retry_failed=True))
        assert logs.topic is not None and logs.topic.startswith("Calm")
        healed = w.binding("Channel", "logs")
        assert (healed.status, healed.error, healed.error_kind, healed.attempts) == ("in_sync", None, None, 0)
        assert healed.next_attempt_at is None

    run_world(db_url, tmp_path, scenario)


def test_a_503_is_temporary_retried_after_a_short_jittered_backoff(db_url: str, tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        w.apply()
        only_ok(await w.reconcile())
        logs = w.emu.state.guilds[GUILD_ID].channel_named("📜-logs", 0)
        w.emu.fail_route("PATCH", CHANNEL, 503, channel_id=logs.id)
        w.edit_spec("channels/infra.yaml", "topic: Noisy machine output", "topic: Quieter machine output")
        w.apply()
        the(await w.reconcile())
        failed = w.binding("Channel", "logs")
        assert (failed.status, failed.error_kind) == ("error", "temporary")
        assert failed.next_attempt_at is not None
        assert timedelta(seconds=8) <= failed.next_attempt_at - w.now <= timedelta(seconds=12)
        w.emu.heal()
        w.now += timedelta(seconds=13)
        only_ok(await w.reconcile())
        assert logs.topic is not None and logs.topic.startswith("Quieter")

    run_world(db_url, tmp_path, scenario)


def test_a_reply_without_ids_fails_that_action_only_and_is_recorded(db_url: str, tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        w.apply()
        w.emu.reply_without("PUT", COMMANDS, "id")  # as Spacebar answers a bulk overwrite
        report = the(await w.reconcile())
        failed = report.execution.failed  # type: ignore[union-attr]
        assert [o.action.verb for o in failed] == ["overwrite commands"]
        assert failed[0].failure is not None and failed[0].failure.kind == "permanent"
        assert "without an id" in (failed[0].error or "")
        guild = w.emu.state.guilds[GUILD_ID]
        assert len(w.emu.state.messages) == 3 and guild.commands  # everything else converged
        commands = {k: b for k, b in w.bindings().items() if k.kind == "Command"}
        assert commands and all(
            b.status == "error" and b.error_kind == "permanent" for b in commands.values()
        )
        events = error_events(w)
        assert [(name, action) for name, action, _ in events] == [("homelab", "overwrite commands")]
        assert "without an id" in events[0][2]["message"]
        assert report.writes == write_calls(w)
        # the commands did reach Discord: the next pass reads them back and has nothing to do
        w.emu.heal()
        calls = write_calls(w)
        healed = the(await w.reconcile())
        assert write_calls(w) == calls and healed.writes == 0
        assert all(
            b.status == "in_sync" and b.discord_id for k, b in w.bindings().items() if k.kind == "Command"
        )

    run_world(db_url, tmp_path, scenario)


def test_a_create_answered_without_an_id_is_not_done_and_writes_counts_what_was_sent(
    db_url: str, tmp_path: Path
) -> None:
    async def scenario(w: World) -> None:
        w.apply()
        w.emu.reply_without("POST", CHANNELS, "id")
        report = the(await w.reconcile())
        assert report.execution is not None and report.plan is not None
        # categories failed: their children were never sent, the dashboards wait for their channels
        assert report.writes == write_calls(w) < len(report.plan.writes)
        channels = {k: b for k, b in w.bindings().items() if k.kind == "Channel"}
        assert channels and all(b.status == "error" and b.discord_id is None for b in channels.values())
        unsent = [d for _n, _a, d in error_events(w) if d.get("sent") is False]
        assert unsent and all("was not created" in d["message"] for d in unsent)
        w.emu.heal()
        only_ok(await w.reconcile(retry_failed=True))
        bound = {b.discord_id for k, b in w.bindings().items() if k.kind == "Channel"}
        assert bound <= set(w.emu.state.guilds[GUILD_ID].channels)

    run_world(db_url, tmp_path, scenario)


def test_a_guild_payload_without_roles_reads_them_instead_of_assuming_none(
    db_url: str, tmp_path: Path
) -> None:
    async def scenario(w: World) -> None:
        w.emu.reply_without("GET", "/guilds/{guild_id}", "roles")
        w.apply()
        only_ok(await w.reconcile())
        guild = w.emu.state.guilds[GUILD_ID]
        admins = next(r.id for r in guild.roles.values() if r.name == "admins")
        status = guild.channel_named("📊-status", 0)
        assert admins in {o.id for o in status.permission_overwrites}
        assert any(c.route == "/guilds/{guild_id}/roles" for c in w.emu.calls)

    run_world(db_url, tmp_path, scenario)


def test_a_held_channel_does_not_make_its_unchanged_dashboard_edit_again(db_url: str, tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        w.apply()
        only_ok(await w.reconcile())
        board = w.binding("Dashboard", "welcome")
        welcome = w.emu.state.guilds[GUILD_ID].channel_named("👋-welcome", 0)
        w.emu.forbid("PATCH", CHANNEL, channel_id=welcome.id)
        w.edit_spec("channels/general.yaml", "topic: Start here.", "topic: Begin here.")
        w.apply()
        the(await w.reconcile())  # the channel fails
        the(await w.reconcile())  # the channel is held: its dashboard is blocked
        blocked = w.binding("Dashboard", "welcome")
        assert blocked.status == "error" and blocked.error is not None and "blocked" in blocked.error
        assert (blocked.spec_hash, blocked.rendered_hash) == (board.spec_hash, board.rendered_hash)
        w.emu.allow_all()
        only_ok(await w.reconcile(retry_failed=True))
        assert welcome.topic is not None and welcome.topic.startswith("Begin here.")
        assert not [c for c in w.emu.calls if c.route == MESSAGE and c.method == "PATCH"]
        assert w.binding("Dashboard", "welcome").status == "in_sync"

    run_world(db_url, tmp_path, scenario)


def test_cli_status_live_shows_the_error_and_retry_failed_retries_it(
    db_url: str, discord_emulator: Emulator, tmp_path: Path
) -> None:
    emu = discord_emulator
    seed_homelab(emu)
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "HLB_GUILD_ID": str(GUILD_ID),
        "DISCORD_TOKEN": emu.token,
        "HLB_DISCORD_API_BASE": emu.base_url,
        "HLB_HOME": str(tmp_path / ".hlb"),
    }

    def hlb(*args: str) -> subprocess.CompletedProcess[str]:  # in this process: the output is the point

        return cli_inprocess.hlb(env, ROOT, *args)

    assert hlb("apply", "specs").returncode == 0
    emu.forbid("POST", "/channels/{channel_id}/messages")
    first = hlb("reconcile")
    assert first.returncode == 1 and "Missing Permissions" in first.stdout, first.stdout + first.stderr
    posts = len([c for c in emu.calls if c.method == "POST" and c.route.endswith("/messages")])
    again = hlb("reconcile")
    assert again.returncode == 1 and "held after an error" in again.stdout, again.stdout
    assert len([c for c in emu.calls if c.method == "POST" and c.route.endswith("/messages")]) == posts
    live = hlb("status", "--live")
    assert live.returncode == 0, live.stderr
    row = next(line for line in live.stdout.splitlines() if line.startswith("Dashboard/homelab/welcome "))
    assert " error " in row, live.stdout
    assert "[permanent: not retried before" in live.stdout and "--retry-failed" in live.stdout
    assert emu.token not in live.stdout + again.stdout + first.stdout
    emu.allow_all()
    retried = hlb("reconcile", "--retry-failed")
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert "+ post dashboard Dashboard/homelab/welcome" in retried.stdout
    assert " error " not in hlb("status").stdout
