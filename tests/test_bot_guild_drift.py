"""The running bot heals a hand edit of the server's settings or of an emoji from the gateway event.

GUILD_UPDATE and GUILD_EMOJIS_UPDATE are watched as channel and role events are: a person's
change to a setting or an emoji hlb manages is drift, reconciled at once (not at the next
resync, ten minutes away here); the bot's own writes echoed back are not drift; a change to
something hlb leaves alone (the server's name) makes no pass. The real disnake client against
the emulator, a real Postgres.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from reconcile_world import GUILD_ID, World, run_world
from test_bot import eventually
from test_bot_damping import launched, lines, quiet, stopped
from test_guild_emoji import GIF, spec_set

pytestmark = pytest.mark.timeout(90)
WINDOW = 0.3  # seconds a write's echo is expected in (5 s in the bot)


def test_hand_edits_of_settings_and_emojis_are_healed_from_the_gateway_and_echoes_are_not_drift(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario(w: World) -> None:
        bot, stop, task = await launched(w, caplog, logging.DEBUG)  # resync: 600 s
        guild = w.emu.state.guilds[GUILD_ID]
        await eventually(lambda: len(guild.emojis) == 2 and guild.settings.get("afk_timeout") == 900)
        await eventually(lambda: bool(lines(caplog, "event=gateway_ready")))  # its pass comes next
        await quiet(bot)
        passes = bot.passes
        w.edit_spec("guild.yaml", "verification_level: medium", "verification_level: high")
        await asyncio.to_thread(w.apply)  # the bot PATCHes; its GUILD_UPDATE comes back
        await eventually(lambda: guild.settings["verification_level"] == 3)
        await eventually(lambda: bool(lines(caplog, "event=echo key=Guild/homelab/homelab")))
        await asyncio.sleep(0.3)
        assert bot.passes == passes + 1 and not lines(caplog, "event=drift "), lines(caplog, "event=drift ")
        bot.drift.echoes.window = WINDOW  # each edit below comes later than that after a write

        passes = bot.passes
        await asyncio.sleep(WINDOW + 0.1)
        w.emu.human_edit_guild(GUILD_ID, name="Renamed by hand")  # not a setting hlb manages
        await asyncio.sleep(0.5)
        assert bot.passes == passes and not lines(caplog, "event=drift ")

        await asyncio.sleep(WINDOW + 0.1)
        w.emu.human_edit_guild(GUILD_ID, afk_timeout=60, verification_level=0)
        settings = guild.settings
        await eventually(lambda: (settings["afk_timeout"], settings["verification_level"]) == (900, 3))
        (drift,) = lines(caplog, "event=drift key=Guild/homelab/homelab")
        assert drift.endswith("changed=afk_timeout,verification_level"), drift

        party = w.binding("Emoji", "party").discord_id
        assert party is not None
        await asyncio.sleep(WINDOW + 0.1)
        w.emu.human_edit_emoji(GUILD_ID, party, "renamed")
        await eventually(lambda: guild.emojis[party].name == "party")
        assert lines(caplog, "event=drift key=Emoji/homelab/party")[0].endswith("changed=name")

        dance = w.binding("Emoji", "dance").discord_id
        assert dance is not None
        await asyncio.sleep(WINDOW + 0.1)
        w.emu.human_delete_emoji(GUILD_ID, dance)
        await eventually(lambda: [(e.name, e.image) for e in guild.emojis.values() if e.id != party] == [
            ("dance", GIF)
        ])
        assert lines(caplog, "event=drift key=Emoji/homelab/dance")[0].endswith("changed=deleted")
        await stopped(stop, task)

    run_world(db_url, tmp_path, scenario, specs=spec_set(tmp_path / "src"))
