"""The emulator's fault injection, driven by the real disnake client: what each fault looks like on the wire.

A reply without a field, a write that keeps fewer fields, a route that always fails, and
``heal`` putting everything back. The reconcile tests use these to test the bot's answers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import disnake
import pytest
from disnake.http import Route

from hlb.testing import Emulator

GUILD = "/guilds/{guild_id}"
CHANNEL = "/channels/{channel_id}"
COMMANDS = "/applications/{application_id}/guilds/{guild_id}/commands"

Scenario = Callable[[Emulator, disnake.Client, int], Awaitable[None]]


def run(scenario: Scenario) -> Emulator:
    async def main() -> Emulator:
        async with Emulator() as emu:
            guild = emu.add_guild("Test Guild")
            emu.add_role(guild.id, "admins")
            disnake.http.Route.BASE = emu.base_url
            client = disnake.Client(application_id=emu.application_id)
            try:
                await client.login(emu.token)
                await scenario(emu, client, guild.id)
            finally:
                await client.close()
            return emu

    return asyncio.run(main())


async def raw(client: disnake.Client, method: str, path: str, json: Any = None, **ids: Any) -> Any:
    route = Route(method, path, **ids)
    if json is None:
        return await client.http.request(route)
    return await client.http.request(route, json=json)


def test_reply_without_drops_fields_from_the_reply_but_the_write_happens() -> None:
    async def scenario(emu: Emulator, client: disnake.Client, guild_id: int) -> None:
        app = emu.application_id
        emu.reply_without("PUT", COMMANDS, "id")
        body = [{"name": "deploy", "description": "Deploy", "type": 1}]
        written = await raw(client, "PUT", COMMANDS, body, application_id=app, guild_id=guild_id)
        assert [sorted(c) for c in written] == [sorted(set(written[0]) - {"id"})] and "id" not in written[0]
        assert [c.name for c in emu.state.guilds[guild_id].commands.values()] == ["deploy"]
        emu.reply_without("GET", GUILD, "roles", guild_id=guild_id)
        guild = await raw(client, "GET", GUILD, guild_id=guild_id)
        assert "roles" not in guild and guild["name"] == "Test Guild"
        emu.heal()
        listed = await raw(client, "GET", COMMANDS, application_id=app, guild_id=guild_id)
        assert listed[0]["id"]
        assert {r["name"] for r in (await raw(client, "GET", GUILD, guild_id=guild_id))["roles"]} >= {
            "admins"
        }

    run(scenario)


def test_ignore_on_write_keeps_no_topic_and_fail_route_always_fails() -> None:
    async def scenario(emu: Emulator, client: disnake.Client, guild_id: int) -> None:
        channel = await raw(
            client, "POST", "/guilds/{guild_id}/channels", {"name": "ops", "type": 0}, guild_id=guild_id
        )
        emu.ignore_on_write("PATCH", CHANNEL, "topic")
        edited = await raw(
            client, "PATCH", CHANNEL, {"topic": "hello", "name": "ops2"}, channel_id=channel["id"]
        )
        assert edited["name"] == "ops2" and edited.get("topic") is None
        emu.fail_route("PATCH", CHANNEL, 403, 50013, channel_id=int(channel["id"]))
        for _ in range(2):
            with pytest.raises(disnake.Forbidden) as refused:
                await raw(client, "PATCH", CHANNEL, {"name": "ops3"}, channel_id=channel["id"])
            assert refused.value.code == 50013
        emu.heal()
        healed = await raw(client, "PATCH", CHANNEL, {"topic": "hello"}, channel_id=channel["id"])
        assert healed["topic"] == "hello" and healed["name"] == "ops2"

    emu = run(scenario)
    assert [c.status for c in emu.calls if c.method == "PATCH"] == [200, 403, 403, 200]
