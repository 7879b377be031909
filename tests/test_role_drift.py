"""Roles changed by hand are healed from the gateway event; the bot's own role writes are not drift.

The real disnake client against the emulator and a real Postgres, with the periodic resync
ten minutes away: only GUILD_ROLE_UPDATE and GUILD_ROLE_DELETE can bring the pass that heals.
A role is where a person's quick fix matters most (someone grants ``administrator``), so it
must not wait for the resync.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from reconcile_world import GUILD_ID, World, run_world
from test_bot import eventually
from test_bot_damping import launched, lines, quiet, stopped

from hlb.bot.runner import Runner
from hlb.testing.models import Role

pytestmark = pytest.mark.timeout(90)

ADMINISTRATOR = 1 << 3


def operators(w: World) -> Role | None:
    return next((r for r in w.emu.state.guilds[GUILD_ID].roles.values() if r.name == "operators"), None)


ROLE_DRIFT = "event=drift key=Role/"  # the start of the log line of a role's drift


Started = tuple[Runner, asyncio.Event, asyncio.Task[None]]


async def started(w: World, caplog: pytest.LogCaptureFixture) -> Started:
    """The reference specs applied and a bot on them (resync ten minutes away), its roles bound."""
    bot, stop, task = await launched(w, caplog, logging.DEBUG)
    await eventually(lambda: operators(w) is not None and any(k.kind == "Role" for k in bot.ctx.bindings))
    return bot, stop, task


def test_a_role_edited_or_deleted_by_hand_is_healed_from_the_gateway_event(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario(w: World) -> None:
        bot, stop, task = await started(w, caplog)
        bot.drift.echoes.window = 0.5
        await asyncio.sleep(1.0)  # past the window of the role's creation: a change now is a person's
        role = operators(w)
        assert role is not None and not role.permissions & ADMINISTRATOR
        granted = str(role.permissions | ADMINISTRATOR)
        w.emu.human_edit_role(GUILD_ID, role.id, permissions=granted, hoist=False)
        await eventually(lambda: not role.permissions & ADMINISTRATOR and role.hoist, within=10)
        drifted = lines(caplog, ROLE_DRIFT)
        assert any("changed=hoist,permissions" in line for line in drifted), drifted

        w.emu.human_delete_role(GUILD_ID, role.id)
        await eventually(lambda: (new := operators(w)) is not None and new.id != role.id, within=10)
        drifted = lines(caplog, ROLE_DRIFT)
        assert any("changed=deleted" in line for line in drifted), drifted
        await stopped(stop, task)

    run_world(db_url, tmp_path, scenario)


def test_the_bots_own_role_writes_echoed_back_are_not_drift(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario(w: World) -> None:
        bot, stop, task = await started(w, caplog)
        await quiet(bot)  # the passes of the start are over
        passes = bot.passes
        w.edit_spec("roles.yaml", 'color: "#e67e22"', 'color: "#3498db"')
        await asyncio.to_thread(w.apply)
        await eventually(lambda: (r := operators(w)) is not None and r.color == 0x3498DB)
        await asyncio.sleep(0.5)  # the GUILD_ROLE_UPDATE echo has arrived and been judged
        assert bot.passes == passes + 1, "the echo of the bot's own role write made another pass"
        assert not lines(caplog, ROLE_DRIFT), lines(caplog, ROLE_DRIFT)
        await stopped(stop, task)

    run_world(db_url, tmp_path, scenario)
