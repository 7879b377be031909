"""Dashboard buttons and select menus: their custom ids, and the workflow runs they start.

A component's custom id is ``hlb:<dashboard>:<row>:<col>:<workflow>``. It runs its workflow only
while the running model's dashboard still declares that component there; a stale one gets an
ephemeral notice and its dashboard is re-rendered.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import disnake
from disnake.interactions import MessageInteraction

from hlb.bot.answers import actor_of, channel_context, run_for_interaction, short_error
from hlb.bot.context import BotContext
from hlb.compiler.model import SpecObject
from hlb.runtime.render import clip

# one logger for all the answers to interactions, wherever they are made
log = logging.getLogger("hlb.bot.interactions")

OUT_OF_DATE = "This button is out of date; the dashboard will be refreshed shortly."
SELECT_VALUES = "values"  # the input a select menu's chosen options arrive in
_CUSTOM_ID = re.compile(r"^hlb:([^:]+):(\d+):(\d+):([^:]+)$")


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
