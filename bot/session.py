"""Open what a reconcile needs: a logged-in disnake REST client, the database, an HTTP session.

``run_reconcile`` is the library function behind ``hlb reconcile``: one pass over REST,
no gateway. The token comes from the settings (``DISCORD_TOKEN``) and is never printed.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime
from typing import Any

import aiohttp
import disnake

from hlb.bot import rest
from hlb.bot.outcomes import Outcome
from hlb.bot.reconcile import GuildReport, ProgressHook, Session, load_model, reconcile_pass
from hlb.runtime.secrets import Secrets
from hlb.settings import ConfigError, Settings
from hlb.store import db


async def log_in(client: disnake.Client, settings: Settings) -> int:
    """Log ``client`` in with DISCORD_TOKEN (retrying outages) and return the application id.

    Every way this fails for a reason the user can fix is a ``ConfigError`` saying what to do."""
    token = settings.discord_token
    if not token:
        raise ConfigError("DISCORD_TOKEN is not set: export the bot token from the Discord developer portal")
    rest.point_at(settings.discord_api_base)
    rest.retry_after_first(settings.discord_retry_delay)

    async def attempt() -> None:
        try:
            await client.login(token)
        except BaseException:
            await client.http.close()  # disnake leaves the failed attempt's HTTP session open
            raise

    where = settings.discord_api_base or "discord.com"
    try:
        await rest.retrying(attempt, "login")
        info = await rest.retrying(client.application_info, "GET /oauth2/applications/@me")
    except disnake.LoginFailure:
        raise ConfigError("Discord refused the token in DISCORD_TOKEN: check it is the bot's token") from None
    except rest.RestError as error:
        raise ConfigError(f"cannot log in to Discord at {where}: {error}") from None
    return info.id


@asynccontextmanager
async def rest_client(settings: Settings) -> AsyncIterator[tuple[disnake.Client, int]]:
    """A disnake client logged in over REST (no gateway) and the application id."""
    client = disnake.Client()
    try:
        yield client, await log_in(client, settings)
    finally:
        await client.close()


@asynccontextmanager
async def open_session(
    settings: Settings, url: str, clock: Callable[[], datetime] | None = None
) -> AsyncIterator[Session]:
    async with rest_client(settings) as (client, application_id):
        conn = await db.connect_async(url, autocommit=True)
        try:
            async with aiohttp.ClientSession() as sources:
                session = Session(client.http, application_id, conn, Secrets.from_env(os.environ), sources)
                yield session if clock is None else replace(session, clock=clock)
        finally:
            await conn.close()


async def run_reconcile(
    settings: Settings,
    url: str,
    *,
    guild: str | None = None,
    dry_run: bool = False,
    on_outcome: Callable[[Outcome], Any] | None = None,
    clock: Callable[[], datetime] | None = None,
    retry_failed: bool = False,
    progress: ProgressHook | None = None,
) -> list[GuildReport]:
    """``hlb reconcile``: one pass over every guild of the applied model (or one guild)."""
    await asyncio.to_thread(db.ensure_schema, url, upgrade=False)
    model = await load_model(url)
    async with open_session(settings, url, clock) as session:
        return await reconcile_pass(
            session,
            model,
            guild=guild,
            dry_run=dry_run,
            on_outcome=on_outcome,
            retry_failed=retry_failed,
            progress=progress,
        )
