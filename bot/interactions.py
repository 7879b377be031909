"""Slash commands, dashboard buttons and select menus: the bot's answers to Discord interactions.

``install`` adds two listeners to a plain ``disnake.Client`` (no disnake command tree, so
nothing of disnake's own command sync fights the reconciler's bulk overwrite): one for
application commands, one for message components. Each claims the interaction first
(``hlb_runtime.interaction_claims``: with several replicas, one answers), finds the spec
objects behind it in the running model, and then

- a Command with ``reply`` answers with its rendered templates (one type-4 callback);
- a Command with ``workflow``, a button or a select builds an ``Invocation`` and runs the
  workflow through the engine (``hlb.bot.workflows.run_workflow``) with ``DiscordEffects``.

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
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import disnake
from disnake.interactions import ApplicationCommandInteraction, Interaction, MessageInteraction

from hlb.bot.context import BotContext
from hlb.bot.effects import DEFERRED_UPDATE, DiscordEffects
from hlb.bot.invocation import Actor, Invocation, Message, StepFailed
from hlb.bot.render import MAX_CONTENT, clip
from hlb.compiler.model import SpecObject
from hlb.compiler.templates import RenderError

log = logging.getLogger("hlb.bot.interactions")

NOT_MANAGED = "This command is not managed by hlb any more."
OUT_OF_DATE = "This button is out of date; the dashboard will be refreshed shortly."
DONE = "Done."
SELECT_VALUES = "values"  # the input a select menu's chosen options arrive in
SLOW_STEPS = ("http", "refresh")  # steps that may take longer than Discord's 3 seconds
MAX_SHORT = 200  # characters of an error shown to the user or logged
_CUSTOM_ID = re.compile(r"^hlb:([^:]+):(\d+):(\d+):([^:]+)$")
_TOKENISH = re.compile(r"/(webhooks|interactions)/(\d+)/[^/\s]+")


# --- what an interaction names --------------------------------------------------------------------


@dataclass(frozen=True)
class ComponentRef:
    """What a dashboard component's custom id names: ``hlb:<dashboard>:<row>:<col>:<workflow>``."""

    dashboard: str
    row: int
    col: int
    workflow: str


def parse_custom_id(custom_id: str) -> ComponentRef | None:
    """The parts of an hlb custom id, or None for any other format."""
    match = _CUSTOM_ID.match(custom_id or "")
    if match is None:
        return None
    return ComponentRef(match[1], int(match[2]), int(match[3]), match[4])


def declares(dashboard: SpecObject, ref: ComponentRef, kind: str) -> bool:
    """Whether ``dashboard`` still has a ``kind`` ("button"/"select") at ``ref``'s place, for its workflow."""
    rows = dashboard.spec.get("components") or []
    if not 0 <= ref.row < len(rows) or not 0 <= ref.col < len(rows[ref.row]):
        return False
    component = rows[ref.row][ref.col]
    body = component.get(kind) if isinstance(component, Mapping) else None
    return isinstance(body, Mapping) and body.get("workflow") == ref.workflow


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


def channel_context(inter: Interaction) -> dict[str, Any]:
    channel = inter.channel
    name = getattr(channel, "name", None)
    return {"id": str(inter.channel_id), "name": name, "mention": f"<#{inter.channel_id}>"}


def guild_context(guild: SpecObject) -> dict[str, Any]:
    """``guild`` in templates, as the workflow engine gives it: the Discord id and the spec name."""
    return {"id": str(guild.spec.get("id", "")), "name": guild.key.name}


def render_reply(reply: Mapping[str, Any], context: Mapping[str, Any]) -> Message:
    """A command's normalized reply (``{content, embeds, ephemeral}``) rendered into Discord's JSON.

    Raises ``RenderError`` (a template failed) or ``StepFailed`` (it renders empty), as a reply step does.
    """
    from hlb.bot.steps import build_message

    return build_message(reply, context)


def _guild_named(ctx: BotContext, name: str) -> SpecObject | None:
    return next((g for g in ctx.model.of_kind("Guild") if g.key.name == name), None)


# --- handlers -------------------------------------------------------------------------------------


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
    try:
        message = render_reply(command.spec["reply"], context)
    except (RenderError, StepFailed) as error:
        log.warning("event=reply_failed command=%s error=%r", command.key, clip(str(error), MAX_SHORT))
        await effects.notify(clip(f"/{command.key.name} could not answer: {error}", MAX_CONTENT))
        return
    await effects.reply(message)


def _current(ctx: BotContext, inter: MessageInteraction) -> tuple[SpecObject, SpecObject] | None:
    """``(guild, workflow)`` of a component the running model still declares, else None."""
    ref = parse_custom_id(inter.data.custom_id)
    guild = ctx.guild_by_id(inter.guild_id)
    if ref is None or guild is None:
        return None
    dashboard = ctx.get(guild.key.name, "Dashboard", ref.dashboard)
    workflow = ctx.get(guild.key.name, "Workflow", ref.workflow)
    kind = "button" if inter.data.component_type is disnake.ComponentType.button else "select"
    if dashboard is None or workflow is None or not declares(dashboard, ref, kind):
        return None
    return guild, workflow


async def handle_component(client: disnake.Client, ctx: BotContext, inter: MessageInteraction) -> None:
    """A dashboard button or select: run the workflow it names, if the dashboard still declares it."""
    found = _current(ctx, inter)
    if found is None:
        await inter.response.send_message(OUT_OF_DATE, ephemeral=True)
        custom_id = clip(inter.data.custom_id, 100)
        log.info("event=stale_component custom_id=%r guild=%s", custom_id, inter.guild_id)
        await _refresh_stale(ctx, inter)
        return
    guild, workflow = found
    is_button = inter.data.component_type is disnake.ComponentType.button
    inputs: dict[str, Any] = {} if is_button else {SELECT_VALUES: list(inter.data.values or [])}
    trigger = "button" if is_button else "select"
    extra = {"channel": channel_context(inter)}
    actor = actor_of(inter.author)
    await run_for_interaction(client, ctx, inter, guild, workflow, trigger, actor, inputs, extra)


async def _refresh_stale(ctx: BotContext, inter: MessageInteraction) -> None:
    """Re-render the dashboard a stale component came from, if the model still has it."""
    ref = parse_custom_id(inter.data.custom_id)
    guild = ctx.guild_by_id(inter.guild_id)
    if ref is None or guild is None or ctx.get(guild.key.name, "Dashboard", ref.dashboard) is None:
        return
    try:
        await ctx.refresh(guild.key.name, ref.dashboard)
    except Exception as error:  # the user has an answer; the next reconcile re-renders anyway
        log.warning("event=refresh_failed dashboard=%s error=%r", ref.dashboard, short_error(error, inter))


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
    if allowed and is_slow(workflow):
        ephemeral = first_reply_ephemeral(workflow)
        # A component whose workflow never replies acknowledges silently (deferred update);
        # one that replies gets its own (maybe ephemeral) message, never an edit of the dashboard.
        update = ephemeral is None and isinstance(inter, MessageInteraction)
        await effects.defer(ephemeral=True if ephemeral is None else ephemeral, update=update)
    from hlb.bot.workflows import run_workflow  # the engine, imported when first needed

    invocation = Invocation(
        guild=guild,
        workflow=workflow,
        trigger=trigger,
        actor=actor,
        channel_id=inter.channel_id,
        inputs=dict(inputs),
        extra_context=dict(extra),
    )
    result = await run_workflow(invocation, effects, http=ctx.sources, secrets=ctx.secrets, conn=ctx.conn)
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
    from hlb.bot.workflows import run_workflow

    invocation = Invocation(guild=guild, workflow=workflow, trigger="schedule")
    effects = DiscordEffects(client, ctx, guild)
    result = await run_workflow(invocation, effects, http=ctx.sources, secrets=ctx.secrets, conn=ctx.conn)
    log.info(
        "event=workflow workflow=%s trigger=schedule run=%s outcome=%s",
        workflow.key,
        result.run_id,
        result.status,
    )
    return result


# --- listeners ------------------------------------------------------------------------------------


def scrub(text: str, inter: Interaction | None = None) -> str:
    """``text`` without interaction tokens (webhook and callback URLs carry them)."""
    if inter is not None and inter.token:
        text = text.replace(inter.token, "***")
    return _TOKENISH.sub(lambda m: f"/{m[1]}/{m[2]}/***", text)


def short_error(error: BaseException, inter: Interaction | None = None) -> str:
    return clip(scrub(f"{type(error).__name__}: {error}".rstrip(": "), inter), MAX_SHORT)


async def _claim(ctx: BotContext, inter: Interaction) -> bool:
    """True when this replica answers ``inter`` (always, without a database)."""
    if ctx.conn is None:
        return True
    from hlb.bot.schedules import claim_interaction

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
        if await _claim(ctx, inter):
            await _guarded(f"/{inter.data.name}", inter, handle_command(client, ctx, inter))

    async def on_message_interaction(inter: MessageInteraction) -> None:
        if await _claim(ctx, inter):
            await _guarded("component", inter, handle_component(client, ctx, inter))

    client.add_listener(on_application_command, "on_application_command")
    client.add_listener(on_message_interaction, "on_message_interaction")
