"""The bot's /metrics, /healthz and /readyz, scraped from a bot running against the emulator and Postgres.

The runner runs in-process with the real disnake client, the emulator's REST API and gateway,
and a real Postgres; its endpoints are fetched over HTTP and /metrics is parsed with
prometheus_client's own parser. ``hlb bot run`` runs as a process where the point is the CLI.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import cli_inprocess
import psycopg
import pytest
from conftest import database_url
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from psycopg import sql
from reconcile_world import GUILD_ID, ROOT, World, applied_specs, bot_process, run_world
from test_bot import FAST, logs_topic

from hlb.bot.health import Address, AddressError, parse_address
from hlb.bot.runner import Runner
from hlb.compiler.compile import compile_paths
from hlb.store.apply import apply_model
from hlb.testing import Emulator

pytestmark = pytest.mark.timeout(120)

ALICE = 1001
SNOWFLAKE = re.compile(r"\d{15,}")
CREATE = "POST /guilds/{guild_id}/channels"
PATCH = "PATCH /channels/{channel_id}"


def metered(w: World) -> Runner:
    """A bot serving its endpoints on a free port of 127.0.0.1."""
    settings = w.settings()
    return Runner(settings, w.url, replace(FAST, metrics=Address("127.0.0.1", 0)))


async def fetch(bot: Runner, path: str) -> tuple[int, str]:
    assert bot.metrics_address is not None
    async with aiohttp.ClientSession() as http, http.get(f"http://{bot.metrics_address}{path}") as reply:
        return reply.status, await reply.text()


def parse(text: str) -> list[Sample]:
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


async def scrape(bot: Runner) -> list[Sample]:
    status, text = await fetch(bot, "/metrics")
    assert status == 200
    return parse(text)


def value(samples: list[Sample], name: str, **labels: str) -> float:
    """The sum of the samples called ``name`` whose labels include ``labels`` (0 when none)."""
    return sum(s.value for s in samples if s.name == name and labels.items() <= s.labels.items())


async def until_scraped(
    bot: Runner, check: Callable[[list[Sample]], bool], within: float = 15
) -> list[Sample]:
    started = time.monotonic()
    while not check(samples := await scrape(bot)):
        assert time.monotonic() - started < within, "\n".join(map(str, samples))
        await asyncio.sleep(0.05)
    return samples


async def started(w: World) -> tuple[Runner, asyncio.Event, asyncio.Task[None]]:
    w.apply()
    bot, stop = metered(w), asyncio.Event()
    task = asyncio.create_task(bot.run(stop))
    await asyncio.wait_for(bot.ready.wait(), 30)
    return bot, stop, task


async def until(check: Callable[[], Awaitable[bool]], within: float = 15) -> None:
    started = time.monotonic()
    while not await check():
        assert time.monotonic() - started < within
        await asyncio.sleep(0.05)


def test_counters_move_as_the_bot_reconciles_answers_and_reconnects(db_url: str, tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        w.emu.state.add_member(GUILD_ID, ALICE, "alice")
        bot, stop, task = await started(w)
        created = len(w.emu.writes("/guilds/{guild_id}/channels", "POST"))
        assert created > 0
        ok = {"guild": "homelab", "kind": "Channel", "action": "create channel", "outcome": "ok"}
        samples = await until_scraped(bot, lambda s: value(s, "hlb_reconcile_actions_total", **ok) == created)
        assert value(samples, "discord_operation_duration_seconds_count", route=CREATE) == created
        assert value(samples, "hlb_leader") == 1
        with psycopg.connect(w.url) as conn:
            row = conn.execute("SELECT max(id) FROM hlb_config.revisions").fetchone()
        assert row is not None and value(samples, "hlb_applied_revision") == row[0]
        channels = sum(1 for key in w.bindings() if key.kind == "Channel")
        synced = {"guild": "homelab", "kind": "Channel", "status": "synced"}
        samples = await until_scraped(bot, lambda s: value(s, "hlb_objects", **synced) == channels)
        assert value(samples, "hlb_reconcile_pass_seconds_count") >= 1
        assert value(samples, "hlb_last_reconcile_timestamp_seconds", guild="homelab") > 0

        # Discord refuses a channel update: every try is an error, each after the first a retry
        w.emu.fail_route("PATCH", "/channels/{channel_id}", 503)
        w.edit_spec("channels/infra.yaml", "topic: Noisy machine output", "topic: Quieter machine output")
        await asyncio.to_thread(w.apply)
        failed = {**ok, "action": "update channel", "outcome": "error"}
        samples = await until_scraped(bot, lambda s: value(s, "hlb_reconcile_actions_total", **failed) == 1)
        errors = value(samples, "discord_api_errors_total", route=PATCH, status="503", code="0")
        assert errors == 5 and value(samples, "discord_operation_retries_total", route=PATCH) == 4
        broken = {"guild": "homelab", "kind": "Channel", "status": "error"}
        await until_scraped(bot, lambda s: value(s, "hlb_objects", **broken) == 1)  # after the pass's end
        w.emu.heal()

        # a slash command and a dashboard button: both acknowledged, the button's workflow counted
        chat = w.binding("Channel", "chat").discord_id
        board = w.binding("Dashboard", "server-status").discord_id
        assert chat is not None and board is not None
        command = w.emu.interact_command(GUILD_ID, chat, ALICE, "status")
        assert (await command.response())["type"] in (4, 5)  # answered, or deferred on a busy machine
        click = w.emu.click_button(board, "hlb:server-status:0:1:refresh-status", ALICE)
        assert (await click.response())["type"] == 5
        runs = {"workflow": "homelab/refresh-status", "outcome": "ok"}
        samples = await until_scraped(
            bot,
            lambda s: value(s, "hlb_workflow_runs_total", **runs) == 1
            and value(s, "hlb_interaction_ack_seconds_count") == 2,  # counted once the reply is sent
        )
        assert 0 < value(samples, "hlb_interaction_ack_seconds_sum") < 2 * 3.0
        step = {"workflow": "homelab/refresh-status"}
        assert value(samples, "hlb_workflow_step_seconds_count", **step) == 2  # refresh, reply

        # the gateway drops: the bot resumes and counts it
        assert value(samples, "hlb_gateway_reconnects_total") == 0
        await w.emu.drop_gateway()
        samples = await until_scraped(bot, lambda s: value(s, "hlb_gateway_reconnects_total") == 1)
        assert await fetch(bot, "/healthz") == (200, '{"status": "ok"}')

        # no label carries an id, the token or anything a member typed
        labels = {v for s in samples for v in s.labels.values()}
        assert not [v for v in labels if SNOWFLAKE.search(v)], sorted(labels)
        assert str(ALICE) not in labels and not any(w.emu.token in v for v in labels)
        stop.set()
        await asyncio.wait_for(task, 15)

    run_world(db_url, tmp_path, scenario)


def test_readyz_names_the_database_while_it_is_lost_and_recovers(db_url: str, tmp_path: Path) -> None:
    async def readyz(bot: Runner) -> tuple[int, dict[str, Any]]:
        status, text = await fetch(bot, "/readyz")
        return status, json.loads(text)

    async def scenario(w: World) -> None:
        bot, stop, task = await started(w)
        await until(lambda: _is(readyz(bot), 200))
        with psycopg.connect(database_url(w.url, "postgres"), autocommit=True) as admin:
            name = str(psycopg.conninfo.conninfo_to_dict(w.url)["dbname"])
            database = sql.Identifier(name)
            admin.execute(sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false").format(database))
            try:
                ended = admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND application_name LIKE 'hlb-bot%%'",
                    (name,),
                ).fetchall()
                assert ended
                await until(lambda: _is(readyz(bot), 503))
                status, body = await readyz(bot)
                assert status == 503
                assert body == {
                    "ready": False,
                    "database": "disconnected",
                    "gateway": "connected",
                    "not_connected": ["database"],
                }
                assert (await fetch(bot, "/healthz"))[0] == 200  # the loop runs: alive, not ready
            finally:
                admin.execute(sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS true").format(database))
        await until(lambda: _is(readyz(bot), 200))
        assert (await readyz(bot))[1] == {
            "ready": True,
            "database": "connected",
            "gateway": "connected",
            "not_connected": [],
        }
        assert value(await scrape(bot), "hlb_db_reconnects_total") >= 1
        stop.set()
        await asyncio.wait_for(task, 15)

    run_world(db_url, tmp_path, scenario)


async def _is(answer: Awaitable[tuple[int, Any]], status: int) -> bool:
    return (await answer)[0] == status


def http_get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def wait_for(check: Callable[[], Any], within: float, why: Callable[[], str]) -> Any:
    started = time.monotonic()
    while not (found := check()):
        assert time.monotonic() - started < within, why()
        time.sleep(0.05)
    return found


def test_hlb_bot_run_serves_metrics_where_hlb_metrics_addr_says(
    db_url: str, discord_emulator: Emulator, tmp_path: Path
) -> None:
    emu = discord_emulator
    emu.add_guild("Homelab", guild_id=GUILD_ID)
    for role in ("admins", "on-call"):
        emu.add_role(GUILD_ID, role)
    env = applied_specs(db_url, emu, tmp_path / "specs", HLB_METRICS_ADDR="127.0.0.1:0")
    log = tmp_path / "bot.log"
    bot = bot_process(env, log)
    try:
        listening = re.compile(r"event=metrics_listening addr=(127\.0\.0\.1:\d+)")
        where = wait_for(lambda: listening.search(log.read_text()), 30, log.read_text)[1]
        assert http_get(f"http://{where}/healthz")[0] == 200
        wait_for(lambda: http_get(f"http://{where}/readyz")[0] == 200, 30, log.read_text)
        wait_for(lambda: "event=reconcile guild=homelab" in log.read_text(), 30, log.read_text)
        assert logs_topic(emu).startswith("Noisy")
        samples = parse(http_get(f"http://{where}/metrics")[1])
        assert value(samples, "hlb_leader") == 1
        assert value(samples, "discord_operation_duration_seconds_count", route=CREATE) > 0
    finally:
        bot.terminate()
        bot.wait(15)
    assert "Traceback" not in log.read_text()


def applied(url: str) -> None:
    result = compile_paths([str(ROOT / "specs")], {"HLB_GUILD_ID": str(GUILD_ID)})
    assert result.ok
    apply_model(url, result.model, author="test", echo=lambda _line: None)


def test_a_taken_or_malformed_metrics_address_is_one_line_e703(db_url: str, tmp_path: Path) -> None:
    applied(db_url)
    env = {"DATABASE_URL": db_url, "DISCORD_TOKEN": "unused", "HLB_HOME": str(tmp_path / "home")}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for addr in (f"127.0.0.1:{port}", "localhost"):  # taken; not HOST:PORT
            done = cli_inprocess.hlb({**_path_env(), **env}, tmp_path, "bot", "run", "--metrics-addr", addr)
            assert done.returncode == 1, done.stderr
            assert "E703" in done.stderr and "Traceback" not in done.stderr, done.stderr
            assert "--metrics-addr" in done.stderr


def _path_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "HLB_METRICS_ADDR")}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("off", None),
        ("OFF", None),
        ("127.0.0.1:9464", Address("127.0.0.1", 9464)),
        ("0.0.0.0:0", Address("0.0.0.0", 0)),
        ("[::1]:9464", Address("::1", 9464)),
        ("metrics.lan:9000", Address("metrics.lan", 9000)),
    ],
)
def test_metrics_addresses_parse(text: str, expected: Address | None) -> None:
    assert parse_address(text) == expected


@pytest.mark.parametrize("text", ["", "9464", ":9464", "host:", "host:port", "::1:9464", "h:70000"])
def test_malformed_metrics_addresses_are_refused(text: str) -> None:
    with pytest.raises(AddressError):
        parse_address(text)
