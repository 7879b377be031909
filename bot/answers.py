"""Running a workflow for an interaction or a schedule, and closing the interaction with a notice.

The part shared by slash commands (``hlb.bot.interactions``) and dashboard components
(``hlb.bot.components``): who acted and where, the ``allowed_roles`` check, deferring a workflow
that may outlast Discord's 3 seconds, the run through the engine with ``DiscordEffects``, the
ephemeral "Done." or failure notice, and errors made safe to show (no interaction tokens).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import disnake
from disnake.interactions import Interaction, MessageInteraction

from hlb.bot.context import BotContext
from hlb.bot.effects import DEFERRED_UPDATE, DiscordEffects
from hlb.compiler.model import SpecObject
from hlb.runtime.invocation import Actor, Invocation
from hlb.runtime.render import MAX_CONTENT, clip

if TYPE_CHECKING:
    from hlb.runtime.workflows import RunResult

# one logger for all the answers to interactions, wherever they are made
log = logging.getLogger("hlb.bot.interactions")

DONE = "Done."
SLOW_STEPS = ("http", "refresh")  # steps that may take longer than Discord's 3 seconds
DEFER_WITHIN = 1.5  # seconds any other run may take before its interaction is deferred
MAX_SHORT = 200  # characters of an error shown to the user or logged
_TOKENISH = re.compile(r"/(webhooks|interactions)/(\d+)/[^/\s]+")


def _steps(workflow: SpecObject) -> list[Mapping[str, Any]]:
    return [s for s in workflow.spec.get("steps") or [] if isinstance(s, Mapping)]


def is_slow(workflow: SpecObject) -> bool:
    """A workflow that may outlast Discord's 3 seconds (an http or refresh step): defer it first."""
    return any(kind in step for step in _steps(workflow) for kind in SLOW_STEPS)


def first_reply_ephemeral(workflow: SpecObject) -> bool | None:
    """Whether the workflow's first reply step is ephemeral; None when it has no reply step."""
    for step in _steps(workflow):
        if "reply" in step:
            reply = step["reply"]
            return bool(reply.get("ephemeral")) if isinstance(reply, Mapping) else False
    return None


def is_allowed(workflow: SpecObject, actor: Actor | None) -> bool:
    """``allowed_roles`` (names or ids) against the actor's roles; no list means everyone."""
    allowed = workflow.spec.get("allowed_roles")
    if not allowed:
        return True
    if actor is None:
        return False
    mine = set(actor.role_names) | {str(r) for r in actor.roles}
    return any(str(role) in mine for role in allowed)


def actor_of(user: disnake.User | disnake.Member) -> Actor:
    """Who acted: id, display name, role ids (from the interaction) and the names the cache knows."""
    role_ids = tuple(int(r) for r in getattr(user, "_roles", ()) or ())
    names: list[str] = []
    if isinstance(user, disnake.Member):
        guild = user.guild
        for role_id in role_ids:
            role = guild.get_role(role_id) if isinstance(guild, disnake.Guild) else None
            if role is not None and not role.is_default():
                names.append(role.name)
    return Actor(id=user.id, name=user.display_name, roles=role_ids, role_names=tuple(names))


def channel_context(inter: Interaction) -> dict[str, Any]:
    channel = inter.channel
    name = getattr(channel, "name", None)
    return {"id": str(inter.channel_id), "name": name, "mention": f"<#{inter.channel_id}>"}


def _guild_named(ctx: BotContext, name: str) -> SpecObject | None:
    return next((g for g in ctx.model.of_kind("Guild") if g.key.name == name), None)


def _sentence(text: str) -> str:
    text = text.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


async def run_for_interaction(
    client: disnake.Client,
    ctx: BotContext,
    inter: Interaction,
    guild: SpecObject,
    workflow: SpecObject,
    trigger: str,
    actor: Actor,
    inputs: Mapping[str, Any],
    extra: Mapping[str, Any],
) -> None:
    """Check roles, defer a slow workflow, run it, and close the interaction with a notice if needed.

    A member without an allowed role is not deferred: the engine refuses the run at once (and
    records the refusal) without running a step, and the answer is immediate.
    """
    name = workflow.key.name
    effects = DiscordEffects(client, ctx, guild, inter)
    allowed = is_allowed(workflow, actor)
    ephemeral = first_reply_ephemeral(workflow)
    # A component whose workflow never replies acknowledges silently (deferred update);
    # one that replies gets its own (maybe ephemeral) message, never an edit of the dashboard.
    update = ephemeral is None and isinstance(inter, MessageInteraction)
    private = True if ephemeral is None else ephemeral
    defer = functools.partial(effects.defer, ephemeral=private, update=update)
    if allowed and is_slow(workflow):
        await defer()
    invocation = Invocation(
        guild=guild,
        workflow=workflow,
        trigger=trigger,
        actor=actor,
        channel_id=inter.channel_id,
        inputs=dict(inputs),
        extra_context=dict(extra),
    )
    running = asyncio.ensure_future(_run(ctx, invocation, effects))
    try:
        if not (await asyncio.wait({running}, timeout=DEFER_WITHIN))[0]:  # slow steps (a busy
            # machine, templates at their limit): acknowledged before Discord's 3 seconds end
            with contextlib.suppress(disnake.HTTPException, disnake.InteractionTimedOut):  # run on
                await defer()
        result = await running
    finally:
        running.cancel()  # the handler stopped (the bot is stopping): so does the run
    log.info(
        "event=workflow workflow=%s trigger=%s user=%s run=%s outcome=%s",
        workflow.key,
        trigger,
        actor.id,
        result.run_id,
        result.status,
    )
    if result.status == "refused":  # roles, or inputs that do not fit the workflow
        refusal = f"You are not allowed to run {name}." if not allowed else _sentence(result.error or name)
        await effects.notify(clip(refusal, MAX_CONTENT))
    elif result.status != "ok":
        await effects.notify(clip(f"{name} failed: {result.error or 'unknown error'}", MAX_CONTENT))
    elif effects.replies == 0 and effects.state != DEFERRED_UPDATE:
        await effects.notify(DONE)


async def run_scheduled(client: disnake.Client, ctx: BotContext, workflow: SpecObject) -> Any:
    """A schedule fired: run ``workflow`` with no actor and no interaction (replies are no-ops)."""
    guild = _guild_named(ctx, workflow.key.guild)
    if guild is None:
        log.warning(
            "event=workflow workflow=%s trigger=schedule outcome=skipped reason=no-guild", workflow.key
        )
        return None
    invocation = Invocation(guild=guild, workflow=workflow, trigger="schedule")
    result = await _run(ctx, invocation, DiscordEffects(client, ctx, guild))
    log.info(
        "event=workflow workflow=%s trigger=schedule run=%s outcome=%s",
        workflow.key,
        result.run_id,
        result.status,
    )
    return result


async def _run(ctx: BotContext, invocation: Invocation, effects: DiscordEffects) -> RunResult:
    """Run the workflow through the engine and count the run in the bot's metrics."""
    from hlb.runtime.workflows import run_workflow  # the engine, imported when first needed

    result = await run_workflow(invocation, effects, http=ctx.sources, secrets=ctx.secrets, conn=ctx.conn)
    if ctx.metrics is not None:
        ctx.metrics.workflow_ran(invocation.workflow.key, result)
    return result


def scrub(text: str, inter: Interaction | None = None) -> str:
    """``text`` without interaction tokens (webhook and callback URLs carry them)."""
    if inter is not None and inter.token:
        text = text.replace(inter.token, "***")
    return _TOKENISH.sub(lambda m: f"/{m[1]}/{m[2]}/***", text)


def short_error(error: BaseException, inter: Interaction | None = None) -> str:
    return clip(scrub(f"{type(error).__name__}: {error}".rstrip(": "), inter), MAX_SHORT)
