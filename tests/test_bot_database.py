"""Losing the database is a pause: after its sessions end or the server restarts, applies reach Discord.

The bot runs with the real disnake client against the emulator and a real Postgres; its
backends are terminated with ``pg_terminate_backend``, or the whole server (an embedded one
of this test's own) is stopped and started again. Each outage is logged once at each end.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import cli_inprocess
import psycopg
import pytest
from reconcile_world import GUILD_ID, World, applied_specs, bot_process, run_world
from test_bot import FAST, eventually, logs_topic, runner

from hlb.bot.runner import BotOptions, Runner
from hlb.store import db, embedded
from hlb.store.dblink import Backoff, Links, answers
from hlb.store.leadership import LEADER_LOCK
from hlb.testing import Emulator

pytestmark = pytest.mark.timeout(120)

QUICK_RETRIES = replace(FAST, backoff=Backoff(first=0.05, cap=0.25))  # reconnection tries close together
LOST_LINE = "database unreachable: "
BACK_LINE = "database back after "


def terminate(url: str, application: str) -> int:
    """End the sessions of this database whose application_name is like ``application``."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name LIKE %s AND pid <> pg_backend_pid()",
            (application,),
        ).fetchall()
    return len(rows)


def lock_holder(url: str) -> str | None:
    """The application_name of the session holding the leader lock (None: nobody holds it)."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND ((l.classid::bigint << 32) | l.objid::bigint) = %s",
            (LEADER_LOCK,),
        ).fetchone()
    return str(row[0]) if row else None


def lines(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if text in r.getMessage()]


async def converges_after(w: World) -> float:
    """Apply a topic change and return how long it took to reach the emulator."""
    w.edit_spec("channels/infra.yaml", "topic: Noisy machine output", "topic: Quieter machine output")
    await asyncio.to_thread(w.apply)
    return await eventually(lambda: logs_topic(w.emu).startswith("Quieter"), within=10)


async def started(w: World, options: BotOptions = FAST) -> tuple[Runner, asyncio.Event, asyncio.Task[None]]:
    w.apply()
    bot, stop = Runner(w.settings(), w.url, options), asyncio.Event()
    task = asyncio.create_task(bot.run(stop))
    await asyncio.wait_for(bot.ready.wait(), 15)
    assert bot.leader and logs_topic(w.emu).startswith("Noisy")
    return bot, stop, task


def test_bot_connections_keep_alive_and_say_who_they_are(db_url: str) -> None:
    async def check() -> None:
        conn = await db.connect_async(db_url, role="listen")
        try:
            params = conn.info.get_parameters()
            assert params["application_name"] == "hlb-bot listen"
            assert params["keepalives"] == "1" and int(params["keepalives_idle"]) <= 10
            assert int(params["tcp_user_timeout"]) <= 15_000
        finally:
            await conn.close()

    asyncio.run(check())


def test_backoff_doubles_and_never_waits_more_than_five_seconds() -> None:
    backoff = Backoff()
    tops = [backoff.delay(n, rng=lambda: 1.0) for n in range(100)]
    assert tops[0] < 0.5 and tops[1] == 2 * tops[0]
    assert max(tops) == 5.0 and tops == sorted(tops)
    assert backoff.delay(50, rng=lambda: 0.0) == 2.5  # jitter: half to all of the step


@pytest.mark.parametrize("sessions", ["hlb-bot%", "hlb-bot listen"])
def test_terminated_sessions_pause_the_bot_and_an_apply_still_arrives(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture, sessions: str
) -> None:
    caplog.set_level(logging.INFO, logger="hlb.bot")

    async def scenario(w: World) -> None:
        bot, stop, task = await started(w)
        assert terminate(w.url, sessions) >= 1
        took = await converges_after(w)
        print(f"terminated {sessions!r} -> apply in Discord: {took * 1000:.0f} ms")
        await eventually(lambda: bot.leader and lock_holder(w.url) == "hlb-bot leader", within=10)
        stop.set()
        await asyncio.wait_for(task, 10)

    run_world(db_url, tmp_path, scenario)
    everything = len(lines(caplog, LOST_LINE)), len(lines(caplog, BACK_LINE))
    assert everything == ((1, 1) if sessions == "hlb-bot%" else (0, 0)), caplog.text
    if sessions == "hlb-bot listen":
        assert len(lines(caplog, "event=connection_lost loop=listen")) == 1, caplog.text


def test_a_replica_that_lost_its_lock_session_stops_leading(db_url: str, tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        w.apply()
        bots, stops = [runner(w), runner(w)], [asyncio.Event(), asyncio.Event()]
        tasks = [asyncio.create_task(b.run(s)) for b, s in zip(bots, stops, strict=True)]
        await eventually(lambda: any(b.leader for b in bots))
        leader = next(b for b in bots if b.leader)
        holder = leader.leadership.conn
        assert holder is not None
        with psycopg.connect(w.url, autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(%s)", (holder.info.backend_pid,))
        await eventually(lambda: leader.leadership.conn is not holder)
        await eventually(lambda: sum(b.leader for b in bots) == 1)
        for _ in range(20):  # whoever believes it leads holds the lock on its current session
            leading = [b for b in bots if b.leader]
            assert len(leading) <= 1
            for bot in leading:
                assert bot.leadership.conn is not None and not bot.leadership.conn.closed
            await asyncio.sleep(0.05)
        assert lock_holder(w.url) == "hlb-bot leader"
        for stop in stops:
            stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 15)

    run_world(db_url, tmp_path, scenario)


@pytest.fixture(scope="module")
def own_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """An embedded Postgres of this module's own (its tests stop and start it); stopped at the end."""
    home = tmp_path_factory.mktemp("own-server")
    try:
        yield home
    finally:
        embedded.stop(home)


@pytest.fixture
def own_server(own_home: Path) -> tuple[Path, str]:
    """The module's own server (started if a test left it stopped) and a fresh migrated database on it."""
    url = embedded.embedded_url(own_home, f"hlb_own_{next(_databases)}")
    db.ensure_schema(url, echo=lambda _line: None)
    return own_home, url


_databases = itertools.count()


def test_a_restarted_database_pauses_the_bot_and_an_apply_still_arrives(
    own_server: tuple[Path, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    home, url = own_server
    caplog.set_level(logging.INFO, logger="hlb.bot")

    async def scenario(w: World) -> None:
        bot, stop, task = await started(w, QUICK_RETRIES)
        assert await asyncio.to_thread(embedded.stop, home)
        await eventually(lambda: bool(lines(caplog, LOST_LINE)), within=5)
        await asyncio.sleep(1.0)  # several tries fail meanwhile (0.05 s apart, then up to 0.25 s)
        await eventually(lambda: not bot.leader, within=5)  # its lock went with its session
        # meanwhile its users get "closed" errors, not a missing connection (once the health check ran)
        await eventually(lambda: bot.conn.closed, within=5)
        await asyncio.to_thread(embedded.ensure_running, home)
        took = await converges_after(w)
        print(f"restart -> apply in Discord: {took * 1000:.0f} ms")
        await eventually(lambda: bot.leader, within=10)
        stop.set()
        await asyncio.wait_for(task, 10)

    run_world(url, tmp_path, scenario)
    lost, back = lines(caplog, LOST_LINE), lines(caplog, BACK_LINE)
    assert len(lost) == 1 and len(back) == 1, caplog.text
    assert lost[0].endswith("; retrying") and back[0].endswith(" s; reconciling everything")
    seconds = float(back[0].removeprefix(BACK_LINE).split(" ")[0])
    assert seconds >= 1


def test_a_session_that_dies_while_another_is_reopened_is_reopened_in_the_same_outage(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A restart ends the bot's sessions one by one: one still answered when the outage began.
    The outage is over when every session answers, and it is logged once at each end (before,
    the late one was found dead by the next check: a second outage, right after the restart)."""
    caplog.set_level(logging.INFO, logger="hlb.bot")

    async def scenario() -> None:
        links = Links(db_url, ("reconcile", "runs"), Backoff(first=0.05, cap=0.05))
        await links.open()
        try:
            assert terminate(db_url, "hlb-bot reconcile") == 1
            links.url = db_url.replace("/hlb_test", "/hlb_absent", 1)  # the server refuses meanwhile
            recovering = asyncio.create_task(links.recover())
            await eventually(lambda: bool(lines(caplog, LOST_LINE)), within=5)
            assert terminate(db_url, "hlb-bot runs") == 1  # answered at first, dies during the outage
            # found closed while the server still refuses: its users meet LOST, not a hang
            await eventually(lambda: links.conns["runs"].closed, within=5)
            links.url = db_url  # the server is back
            assert await asyncio.wait_for(recovering, 10)
            assert [await answers(links.conns[role]) for role in links.roles] == [None, None]
            assert not await links.recover()
        finally:
            await links.close()

    assert "/hlb_test" in db_url
    asyncio.run(scenario())
    assert len(lines(caplog, LOST_LINE)) == 1 and len(lines(caplog, BACK_LINE)) == 1, caplog.text


def test_a_lost_database_is_described_in_one_line_without_the_password() -> None:
    from hlb.store.dblink import why

    url = "postgresql://hlb_bot:hunter2-secret@db.example:5432/hlb"
    error = psycopg.OperationalError(
        "connection to db.example failed for hunter2-secret: server closed the connection unexpectedly\n"
        "\tThis probably means the server terminated abnormally"
    )
    said = why(url, error)
    assert "hunter2-secret" not in said and "\n" not in said
    assert said.endswith("server closed the connection unexpectedly")


def wait_until(check: Callable[[], bool], within: float, why: Callable[[], str]) -> float:
    start = time.monotonic()
    while not check():
        assert time.monotonic() - start < within, why()
        time.sleep(0.05)
    return time.monotonic() - start


def test_hlb_bot_run_rides_out_a_database_restart(
    own_server: tuple[Path, str], discord_emulator: Emulator, tmp_path: Path
) -> None:
    home, url = own_server
    emu = discord_emulator
    emu.add_guild("Homelab", guild_id=GUILD_ID)
    for role in ("admins", "on-call"):
        emu.add_role(GUILD_ID, role)
    specs = tmp_path / "specs"
    env = applied_specs(url, emu, specs)
    log = tmp_path / "bot.log"
    bot = bot_process(env, log)
    try:
        wait_until(lambda: "event=reconcile guild=homelab" in log.read_text(), 30, log.read_text)
        assert embedded.stop(home)
        wait_until(lambda: LOST_LINE in log.read_text(), 10, log.read_text)
        time.sleep(1.0)  # two or three tries fail meanwhile (0.25 s apart, then 0.5 s, jittered)
        embedded.ensure_running(home)
        infra = specs / "channels" / "infra.yaml"
        infra.write_text(infra.read_text().replace("topic: Noisy machine output", "topic: Quieter"))
        applied = cli_inprocess.hlb(env, Path.cwd(), "apply", str(specs))  # the bots are the processes here
        assert applied.returncode == 0, applied.stderr
        took = wait_until(lambda: logs_topic(emu).startswith("Quieter"), 10, log.read_text)
        print(f"hlb apply after a restart -> Discord: {took * 1000:.0f} ms")
    finally:
        bot.send_signal(signal.SIGTERM)
        bot.wait(15)
    text = log.read_text()
    assert text.count(LOST_LINE) == 1 and text.count(BACK_LINE) == 1, text
    assert "Traceback" not in text and emu.token not in text
