"""The Discord emulator's gateway, interactions, roles and members, driven by the real disnake client.

Each test starts an emulator with one guild, connects a disnake ``InteractionBot`` over
the gateway (automatic command sync off) and asserts on the bot's cache and events and on
the emulator's state and recorded calls. Async code runs under ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import disnake
import pytest
from disnake.ext import commands

from hlb.testing import Emulator, Guild, Role, load_spec

pytestmark = pytest.mark.timeout(30)

MESSAGES = "/channels/{channel_id}/messages"
CALLBACK = "/interactions/{interaction_id}/{interaction_token}/callback"
MEMBER_ROLE = "/guilds/{guild_id}/members/{user_id}/roles/{role_id}"

Bot = commands.InteractionBot
Scenario = Callable[[Emulator, Bot, int], Awaitable[None]]


def setup_module() -> None:
    load_spec()


def intents(*, members: bool = True, message_content: bool = False) -> disnake.Intents:
    chosen = disnake.Intents.default()
    chosen.members, chosen.message_content = members, message_content
    return chosen


async def until(predicate: Callable[[], object], timeout: float = 5.0) -> None:
    """Poll ``predicate`` every 10 ms until it is true; fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def run(
    scenario: Scenario,
    *,
    prepare: Callable[[Emulator, Guild], None] | None = None,
    setup: Callable[[Bot], None] | None = None,
    bot_intents: disnake.Intents | None = None,
    **options: Any,
) -> Emulator:
    """Start an emulator with one guild, connect a bot over the gateway, run ``scenario``."""

    async def main() -> Emulator:
        async with Emulator(**options) as emu:
            guild = emu.add_guild("Test Guild")
            if prepare is not None:
                prepare(emu, guild)
            disnake.http.Route.BASE = emu.base_url
            bot = Bot(
                intents=bot_intents or intents(),
                command_sync_flags=commands.CommandSyncFlags.none(),
                guild_ready_timeout=0.05,
                chunk_guilds_at_startup=False,
            )
            if setup is not None:
                setup(bot)
            runner = asyncio.create_task(bot.start(emu.token))
            ready = asyncio.create_task(bot.wait_until_ready())
            try:
                done, _ = await asyncio.wait({runner, ready}, timeout=5, return_when=asyncio.FIRST_COMPLETED)
                assert ready in done, f"bot not ready: {runner.exception() if runner.done() else 'timeout'}"
                await scenario(emu, bot, guild.id)
            finally:
                ready.cancel()
                await bot.close()
                await runner
            emu.assert_no_invalid_requests()
            return emu

    return asyncio.run(main())


def with_channels(emu: Emulator, guild: Guild) -> None:
    ops = emu.state.create_channel(guild.id, {"name": "Ops", "type": 4})
    emu.state.create_channel(guild.id, {"name": "alerts", "parent_id": ops.id, "topic": "t"})
    staff = emu.add_role(guild.id, "staff", permissions=8)
    emu.add_member(guild.id, 1001, "alice", roles=[staff.id])


def test_ready_fills_the_cache_from_guild_create() -> None:
    async def scenario(emu: Emulator, bot: Bot, guild_id: int) -> None:
        assert bot.user.id == emu.application_id and bot.application_id == emu.application_id
        guild = bot.get_guild(guild_id)
        assert guild is not None and guild.name == "Test Guild"
        alerts = guild.get_channel(emu.state.guilds[guild_id].channel_named("alerts").id)
        assert isinstance(alerts, disnake.TextChannel) and alerts.topic == "t"
        assert alerts.category is not None and alerts.category.name == "Ops"
        staff = disnake.utils.get(guild.roles, name="staff")
        assert staff is not None and staff.permissions.administrator
        alice = guild.get_member(1001)
        assert alice is not None and alice.name == "alice" and staff in alice.roles
        assert guild.me is not None and guild.me.id == emu.application_id
        [session] = emu.gateway.sessions.values()
        assert session.intents == intents().value

    emu = run(scenario, prepare=with_channels)
    assert [c.route for c in emu.calls] == [
        "/users/@me",
        "/gateway/bot",
        "/oauth2/applications/@me",
        "/applications/{application_id}/commands",
    ]
    assert all(c.status == 200 for c in emu.calls)
    assert emu.gateway.sessions == {}  # a clean close ends the session


def test_rest_changes_reach_the_bot_cache() -> None:
    async def scenario(emu: Emulator, bot: Bot, guild_id: int) -> None:
        guild = bot.get_guild(guild_id)
        assert guild is not None
        created = await guild.create_text_channel("news")
        await until(lambda: guild.get_channel(created.id) is not None)
        await created.edit(topic="fresh")
        await until(lambda: getattr(guild.get_channel(created.id), "topic", None) == "fresh")
        sent = await created.send("hello")
        await until(lambda: bot.get_message(sent.id) is not None)
        await sent.edit(content="edited")
        await until(lambda: getattr(bot.get_message(sent.id), "content", None) == "edited")
        deleted = asyncio.ensure_future(bot.wait_for("message_delete", timeout=5))
        await sent.delete()
        assert (await deleted).id == sent.id
        role = await guild.create_role(name="ops", permissions=disnake.Permissions(manage_channels=True))
        await until(lambda: guild.get_role(role.id) is not None)
        await role.edit(name="operators")
        await until(lambda: getattr(guild.get_role(role.id), "name", None) == "operators")
        await created.delete()
        await until(lambda: guild.get_channel(created.id) is None)

    emu = run(scenario)
    [guild] = emu.state.guilds.values()
    # the bot's own (managed) role comes with the guild, as on Discord
    assert [r.name for r in guild.roles.values()] == ["@everyone", "hlb-test-bot", "operators"]
    assert guild.channels == {} and emu.state.messages == {}


def test_member_roles_over_rest() -> None:
    async def scenario(emu: Emulator, bot: Bot, guild_id: int) -> None:
        guild = bot.get_guild(guild_id)
        assert guild is not None
        staff = guild.get_role(emu.state.guilds[guild_id].role_named("staff").id)
        role = await guild.create_role(name="oncall")
        await until(lambda: guild.get_role(role.id) is not None)
        alice = await guild.fetch_member(1001)
        updated = asyncio.ensure_future(bot.wait_for("member_update", timeout=5))
        await alice.add_roles(role)
        before, after = await updated
        assert role not in before.roles and role in after.roles
        await alice.remove_roles(staff)  # type: ignore[arg-type]
        await until(lambda: [r.name for r in guild.get_member(1001).roles] == ["@everyone", "oncall"])  # type: ignore[union-attr]
        fetched = await guild.fetch_members(limit=None).flatten()
        assert sorted(m.id for m in fetched) == sorted([emu.state.owner.id, emu.application_id, 1001])
        names = {r.name for r in await guild.fetch_roles()}
        assert names == {"@everyone", "hlb-test-bot", "staff", "oncall"}
        with pytest.raises(disnake.NotFound) as info:
            await bot.http.add_role(guild_id, 1001, 42)
        assert info.value.code == 10011
        with pytest.raises(disnake.NotFound) as info:
            await bot.http.remove_role(guild_id, 42, role.id)
        assert info.value.code == 10007
        with pytest.raises(disnake.NotFound) as info:
            await guild.fetch_member(42)
        assert info.value.code == 10007

    emu = run(scenario, prepare=with_channels)
    [guild] = emu.state.guilds.values()
    assert [guild.roles[r].name for r in guild.members[1001].roles] == ["oncall"]
    assert [c.status for c in emu.calls if c.route == MEMBER_ROLE] == [204, 204, 404, 404]


def test_human_changes_fire_gateway_events_without_rest_calls() -> None:
    async def scenario(emu: Emulator, bot: Bot, guild_id: int) -> None:
        calls = len(emu.calls)
        state = emu.state.guilds[guild_id]
        alerts = state.channel_named("alerts")
        created = asyncio.ensure_future(bot.wait_for("guild_channel_create", timeout=5))
        extra = emu.human_create_channel(guild_id, "extra", type=2)
        assert isinstance(await created, disnake.VoiceChannel)
        emu.human_edit_channel(alerts.id, name="alarms", topic=None)
        before, after = await bot.wait_for("guild_channel_update", timeout=5)
        assert (before.name, after.name, after.topic) == ("alerts", "alarms", None)
        posted = emu.human_post_message(alerts.id, "by hand", user_id=1001)
        message = await bot.wait_for("message", timeout=5)
        assert (message.id, message.author.id, message.content) == (posted.id, 1001, "")  # no content intent
        emu.human_delete_message(alerts.id, posted.id)
        raw = await bot.wait_for("raw_message_delete", timeout=5)
        assert (raw.message_id, raw.guild_id) == (posted.id, guild_id)
        staff = state.role_named("staff")
        emu.human_edit_role(guild_id, staff.id, name="crew", color=0xFF0000)
        _, role = await bot.wait_for("guild_role_update", timeout=5)
        assert (role.name, role.color.value) == ("crew", 0xFF0000)
        emu.human_set_member_roles(guild_id, 1001, [])
        _, alice = await bot.wait_for("member_update", timeout=5)
        assert alice.roles == [alice.guild.default_role]
        emu.human_delete_role(guild_id, staff.id)
        assert (await bot.wait_for("guild_role_delete", timeout=5)).id == staff.id
        emu.human_delete_channel(alerts.id)
        deleted = await bot.wait_for("guild_channel_delete", timeout=5)
        assert deleted.id == alerts.id and bot.get_channel(extra.id) is not None
        assert len(emu.calls) == calls

    run(scenario, prepare=with_channels)


def test_message_content_intent_shows_others_messages() -> None:
    async def scenario(emu: Emulator, bot: Bot, guild_id: int) -> None:
        alerts = emu.state.guilds[guild_id].channel_named("alerts")
        emu.human_post_message(alerts.id, "visible")
        assert (await bot.wait_for("message", timeout=5)).content == "visible"

    run(scenario, prepare=with_channels, bot_intents=intents(message_content=True))


def test_dropped_gateway_resumes_and_replays_missed_events() -> None:
    async def scenario(emu: Emulator, bot: Bot, guild_id: int) -> None:
        guild = bot.get_guild(guild_id)
        assert guild is not None
        resumed = asyncio.ensure_future(bot.wait_for("resumed", timeout=5))
        await emu.drop_gateway()
        missed = emu.human_create_channel(guild_id, "while-offline")  # buffered, replayed on RESUME
        await resumed
        await until(lambda: guild.get_channel(missed.id) is not None)
        assert emu.gateway.resumes == 1 and len(emu.gateway.sessions) == 1
        later = emu.human_create_channel(guild_id, "after-resume")
        await until(lambda: guild.get_channel(later.id) is not None)
        await emu.dispatch(
            "GUILD_ROLE_CREATE", {"guild_id": str(guild_id), "role": Role(77, "raw").to_json()}
        )
        await until(lambda: guild.get_role(77) is not None)

    emu = run(scenario)
    assert [c.route for c in emu.calls].count("/gateway/bot") == 1


def slash_bot(bot: Bot) -> None:
    @bot.slash_command(name="ping", description="Say hi")
    async def ping(inter: disnake.ApplicationCommandInteraction, who: str, times: int = 1) -> None:
        await inter.response.send_message(f"hi {who} x{times} from {inter.author.name}", ephemeral=True)

    @bot.slash_command(name="slow", description="Think first")
    async def slow(inter: disnake.ApplicationCommandInteraction) -> None:
        await inter.response.defer()
        await inter.edit_original_response(content="thought")
        await inter.followup.send("and more")
        assert (await inter.original_response()).content == "thought"
        await inter.delete_original_response()


async def sync_commands(bot: Bot, guild_id: int) -> None:
    await bot.bulk_overwrite_guild_commands(guild_id, [c.body for c in bot.slash_commands])


def test_slash_command_gets_an_ephemeral_reply() -> None:
    async def scenario(emu: Emulator, bot: Bot, guild_id: int) -> None:
        await sync_commands(bot, guild_id)
        alerts = emu.state.guilds[guild_id].channel_named("alerts")
        inter = emu.interact_command(guild_id, alerts.id, 1001, "ping", {"who": "bob", "times": 2})
        body = await inter.response()
        assert body["type"] == 4
        assert (body["data"]["content"], body["data"]["flags"]) == ("hi bob x2 from alice", 64)
        assert inter.original is not None and inter.original.id not in emu.state.messages
        with pytest.raises(KeyError):
            emu.interact_command(guild_id, alerts.id, 1001, "nope", {})
        with pytest.raises(ValueError):
            emu.interact_command(guild_id, alerts.id, 1001, "ping", {})

    emu = run(scenario, prepare=with_channels, setup=slash_bot)
    [call] = [c for c in emu.calls if c.route == CALLBACK]
    assert call.status == 204 and call.body["data"]["flags"] == 64
    assert emu.state.messages == {}


def test_deferred_reply_edit_original_and_followup() -> None:
    async def scenario(emu: Emulator, bot: Bot, guild_id: int) -> None:
        await sync_commands(bot, guild_id)
        alerts = emu.state.guilds[guild_id].channel_named("alerts")
        inter = emu.interact_command(guild_id, alerts.id, 1001, "slow")
        assert (await inter.response())["type"] == 5
        await until(lambda: inter.original is None)  # edited, followed up, read, then deleted
        [followup] = inter.followups
        assert (followup.content, followup.flags) == ("and more", 0)

    emu = run(scenario, prepare=with_channels, setup=slash_bot)
    assert [m.content for m in emu.state.messages.values()] == ["and more"]
    assert [(c.method, c.status) for c in emu.calls if c.route.startswith("/webhooks/")] == [
        ("PATCH", 200),
        ("POST", 200),
        ("GET", 200),
        ("DELETE", 204),
    ]


def component_bot(bot: Bot) -> None:
    @bot.listen("on_button_click")
    async def clicked(inter: disnake.MessageInteraction) -> None:
        await inter.response.defer()
        await inter.followup.send(f"{inter.author.name} pressed {inter.component.custom_id}")

    @bot.listen("on_dropdown")
    async def picked(inter: disnake.MessageInteraction) -> None:
        await inter.response.edit_message(content=f"picked {','.join(inter.values or [])}")


def test_button_defer_then_followup_and_select_updates_message() -> None:
    async def scenario(emu: Emulator, bot: Bot, guild_id: int) -> None:
        channel = bot.get_channel(emu.state.guilds[guild_id].channel_named("alerts").id)
        assert isinstance(channel, disnake.TextChannel)
        menu = disnake.ui.StringSelect(custom_id="pick", options=["a", "b", "c"], max_values=2)
        sent = await channel.send("dash", components=[disnake.ui.Button(label="Ack", custom_id="ack"), menu])
        click = emu.click_button(sent.id, "ack", 1001)
        assert (await click.response())["type"] == 6
        await until(lambda: len(click.followups) == 1)
        assert click.followups[0].content == "alice pressed ack"
        assert click.followups[0].id in emu.state.messages
        choice = emu.select(sent.id, "pick", ["a", "c"], 1001)
        body = await choice.response()
        assert body["type"] == 7 and emu.state.messages[sent.id].content == "picked a,c"
        await until(lambda: getattr(bot.get_message(sent.id), "content", None) == "picked a,c")
        with pytest.raises(ValueError):
            emu.select(sent.id, "pick", ["z"], 1001)
        with pytest.raises(KeyError):
            emu.click_button(sent.id, "nope", 1001)

    run(scenario, prepare=with_channels, setup=component_bot)


def test_second_ack_is_40060_and_late_ack_is_10062() -> None:
    outcomes: list[int] = []

    def setup(bot: Bot) -> None:
        @bot.slash_command(name="ping", description="Say hi")
        async def ping(inter: disnake.ApplicationCommandInteraction) -> None:
            if outcomes:
                await asyncio.sleep(0.1)
            try:
                await inter.response.send_message("hi")
            except disnake.HTTPException as err:
                outcomes.append(err.code)
            except disnake.InteractionTimedOut:  # what disnake makes of 10062 Unknown interaction
                outcomes.append(10062)
            else:
                outcomes.append(0)

    async def scenario(emu: Emulator, bot: Bot, guild_id: int) -> None:
        await sync_commands(bot, guild_id)
        alerts = emu.state.guilds[guild_id].channel_named("alerts")
        inter = emu.interact_command(guild_id, alerts.id, 1001, "ping")
        await inter.response()
        await emu.dispatch("INTERACTION_CREATE", inter.payload)  # Discord delivering it twice
        await until(lambda: len(outcomes) == 2)
        emu.interactions.timeout = 0.05
        emu.interact_command(guild_id, alerts.id, 1001, "ping")
        await until(lambda: len(outcomes) == 3)

    emu = run(scenario, prepare=with_channels, setup=setup)
    assert outcomes == [0, 40060, 10062]
    assert [c.status for c in emu.calls if c.route == CALLBACK] == [204, 400, 404]
    assert [m.content for m in emu.state.messages.values()] == ["hi"]


def test_forbid_answers_missing_permissions() -> None:
    async def scenario(emu: Emulator, bot: Bot, guild_id: int) -> None:
        state = emu.state.guilds[guild_id]
        alerts, other = state.channel_named("alerts"), emu.human_create_channel(guild_id, "other")
        emu.forbid("POST", MESSAGES, channel_id=alerts.id)
        emu.forbid("PUT", MEMBER_ROLE)
        with pytest.raises(disnake.Forbidden) as info:
            await bot.http.send_message(alerts.id, "no")
        assert (info.value.status, info.value.code, info.value.text) == (403, 50013, "Missing Permissions")
        await bot.http.send_message(other.id, "yes")
        with pytest.raises(disnake.Forbidden):
            await bot.http.add_role(guild_id, 1001, guild_id)
        emu.allow_all()
        await bot.http.send_message(alerts.id, "now yes")

    emu = run(scenario, prepare=with_channels)
    assert [m.content for m in emu.state.messages.values()] == ["yes", "now yes"]
    assert [c.status for c in emu.calls if c.route == MESSAGES] == [403, 200, 200]


def test_request_guild_members_chunk() -> None:
    async def scenario(emu: Emulator, bot: Bot, guild_id: int) -> None:
        guild = bot.get_guild(guild_id)
        assert guild is not None
        chunked = await guild.chunk()
        assert chunked is not None and {m.name for m in chunked} == {"hlb-test-bot", "owner", "alice"}
        [found] = await guild.query_members("ali")
        [owner] = await guild.query_members(user_ids=[emu.state.owner.id])
        assert (found.id, owner.name) == (1001, "owner")

    run(scenario, prepare=with_channels)


def test_raw_gateway_protocol() -> None:
    async def main() -> None:
        async with Emulator(heartbeat_interval=1000) as emu:
            guild = emu.add_guild()
            async with aiohttp.ClientSession() as http:
                async with http.ws_connect(emu.gateway_url + "?v=10&encoding=json") as ws:
                    hello = await ws.receive_json()
                    assert (hello["op"], hello["d"]["heartbeat_interval"]) == (10, 1000)
                    await ws.send_json({"op": 1, "d": None})
                    assert (await ws.receive_json())["op"] == 11
                    await ws.send_json({"op": 2, "d": {"token": "wrong", "intents": 1, "properties": {}}})
                    assert (await ws.receive()).data == 4004
                async with http.ws_connect(emu.gateway_url) as ws:
                    await ws.receive_json()
                    await ws.send_json({"op": 6, "d": {"token": emu.token, "session_id": "x", "seq": 0}})
                    assert (await ws.receive_json())["op"] == 9
                    await ws.send_json({"op": 2, "d": {"token": emu.token, "intents": 1, "properties": {}}})
                    ready, create = await ws.receive_json(), await ws.receive_json()
                    assert [(f["t"], f["s"]) for f in (ready, create)] == [("READY", 1), ("GUILD_CREATE", 2)]
                    members = [m["user"]["id"] for m in create["d"]["members"]]
                    assert members == [str(emu.application_id)]  # no GUILD_MEMBERS intent: only the bot
                    emu.human_post_message(emu.human_create_channel(guild.id, "c").id, "needs GUILD_MESSAGES")
                    emu.add_role(guild.id, "r")
                    frames = [await ws.receive_json(), await ws.receive_json()]
                    expected = [("CHANNEL_CREATE", 3), ("GUILD_ROLE_CREATE", 4)]  # no MESSAGE_CREATE
                    assert [(f["t"], f["s"]) for f in frames] == expected
                    await ws.send_str("not json")
                    assert (await ws.receive()).data == 4002
            assert frames[1]["d"]["role"]["permissions"] == "0"

    asyncio.run(main())
