"""Reconcile the reference specs against the emulator with the real disnake client and real Postgres."""

from __future__ import annotations

from pathlib import Path

import pytest
from reconcile_world import GUILD_ID, World, only_ok, run_world

from hlb.compiler.compile import compile_paths

pytestmark = pytest.mark.timeout(60)

CHANNELS = "/guilds/{guild_id}/channels"
CHANNEL = "/channels/{channel_id}"
MESSAGES = "/channels/{channel_id}/messages"
MESSAGE = "/channels/{channel_id}/messages/{message_id}"
COMMANDS = "/applications/{application_id}/guilds/{guild_id}/commands"


def declared(kind: str) -> list[str]:
    result = compile_paths(["specs"], {"HLB_GUILD_ID": str(GUILD_ID)})
    return [o.key.name for o in result.model if o.key.kind == kind]


def test_first_pass_creates_exactly_the_declared_objects_and_the_second_writes_nothing(
    db_url: str, tmp_path: Path
) -> None:
    async def scenario(w: World) -> None:
        w.apply()
        only_ok(await w.reconcile())
        guild = w.emu.state.guilds[GUILD_ID]
        channels = declared("Channel")
        assert len(w.emu.writes(CHANNELS, "POST")) == len(channels) == len(guild.channels)
        assert len(w.emu.writes(MESSAGES, "POST")) == len(declared("Dashboard"))
        assert len(w.emu.writes(COMMANDS, "PUT")) == 1
        assert sorted(c.name for c in guild.commands.values()) == sorted(declared("Command"))
        # categories hold their children; overwrites resolved to role ids
        infra = guild.channel_named("Infra", 4)
        status = guild.channel_named("📊-status", 0)
        assert status.parent_id == infra.id and status.topic.startswith("Live homelab status")
        targets = {o.id for o in status.permission_overwrites}
        admins = next(r.id for r in guild.roles.values() if r.name == "admins")
        assert targets == {GUILD_ID, admins}
        bindings = w.bindings()
        assert all(b.status == "in_sync" for b in bindings.values()), bindings
        assert w.binding("Channel", "status").discord_id == status.id

        await w.assert_quiet_pass()

    run_world(db_url, tmp_path, scenario)


def test_one_changed_topic_is_exactly_one_patch_with_only_that_field(db_url: str, tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        w.apply()
        only_ok(await w.reconcile())
        before = len(w.emu.calls)
        w.edit_spec("channels/infra.yaml", "topic: Noisy machine output", "topic: Quieter machine output")
        w.apply()
        only_ok(await w.reconcile())
        writes = [c for c in w.emu.calls[before:] if c.is_write]
        assert [(c.method, c.route) for c in writes] == [("PATCH", CHANNEL)]
        assert set(writes[0].body) == {"topic"} and writes[0].body["topic"].startswith("Quieter")

    run_world(db_url, tmp_path, scenario)


def test_unmanaged_channels_and_messages_are_never_touched(db_url: str, tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        state = w.emu.state
        own = state.create_channel(GUILD_ID, {"name": "members-only", "type": 0, "topic": "mine"})
        note = state.post_message(own, {"content": "a human wrote this"})
        w.apply()
        only_ok(await w.reconcile())
        w.edit_spec("channels/infra.yaml", "topic: Noisy machine output", "topic: Quieter machine output")
        media = w.specs / "channels" / "media.yaml"  # prune the last document: movie-night
        media.write_text(media.read_text().rsplit("---", 1)[0])
        w.apply()
        only_ok(await w.reconcile())
        touched = {c.path for c in w.emu.calls if c.is_write}
        assert not any(str(own.id) in path for path in touched)
        assert state.channel(own.id) is not None and state.channel(own.id).topic == "mine"
        assert note.id in state.messages
        names = {c.name for c in state.guilds[GUILD_ID].channels.values()}
        assert "Movie Night" not in names and "members-only" in names

    run_world(db_url, tmp_path, scenario)


def test_drift_is_healed_deleted_channel_renamed_channel_deleted_message(db_url: str, tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        w.apply()
        only_ok(await w.reconcile())
        state = w.emu.state
        guild = state.guilds[GUILD_ID]
        logs = guild.channel_named("📜-logs", 0)
        state.delete_channel(logs)
        chat = guild.channel_named("💬-chat", 0)
        chat.name = "renamed-by-hand"
        welcome = w.binding("Dashboard", "welcome")
        assert welcome.discord_id is not None
        del state.messages[welcome.discord_id]
        report = only_ok(await w.reconcile())
        assert report.plan is not None
        drifted = {k.name for k in report.plan.drifted}
        assert drifted == {"logs", "chat", "welcome"}
        assert guild.channel_named("📜-logs", 0).id != logs.id
        assert chat.name == "💬-chat"
        assert w.binding("Dashboard", "welcome").discord_id in state.messages
        assert only_ok(await w.reconcile()).plan.actions == ()  # type: ignore[union-attr]

    run_world(db_url, tmp_path, scenario)


def test_a_429_storm_and_a_run_of_503s_lose_and_duplicate_nothing(db_url: str, tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        w.apply()
        w.emu.rate_limit_storm(6, retry_after=0.05)
        only_ok(await w.reconcile())
        w.emu.fail_next(3, status=503)
        only_ok(await w.reconcile())  # faults hit the reads of this (no-op) pass
        guild = w.emu.state.guilds[GUILD_ID]
        assert len(guild.channels) == len(declared("Channel"))
        assert len(w.emu.state.messages) == len(declared("Dashboard"))
        w.edit_spec("channels/infra.yaml", "topic: Noisy machine output", "topic: Quieter machine output")
        w.apply()
        w.emu.fail_next(2, status=503)
        only_ok(await w.reconcile())
        assert guild.channel_named("📜-logs", 0).topic.startswith("Quieter")
        assert len(guild.channels) == len(declared("Channel"))

    run_world(db_url, tmp_path, scenario)


def test_dry_run_writes_nothing_anywhere(db_url: str, tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        w.apply()
        report = (await w.reconcile(dry_run=True))[0]
        assert report.plan is not None and len(report.plan.writes) > 10
        assert w.writes() == 0 and w.bindings() == {} and w.events() == []

    run_world(db_url, tmp_path, scenario)


def test_events_audit_every_write(db_url: str, tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        w.apply()
        only_ok(await w.reconcile())
        events = w.events()
        assert len(events) == w.writes()
        assert all(outcome == "ok" for _name, _action, outcome in events)

    run_world(db_url, tmp_path, scenario)
