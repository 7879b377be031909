"""More reconcile behaviour on the emulator: adoption, prune settings, the CLI (faults: elsewhere)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from reconcile_world import GUILD_ID, ROOT, World, only_ok, run_world, seed_homelab

from hlb.cli import main
from hlb.testing import Emulator

pytestmark = pytest.mark.timeout(60)

CHANNEL = "/channels/{channel_id}"


def test_adopt_by_name_binds_existing_channels_and_creates_no_duplicates(db_url: str, tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        infra = w.emu.human_create_channel(GUILD_ID, "Infra", type=4, position=0)
        logs = w.emu.human_create_channel(GUILD_ID, "📜-logs", type=0, parent_id=infra.id, topic="by hand")
        w.edit_spec("guild.yaml", "adopt: none", "adopt: by-name")
        w.apply()
        report = only_ok(await w.reconcile())
        guild = w.emu.state.guilds[GUILD_ID]
        assert [c.id for c in guild.channels.values() if c.name == "📜-logs"] == [logs.id]
        assert w.binding("Channel", "logs").discord_id == logs.id
        assert w.binding("Channel", "infra").discord_id == infra.id
        assert logs.topic is not None and logs.topic.startswith("Noisy machine output")
        adopted = [x for x in report.plan.actions if x.verb == "adopt channel"]  # type: ignore[union-attr]
        assert {x.key.name for x in adopted} == {"infra", "logs"}

    run_world(db_url, tmp_path, scenario)


def test_prune_false_and_protect_keep_channels_that_left_the_specs(db_url: str, tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        movie = "name: movie-night\nlabels:\n  team: media\nspec:\n"
        w.edit_spec("channels/media.yaml", movie, movie + "  protect: true\n")
        w.apply()
        only_ok(await w.reconcile())
        media = w.specs / "channels" / "media.yaml"
        media.write_text(media.read_text().rsplit("---", 1)[0])  # drop movie-night (protected)
        general = w.specs / "channels" / "general.yaml"
        general.write_text(general.read_text().rsplit("---", 1)[0])  # drop the last general channel
        w.edit_spec("guild.yaml", "prune: true", "prune: false")
        w.apply()
        only_ok(await w.reconcile())
        assert not w.emu.writes(CHANNEL, "DELETE")
        names = {c.name for c in w.emu.state.guilds[GUILD_ID].channels.values()}
        assert "Movie Night" in names and len(names) == 14  # nothing deleted
        assert all(k.name != "movie-night" for k in w.bindings())  # released: no longer managed

    run_world(db_url, tmp_path, scenario)


def test_cli_reconcile_and_status(
    db_url: str, discord_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu = discord_emulator
    seed_homelab(emu)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("HLB_GUILD_ID", str(GUILD_ID))
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    runner = CliRunner()
    specs = str(ROOT / "specs")
    assert runner.invoke(main, ["apply", specs]).exit_code == 0
    missing = runner.invoke(main, ["reconcile"])
    assert missing.exit_code == 1 and "E701" in missing.output and "DISCORD_TOKEN" in missing.output
    monkeypatch.setenv("DISCORD_TOKEN", emu.token)
    monkeypatch.setenv("HLB_DISCORD_API_BASE", emu.base_url)
    pending = runner.invoke(main, ["status", specs])
    assert pending.exit_code == 0 and "pending" in pending.output and "in_sync" not in pending.output
    dry = runner.invoke(main, ["reconcile", "--dry-run"])
    assert dry.exit_code == 0 and "would make" in dry.output and not emu.writes()
    done = runner.invoke(main, ["reconcile", "--guild", "homelab"])
    assert done.exit_code == 0, done.output
    assert "+ create channel Channel/homelab/status (new)" in done.output
    assert emu.token not in done.output + dry.output
    status = runner.invoke(main, ["status", specs])
    assert status.exit_code == 0 and "pending" not in status.output
    assert "in_sync" in status.output and "applied" in status.output
    again = runner.invoke(main, ["reconcile"])
    assert "made 0 Discord writes" in again.output
    emu.state.guilds[GUILD_ID].channel_named("💬-chat", 0).name = "renamed-by-hand"
    assert "drifted" not in runner.invoke(main, ["status"]).output  # the last reconcile's view
    live = runner.invoke(main, ["status", "--live"])
    assert live.exit_code == 0, live.output
    chat_row = next(line for line in live.output.splitlines() if line.startswith("Channel/homelab/chat "))
    assert "drifted" in chat_row and "1 drifted" in live.output, live.output
    unknown = runner.invoke(main, ["reconcile", "--guild", "nope"])
    assert unknown.exit_code == 1 and "no Guild named 'nope'" in unknown.output
