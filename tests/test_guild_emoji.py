"""Guild settings and emojis reconciled against the emulator with the real disnake client and Postgres."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import pytest
from reconcile_world import GUILD_ID, HLB, World, only_ok, run_world

pytestmark = pytest.mark.timeout(90)

GUILD = "/guilds/{guild_id}"
EMOJIS = "/guilds/{guild_id}/emojis"
EMOJI = "/guilds/{guild_id}/emojis/{emoji_id}"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
GIF = b"GIF89a" + b"\x00" * 64

GUILD_SPEC = """apiVersion: hlb/v1
kind: Guild
name: homelab
spec:
  id: "${HLB_GUILD_ID}"
  verification_level: medium
  afk_channel: lounge
  afk_timeout: 900
  system_channel: general
  description: A homelab
"""
CHANNELS = """apiVersion: hlb/v1
kind: Channel
name: general
spec: {type: text}
---
apiVersion: hlb/v1
kind: Channel
name: lounge
spec: {type: voice}
"""


def emoji(name: str, image: str, extra: str = "") -> str:
    return f"---\napiVersion: hlb/v1\nkind: Emoji\nname: {name}\nspec:\n  image: {image}\n{extra}"


TWO = emoji("party", "img/party.png") + emoji("dance", "img/dance.gif")


def spec_set(root: Path, emojis: str = TWO) -> Path:
    """A guild with settings, two channels and emojis (a PNG and a GIF) under ``root``."""
    (root / "img").mkdir(parents=True)
    (root / "img" / "party.png").write_bytes(PNG)
    (root / "img" / "dance.gif").write_bytes(GIF)
    (root / "guild.yaml").write_text(GUILD_SPEC)
    (root / "channels.yaml").write_text(CHANNELS)
    (root / "emojis.yaml").write_text(emojis)
    return root


def writes_since(w: World, before: int) -> list[tuple[str, str]]:
    return [(c.method, c.route) for c in w.emu.calls[before:] if c.is_write]


def test_settings_and_emojis_converge_from_empty_then_nothing_is_written(db_url: str, tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        w.apply()
        only_ok(await w.reconcile())
        guild = w.emu.state.guilds[GUILD_ID]
        lounge, general = guild.channel_named("lounge", 2), guild.channel_named("general", 0)
        assert guild.settings == {
            "verification_level": 2,
            "afk_timeout": 900,
            "description": "A homelab",
            "afk_channel_id": str(lounge.id),
            "system_channel_id": str(general.id),
        }
        assert len(w.emu.writes(GUILD, "PATCH")) == 1
        assert sorted((e.name, e.animated, e.image) for e in guild.emojis.values()) == [
            ("dance", True, GIF),
            ("party", False, PNG),
        ]
        assert w.binding("Emoji", "party").discord_id in guild.emojis
        await w.assert_quiet_pass()

    run_world(db_url, tmp_path, scenario, specs=spec_set(tmp_path / "src"))


def test_one_changed_setting_is_one_guild_patch_with_only_that_field(db_url: str, tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        w.apply()
        only_ok(await w.reconcile())
        before = len(w.emu.calls)
        w.edit_spec("guild.yaml", "verification_level: medium", "verification_level: high")
        w.apply()
        only_ok(await w.reconcile())
        assert writes_since(w, before) == [("PATCH", GUILD)]
        assert w.emu.calls[-1].body == {"verification_level": 3} or [
            c.body for c in w.emu.calls[before:] if c.is_write
        ] == [{"verification_level": 3}]

    run_world(db_url, tmp_path, scenario, specs=spec_set(tmp_path / "src"))


def test_a_setting_the_spec_leaves_out_is_never_touched(db_url: str, tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        guild = w.emu.state.guilds[GUILD_ID]
        guild.settings["explicit_content_filter"] = 2  # set by hand; no spec names it
        guild.settings["preferred_locale"] = "de"
        w.apply()
        only_ok(await w.reconcile())
        only_ok(await w.reconcile())
        assert guild.settings["explicit_content_filter"] == 2 and guild.settings["preferred_locale"] == "de"
        sent = [c.body for c in w.emu.writes(GUILD, "PATCH")]
        assert sent and all("explicit_content_filter" not in b and "preferred_locale" not in b for b in sent)

    run_world(db_url, tmp_path, scenario, specs=spec_set(tmp_path / "src"))


def test_a_hand_changed_setting_is_healed_with_one_patch(db_url: str, tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        w.apply()
        only_ok(await w.reconcile())
        guild = w.emu.state.guilds[GUILD_ID]
        guild.settings["afk_timeout"] = 60
        before = len(w.emu.calls)
        only_ok(await w.reconcile())
        assert writes_since(w, before) == [("PATCH", GUILD)]
        assert guild.settings["afk_timeout"] == 900

    run_world(db_url, tmp_path, scenario, specs=spec_set(tmp_path / "src"))


def test_renaming_an_emoji_is_one_patch_and_a_new_image_is_a_reupload(db_url: str, tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        w.apply()
        only_ok(await w.reconcile())
        guild = w.emu.state.guilds[GUILD_ID]
        first = w.binding("Emoji", "party").discord_id
        before = len(w.emu.calls)
        w.edit_spec("emojis.yaml", "image: img/party.png", "image: img/party.png\n  name: partytime")
        w.apply()
        only_ok(await w.reconcile())
        assert writes_since(w, before) == [("PATCH", EMOJI)]
        assert w.emu.calls[-1].body == {"name": "partytime"} and guild.emojis[first].name == "partytime"

        (w.specs / "img" / "party.png").write_bytes(PNG + b"new")
        w.apply()
        before = len(w.emu.calls)
        only_ok(await w.reconcile())
        assert writes_since(w, before) == [("DELETE", EMOJI), ("POST", EMOJIS)]
        second = w.binding("Emoji", "party").discord_id
        assert second != first and first not in guild.emojis and guild.emojis[second].image == PNG + b"new"
        before = len(w.emu.calls)
        only_ok(await w.reconcile())
        assert writes_since(w, before) == []

    run_world(db_url, tmp_path, scenario, specs=spec_set(tmp_path / "src"))


def test_emoji_roles_resolve_by_name_and_a_pruned_emoji_is_deleted_a_protected_one_kept(
    db_url: str, tmp_path: Path
) -> None:
    specs = emoji("party", "img/party.png", "  roles: [admins]\n") + emoji(
        "dance", "img/dance.gif", "  protect: true\n"
    )

    async def scenario(w: World) -> None:
        w.apply()
        only_ok(await w.reconcile())
        guild = w.emu.state.guilds[GUILD_ID]
        admins = guild.role_named("admins").id
        party, dance = w.binding("Emoji", "party").discord_id, w.binding("Emoji", "dance").discord_id
        assert party is not None and guild.emojis[party].roles == [admins]
        (w.specs / "emojis.yaml").write_text("")
        (w.specs / "emojis.yaml").unlink()
        w.apply()
        only_ok(await w.reconcile())
        assert party not in guild.emojis and dance in guild.emojis
        assert [c.route for c in w.emu.writes(EMOJI, "DELETE")] == [EMOJI]

    run_world(db_url, tmp_path, scenario, specs=spec_set(tmp_path / "src", specs))


def test_emojis_over_the_slots_are_refused_and_the_others_converge(db_url: str, tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        guild = w.emu.state.guilds[GUILD_ID]
        for n in range(49):  # 49 static emojis already there, not hlb's: one static slot is free
            w.emu.state.ids.next()
            from hlb.testing.models import Emoji

            guild.emojis[900 + n] = Emoji(900 + n, f"old{n}", PNG)
        w.apply()
        reports = await w.reconcile()
        report = reports[0]
        assert report.plan is not None
        refused = {k.name for k in report.plan.refused}
        assert refused == {"zeta"}, report.plan.blocked
        assert "no free static emoji slot" in report.plan.refused[next(iter(report.plan.refused))]
        names = {e.name for e in guild.emojis.values() if not e.name.startswith("old")}
        assert names == {"party", "dance"}
        binding = w.binding("Emoji", "zeta")
        assert binding.status == "error" and binding.error_kind == "permanent"
        assert binding.error is not None and "premium tier 0" in binding.error
        assert not w.emu.writes(EMOJIS, "POST") or all(c.status == 201 for c in w.emu.writes(EMOJIS, "POST"))

    specs = emoji("party", "img/party.png") + emoji("dance", "img/dance.gif") + emoji("zeta", "img/party.png")
    run_world(db_url, tmp_path, scenario, specs=spec_set(tmp_path / "src", specs))


def test_import_discord_brings_settings_and_emojis_and_adopts_them_with_zero_writes(
    db_url: str, tmp_path: Path
) -> None:
    from hlb.testing.models import Emoji

    async def scenario(w: World) -> None:
        guild = w.emu.state.guilds[GUILD_ID]
        lounge = w.emu.human_create_channel(GUILD_ID, "lounge", type=2)
        guild.settings.update(afk_channel_id=str(lounge.id), verification_level=3, description="hi")
        admins = guild.role_named("admins").id
        guild.emojis[901] = Emoji(901, "party_parrot", PNG, roles=[admins])
        guild.emojis[902] = Emoji(902, "dance", GIF, animated=True)
        guild.emojis[903] = Emoji(903, "twitch_sub", PNG, managed=True)
        out = tmp_path / "imported"
        done = await asyncio.to_thread(
            subprocess.run,
            [*HLB, "import-discord", "--guild", str(GUILD_ID), "--out", str(out)],
            env={**os.environ, "DISCORD_TOKEN": w.emu.token, "HLB_DISCORD_API_BASE": w.emu.base_url},
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        assert "twitch_sub" in done.stderr and "integration" in done.stderr
        assert (out / "emojis" / "party-parrot.png").read_bytes() == PNG
        assert (out / "emojis" / "dance.gif").read_bytes() == GIF
        spec = (out / "guild.yaml").read_text()
        assert "afk_channel: lounge" in spec and "verification_level: high" in spec
        w.specs = out
        w.apply()
        before = len(w.emu.calls)
        report = only_ok(await w.reconcile())
        assert writes_since(w, before) == []
        assert report.plan is not None
        assert {type(a).__name__ for a in report.plan.actions} == {"AdoptChannel", "AdoptRole", "AdoptEmoji"}
        assert w.binding("Emoji", "party-parrot").discord_id == 901

    run_world(db_url, tmp_path, scenario, specs=spec_set(tmp_path / "src"))


def test_a_new_image_is_not_uploaded_while_the_old_one_cannot_be_deleted(db_url: str, tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        w.apply()
        only_ok(await w.reconcile())
        guild = w.emu.state.guilds[GUILD_ID]
        first = w.binding("Emoji", "party").discord_id
        (w.specs / "img" / "party.png").write_bytes(PNG + b"new")
        w.apply()
        w.emu.forbid("DELETE", EMOJI, guild_id=GUILD_ID)
        before = len(w.emu.calls)
        await w.reconcile()
        assert writes_since(w, before) == [("DELETE", EMOJI)], "a second copy was uploaded"
        failed = w.binding("Emoji", "party")
        assert failed.status == "error" and failed.discord_id == first and "403" in (failed.error or "")
        assert sorted(e.name for e in guild.emojis.values()) == ["dance", "party"]

        w.emu.allow_all()
        before = len(w.emu.calls)
        only_ok(await w.reconcile(retry_failed=True))
        assert writes_since(w, before) == [("DELETE", EMOJI), ("POST", EMOJIS)]
        assert guild.emojis[w.binding("Emoji", "party").discord_id].image == PNG + b"new"

    run_world(db_url, tmp_path, scenario, specs=spec_set(tmp_path / "src"))
