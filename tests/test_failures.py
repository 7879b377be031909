"""Failure classes: what a reply or exception means (temporary or permanent) and how long an object waits.

HTTP errors come from the real disnake client against the emulator; the delays are pure.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import disnake
import psycopg
import pytest
from disnake.http import Route

from hlb.bot import rest
from hlb.bot.execute import execute
from hlb.bot.failures import (
    PERMANENT,
    TEMPORARY,
    Failure,
    MalformedReply,
    classify,
    retry_delay,
    snowflake,
)
from hlb.compiler.model import ObjectKey
from hlb.reconciler.actions import CreateChannel
from hlb.reconciler.plan import ReconcilePlan
from hlb.reconciler.state import Binding
from hlb.testing import Emulator

pytestmark = pytest.mark.timeout(60)
CHANNEL = "/channels/{channel_id}"


def failure_of(setup: str) -> Failure:
    """The classified failure of one PATCH through ``rest.call`` with the emulator set up so."""

    async def main() -> Failure:
        async with Emulator() as emu:
            guild = emu.add_guild("G")
            channel = emu.state.create_channel(guild.id, {"name": "c", "type": 0})
            if setup == "403":
                emu.forbid("PATCH", CHANNEL)
            elif setup == "404":
                emu.state.delete_channel(channel)
            elif setup == "503":
                emu.fail_route("PATCH", CHANNEL, 503)
            elif setup == "429":
                emu.rate_limit_storm(30, retry_after=0.01)
            disnake.http.Route.BASE = emu.base_url
            rest.retry_after_first(0.01)  # the tries are the point here, not the waits between them
            client = disnake.Client()
            try:
                await client.login(emu.token)
                route = Route("PATCH", CHANNEL, channel_id=channel.id)
                await rest.call(client.http, route, json={"name": "x"})
            except Exception as error:  # the point is to classify whatever came
                return classify(error)
            finally:
                await client.close()
            raise AssertionError("the call succeeded")

    return asyncio.run(main())


def test_refusals_are_permanent_with_discords_status_and_code() -> None:
    refused = failure_of("403")
    assert (refused.kind, refused.status, refused.code) == (PERMANENT, 403, 50013)
    gone = failure_of("404")
    assert (gone.kind, gone.status, gone.code) == (PERMANENT, 404, 10003)


def test_server_errors_and_rate_limits_are_temporary_and_keep_retry_after() -> None:
    down = failure_of("503")
    assert (down.kind, down.status) == (TEMPORARY, 503)
    limited = failure_of("429")
    assert (limited.kind, limited.status, limited.retry_after) == (TEMPORARY, 429, 0.01)


def test_the_first_retry_waits_what_the_settings_say_then_twice_as_long_each_time() -> None:
    from hlb.bot.session import rest_client
    from hlb.settings import Settings

    async def main() -> tuple[float, int]:
        async with Emulator() as emu:
            guild = emu.add_guild("G")
            channel = emu.state.create_channel(guild.id, {"name": "c", "type": 0})
            emu.fail_route("PATCH", CHANNEL, 503)
            settings = Settings(discord_token=emu.token, discord_api_base=emu.base_url)
            async with rest_client(replace(settings, discord_retry_delay=0.05)) as (client, _application):
                started = time.monotonic()
                with pytest.raises(rest.TemporaryError):
                    await rest.call(client.http, Route("PATCH", CHANNEL, channel_id=channel.id), json={})
                return time.monotonic() - started, len([c for c in emu.calls if c.method == "PATCH"])

    took, tries = asyncio.run(main())
    assert tries == 5 and 0.75 <= took < 2.0  # 0.05 + 0.1 + 0.2 + 0.4 s; by default 0.2 + ... + 1.6 = 3 s
    assert Settings().discord_retry_delay == 0.2


def test_no_answer_is_temporary_an_unreadable_reply_or_a_fault_permanent() -> None:
    assert classify(TimeoutError()).kind == TEMPORARY
    assert classify(ConnectionResetError("reset")).kind == TEMPORARY
    assert classify(KeyError("id")).kind == PERMANENT
    assert classify(RuntimeError("bug")).message == "fault: RuntimeError: bug"
    with pytest.raises(MalformedReply, match="without an id"):
        snowflake({"name": "deploy"}, "PUT /commands")
    with pytest.raises(MalformedReply):
        snowflake({"id": None}, "POST /channels")
    assert snowflake({"id": "123"}, "x") == 123


def test_temporary_delays_are_short_jittered_and_honour_retry_after() -> None:
    rng = random.Random(7)
    first = [retry_delay(Failure(TEMPORARY, "503"), 1, rng) for _ in range(50)]
    assert all(timedelta(seconds=8) <= d <= timedelta(seconds=12) for d in first)
    assert len(set(first)) > 40  # spread, so failed objects do not all come back together
    third = retry_delay(Failure(TEMPORARY, "503"), 3, rng)
    assert timedelta(seconds=32) <= third <= timedelta(seconds=48)
    assert retry_delay(Failure(TEMPORARY, "503"), 50, rng) <= timedelta(seconds=900 * 1.2)
    assert retry_delay(Failure(TEMPORARY, "429", retry_after=120.0), 1, rng) >= timedelta(seconds=120)


def test_permanent_delays_start_at_an_hour_and_double() -> None:
    delays = [retry_delay(Failure(PERMANENT, "403"), n) for n in (1, 2, 3)]
    assert delays == [timedelta(hours=1), timedelta(hours=2), timedelta(hours=4)]
    assert retry_delay(Failure(PERMANENT, "403"), 40) == timedelta(days=7)


def test_a_database_fault_while_saving_a_created_id_stops_the_pass_instead_of_failing_the_action() -> None:
    async def lost(_binding: Binding) -> None:
        raise psycopg.OperationalError("the connection is closed")

    async def main() -> None:
        async with Emulator() as emu:
            guild = emu.add_guild("G")
            create = CreateChannel(
                ObjectKey("g", "Channel", "ops"), "new", guild.id, {"name": "ops", "type": 0}
            )
            plan = ReconcilePlan(ObjectKey("g", "Guild", "g"), guild.id, (create,), {})
            disnake.http.Route.BASE = emu.base_url
            rest.retry_after_first(0.01)  # the tries are the point here, not the waits between them
            client = disnake.Client()
            try:
                await client.login(emu.token)
                with pytest.raises(psycopg.OperationalError, match="connection is closed"):
                    await execute(client.http, plan, 1, {}, datetime.now(UTC), checkpoint=lost)
            finally:
                await client.close()

    asyncio.run(main())
