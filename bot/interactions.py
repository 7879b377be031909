"""Slash commands, dashboard buttons and select menus: the bot's answers to Discord interactions.

``install`` adds two listeners to a plain ``disnake.Client`` (no disnake command tree, so
nothing of disnake's own command sync fights the reconciler's bulk overwrite): one for
application commands, one for message components. Each claims the interaction first
(``hlb_runtime.interaction_claims``: with several replicas, one answers), finds the spec
objects behind it in the running model, and then

- a Command with ``reply`` answers with its rendered templates (one type-4 callback; templates
  render in a worker thread, and when they take over ``DEFER_AFTER`` the command is deferred
  first and the reply replaces the "thinking..." message);
- a Command with ``workflow``, a button or a select builds an ``Invocation`` and runs the
  workflow through the engine (``hlb.runtime.workflows.run_workflow``) with ``DiscordEffects``.

``allowed_roles`` is checked first: a member without an allowed role is never deferred, and the
engine refuses (and records) the run without running a step, so the refusal is immediate. A
workflow with an ``http`` or ``refresh`` step may outlast Discord's 3 seconds: it is deferred
first, and its replies become the deferred answer and followups. A run that ends without a
reply gets an ephemeral "Done." (or "<workflow> failed: ..."). No exception leaves a listener:
it is logged in one line and the user gets an ephemeral "Something went wrong: ...".

Option values reach templates as plain values: strings, integers, numbers, booleans; a user,
channel, role or mentionable as its id (a string). Their names are in ``resolved.<option>``
(``{id, name, mention, type}``), next to ``options`` in a reply template and in
``extra_context`` of a run.

This module holds the listeners and the slash commands; ``hlb.bot.components`` the buttons and
selects, ``hlb.bot.answers`` the workflow runs and notices both share (their public names are
re-exported here).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import disnake
from disnake.interactions import ApplicationCommandInteraction, Interaction, MessageInteraction

from hlb.bot.answers import (
    DONE,
    MAX_SHORT,
    SLOW_STEPS,
    actor_of,
    channel_context,
    first_reply_ephemeral,
    is_allowed,
    is_slow,
    run_for_interaction,
    run_scheduled,
    scrub,
    short_error,
)
from hlb.bot.components import (
    OUT_OF_DATE,
    SELECT_VALUES,
    ComponentRef,
    declares,
    handle_component,
    parse_custom_id,
)
from hlb.bot.context import BotContext
from hlb.bot.discord_metrics import answering
from hlb.bot.effects import DiscordEffects
from hlb.compiler.model import SpecObject
from hlb.runtime.invocation import Actor, Message, StepFailed
from hlb.runtime.render import MAX_CONTENT, clip, in_thread
from hlb.templating.engine import RenderError

__all__ = [
    "DONE",
    "MAX_SHORT",
    "NOT_MANAGED",
    "OUT_OF_DATE",
    "SELECT_VALUES",
    "SLOW_STEPS",
    "ComponentRef",
    "actor_of",
    "channel_context",
    "command_options",
    "declares",
    "first_reply_ephemeral",
    "guild_context",
    "handle_command",
    "handle_component",
    "install",
    "is_allowed",
    "is_slow",
    "parse_custom_id",
    "render_reply",
    "run_for_interaction",
    "run_scheduled",
    "scrub",
    "short_error",
]

log = logging.getLogger("hlb.bot.interactions")

NOT_MANAGED = "This command is not managed by hlb any more."
DEFER_AFTER = 0.05  # seconds a reply's templates may take before the command is deferred


# --- slash commands -------------------------------------------------------------------------------


def _named(value: Any, raw: str, type_name: str) -> dict[str, Any]:
    name = getattr(value, "display_name", None) or getattr(value, "name", None)
    if isinstance(value, disnake.Role):
        mention = f"<@&{raw}>"
    elif isinstance(value, disnake.abc.User):
        mention = f"<@{raw}>"
    elif type_name == "channel":
        mention = f"<#{raw}>"
    else:
        mention = None
    kind = "role" if isinstance(value, disnake.Role) else "user" if type_name == "mentionable" else type_name
    return {"id": raw, "name": str(name) if name is not None else None, "mention": mention, "type": kind}


def command_options(inter: ApplicationCommandInteraction) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(options, resolved)``: values by option name, and names of users, channels and roles given."""
    options: dict[str, Any] = {}
    resolved: dict[str, Any] = {}
    for option in inter.data.options:
        raw = option.get("value")
        if raw is None:
            continue  # a subcommand or group: hlb declares none
        kind = option.type
        if kind is disnake.OptionType.string:
            options[option.name] = str(raw)
        elif kind is disnake.OptionType.integer:
            options[option.name] = int(raw)
        elif kind is disnake.OptionType.number:
            options[option.name] = float(raw)
        elif kind is disnake.OptionType.boolean:
            options[option.name] = bool(raw)
        elif kind in (
            disnake.OptionType.user,
            disnake.OptionType.channel,
            disnake.OptionType.role,
            disnake.OptionType.mentionable,
        ):
            options[option.name] = str(raw)
            resolved[option.name] = _named(option.value, str(raw), kind.name)
        else:
            options[option.name] = raw
    return options, resolved


def guild_context(guild: SpecObject) -> dict[str, Any]:
    """``guild`` in templates, as the workflow engine gives it: the Discord id and the spec name."""
    return {"id": str(guild.spec.get("id", "")), "name": guild.key.name}


def render_reply(reply: Mapping[str, Any], context: Mapping[str, Any]) -> Message:
    """A command's normalized reply (``{content, embeds, ephemeral}``) rendered into Discord's JSON.

    Raises ``RenderError`` (a template failed) or ``StepFailed`` (it renders empty), as a reply step does.
    """
    from hlb.runtime.steps import build_message

    return build_message(reply, context)


async def handle_command(
    client: disnake.Client, ctx: BotContext, inter: ApplicationCommandInteraction
) -> None:
    """A slash command: answer its reply, or run its workflow."""
    guild = ctx.guild_by_id(inter.guild_id)
    command = ctx.get(guild.key.name, "Command", inter.data.name) if guild is not None else None
    if guild is None or command is None:
        await inter.response.send_message(NOT_MANAGED, ephemeral=True)
        return
    options, resolved = command_options(inter)
    actor = actor_of(inter.author)
    channel = channel_context(inter)
    if "reply" in command.spec:
        await _reply_command(client, ctx, inter, guild, command, actor, options, resolved)
        return
    name = str(command.spec.get("workflow"))
    workflow = ctx.get(guild.key.name, "Workflow", name)
    if workflow is None:
        text = f"This command is out of date: its workflow {name} no longer exists."
        await inter.response.send_message(text, ephemeral=True)
        return
    extra = {"channel": channel, "resolved": resolved}
    await run_for_interaction(client, ctx, inter, guild, workflow, "command", actor, options, extra)


async def _reply_command(
    client: disnake.Client,
    ctx: BotContext,
    inter: ApplicationCommandInteraction,
    guild: SpecObject,
    command: SpecObject,
    actor: Actor,
    options: dict[str, Any],
    resolved: dict[str, Any],
) -> None:
    context = {
        "options": options,
        "inputs": options,
        "resolved": resolved,
        "user": actor.context(),
        "member": actor.context(),
        "guild": guild_context(guild),
        "channel": channel_context(inter),
        "now": datetime.now(UTC),
    }
    effects = DiscordEffects(client, ctx, guild, inter)
    reply = command.spec["reply"]
    rendering = asyncio.ensure_future(in_thread(render_reply, reply, context))  # off the loop
    if not (await asyncio.wait({rendering}, timeout=DEFER_AFTER))[0]:  # slow templates: "thinking..."
        await effects.defer(ephemeral=isinstance(reply, Mapping) and bool(reply.get("ephemeral")))
    try:
        message = await rendering
    except (RenderError, StepFailed) as error:
        log.warning("event=reply_failed command=%s error=%r", command.key, clip(str(error), MAX_SHORT))
        await effects.notify(clip(f"/{command.key.name} could not answer: {error}", MAX_CONTENT))
        return
    await effects.reply(message)


# --- listeners ------------------------------------------------------------------------------------


async def _claim(ctx: BotContext, inter: Interaction) -> bool:
    """True when this replica answers ``inter`` (always, without a database)."""
    if ctx.conn is None:
        return True
    from hlb.store.runtime_tables import claim_interaction

    try:
        return await claim_interaction(ctx.conn, inter.id)
    except Exception as error:  # the database is down: answering twice beats never answering
        log.warning("event=claim_failed interaction=%s error=%r", inter.id, short_error(error))
        return True


async def _guarded(what: str, inter: Interaction, handler: Any) -> None:
    try:
        await handler
    except Exception as error:
        short = short_error(error, inter)
        log.error(
            "event=interaction_failed what=%s interaction=%s guild=%s error=%r",
            what,
            inter.id,
            inter.guild_id,
            short,
        )
        await _apologize(inter, short)


async def _apologize(inter: Interaction, short: str) -> None:
    text = clip(f"Something went wrong: {short}", MAX_CONTENT)
    try:
        if not inter.response.is_done():
            await inter.response.send_message(text, ephemeral=True)
        else:
            await inter.followup.send(text, ephemeral=True)
    except Exception as error:  # expired, or Discord unreachable: the log line is all we can do
        log.warning("event=apology_failed interaction=%s error=%r", inter.id, short_error(error, inter))


def install(client: disnake.Client, ctx: BotContext) -> None:
    """Answer slash commands and dashboard components of ``ctx``'s model on ``client``."""

    async def on_application_command(inter: ApplicationCommandInteraction) -> None:
        if inter.data.type is not disnake.ApplicationCommandType.chat_input:
            return
        with answering(ctx.metrics):  # from receipt: the claim is part of the time to answer
            if await _claim(ctx, inter):
                await _guarded(f"/{inter.data.name}", inter, handle_command(client, ctx, inter))

    async def on_message_interaction(inter: MessageInteraction) -> None:
        with answering(ctx.metrics):
            if await _claim(ctx, inter):
                await _guarded("component", inter, handle_component(client, ctx, inter))

    client.add_listener(on_application_command, "on_application_command")
    client.add_listener(on_message_interaction, "on_message_interaction")
