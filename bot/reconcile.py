"""One reconcile pass: read the applied model and bindings, observe each guild, plan, execute, record.

``reconcile_pass`` is what ``hlb reconcile`` runs and what the bot runs on ready, after
each apply and periodically. A dry run observes and plans but writes nothing, neither to
Discord nor to the database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import psycopg
from disnake.http import HTTPClient

from hlb.bot import rest
from hlb.bot.execute import execute
from hlb.bot.failures import MalformedReply
from hlb.bot.observe import GuildUnavailable, observe_guild
from hlb.bot.outcomes import Execution, Outcome, served
from hlb.compiler.model import Model, ObjectKey, SpecObject
from hlb.reconciler.plan import GuildInput, ReconcilePlan, guild_id_of, reconcile_guild
from hlb.reconciler.state import Binding, ObservedGuild, RenderedMessage
from hlb.runtime import render
from hlb.runtime.secrets import Secrets
from hlb.store import runtime_tables as runtime
from hlb.templating import limits

# How long a pass waits for one dashboard's render past the latest its templates may stop (their
# budget for the message, on the wall clock with its grace): room for a late limit check. Past it
# the dashboard fails alone.
RENDER_BACKSTOP_MARGIN = 1.0


@dataclass(frozen=True)
class GuildReport:
    """What a pass did in one guild: its plan and execution, or why it could not run."""

    guild: str
    plan: ReconcilePlan | None = None
    execution: Execution | None = None
    error: str | None = None
    problems: tuple[str, ...] = ()  # rendering problems (failing sources...), for people
    observed: ObservedGuild | None = None  # what the plan was made from (for field-level drift)

    @property
    def writes(self) -> int:
        """Discord writes: those the pass sent, or (dry run) those it would send."""
        if self.execution is not None:
            return self.execution.writes
        return len(self.plan.writes) if self.plan else 0

    @property
    def summary(self) -> str:
        """What the pass did here, for its log line: writes, drifted objects, failures, the error."""
        drifted = len(self.plan.drifted) if self.plan else 0
        error = f" error={self.error}" if self.error else ""
        return f"writes={self.writes} drifted={drifted} failed={self.failed}{error}"

    @property
    def held(self) -> int:
        """Objects left alone this pass because they failed before and are backing off."""
        return len(self.plan.waiting) if self.plan else 0

    @property
    def failed(self) -> int:
        if self.error:
            return 1
        failures = len(self.execution.failed) if self.execution else 0
        return failures + (len(self.plan.blocked) if self.plan else 0)


@dataclass(frozen=True)
class Options:
    """How a pass runs: ``dry_run`` writes nothing; ``retry_failed`` ignores failed objects' holds."""

    dry_run: bool = False
    retry_failed: bool = False


@dataclass(frozen=True)
class Progress:
    """How far a pass is in one guild: objects done (in sync, or their writes ended) of all."""

    guild: str
    done: int
    total: int


ProgressHook = Callable[[Progress], Any]


@dataclass(frozen=True)
class Session:
    """What a pass needs: Discord's REST client, the application id, the database, secrets."""

    http: HTTPClient
    application_id: int
    conn: psycopg.AsyncConnection[Any]
    secrets: Secrets
    sources: aiohttp.ClientSession
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)


async def load_model(url: str) -> Model:
    from hlb.store.apply import stored_model

    _revision, model = await asyncio.to_thread(stored_model, url)
    return model


async def reconcile_pass(
    session: Session,
    model: Model,
    *,
    guild: str | None = None,
    dry_run: bool = False,
    on_outcome: Callable[[Outcome], Any] | None = None,
    retry_failed: bool = False,
    progress: ProgressHook | None = None,
) -> list[GuildReport]:
    """Reconcile every guild of ``model`` (or the one named ``guild``).

    ``retry_failed`` tries failed objects now instead of waiting out their retry time;
    ``progress`` is called as objects get done (``hlb reconcile`` draws it on a terminal)."""
    guilds = [o for o in model.of_kind("Guild") if guild is None or o.key.name == guild]
    bindings = await runtime.load_bindings(session.conn, guild)
    reports = []
    for guild_obj in guilds:
        objects = [o for o in model if o.key.guild == guild_obj.key.name and o.key.kind != "Guild"]
        mine = {k: b for k, b in bindings.items() if k.guild == guild_obj.key.name}
        reports.append(
            await _reconcile_guild(
                session, guild_obj, objects, mine, Options(dry_run, retry_failed), on_outcome, progress
            )
        )
    return reports


async def _reconcile_guild(
    session: Session,
    guild: SpecObject,
    objects: list[SpecObject],
    bindings: dict[ObjectKey, Binding],
    options: Options,
    on_outcome: Callable[[Outcome], Any] | None,
    progress: ProgressHook | None = None,
) -> GuildReport:
    name = guild.key.name
    guild_id = guild_id_of(guild)
    if progress is not None:
        progress(Progress(name, 0, len(objects) + 1))
    try:
        observed = await observe_guild(session.http, guild_id, session.application_id, bindings.values())
    except (GuildUnavailable, rest.RestError, MalformedReply) as error:
        return GuildReport(name, error=str(error))
    now = session.clock()
    dashboards = [o for o in objects if o.key.kind == "Dashboard"]
    rendered, problems = await render_dashboards(session.sources, session.secrets, dashboards, now)
    plan = reconcile_guild(
        GuildInput(guild, objects, observed, bindings, rendered, now, options.retry_failed)
    )
    if options.dry_run:
        return GuildReport(name, plan, problems=problems, observed=observed)
    if progress is not None:
        on_outcome = _counting(name, plan, [guild, *objects], progress, on_outcome)

    async def checkpoint(binding: Binding) -> None:
        await runtime.save_bindings(session.conn, [binding])

    execution = await execute(
        session.http, plan, session.application_id, bindings, now, on_outcome, checkpoint=checkpoint
    )
    await _record(session.conn, name, execution)
    return GuildReport(name, plan, execution, problems=problems, observed=observed)


def _counting(
    guild: str,
    plan: ReconcilePlan,
    objects: list[SpecObject],
    progress: ProgressHook,
    on_outcome: Callable[[Outcome], Any] | None,
) -> Callable[[Outcome], None]:
    """An ``on_outcome`` that also counts objects done: an object is done when its last write ends."""
    left: dict[ObjectKey, int] = {}
    for action in plan.writes:
        for key in served(action):
            left[key] = left.get(key, 0) + 1
    total = len({o.key for o in objects} | set(left))
    done = total - len(left)
    progress(Progress(guild, done, total))

    def counted(outcome: Outcome) -> None:
        nonlocal done
        if on_outcome is not None:
            on_outcome(outcome)
        for key in served(outcome.action) if outcome.action.writes else ():
            left[key] -= 1
            if left[key] == 0:
                done += 1
        progress(Progress(guild, done, total))

    return counted


async def render_dashboards(
    sources: aiohttp.ClientSession,
    secrets: Secrets,
    dashboards: list[SpecObject],
    now: datetime,
    *,
    limit: float | None = None,
) -> tuple[dict[ObjectKey, RenderedMessage], tuple[str, ...]]:
    """Fetch every dashboard's sources (concurrently, each within its own timeout) and render it.

    Templates render in a worker thread, so the event loop (interactions, the gateway, SIGTERM)
    goes on meanwhile. A render still running after ``limit`` seconds (the template limits stop
    it well before) is that dashboard's failure: it is left out, so its message stays as it was,
    and its late result is dropped. ``limit`` defaults to this task's template limits' own
    wall-clock bound (``limits.message_seconds()`` and its grace) plus ``RENDER_BACKSTOP_MARGIN``."""
    if limit is None:
        limit = limits.message_seconds() + limits.WALL_GRACE_SECONDS + RENDER_BACKSTOP_MARGIN

    async def one(obj: SpecObject) -> RenderedMessage | str:
        data, problems = await render.fetch_sources(obj.spec, sources, secrets)
        work = render.in_thread(render.render_dashboard, obj, data, problems, now=now)
        try:
            return await asyncio.wait_for(work, limit)
        except TimeoutError:
            return f"rendering took longer than {limit:g} s; the message is left as it was"

    results = await asyncio.gather(*(one(o) for o in dashboards))
    rendered = {o.key: r for o, r in zip(dashboards, results, strict=True) if not isinstance(r, str)}
    problems = tuple(
        f"{o.key}: {p}"
        for o, r in zip(dashboards, results, strict=True)
        for p in ((r,) if isinstance(r, str) else r.problems)
    )
    return rendered, problems


async def _record(conn: psycopg.AsyncConnection[Any], guild: str, execution: Execution) -> None:
    events = [
        runtime.ReconcileEvent(
            key=o.action.key,
            guild=guild,
            action=o.action.verb,
            discord_id=o.discord_id or _target_id(o),
            detail={"reason": o.action.reason, **_detail(o), **(o.failure.detail() if o.failure else {})},
            outcome="ok" if o.ok else "error",
            error=o.error,
        )
        for o in execution.outcomes
        if o.action.writes
    ]
    async with conn.transaction():  # failures included: every action's outcome is on the log
        await runtime.save_bindings(conn, execution.bindings)
        await runtime.delete_bindings(conn, execution.forget)
        await runtime.record_events(conn, events)


def _target_id(outcome: Outcome) -> int | None:
    for name in ("channel_id", "message_id", "guild_id"):
        value = getattr(outcome.action, name, None)
        if isinstance(value, int):
            return value
    return None


def _detail(outcome: Outcome) -> dict[str, Any]:
    action = outcome.action
    fields = getattr(action, "fields", None)
    if fields is not None:
        return {"fields": sorted(fields)}
    if hasattr(action, "rendered_hash"):
        return {"rendered_hash": action.rendered_hash}
    if hasattr(action, "target"):
        return {"target": str(action.target)}
    return {}
