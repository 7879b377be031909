"""The guild's own settings: one PATCH with only the settings the spec names and Discord does not have.

A setting absent from the spec is never compared nor sent. Enumerations go out as
Discord's numbers (``hlb.compiler.enums``); the channel settings name Channel specs,
resolved to the id the channel planner found or adopted (the Guild plans last), or, for a
channel created in this very pass, by the executor once it exists (the update runs after
every channel phase).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hlb.compiler.enums import DEFAULT_NOTIFICATIONS, EXPLICIT_CONTENT_FILTERS, VERIFICATION_LEVELS
from hlb.compiler.model import SpecObject
from hlb.reconciler.actions import Change, Ref, UpdateGuild
from hlb.reconciler.plan import Draft, GuildInput

# spec key -> (Discord's field, spec name -> Discord value)
ENUM_SETTINGS: Mapping[str, tuple[str, Mapping[str, int]]] = {
    "verification_level": ("verification_level", VERIFICATION_LEVELS),
    "default_notifications": ("default_message_notifications", DEFAULT_NOTIFICATIONS),
    "explicit_content_filter": ("explicit_content_filter", EXPLICIT_CONTENT_FILTERS),
}
PLAIN_SETTINGS: Mapping[str, str] = {
    "afk_timeout": "afk_timeout",
    "preferred_locale": "preferred_locale",
    "description": "description",
}
CHANNEL_SETTINGS: Mapping[str, str] = {
    "system_channel": "system_channel_id",
    "rules_channel": "rules_channel_id",
    "afk_channel": "afk_channel_id",
}
# Every Discord field of the guild a Guild spec can set (what the bot's drift watch compares).
DISCORD_FIELDS = frozenset(field for field, _values in ENUM_SETTINGS.values()) | frozenset(
    [*PLAIN_SETTINGS.values(), *CHANNEL_SETTINGS.values()]
)


def plan(ctx: GuildInput, draft: Draft) -> None:
    guild = ctx.guild
    seen = ctx.observed.settings
    fields: dict[str, Any] = {}
    for key, value in desired_fields(guild).items():
        if _plain(seen.get(key)) != _plain(value):
            fields[key] = value
    channels: list[tuple[str, Ref]] = []
    for setting, field_name in CHANNEL_SETTINGS.items():
        if setting in guild.spec:
            ref = _channel_ref(ctx, draft, str(guild.spec[setting]))
            if ref != _int(seen.get(field_name)):
                channels.append((field_name, ref))
    if not fields and not channels:
        return
    if ctx.held(guild):
        draft.hold(ctx, guild)  # the last update failed and backs off: its binding keeps the failure
        return
    changes = tuple(Change(f, seen.get(f), v) for f, v in fields.items())
    changes += tuple(Change(f, seen.get(f), str(ref)) for f, ref in channels)
    draft.actions.append(
        UpdateGuild(guild.key, _reason(ctx), ctx.observed.id, fields, changes, tuple(channels))
    )


def desired_fields(guild: SpecObject) -> dict[str, Any]:
    """The non-channel settings the spec names, as Discord's fields and values."""
    spec = guild.spec
    fields: dict[str, Any] = {}
    for setting, (field_name, values) in ENUM_SETTINGS.items():
        if setting in spec:
            fields[field_name] = values[str(spec[setting])]
    for setting, field_name in PLAIN_SETTINGS.items():
        if setting in spec:
            fields[field_name] = spec[setting]
    return fields


def _channel_ref(ctx: GuildInput, draft: Draft, name: str) -> Ref:
    """The id of channel ``name`` as the channel planner found or adopted it, or its key when it is
    created in this pass; else from its binding when it exists (a channel held back this pass)."""
    key = ctx.key("Channel", name)
    if key in draft.channel_refs:
        return draft.channel_refs[key]
    binding = ctx.bindings.get(key)
    if binding is not None and ctx.observed.channel(binding.discord_id) is not None:
        assert binding.discord_id is not None
        return binding.discord_id
    return key


def _reason(ctx: GuildInput) -> str:
    binding = ctx.bindings.get(ctx.guild.key)
    return "drift: changed in Discord" if binding and binding.spec_hash == ctx.guild.hash else "spec changed"


def _plain(value: Any) -> Any:
    """Discord stores an empty description as none."""
    return None if value == "" else value


def _int(value: Any) -> int | None:
    return int(value) if value not in (None, "") else None
