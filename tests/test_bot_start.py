"""A bot started before its database is up waits for it, alive but not ready, and stops at once if asked.

A database that boots after the bot, or restarts while a new bot version deploys, is common: the
bot logs the wait once, serves /healthz (200) and /readyz (503) meanwhile, and starts as soon as
a connection opens. A URL that can never work is refused at once. Real Postgres (a database
that refuses connections: ``ALLOW_CONNECTIONS false``), the real disnake client, the emulator.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
from conftest import database_url
from psycopg import sql
from reconcile_world import World, run_world
from test_bot import FAST, eventually, logs_topic
from test_bot_database import lines
from test_metrics import fetch

from hlb.bot.health import Address
from hlb.bot.runner import Runner
from hlb.settings import Settings
from hlb.store import db
from hlb.store.dblink import Backoff

pytestmark = pytest.mark.timeout(60)

WAITING = "database unreachable at start: "
UP = "database up after "
QUICK = replace(FAST, backoff=Backoff(first=0.05, cap=0.25), metrics=Address("127.0.0.1", 0))


def allow_connections(url: str, allowed: bool) -> None:
    """Let sessions into the database of ``url``, or refuse them (as a database not up yet does)."""
    name = sql.Identifier(str(psycopg.conninfo.conninfo_to_dict(url)["dbname"]))
    with psycopg.connect(database_url(url, "postgres"), autocommit=True) as admin:
        alter = sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS {}")
        admin.execute(alter.format(name, sql.Literal(allowed)))


def test_a_bot_started_before_its_database_waits_then_converges(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hlb.bot")

    async def scenario(w: World) -> None:
        w.apply()
        allow_connections(w.url, False)
        try:
            bot, stop = Runner(w.settings(), w.url, QUICK), asyncio.Event()
            task = asyncio.create_task(bot.run(stop))
            await eventually(lambda: bool(lines(caplog, WAITING)), within=10)
            await asyncio.sleep(0.5)  # several tries fail meanwhile, logged once
            assert not task.done() and not bot.ready.is_set()
            assert (await fetch(bot, "/healthz"))[0] == 200  # alive: its loop answers
            status, body = await fetch(bot, "/readyz")
            assert status == 503 and json.loads(body)["database"] == "disconnected"
        finally:
            allow_connections(w.url, True)
        await asyncio.wait_for(bot.ready.wait(), 15)  # it started and made its first pass
        assert bot.leader and logs_topic(w.emu).startswith("Noisy")
        assert (await fetch(bot, "/readyz"))[0] == 200
        stop.set()
        await asyncio.wait_for(task, 10)

    run_world(db_url, tmp_path, scenario)
    waiting, up = lines(caplog, WAITING), lines(caplog, UP)
    assert len(waiting) == 1 and len(up) == 1, caplog.text
    assert "not currently accepting connections" in waiting[0] and waiting[0].endswith("; waiting for it")
    assert float(up[0].removeprefix(UP).split(" ")[0]) >= 0 and up[0].endswith(" s; starting")


def test_a_waiting_bot_stops_at_once_and_says_why_it_waited_without_the_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="hlb.bot")
    url = "postgresql://hlb_bot:hunter2-secret@127.0.0.1:1/hlb"  # nothing listens on port 1

    async def scenario() -> None:
        bot, stop = Runner(Settings(discord_token="unused"), url, QUICK), asyncio.Event()
        task = asyncio.create_task(bot.run(stop))
        await eventually(lambda: bool(lines(caplog, WAITING)), within=10)
        stopped = time.monotonic()
        stop.set()
        await asyncio.wait_for(task, 5)
        assert time.monotonic() - stopped < 1.0

    asyncio.run(scenario())
    (waiting,) = lines(caplog, WAITING)
    assert "127.0.0.1:1" in waiting and "hunter2" not in caplog.text
    assert lines(caplog, "event=stopped") and not lines(caplog, UP)


def test_a_stop_while_connecting_to_a_host_that_never_answers_ends_the_bot_at_once() -> None:
    with socket.socket() as silent:  # listens, never accepts: the connect waits its 10 s timeout
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"postgresql://hlb@127.0.0.1:{silent.getsockname()[1]}/hlb"

        async def scenario() -> float:
            bot, stop = Runner(Settings(discord_token="unused"), url, QUICK), asyncio.Event()
            task = asyncio.create_task(bot.run(stop))
            await asyncio.sleep(0.5)  # connecting
            assert not task.done()
            stopped = time.monotonic()
            stop.set()
            await asyncio.wait_for(task, 9)
            return time.monotonic() - stopped

        assert asyncio.run(scenario()) < 1.0


@pytest.mark.parametrize("url", ["mysql://hlb@db/hlb", "postgresql://[bad"])
def test_a_url_that_can_never_work_is_refused_at_once(url: str) -> None:
    async def scenario() -> None:
        bot = Runner(Settings(discord_token="unused"), url, replace(QUICK, metrics=None))
        await asyncio.wait_for(bot.run(asyncio.Event()), 5)

    with pytest.raises(db.InvalidDatabaseUrl) as refused:
        asyncio.run(scenario())
    assert refused.value.code == "E605"
