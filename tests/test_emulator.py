"""The Discord REST emulator (hlb.testing) driven by the real disnake client, REST-only.

Each test starts an emulator on a free port, points disnake's ``Route.BASE`` at it and
asserts on the emulator's state and recorded calls. Async code runs under ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import urllib.request
from collections.abc import Awaitable, Callable
from typing import Any

import disnake
import pytest
from disnake.http import Route

from hlb.testing import Emulator, load_spec, validate

MESSAGES = "/channels/{channel_id}/messages"
GUILD_CHANNELS = "/guilds/{guild_id}/channels"
COMMANDS = "/applications/{application_id}/guilds/{guild_id}/commands"
GUILD_ROUTE = "/guilds/{guild_id}"
CHANNEL_ROUTE = "/channels/{channel_id}"

Overwrites = dict[disnake.Role | disnake.Member, disnake.PermissionOverwrite]
Scenario = Callable[[Emulator, disnake.Client, int], Awaitable[None]]


def setup_module() -> None:
    load_spec()  # parsed once for the whole module (cached per process)


def run(scenario: Scenario, **options: Any) -> Emulator:
    """Start an emulator with one guild, log a disnake client in, run ``scenario``."""

    async def main() -> Emulator:
        async with Emulator(**options) as emu:
            guild = emu.add_guild("Test Guild")
            disnake.http.Route.BASE = emu.base_url
            client = disnake.Client(application_id=emu.application_id)
            try:
                await client.login(emu.token)
                await scenario(emu, client, guild.id)
            finally:
                await client.close()
            return emu

    return asyncio.run(main())


def test_login_fetch_guild_and_app_info() -> None:
    async def scenario(emu: Emulator, client: disnake.Client, guild_id: int) -> None:
        assert client.user is not None and client.user.id == emu.application_id
        guild = await client.fetch_guild(guild_id)
        assert guild.name == "Test Guild" and guild.default_role.id == guild_id
        assert await guild.fetch_channels() == []
        info = await client.application_info()
        assert info.id == emu.application_id
        gateway = await client.http.get_bot_gateway()
        assert gateway[0] == 1 and gateway[1].startswith("ws://127.0.0.1:")

    emu = run(scenario)
    assert [c.route for c in emu.calls] == [
        "/users/@me",
        "/guilds/{guild_id}",
        "/guilds/{guild_id}/channels",
        "/oauth2/applications/@me",
        "/gateway/bot",
    ]
    assert all(c.status == 200 for c in emu.calls)
    emu.assert_no_invalid_requests()


def test_bad_token_is_login_failure() -> None:
    async def main() -> None:
        async with Emulator() as emu:
            disnake.http.Route.BASE = emu.base_url
            client = disnake.Client()
            with pytest.raises(disnake.LoginFailure):
                await client.login("wrong")
            await client.close()
            assert emu.calls[0].status == 401

    asyncio.run(main())


def test_channels_overwrites_topic_and_positions() -> None:
    async def scenario(emu: Emulator, client: disnake.Client, guild_id: int) -> None:
        role = emu.state.add_role(guild_id, "staff")
        guild = await client.fetch_guild(guild_id)
        hidden: Overwrites = {guild.default_role: disnake.PermissionOverwrite(view_channel=False)}
        category = await guild.create_category("Ops", overwrites=hidden)
        staff = guild.get_role(role.id)
        assert staff is not None
        text = await guild.create_text_channel(
            "alerts",
            category=category,
            topic="first",
            overwrites={**hidden, staff: disnake.PermissionOverwrite(view_channel=True, send_messages=True)},
        )
        await text.edit(topic="second", slowmode_delay=5)
        await text.set_permissions(guild.default_role, overwrite=None)
        await client.http.edit_channel(text.id, position=7)
        await client.http.bulk_channel_update(guild_id, [{"id": category.id, "position": 3}])
        fetched = {c.id: c for c in await guild.fetch_channels()}
        assert fetched[text.id].category_id == category.id
        doomed = await guild.create_category("Old")
        orphan = await guild.create_voice_channel("talk", category=doomed, bitrate=96000, user_limit=4)
        await doomed.delete()
        [talk] = [c for c in await guild.fetch_channels() if c.id == orphan.id]
        assert isinstance(talk, disnake.VoiceChannel) and talk.category_id is None
        assert (talk.bitrate, talk.user_limit) == (96000, 4)

    emu = run(scenario)
    guild = emu.state.guilds[next(iter(emu.state.guilds))]
    category, text = guild.channel_named("Ops", type=4), guild.channel_named("alerts")
    assert (category.type, category.name, category.position) == (4, "Ops", 3)
    assert (text.type, text.parent_id, text.topic, text.rate_limit_per_user) == (0, category.id, "second", 5)
    assert text.position == 7
    [staff] = text.permission_overwrites
    assert (staff.type, staff.allow, staff.deny) == (0, 1024 | 2048, 0)
    assert category.permission_overwrites[0].deny == 1024
    assert len(emu.writes(GUILD_CHANNELS, "POST")) == 4
    emu.assert_no_invalid_requests()


def test_message_with_embed_and_buttons_edit_delete() -> None:
    async def scenario(emu: Emulator, client: disnake.Client, guild_id: int) -> None:
        guild = await client.fetch_guild(guild_id)
        channel = await guild.create_text_channel("dash")
        row = disnake.ui.ActionRow(
            disnake.ui.Button(label="Ack", custom_id="ack"),
            disnake.ui.Button(label="Docs", url="https://example.org"),
        )
        sent = await channel.send(
            "hello", embed=disnake.Embed(title="Status", description="ok"), components=[row]
        )
        state_msg = emu.state.messages[sent.id]
        assert state_msg.embeds[0]["title"] == "Status"
        assert [b["custom_id"] for b in state_msg.components[0]["components"] if "custom_id" in b] == ["ack"]
        assert [state_msg.components[0]["id"], *(b["id"] for b in state_msg.components[0]["components"])] == [
            1,
            2,
            3,
        ]
        assert sent.components and sent.embeds[0].title == "Status"
        edited = await sent.edit(content="updated")
        assert edited.edited_at is not None
        again = await channel.fetch_message(sent.id)
        assert again.content == "updated"
        await again.delete()
        with pytest.raises(disnake.NotFound) as info:
            await channel.fetch_message(sent.id)
        assert info.value.code == 10008

    emu = run(scenario)
    assert emu.state.messages == {}
    assert [c.method for c in emu.calls if c.route.startswith(MESSAGES)] == [
        "POST",
        "PATCH",
        "GET",
        "DELETE",
        "GET",
    ]
    emu.assert_no_invalid_requests()


def test_bulk_overwrite_guild_commands_keeps_ids() -> None:
    async def scenario(emu: Emulator, client: disnake.Client, guild_id: int) -> None:
        app = emu.application_id
        first: list[Any] = [
            {"name": "deploy", "description": "Deploy", "type": 1, "default_member_permissions": "8"},
            {"name": "status", "description": "Status", "type": 1},
        ]
        created = await client.http.bulk_upsert_guild_commands(app, guild_id, first)
        ids = {c["name"]: c["id"] for c in created}
        second: list[Any] = [{"name": "status", "description": "Status v2", "type": 1}]
        updated = await client.http.bulk_upsert_guild_commands(app, guild_id, second)
        assert [c["id"] for c in updated] == [ids["status"]]
        assert updated[0]["version"] != created[1]["version"]
        listed = await client.fetch_guild_commands(guild_id)
        assert [(c.name, c.id) for c in listed] == [("status", int(ids["status"]))]

    emu = run(scenario)
    [commands] = [g.commands for g in emu.state.guilds.values()]
    assert [c.body["description"] for c in commands.values()] == ["Status v2"]
    assert len(emu.writes(COMMANDS, "PUT")) == 2
    emu.assert_no_invalid_requests()


def test_rate_limit_storm_and_server_errors_do_not_duplicate_writes() -> None:
    async def scenario(emu: Emulator, client: disnake.Client, guild_id: int) -> None:
        guild = await client.fetch_guild(guild_id)
        channel = await guild.create_text_channel("ops")
        emu.rate_limit_storm(2)
        emu.rate_limit_storm(1, is_global=True)
        await channel.send("after the storm")
        emu.fail_next(1, status=500)  # disnake retries 500/502/504 after 1 s
        await channel.send("after a 500")
        emu.fail_next(2, status=503)  # disnake does not retry 503: the error surfaces, nothing is written
        with pytest.raises(disnake.DiscordServerError):
            await channel.send("lost")
        with pytest.raises(disnake.DiscordServerError):
            await channel.send("lost")
        await channel.send("recovered")

    emu = run(scenario)
    contents = [m.content for m in emu.state.messages.values()]
    assert contents == ["after the storm", "after a 500", "recovered"]
    statuses = [c.status for c in emu.calls if c.route == MESSAGES]
    assert statuses == [429, 429, 429, 200, 500, 200, 503, 503, 200]
    assert len(emu.writes(MESSAGES, "POST")) == 3


def test_bucket_rate_limit_headers_are_honoured() -> None:
    async def scenario(emu: Emulator, client: disnake.Client, guild_id: int) -> None:
        guild = await client.fetch_guild(guild_id)
        channel = await guild.create_text_channel("burst")
        await asyncio.gather(*(channel.send(f"m{i}") for i in range(5)))

    emu = run(scenario, rate_limit=2, rate_window=0.2)
    assert len(emu.state.messages) == 5
    assert all(c.status == 200 for c in emu.calls if c.route == MESSAGES)


def test_invalid_bodies_get_50035() -> None:
    async def scenario(emu: Emulator, client: disnake.Client, guild_id: int) -> None:
        guild = await client.fetch_guild(guild_id)
        channel = await guild.create_text_channel("x")
        with pytest.raises(disnake.HTTPException) as info:
            await client.http.send_message(channel.id, "x" * 2001)
        assert (info.value.status, info.value.code) == (400, 50035)
        with pytest.raises(disnake.HTTPException) as info:
            await channel.edit(topic="t" * 1025)
        assert info.value.code == 50035
        with pytest.raises(disnake.HTTPException) as info:
            await client.http.bulk_upsert_guild_commands(
                emu.application_id, guild_id, [{"name": "Deploy", "description": "d"}]
            )
        assert info.value.code == 50035
        with pytest.raises(disnake.NotFound) as info:
            await client.http.get_channel(1234)
        assert info.value.code == 10003

    emu = run(scenario)
    assert len(emu.invalid_requests) == 3
    assert emu.state.messages == {}
    with pytest.raises(AssertionError, match="content"):
        emu.assert_no_invalid_requests()


def test_max_channels_is_30013() -> None:
    async def scenario(emu: Emulator, client: disnake.Client, guild_id: int) -> None:
        guild = await client.fetch_guild(guild_id)
        await guild.create_text_channel("one")
        with pytest.raises(disnake.HTTPException) as info:
            await guild.create_text_channel("two")
        assert info.value.code == 30013

    run(scenario, max_channels=1)


def test_validator_limits_and_loosening() -> None:
    messages = "/channels/{channel_id}/messages"
    row: dict[str, Any] = {
        "type": 1,
        "components": [{"type": 2, "style": 1, "label": "a", "custom_id": "same"}],
    }
    assert validate(messages, "POST", {"content": "ok", "components": [row] * 6})
    dup = {"type": 1, "components": row["components"] * 2}
    assert [e.message for e in validate(messages, "POST", {"components": [dup]})] == [
        "Component custom id cannot be duplicated"
    ]
    big = {"title": "t", "description": "d" * 4096, "fields": [{"name": "n", "value": "v" * 1024}] * 2}
    assert validate(messages, "POST", {"embeds": [big]})
    overwrite = {"id": 1, "type": 0, "allow": "1024", "deny": 0}
    assert (
        validate(GUILD_CHANNELS, "POST", {"name": "a", "parent_id": 5, "permission_overwrites": [overwrite]})
        == []
    )
    assert validate(GUILD_CHANNELS, "POST", {"name": "a", "type": "text"})


def test_raw_http_errors_and_content_type() -> None:
    async def main() -> None:
        async with Emulator() as emu:
            guild = emu.add_guild()

            def get(path: str) -> tuple[int, str, dict[str, Any]]:
                req = urllib.request.Request(
                    emu.base_url + path, headers={"Authorization": f"Bot {emu.token}"}
                )
                try:
                    with urllib.request.urlopen(req) as resp:
                        return resp.status, resp.headers["Content-Type"], json.loads(resp.read())
                except urllib.error.HTTPError as err:
                    return err.code, err.headers["Content-Type"], json.loads(err.read())

            status, ctype, body = await asyncio.to_thread(get, f"/guilds/{guild.id}")
            assert (status, ctype, body["id"]) == (200, "application/json", str(guild.id))
            status, _, body = await asyncio.to_thread(get, "/channels/1")
            assert (status, body["code"]) == (404, 10003)
            status, _, body = await asyncio.to_thread(get, "/no/such/route")
            assert status == 404 and "message" in body

    asyncio.run(main())


# -- injected faults: what each looks like on the wire -----------------------------------------


async def raw(client: disnake.Client, method: str, path: str, json: Any = None, **ids: Any) -> Any:
    route = Route(method, path, **ids)
    if json is None:
        return await client.http.request(route)
    return await client.http.request(route, json=json)


def test_reply_without_drops_fields_from_the_reply_but_the_write_happens() -> None:
    async def scenario(emu: Emulator, client: disnake.Client, guild_id: int) -> None:
        app = emu.application_id
        emu.add_role(guild_id, "admins")
        emu.reply_without("PUT", COMMANDS, "id")
        body = [{"name": "deploy", "description": "Deploy", "type": 1}]
        written = await raw(client, "PUT", COMMANDS, body, application_id=app, guild_id=guild_id)
        assert [sorted(c) for c in written] == [sorted(set(written[0]) - {"id"})] and "id" not in written[0]
        assert [c.name for c in emu.state.guilds[guild_id].commands.values()] == ["deploy"]
        emu.reply_without("GET", GUILD_ROUTE, "roles", guild_id=guild_id)
        guild = await raw(client, "GET", GUILD_ROUTE, guild_id=guild_id)
        assert "roles" not in guild and guild["name"] == "Test Guild"
        emu.heal()
        listed = await raw(client, "GET", COMMANDS, application_id=app, guild_id=guild_id)
        assert listed[0]["id"]
        roles = (await raw(client, "GET", GUILD_ROUTE, guild_id=guild_id))["roles"]
        assert "admins" in {r["name"] for r in roles}

    run(scenario)


def test_ignore_on_write_keeps_no_topic_and_fail_route_always_fails() -> None:
    async def scenario(emu: Emulator, client: disnake.Client, guild_id: int) -> None:
        channel = await raw(client, "POST", GUILD_CHANNELS, {"name": "ops", "type": 0}, guild_id=guild_id)
        emu.ignore_on_write("PATCH", CHANNEL_ROUTE, "topic")
        edited = await raw(
            client, "PATCH", CHANNEL_ROUTE, {"topic": "hello", "name": "ops2"}, channel_id=channel["id"]
        )
        assert edited["name"] == "ops2" and edited.get("topic") is None
        emu.fail_route("PATCH", CHANNEL_ROUTE, 403, 50013, channel_id=int(channel["id"]))
        for _ in range(2):
            with pytest.raises(disnake.Forbidden) as refused:
                await raw(client, "PATCH", CHANNEL_ROUTE, {"name": "ops3"}, channel_id=channel["id"])
            assert refused.value.code == 50013
        emu.heal()
        healed = await raw(client, "PATCH", CHANNEL_ROUTE, {"topic": "hello"}, channel_id=channel["id"])
        assert healed["topic"] == "hello" and healed["name"] == "ops2"

    emu = run(scenario)
    assert [c.status for c in emu.calls if c.method == "PATCH"] == [200, 403, 403, 200]


def test_fail_randomly_fails_a_repeatable_share_and_field_faults_can_target_one_channel() -> None:
    async def scenario(emu: Emulator, client: disnake.Client, guild_id: int) -> None:
        made = [
            await raw(client, "POST", GUILD_CHANNELS, {"name": f"c{i}", "type": 0}, guild_id=guild_id)
            for i in range(2)
        ]
        first, second = (int(c["id"]) for c in made)
        emu.ignore_on_write("PATCH", CHANNEL_ROUTE, "topic", channel_id=first)
        for channel_id in (first, second):
            await raw(client, "PATCH", CHANNEL_ROUTE, {"topic": "hello"}, channel_id=channel_id)
        channels = emu.state.guilds[guild_id].channels
        assert (channels[first].topic, channels[second].topic) == (None, "hello")
        draws = []
        for _ in range(2):  # the same seed, the same answers
            emu.fail_randomly(0.3, 503, seed=5)
            before = len(emu.calls)
            for _ in range(40):
                with contextlib.suppress(disnake.DiscordServerError):  # disnake retried, then gave up
                    await client.http.request(Route("GET", GUILD_ROUTE, guild_id=guild_id))
            draws.append([c.status for c in emu.calls[before:]])
        assert draws[0] == draws[1] and draws[0].count(503) >= 5 and draws[0].count(200) >= 20, draws[0]
        emu.heal()
        before = len(emu.calls)
        await raw(client, "GET", GUILD_ROUTE, guild_id=guild_id)
        assert [c.status for c in emu.calls[before:]] == [200]

    run(scenario)
