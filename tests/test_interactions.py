"""Slash commands, dashboard buttons and selects answered by the bot, end to end.

The reference specs are applied to a real Postgres and reconciled into the emulator; then a
plain ``disnake.Client`` connects to the emulator's gateway with ``install``'s listeners and
members use the commands and components the reconcile created. Workflow http steps call a
local aiohttp server. Nothing of disnake or HTTP is mocked.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import aiohttp
import disnake
import psycopg
import pytest
from aiohttp import web
from reconcile_world import GUILD_ID, World, only_ok, run_world

from hlb.bot.context import BotContext
from hlb.bot.effects import _find_role
from hlb.bot.interactions import (
    NOT_MANAGED,
    OUT_OF_DATE,
    ComponentRef,
    first_reply_ephemeral,
    install,
    is_allowed,
    is_slow,
    parse_custom_id,
    run_scheduled,
    scrub,
)
from hlb.compiler.model import Model, ObjectKey, SpecObject
from hlb.runtime.invocation import Actor
from hlb.runtime.secrets import Secrets
from hlb.store.apply import stored_model
from hlb.store.runtime_tables import load_bindings

pytestmark = pytest.mark.timeout(60)

ALICE, BOB = 1001, 1002  # alice is an admin, bob has no role
EPHEMERAL = 64
API = "http://homelab-api.lan:5000"
PROMETHEUS = "http://prometheus.lan:9090"
UP = {"status": "success", "data": {"result": [
    {"metric": {"instance": "nas"}, "value": [0, "1"]},
    {"metric": {"instance": "pi"}, "value": [0, "0"]},
]}}
SECRETS = Secrets.from_env(
    {"HLB_SECRET_HOMELAB_API_TOKEN": "s3cret-api-token", "HLB_SECRET_PROM_TOKEN": "prom-token"}
)


async def until(predicate: Callable[[], object], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


@dataclass
class Api:
    """A stand-in for the homelab API the workflows call: records requests, answers by service."""

    calls: list[tuple[str, str, str | None]] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.calls.append((request.method, request.path, request.headers.get("Authorization")))
        if request.path == "/api/v1/query":
            return web.json_response(UP)
        status = 500 if "radarr" in request.path else 202
        return web.json_response({"ok": status < 300}, status=status)


@dataclass
class Bot:
    world: World
    client: disnake.Client
    ctx: BotContext
    api: Api
    refreshed: list[tuple[str, str]]

    @property
    def emu(self) -> Any:
        return self.world.emu

    def channel_id(self, name: str) -> int:
        binding = self.world.binding("Channel", name)
        assert binding.discord_id is not None
        return binding.discord_id

    def dashboard_message(self, name: str) -> int:
        binding = self.world.binding("Dashboard", name)
        assert binding.discord_id is not None
        return binding.discord_id

    def contents(self, channel: str) -> list[str]:
        cid = self.channel_id(channel)
        return [m.content for m in self.emu.state.messages.values() if m.channel_id == cid]

    def runs(self) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.world.url) as conn:
            rows = conn.execute(
                "SELECT workflow, trigger, user_id, inputs, status, error FROM hlb_runtime.workflow_runs "
                "ORDER BY id"
            ).fetchall()
        return [tuple(r) for r in rows]

    def without(self, *keys: ObjectKey, changed: SpecObject | None = None) -> None:
        """The running model minus ``keys`` (and with ``changed`` swapped in): Discord is not reconciled."""
        kept = [o for o in self.ctx.model if o.key not in keys and (changed is None or o.key != changed.key)]
        self.ctx.model = Model.of([*kept, *([changed] if changed else [])])


@contextlib.asynccontextmanager
async def homelab_api() -> AsyncIterator[Api]:
    api = Api()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", api.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    api.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield api
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def connected(w: World, api: Api) -> AsyncIterator[Bot]:
    """A disnake client on the emulator's gateway, with the interaction listeners installed."""
    disnake.http.Route.BASE = w.emu.base_url
    client = disnake.Client(intents=disnake.Intents.default(), guild_ready_timeout=0.05,
                            chunk_guilds_at_startup=False)
    refreshed: list[tuple[str, str]] = []

    async def refresh(guild: str, dashboard: str) -> None:
        refreshed.append((guild, dashboard))

    conn = await psycopg.AsyncConnection.connect(w.url, autocommit=True)
    try:
        async with aiohttp.ClientSession() as sources:
            _revision, model = await asyncio.to_thread(stored_model, w.url)
            ctx = BotContext(
                application_id=w.emu.application_id,
                sources=sources,
                secrets=SECRETS,
                conn=conn,
                model=model,
                bindings=await load_bindings(conn),
                refresh=refresh,
            )
            install(client, ctx)
            running = asyncio.create_task(client.start(w.emu.token))
            ready = asyncio.create_task(client.wait_until_ready())
            try:
                done, _ = await asyncio.wait({running, ready}, timeout=5, return_when=asyncio.FIRST_COMPLETED)
                assert ready in done, f"bot not ready: {running.exception() if running.done() else 'timeout'}"
                yield Bot(w, client, ctx, api, refreshed)
            finally:
                ready.cancel()
                await client.close()
                await running
    finally:
        await conn.close()


def run_bot(
    db_url: str, tmp_path: Path, scenario: Callable[[Bot], Awaitable[None]], extra_specs: str = ""
) -> World:
    """Apply and reconcile the reference specs (workflows calling the local API), then run ``scenario``."""

    async def main(w: World) -> None:
        async with homelab_api() as api:
            if extra_specs:
                (w.specs / "extra.yaml").write_text(extra_specs)
            workflows = w.specs / "workflows.yaml"
            workflows.write_text(workflows.read_text().replace(API, api.url).replace(PROMETHEUS, api.url))
            guild = w.emu.state.guilds[GUILD_ID]
            w.emu.state.add_member(GUILD_ID, ALICE, "alice", roles=[guild.role_named("admins").id])
            w.emu.state.add_member(GUILD_ID, BOB, "bob")
            w.apply()
            only_ok(await w.reconcile())
            async with connected(w, api) as bot:
                await scenario(bot)

    return run_world(db_url, tmp_path, main)


# --- slash commands -------------------------------------------------------------------------------


def test_a_reply_command_answers_with_its_rendered_ephemeral_reply(db_url: str, tmp_path: Path) -> None:
    async def scenario(bot: Bot) -> None:
        chat = bot.channel_id("chat")
        inter = bot.emu.interact_command(GUILD_ID, chat, ALICE, "status")
        body = await inter.response()
        assert body["type"] == 4
        data = body["data"]
        assert data["flags"] == EPHEMERAL
        assert data["content"] == "Hi alice, here is where to look:"
        [embed] = data["embeds"]
        assert (embed["title"], embed["color"]) == ("Homelab", 0x2ECC71)
        assert [f["name"] for f in embed["fields"]] == ["Grafana", "Alerts"]

        bot.without(ObjectKey("homelab", "Command", "status"))  # applied, not reconciled yet
        stale = bot.emu.interact_command(GUILD_ID, chat, ALICE, "status")
        body = await stale.response()
        assert (body["type"], body["data"]["content"], body["data"]["flags"]) == (4, NOT_MANAGED, EPHEMERAL)
        assert bot.runs() == []

        await bot.emu.dispatch("INTERACTION_CREATE", inter.payload)  # Discord delivering it twice
        await asyncio.sleep(0.2)
        assert len(inter.callbacks) == 1  # the claim lets one answer (no 40060 "already acknowledged")
        assert [c.status for c in bot.emu.calls if c.route.endswith("/callback")] == [204, 204]

    run_bot(db_url, tmp_path, scenario)


WHOIS = """
apiVersion: hlb/v1
kind: Command
name: whois
spec:
  description: Typed options
  options:
    - {name: who, type: user, description: Someone, required: true}
    - {name: role, type: role, description: A role, required: true}
    - {name: where, type: channel, description: A channel, required: true}
    - {name: times, type: integer, description: How often, required: true}
    - {name: ratio, type: number, description: How much, required: true}
    - {name: loud, type: boolean, description: Shout, required: true}
  reply: >-
    {{ resolved.who.name }}={{ options.who }} {{ resolved.role.mention }} {{ resolved.where.name }}
    {{ options.times + 1 }} {{ options.ratio * 2 }} {{ 'LOUD' if options.loud else 'quiet' }}
"""


def test_typed_options_reach_templates_as_plain_values_and_names(db_url: str, tmp_path: Path) -> None:
    async def scenario(bot: Bot) -> None:
        admins = bot.emu.state.guilds[GUILD_ID].role_named("admins").id
        chat = bot.channel_id("chat")
        options = {"who": str(BOB), "role": str(admins), "where": str(chat), "times": 2, "ratio": 0.25,
                   "loud": True}
        inter = bot.emu.interact_command(GUILD_ID, chat, ALICE, "whois", options)
        body = await inter.response()
        assert body["data"]["content"] == f"bob={BOB} <@&{admins}> 💬-chat 3 0.5 LOUD"
        assert "flags" not in body["data"] or not body["data"]["flags"] & EPHEMERAL  # a public reply

    run_bot(db_url, tmp_path, scenario, WHOIS)


def test_a_scheduled_run_posts_and_refreshes_without_an_interaction(db_url: str, tmp_path: Path) -> None:
    async def scenario(bot: Bot) -> None:
        report = bot.ctx.get("homelab", "Workflow", "daily-report")
        assert report is not None
        result = await run_scheduled(bot.client, bot.ctx, report)
        assert (result.status, result.error) == ("ok", None)
        [posted] = [m for m in bot.emu.state.messages.values() if m.channel_id == bot.channel_id("status")
                    and m.content.startswith("Good morning!")]
        assert posted.embeds[0]["description"] == "1 of 2 Prometheus targets are up."
        assert bot.refreshed == [("homelab", "server-status")]
        assert [r[:3] + r[4:] for r in bot.runs()] == [("daily-report", "schedule", None, "ok", None)]

    run_bot(db_url, tmp_path, scenario)


def test_oncall_start_adds_the_role_replies_and_posts_in_ops(db_url: str, tmp_path: Path) -> None:
    async def scenario(bot: Bot) -> None:
        guild = bot.emu.state.guilds[GUILD_ID]
        oncall = guild.role_named("on-call")
        chat = bot.channel_id("chat")
        inter = bot.emu.interact_command(GUILD_ID, chat, ALICE, "oncall", {"action": "start"})
        body = await inter.response()
        assert body == {"type": 4, "data": {**body["data"], "content": "You are now on call.",
                                             "flags": EPHEMERAL}}
        assert oncall.id in guild.members[ALICE].roles
        await until(lambda: "📟 alice is now on call." in bot.contents("ops"))
        await until(lambda: [r[4] for r in bot.runs()] == ["ok"])
        [run] = bot.runs()
        assert run == ("oncall", "command", ALICE, {"action": "start"}, "ok", None)

        refused = bot.emu.interact_command(GUILD_ID, chat, BOB, "oncall", {"action": "start"})
        body = await refused.response()
        assert (body["type"], body["data"]["flags"]) == (4, EPHEMERAL)
        assert body["data"]["content"] == "You are not allowed to run oncall."
        assert oncall.id not in guild.members[BOB].roles
        assert [r[2:5] for r in bot.runs()][1:] == [(BOB, {"action": "start"}, "refused")]

    run_bot(db_url, tmp_path, scenario)


def test_a_silent_run_says_done_and_a_fault_is_apologised_for(db_url: str, tmp_path: Path) -> None:
    async def scenario(bot: Bot) -> None:
        oncall = bot.ctx.get("homelab", "Workflow", "oncall")
        assert oncall is not None
        steps = [s for s in oncall.spec["steps"] if "reply" not in s]
        bot.without(changed=replace(oncall, spec={**oncall.spec, "steps": steps}))
        chat = bot.channel_id("chat")
        inter = bot.emu.interact_command(GUILD_ID, chat, ALICE, "oncall", {"action": "stop"})
        body = await inter.response()
        assert (body["type"], body["data"]["content"], body["data"]["flags"]) == (4, "Done.", EPHEMERAL)
        await until(lambda: "📟 alice is off call." in bot.contents("ops"))

        assert bot.ctx.conn is not None
        await bot.ctx.conn.close()  # the database went away: runs cannot be recorded
        inter = bot.emu.interact_command(GUILD_ID, chat, ALICE, "oncall", {"action": "start"})
        body = await inter.response()
        assert (body["type"], body["data"]["flags"]) == (4, EPHEMERAL)
        assert body["data"]["content"].startswith("Something went wrong: OperationalError")
        assert inter.token not in body["data"]["content"]

    run_bot(db_url, tmp_path, scenario)


# --- buttons and selects --------------------------------------------------------------------------


def test_a_button_without_the_allowed_role_is_refused_and_runs_nothing(db_url: str, tmp_path: Path) -> None:
    async def scenario(bot: Bot) -> None:
        ops_before = bot.contents("ops")
        message = bot.dashboard_message("server-status")
        click = bot.emu.click_button(message, "hlb:server-status:0:0:restart-plex", BOB)
        body = await click.response()
        assert body == {"type": 4, "data": {**body["data"], "flags": EPHEMERAL,
                                             "content": "You are not allowed to run restart-plex."}}
        await asyncio.sleep(0.2)  # anything that would have run has had the time to
        assert bot.api.calls == [] and bot.refreshed == []
        assert [r[:3] + r[4:] for r in bot.runs()] == [
            ("restart-plex", "button", BOB, "refused", "you are not allowed to run restart-plex")
        ]
        assert bot.contents("ops") == ops_before
        assert click.followups == []

    run_bot(db_url, tmp_path, scenario)


def test_stale_components_answer_politely_and_refresh_the_dashboard(db_url: str, tmp_path: Path) -> None:
    async def scenario(bot: Bot) -> None:
        message = bot.dashboard_message("server-status")
        dashboard = bot.ctx.get("homelab", "Dashboard", "server-status")
        assert dashboard is not None
        # The spec dropped the "Refresh now" button; Discord still shows it.
        rows = [[c for c in row if c.get("button", {}).get("workflow") != "refresh-status"]
                for row in dashboard.spec["components"]]
        bot.without(changed=replace(dashboard, spec={**dashboard.spec, "components": rows}))
        click = bot.emu.click_button(message, "hlb:server-status:0:1:refresh-status", ALICE)
        body = await click.response()
        assert (body["type"], body["data"]["content"], body["data"]["flags"]) == (4, OUT_OF_DATE, EPHEMERAL)
        await until(lambda: bot.refreshed == [("homelab", "server-status")])

        # The workflow of a still-declared button is gone from the model.
        bot.without(ObjectKey("homelab", "Workflow", "restart-plex"))
        click = bot.emu.click_button(message, "hlb:server-status:0:0:restart-plex", ALICE)
        body = await click.response()
        assert (body["data"]["content"], body["data"]["flags"]) == (OUT_OF_DATE, EPHEMERAL)
        await asyncio.sleep(0.1)
        assert bot.api.calls == [] and bot.runs() == []

    run_bot(db_url, tmp_path, scenario)


def test_http_workflows_are_deferred_then_answered(db_url: str, tmp_path: Path) -> None:
    async def scenario(bot: Bot) -> None:
        click = bot.emu.click_button(bot.dashboard_message("server-status"),
                                     "hlb:server-status:0:0:restart-plex", ALICE)
        body = await click.response()
        assert body == {"type": 5, "data": {"flags": EPHEMERAL}}  # a new ephemeral message, not an update
        await until(lambda: click.original is not None and click.original.content != "")
        assert click.original is not None
        assert (click.original.content, click.original.flags) == ("Plex is restarting (HTTP 202).", EPHEMERAL)
        assert bot.api.calls == [("POST", "/api/services/plex/restart", "Bearer s3cret-api-token")]
        await until(lambda: "🔁 alice restarted Plex." in bot.contents("ops"))
        await until(lambda: bot.refreshed == [("homelab", "server-status")])
        await until(lambda: [r[4] for r in bot.runs()] == ["ok"])
        assert bot.runs()[0][:3] == ("restart-plex", "button", ALICE)

        media = bot.dashboard_message("media")
        pick = bot.emu.select(media, "hlb:media:0:0:restart-service", ["sonarr"], ALICE)
        assert await pick.response() == {"type": 5, "data": {"flags": EPHEMERAL}}
        await until(lambda: pick.original is not None and pick.original.content == "sonarr is restarting.")
        await until(lambda: len(bot.runs()) == 2 and bot.runs()[1][4] == "ok")
        assert bot.runs()[1][:4] == ("restart-service", "select", ALICE, {"values": ["sonarr"]})

        failing = bot.emu.select(media, "hlb:media:0:0:restart-service", ["radarr"], ALICE)  # answers 500
        assert (await failing.response())["type"] == 5
        await until(lambda: failing.original is not None and failing.original.content != "")
        assert failing.original is not None
        assert failing.original.content.startswith("restart-service failed: step 'restart' failed")
        assert failing.original.flags == EPHEMERAL
        assert "s3cret" not in failing.original.content
        await until(lambda: len(bot.runs()) == 3 and bot.runs()[2][4] == "error")
        assert bot.emu.state.messages.get(media) is not None  # the dashboard was never edited
        assert not [c for c in bot.emu.calls if c.method == "PATCH" and str(media) in c.path]

    run_bot(db_url, tmp_path, scenario)


def test_a_missing_secret_fails_the_run_with_a_short_reply_and_no_request(
    db_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "run-secrets"
    folder.mkdir()

    async def scenario(bot: Bot) -> None:
        # the bare name and hlb's own token are in the environment: neither is a secret source
        env = {"HOMELAB_API_TOKEN": "bare", "DISCORD_TOKEN": bot.emu.token, "HLB_SECRETS_DIR": str(folder)}
        bot.ctx.secrets = Secrets.from_env(env)
        click = bot.emu.click_button(bot.dashboard_message("server-status"),
                                     "hlb:server-status:0:0:restart-plex", ALICE)
        assert (await click.response())["type"] == 5
        await until(lambda: click.original is not None and click.original.content != "")
        assert click.original is not None
        assert click.original.content == (
            "restart-plex failed: step 'restart' failed: secret HOMELAB_API_TOKEN is not provided: "
            "set HLB_SECRET_HOMELAB_API_TOKEN or add the file HOMELAB_API_TOKEN to HLB_SECRETS_DIR"
        )
        assert click.original.flags == EPHEMERAL
        await until(lambda: [r[4] for r in bot.runs()] == ["error"])
        assert "HOMELAB_API_TOKEN is not provided" in bot.runs()[0][5]
        assert bot.api.calls == []  # nothing was sent

        (folder / "HOMELAB_API_TOKEN").write_text("file-api-token\n", encoding="utf-8")  # provided now
        again = bot.emu.click_button(bot.dashboard_message("server-status"),
                                     "hlb:server-status:0:0:restart-plex", ALICE)
        await again.response()
        await until(lambda: len(bot.runs()) == 2 and bot.runs()[1][4] == "ok")
        assert bot.api.calls == [("POST", "/api/services/plex/restart", "Bearer file-api-token")]

    run_bot(db_url, tmp_path, scenario)


# --- pure helpers ---------------------------------------------------------------------------------


def workflow(steps: list[dict[str, Any]], **spec: Any) -> SpecObject:
    return SpecObject.build(ObjectKey("homelab", "Workflow", "w"), {}, {"steps": steps, **spec})


def test_custom_ids_parse_only_in_hlbs_format() -> None:
    assert parse_custom_id("hlb:server-status:0:1:refresh-status") == ComponentRef(
        "server-status", 0, 1, "refresh-status"
    )
    for bad in ("", "hlb:x:0:1", "other:x:0:1:w", "hlb:x:a:1:w", "hlb:x:0:1:w:extra", "hlb::0:1:w"):
        assert parse_custom_id(bad) is None, bad


def test_deferral_and_roles_are_decided_from_the_spec() -> None:
    fast = workflow([{"add_role": {"role": "r", "member": "1"}}, {"reply": {"content": "x"}}])
    slow = workflow([{"http": {"url": "http://x"}}, {"reply": {"content": "x", "ephemeral": True}}])
    silent = workflow([{"refresh": {"dashboard": "d"}}], allowed_roles=["admins", "42"])
    assert (is_slow(fast), is_slow(slow), is_slow(silent)) == (False, True, True)
    assert (first_reply_ephemeral(fast), first_reply_ephemeral(slow), first_reply_ephemeral(silent)) == (
        False,
        True,
        None,
    )
    assert is_allowed(fast, Actor(1, "a"))
    assert is_allowed(silent, Actor(1, "a", role_names=("admins",)))
    assert is_allowed(silent, Actor(1, "a", roles=(42,)))
    assert not is_allowed(silent, Actor(1, "a", roles=(7,), role_names=("on-call",)))


def test_roles_resolve_by_id_exact_name_or_unique_folded_name() -> None:
    roles = [(1, "@everyone"), (2, "admins"), (3, "On-Call"), (4, "x"), (5, "X")]
    assert [_find_role(roles, w) for w in ("2", "admins", "on-call", "x", "X", "nope", "@everyone")] == [
        2, 2, 3, 4, 5, None, None,
    ]


def test_tokens_are_scrubbed_from_error_text() -> None:
    text = "POST http://h/api/v10/interactions/123/aW50ZXJhY3Rpb246abc/callback failed; /webhooks/9/tok-en x"
    assert scrub(text) == "POST http://h/api/v10/interactions/123/***/callback failed; /webhooks/9/*** x"
