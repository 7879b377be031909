"""The long-running bot (``hlb bot run``): gateway, leader election, reconcile loop, schedules, refreshes.

Every replica connects to the gateway, follows applies (``LISTEN hlb_applied``) and serves interactions. One
replica, the holder of a Postgres advisory lock, is the leader: it reconciles (on start, after each apply, on
drift events, every ``resync`` seconds), fires schedules and refreshes live dashboards. When the leader dies
its session ends, the lock is released, and another replica takes over within ``election`` seconds.

Losing the database is a pause (``dblink``): every loop treats a lost connection the same way, the shared
connections are reopened with capped backoff, the listener reconnects, and leadership is claimed again on a
new session before the next pass, which covers everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import disnake
import psycopg

from hlb.bot import rest
from hlb.bot.context import BotContext
from hlb.bot.discord_metrics import GatewayWatch, watch_http
from hlb.bot.echoes import DriftWatch
from hlb.bot.health import Address, serving
from hlb.bot.metrics import BotMetrics, Snapshot
from hlb.bot.outcomes import Outcome, log_outcome
from hlb.bot.reconcile import GuildReport, Session, reconcile_pass
from hlb.bot.refresh import parse_request, refresh_dashboard, request_payload
from hlb.bot.session import log_in
from hlb.compiler.model import Model, ObjectKey, SpecObject
from hlb.reconciler.state import Binding
from hlb.runtime.conditions import Conditions
from hlb.runtime.invocation import due_refreshes, due_schedules
from hlb.runtime.secrets import Secrets
from hlb.settings import Settings
from hlb.store import db
from hlb.store import runtime_tables as runtime
from hlb.store.apply import preflight, stored_model
from hlb.store.dblink import LOST, Backoff, Links, when_up, why
from hlb.store.grants import check_bot_access_async
from hlb.store.leadership import Leadership
from hlb.templating import limits

REFRESH_CHANNEL = "hlb_refresh"  # any replica asks the leader to re-render a dashboard (or a guild)
STOP_WITHIN = 5.0  # seconds the bot's loops get to end once stopped (each asked again twice a second)
log = logging.getLogger("hlb.bot")


@dataclass(frozen=True)
class BotOptions:
    resync: float = 600.0  # seconds between full reconciles
    election: float = 5.0  # seconds between leadership attempts (and health checks)
    tick: float = 1.0  # seconds between schedule and dashboard-refresh checks
    debounce: float = 0.05  # events arriving together make one reconcile
    health: float = 2.0  # seconds between checks that the database connections still answer
    backoff: Backoff = field(default_factory=Backoff)  # between reconnection tries (capped at 5 s)
    metrics: Address | None = None  # where to serve /metrics, /healthz and /readyz (None: nowhere)
    template_seconds: float = limits.MAX_RENDER_SECONDS  # CPU time of one template render (x3: a message)


@dataclass
class Runner:
    """One bot process. ``run(stop)`` returns after ``stop`` is set (SIGTERM) and all is closed."""

    settings: Settings
    url: str
    options: BotOptions = field(default_factory=BotOptions)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    passes: int = 0  # reconcile passes made (tests and logs)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    _dirty: set[str | None] = field(default_factory=set)
    _dashboards: set[ObjectKey] = field(default_factory=set)  # refreshes asked for, one dashboard each
    _reload: bool = False
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _next_refresh: dict[ObjectKey, datetime] = field(default_factory=dict)
    _running: set[asyncio.Task[None]] = field(default_factory=set)  # scheduled runs in flight
    secrets: Secrets | None = None  # None: from this process's environment
    conditions: Conditions = field(default_factory=Conditions)  # logged once at start, once at end
    revision: int | None = None  # the applied revision the model is from
    metrics_address: Address | None = None  # where /metrics is served (the port bound, if 0 was asked)

    def __post_init__(self) -> None:
        self.drift = DriftWatch(self._bindings, self.request)  # gateway events: drift, or echoes
        self.metrics = BotMetrics.create(self._snapshot)  # this bot's own registry
        self.gateway = GatewayWatch(self.metrics)
        self.leadership = Leadership(self.url, self.options.election, lambda: self.request(None, reload=True))

    @property
    def leader(self) -> bool:
        """True while this replica's election session holds the leader lock."""
        return self.leadership.leader

    async def run(self, stop: asyncio.Event) -> None:
        limits.limit_time(self.options.template_seconds)  # for every task and thread started below
        intents = disnake.Intents.none()
        intents.guilds = intents.guild_messages = intents.emojis_and_stickers = True  # emojis: drift watch
        self.client = disnake.Client(intents=intents, chunk_guilds_at_startup=False, guild_ready_timeout=0.5)
        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(self.client.close)
            await self._serve(stack)  # /healthz answers while the database is waited for
            model = await when_up(self.url, lambda: preflight(self.url), stop, self.options.backoff)
            if model is not None:  # None: stopped before the database was up
                await self._start(stack, model, stop)
        log.info("event=stopped")

    async def _start(self, stack: contextlib.AsyncExitStack, model: Model, stop: asyncio.Event) -> None:
        """Log in, open the shared connections and run the loops until ``stop``."""
        watch_http(self.client.http, self.metrics)
        self.gateway.install(self.client)
        application_id = await log_in(self.client, self.settings)
        # "reconcile": bookkeeping and refresh requests; "runs": workflow runs and claims
        self.links = Links(self.url, ("reconcile", "runs"), self.options.backoff)
        stack.push_async_callback(self.links.close)
        await self.links.open()
        for problem in await check_bot_access_async(self.conn):
            log.warning("event=database_role problem=%r", problem)
        self.ctx = BotContext(
            application_id=application_id,
            sources=await stack.enter_async_context(aiohttp.ClientSession()),
            secrets=self.secrets or Secrets.from_env(os.environ),
            conn=self.links.conns["runs"],
            model=model,
            bindings=await runtime.load_bindings(self.conn),
            refresh=self._ask_refresh,
            metrics=self.metrics,
        )
        self._install_listeners()
        tasks = [
            asyncio.create_task(coro, name=name)
            for name, coro in (
                ("gateway", self.client.connect(reconnect=True)),
                ("election", self._resilient("election", self.leadership.run)),
                ("listen", self._resilient("listen", self._listen)),
                ("reconcile", self._resilient("reconcile", self._reconcile_loop)),
                ("ticker", self._resilient("ticker", self._ticker)),
                ("health", self._resilient("health", self._health)),
            )
        ]
        log.info("event=started application=%s", application_id)
        await self._until(stop, tasks)

    async def _until(self, stop: asyncio.Event, tasks: list[asyncio.Task[Any]]) -> None:
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
        left, deadline = {stopper, *tasks}, time.monotonic() + STOP_WITHIN
        while left and time.monotonic() < deadline:  # asked again: a library may swallow a cancellation
            for task in left:
                task.cancel()
            _, left = await asyncio.wait(left, timeout=STOP_WITHIN / 10)
        if left:  # stopping goes on without them: closing their connections ends them
            log.error("event=stop_slow tasks=%s", ",".join(sorted(t.get_name() for t in left)))
        for task in {stopper, *tasks} - left:  # every end looked at; a loop that ended alone is raised
            error = None if task.cancelled() else task.exception()
            if error is not None and task in done and task is not stopper:
                raise error

    async def _serve(self, stack: contextlib.AsyncExitStack) -> None:
        """Serve /metrics, /healthz and /readyz from this loop, where the options say (if anywhere)."""
        if self.options.metrics is not None:
            serve = serving(self.options.metrics, self.metrics.registry, self._readiness)
            self.metrics_address = await stack.enter_async_context(serve)
            log.info("event=metrics_listening addr=%s", self.metrics_address)

    def _readiness(self) -> dict[str, bool]:
        links: Links | None = getattr(self, "links", None)
        return {"database": links is not None and links.connected, "gateway": self.gateway.connected}

    def _snapshot(self) -> Snapshot:
        ctx: BotContext | None = getattr(self, "ctx", None)
        if ctx is None:
            return Snapshot(self.leader, self.revision)
        return Snapshot(self.leader, self.revision, ctx.model, ctx.bindings)

    @property
    def conn(self) -> psycopg.AsyncConnection[Any]:
        """The reconcile bookkeeping connection (a new one after the database came back)."""
        return self.links.conns["reconcile"]

    async def _resilient(self, name: str, loop: Callable[[], Awaitable[None]]) -> None:
        """Run ``loop`` forever: a lost database or Discord outage is logged and retried, not fatal."""
        failures = 0
        others = Backoff(first=1.0, cap=60.0)  # Discord or network trouble: no need to hurry
        while True:
            started, outages = time.monotonic(), self.links.outages
            try:
                await loop()
            except LOST as error:
                failures = failures if time.monotonic() - started < self.options.backoff.cap else 0
                recovered = await self._recover(error) or self.links.outages != outages
                if not recovered:
                    self.metrics.db_reconnects.inc()  # this loop's own session: opened again next
                if not recovered and failures == 0:  # the database answers: only this loop's session was lost
                    reason = why(self.url, error)
                    log.warning("event=connection_lost loop=%s error=%r; reopening", name, reason)
                delay = self.options.backoff.delay(failures)
            except (psycopg.Error, rest.RestError, aiohttp.ClientError, OSError) as error:
                failures = failures if time.monotonic() - started < others.cap else 0
                delay = others.delay(failures)
                kind = type(error).__name__
                # once when a streak of failures starts; the retries of that streak at debug level
                level = logging.ERROR if failures == 0 else logging.DEBUG
                log.log(level, "event=loop_error loop=%s error=%s retry_in=%.0fs", name, kind, delay)
            await asyncio.sleep(delay)
            failures += 1
            self.request(None, reload=True)  # whatever was missed, the next pass catches up

    async def _recover(self, error: Exception | None = None) -> bool:
        """Wait until the shared connections answer again; True when they had to be reopened."""
        if not await self.links.recover(error):
            return False
        self.metrics.db_reconnects.inc()
        self.ctx.conn = self.links.conns["runs"]
        self.leadership.check_now()  # the leader lock lived on a session too: check it now
        self.request(None, reload=True)
        return True

    async def _health(self) -> None:
        """Every ``health`` seconds, make sure the shared connections still answer."""
        while True:
            await asyncio.sleep(self.options.health)
            await self._recover()

    # -- following applies and refresh requests --------------------------------------------

    async def _listen(self) -> None:
        from hlb.store.apply import NOTIFY_CHANNEL

        conn = await db.connect_async(self.url, role="listen")
        try:
            await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
            await conn.execute(f"LISTEN {REFRESH_CHANNEL}")
            # Listening from now on; what was applied before (maybe while this session was
            # being reopened) is caught up by a full pass.
            self.request(None, reload=True)
            while True:
                async for notify in conn.notifies(timeout=self.options.health):
                    if notify.channel == NOTIFY_CHANNEL:
                        log.info("event=applied revision=%s", notify.payload)
                        self.request(None, reload=True)
                    else:
                        self._refresh_asked(notify.payload)
                await conn.execute("SELECT 1")  # a quiet session may be a dead one: ask it
        finally:
            await conn.close()

    async def _ask_refresh(self, guild: str, dashboard: str) -> None:
        """A workflow's ``refresh`` step: the leader (maybe another replica) re-renders that dashboard."""
        asked = request_payload(guild, dashboard)
        await self.conn.execute("SELECT pg_notify(%s, %s)", (REFRESH_CHANNEL, asked))

    def _refresh_asked(self, payload: str) -> None:
        guild, dashboard = parse_request(payload)
        if guild is None or dashboard is None:
            self.request(guild)
        else:
            self._dashboards.add(ObjectKey(guild, "Dashboard", dashboard))
            self._wake.set()

    # -- the reconcile loop -----------------------------------------------------------------

    def request(self, guild: str | None, *, reload: bool = False) -> None:
        """Ask for a reconcile of ``guild`` (None: every guild), reloading the model first if asked."""
        self._dirty.add(guild)
        self._reload = self._reload or reload
        self._wake.set()

    async def _reconcile_loop(self) -> None:
        while True:
            await self._wake.wait()
            await asyncio.sleep(self.options.debounce)
            self._wake.clear()
            dirty, self._dirty = self._dirty, set()
            dashboards, self._dashboards = self._dashboards, set()
            if self._reload:
                self._reload = False
                self.revision, self.ctx.model = await asyncio.to_thread(stored_model, self.url)
            if await self.leadership.leading():
                named: list[str | None] = [g for g in sorted(g for g in dirty if g)]
                guilds = [None] if None in dirty else named
                reports = [r for guild in guilds for r in await self._pass(guild)]
                passed = set(dirty)  # a guild's pass renders and edits all its dashboards
                for key in sorted(dashboards):
                    if None not in passed and key.guild not in passed:
                        refreshed = await self._refresh(key)
                        passed.update(r.guild for r in refreshed)  # fell back to a pass of its guild
                        reports += refreshed
                self.ctx.bindings = await runtime.load_bindings(self.conn)
                self.conditions.after_pass(reports, self.ctx.bindings.values())
                self.drift.after_pass()
            else:
                self.ctx.bindings = await runtime.load_bindings(self.conn)

    def _session(self) -> Session:
        ctx = self.ctx
        return Session(self.client.http, ctx.application_id, self.conn, ctx.secrets, ctx.sources, self.clock)

    async def _refresh(self, key: ObjectKey) -> list[GuildReport]:
        """One dashboard re-rendered and its message edited; a pass of its guild when that is not enough."""
        try:
            done = await refresh_dashboard(self._session(), self.ctx.model, key)
        except LOST:
            raise
        except psycopg.Error as error:
            log.error("event=refresh key=%s outcome=error error=%s", key, type(error).__name__)
            return []
        for problem in done.problems:
            log.warning("event=render guild=%s problem=%r", key.guild, problem)
        if done.needs_pass is None:
            log.info("event=refresh key=%s edited=%s", key, str(done.edited).lower())
            return []
        log.info("event=refresh key=%s pass=true reason=%r", key, done.needs_pass)
        return await self._pass(key.guild)

    async def _pass(self, guild: str | None) -> list[GuildReport]:
        session = self._session()
        self.drift.passing = True
        started = time.perf_counter()
        try:
            reports = await reconcile_pass(session, self.ctx.model, guild=guild, on_outcome=self._wrote)
        except LOST:
            raise  # the database is lost: the loop recovers, then reconciles everything
        except (rest.RestError, psycopg.Error) as error:
            log.error("event=reconcile guild=%s outcome=error error=%s", guild or "*", error)
            return []
        except Exception as error:  # nothing Discord sends may end the bot; a fault is hlb's bug,
            what = f"{type(error).__name__}: {error}"  # and its traceback is what a report of it needs
            log.error("event=reconcile guild=%s outcome=fault error=%s", guild or "*", what, exc_info=True)
            return []
        finally:
            self.drift.passing = False
        self.passes += 1
        done = [r.guild for r in reports if r.error is None]
        self.metrics.passed(time.perf_counter() - started, done, self.clock().timestamp())
        for report in reports:
            log.info("event=reconcile guild=%s %s", report.guild, report.summary)
        self.ready.set()
        return reports

    def _wrote(self, outcome: Outcome) -> None:
        log_outcome(outcome)
        if outcome.action.writes:
            self.metrics.acted(outcome.action.key, outcome.action.verb, outcome.ok)
        self.drift.echoes.wrote(outcome)

    # -- schedules, live dashboards, periodic resync -----------------------------------------

    async def _ticker(self) -> None:
        next_resync = self.clock() + timedelta(seconds=self.options.resync)
        while True:
            await asyncio.sleep(self.options.tick)
            now = self.clock()
            if not self.leader:
                continue
            if now >= next_resync:
                next_resync = now + timedelta(seconds=self.options.resync)
                self.request(None, reload=True)
                await runtime.forget_old_claims(self.conn, timedelta(hours=1))
            for workflow, slot in due_schedules(self.ctx.model, now):
                if await runtime.claim_slot(self.conn, workflow, slot):
                    log.info("event=schedule workflow=%s slot=%s", workflow.key, slot.isoformat())
                    run = asyncio.create_task(self._run_scheduled(workflow))
                    self._running.add(run)
                    run.add_done_callback(self._running.discard)
            for guild in due_refreshes(self.ctx.model, now, self._next_refresh):
                self.request(guild)

    async def _run_scheduled(self, workflow: SpecObject) -> None:
        from hlb.bot.interactions import run_scheduled

        try:
            await run_scheduled(self.client, self.ctx, workflow)
        except Exception:  # a fault in one run must not stop the bot
            log.exception("event=workflow workflow=%s trigger=schedule outcome=fault", workflow.key)

    # -- gateway events on managed objects ---------------------------------------------------

    def _install_listeners(self) -> None:
        from hlb.bot import interactions

        interactions.install(self.client, self.ctx)
        self.client.add_listener(self._on_ready, "on_ready")
        self.drift.install(self.client)

    def _bindings(self) -> dict[ObjectKey, Binding]:
        return self.ctx.bindings

    async def _on_ready(self) -> None:
        log.info("event=gateway_ready guilds=%d", len(self.client.guilds))
        self.request(None, reload=True)
