"""Commands: one bulk overwrite of the guild's slash commands when the normalized sets differ.

Both sides are reduced to the fields hlb manages, with Discord's defaults dropped, so
what Discord adds to a command (ids, versions, defaults) never looks like a difference.
Equal sets make zero calls. Guild commands of the bot's application that no spec
declares are removed only when the guild prunes; otherwise they are sent back unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from hlb.compiler.enums import OPTION_TYPES
from hlb.compiler.model import SpecObject
from hlb.compiler.permissions import to_bits
from hlb.reconciler import damping
from hlb.reconciler.actions import OverwriteCommands
from hlb.reconciler.plan import Draft, GuildInput
from hlb.reconciler.state import payload_hash

_OPTION_BOUNDS = ("min_value", "max_value", "min_length", "max_length")
_MANAGED = ("type", "name", "description", "options", "default_member_permissions", "nsfw")


def command_payload(obj: SpecObject) -> dict[str, Any]:
    """The Discord JSON of one Command object (a chat-input command)."""
    spec = obj.spec
    body: dict[str, Any] = {"type": 1, "name": obj.key.name, "description": spec["description"]}
    options = [_option_payload(o) for o in spec.get("options") or ()]
    if options:
        body["options"] = options
    perms = spec.get("default_member_permissions")
    if perms is not None:
        body["default_member_permissions"] = str(to_bits(perms))
    return body


def _option_payload(option: Mapping[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": OPTION_TYPES[option["type"]],
        "name": option["name"],
        "description": option.get("description") or option["name"],
    }
    if option.get("required"):
        body["required"] = True
    if option.get("choices"):
        body["choices"] = [{"name": str(c["name"]), "value": c["value"]} for c in option["choices"]]
    for bound in _OPTION_BOUNDS:
        if option.get(bound) is not None:
            body[bound] = option[bound]
    return body


def normalize(command: Mapping[str, Any]) -> dict[str, Any]:
    """A command reduced to the managed fields, defaults dropped: equal means no call needed."""
    out: dict[str, Any] = {}
    for field in _MANAGED:
        value = command.get(field)
        if field == "type":
            value = value or 1
        elif field == "options":
            value = [_normalize_option(o) for o in value or ()] or None
        elif field == "default_member_permissions" and value is not None:
            value = str(value)
        elif field == "nsfw":
            value = value or None
        if value is not None:
            out[field] = value
    return out


def _normalize_option(option: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: option[k] for k in ("type", "name", "description") if k in option}
    if option.get("required"):
        out["required"] = True
    if option.get("choices"):
        out["choices"] = [{"name": c["name"], "value": c["value"]} for c in option["choices"]]
    for key in (*_OPTION_BOUNDS, "channel_types", "autocomplete"):
        if option.get(key) not in (None, False, []):
            out[key] = option[key]
    return out


def normalized_set(commands: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return sorted((normalize(c) for c in commands), key=lambda c: (c.get("type", 1), c["name"]))


def plan(ctx: GuildInput, draft: Draft) -> None:
    desired_objs = sorted(ctx.of_kind("Command"), key=lambda o: o.key.name)
    bound = ctx.bound("Command")
    payload = [command_payload(o) for o in desired_objs]
    if not ctx.prune and ctx.observed.commands is not None:
        declared = {c["name"] for c in payload}
        payload += [normalize(c) for c in ctx.observed.commands if c.get("name") not in declared]
    payload.sort(key=lambda c: (c.get("type", 1), c["name"]))
    rendered_hash = payload_hash(normalized_set(payload))
    for obj in desired_objs:
        draft.settle(ctx, obj, discord_id=_observed_id(ctx, obj.key.name), rendered_hash=rendered_hash)
    draft.forget.extend(k for k in sorted(bound) if k not in draft.targets)
    if ctx.observed.commands is None:
        return  # not read: nothing to compare against
    if normalized_set(ctx.observed.commands) == normalized_set(payload):
        return
    holders = desired_objs or [ctx.guild]  # whose bindings carry the overwrite's failure
    if all(ctx.held(o) for o in holders):
        for obj in holders:
            draft.hold(ctx, obj)
        return
    reason = "commands differ" if desired_objs or bound else "undeclared commands"
    if any(b.rendered_hash == rendered_hash for b in bound.values()):
        reason = "drift: commands changed in Discord"
        draft.drifted.extend(o.key for o in desired_objs)
    first = len(draft.actions)
    draft.actions.append(
        OverwriteCommands(
            ctx.guild.key,
            reason,
            ctx.observed.id,
            tuple(payload),
            rendered_hash,
            tuple(o.key for o in desired_objs),
        )
    )
    # a set the server does not keep: the first holder counts the overwrites, all are drifted
    lead, *others = holders
    if lead.key not in draft.targets:
        return
    if damping.damp(ctx, draft, lead, ctx.bindings.get(lead.key), first, reason):
        drifted = draft.targets[lead.key]
        for obj in others:
            draft.targets[obj.key] = damping.drifted_like(drifted, draft.targets[obj.key], obj)


def _observed_id(ctx: GuildInput, name: str) -> int | None:
    """The id Discord gave command ``name``; None when absent or not a snowflake."""
    for command in ctx.observed.commands or ():
        if command.get("name") == name and command.get("type", 1) == 1:
            value = command.get("id")
            return int(value) if isinstance(value, (int, str)) and str(value).isdigit() else None
    return None
