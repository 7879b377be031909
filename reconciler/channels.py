"""Channels: create, adopt, update only what differs, set overwrites without a window, reorder, prune.

Categories are planned before their children so a child's parent can be a category
created in the same pass (a ``Ref`` to its key). Overwrites are compared as a complete
set per channel: missing or different ones are put first (phase PUT_OVERWRITES), extra
ones removed afterwards (DELETE_OVERWRITES), so no moment has fewer restrictions *and*
fewer grants than both the old and the new set.

Values are compared as Discord stores them (``same``), so a comparison does not see a
difference Discord would erase: it trims names and topics, stores an empty topic as none,
lowercases text channel names and joins their words with hyphens, and sends numbers and
permission bitfields as strings or ints alike.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from hlb.compiler.enums import CHANNEL_TYPES
from hlb.compiler.model import ObjectKey, SpecObject
from hlb.compiler.permissions import to_bits
from hlb.reconciler import damping
from hlb.reconciler.actions import (
    AdoptChannel,
    Change,
    CreateChannel,
    DeleteChannel,
    DeleteOverwrite,
    PutOverwrite,
    Ref,
    ReorderChannels,
    UpdateChannel,
)
from hlb.reconciler.plan import Draft, GuildInput
from hlb.reconciler.state import DRIFTED, ObservedChannel, ObservedOverwrite

TOPIC_TYPES = frozenset({0, 5, 15})  # text, announcement, forum
SLOWMODE_TYPES = frozenset({0, 2, 13, 15})
NSFW_TYPES = frozenset({0, 2, 5, 13, 15})
VOICE_TYPES = frozenset({2, 13})
CONVERTIBLE = frozenset({0, 5})  # Discord converts text <-> announcement in place

# target (a role created in this pass: its key) -> (type, allow, deny, label)
Overwrites = dict[Ref, tuple[int, int, int, str]]


class UnknownRole(Exception):
    """A permission entry names a role the guild does not have."""


def plan(ctx: GuildInput, draft: Draft) -> None:
    desired = sorted(ctx.of_kind("Channel"), key=_create_order)
    bound = ctx.bound("Channel")
    taken = {b.discord_id for b in bound.values() if b.discord_id is not None}
    positions: list[tuple[Ref, int]] = []
    for obj in desired:
        binding = bound.get(obj.key)
        if damping.held(ctx, obj, binding, ctx.observed):
            assert binding is not None and binding.discord_id is not None
            draft.channel_refs[obj.key] = binding.discord_id
            draft.damped.append(obj.key)  # its binding stays as it is: drifted, with the fields
            continue
        if binding is not None and binding.status != DRIFTED and ctx.held(obj):
            draft.waiting.append(obj.key)
            if binding.discord_id is not None:
                draft.channel_refs[obj.key] = binding.discord_id
            continue
        try:
            overwrites = desired_overwrites(ctx, obj, draft.role_refs)
        except UnknownRole as error:
            draft.blocked[obj.key] = str(error)
            continue
        observed = ctx.observed.channel(binding.discord_id if binding else None)
        parent = _parent_ref(ctx, draft, obj)
        if isinstance(parent, ObjectKey) and (parent in draft.blocked or parent in draft.waiting):
            draft.blocked[obj.key] = f"its category {parent.name} is not reconciled yet"
            continue
        reason = change_reason(binding, obj, observed)
        if observed is not None and observed.type != _type(obj) and not _convertible(observed, obj):
            reason = "type changed: re-created"
            draft.actions.append(DeleteChannel(obj.key, reason, observed.id, observed.type == 4))
            observed = None
        if observed is None and ctx.adopt_by_name:
            observed = _adoptable(ctx, obj, parent, taken)
            if observed is not None:
                taken.add(observed.id)
                draft.actions.append(AdoptChannel(obj.key, "adopt: by-name", observed.id))
                reason = "adopted; differs from the spec"
        if observed is None:
            draft.actions.append(
                CreateChannel(obj.key, reason, ctx.observed.id, create_payload(obj, overwrites), parent)
            )
            draft.channel_refs[obj.key] = obj.key
            if reason.startswith("drift"):
                draft.drifted.append(obj.key)
            draft.settle(ctx, obj, discord_id=None, protect=bool(obj.spec.get("protect")))
            continue
        draft.channel_refs[obj.key] = observed.id
        before, moved = len(draft.actions), len(positions)
        draft.settle(ctx, obj, discord_id=observed.id, protect=bool(obj.spec.get("protect")))
        _update(draft, obj, observed, parent, reason)
        _overwrites(draft, obj, observed, overwrites, reason)
        if damping.damp(ctx, draft, obj, binding, before, reason):
            continue
        position = obj.spec.get("position")
        if position is not None and observed.position != position:
            positions.append((observed.id, int(position)))
        if reason.startswith("drift") and (len(draft.actions) > before or len(positions) > moved):
            draft.drifted.append(obj.key)
    if positions and ctx.held(ctx.guild):
        draft.hold(ctx, ctx.guild)  # the last reorder failed: wait like any object
    elif positions:
        draft.actions.append(
            ReorderChannels(ctx.guild.key, "position differs", ctx.observed.id, tuple(positions))
        )
    _prune(ctx, draft, bound)


def _create_order(obj: SpecObject) -> tuple[int, Any, str]:
    return (0 if obj.spec.get("type") == "category" else 1, obj.spec.get("position") or 0, obj.key.name)


def _type(obj: SpecObject) -> int:
    return CHANNEL_TYPES[str(obj.spec.get("type", "text"))]


def _convertible(observed: ObservedChannel, obj: SpecObject) -> bool:
    return observed.type in CONVERTIBLE and _type(obj) in CONVERTIBLE


def _display_name(obj: SpecObject) -> str:
    return str(obj.spec.get("display_name") or obj.key.name)


def change_reason(binding: Any, obj: SpecObject, observed: object | None) -> str:
    """Why an object is written: new, missing, changed in Discord (drift) or in the spec (any kind)."""
    if binding is None or binding.discord_id is None:
        return "new"
    if observed is None:
        return "drift: deleted in Discord" if binding.spec_hash == obj.hash else "missing in Discord"
    return "drift: changed in Discord" if binding.spec_hash == obj.hash else "spec changed"


def _parent_ref(ctx: GuildInput, draft: Draft, obj: SpecObject) -> Ref | None:
    category = obj.spec.get("category")
    if not category:
        return None
    key = ctx.key("Channel", str(category))
    return draft.channel_refs.get(key, key)


def resolve_target(
    ctx: GuildInput, entry: Mapping[str, Any], roles: Mapping[str, Ref] | None = None
) -> tuple[Ref, int, str]:
    """An overwrite entry's (target, type, label): @everyone, a role name or id, or a member id.

    A role name is first a Role spec (``roles``: its id, or its key when it is created in this
    pass), then a role of the guild as observed."""
    if "member" in entry:
        return int(entry["member"]), 1, f"member {entry['member']}"
    role = str(entry["role"])
    if role == "@everyone":
        return ctx.observed.id, 0, "@everyone"
    if role.isdigit():
        return int(role), 0, f"role {role}"
    if roles and role in roles:
        return roles[role], 0, f"role {role}"
    matches = [r.id for r in ctx.observed.roles if r.name == role]
    if len(matches) != 1:
        problem = "has no role" if not matches else f"has {len(matches)} roles"
        raise UnknownRole(
            f"guild {ctx.guild.key.name} {problem} named {role!r}; add a Role spec named {role!r}, "
            f"create it in Discord, or use the role id in the channel's permissions"
        )
    return matches[0], 0, f"role {role}"


def desired_overwrites(
    ctx: GuildInput, obj: SpecObject, roles: Mapping[str, Ref] | None = None
) -> Overwrites:
    result: Overwrites = {}
    for entry in obj.spec.get("permissions") or ():
        target, kind, label = resolve_target(ctx, entry, roles)
        result[target] = (kind, to_bits(entry.get("allow") or ()), to_bits(entry.get("deny") or ()), label)
    return result


def create_payload(obj: SpecObject, overwrites: Overwrites) -> dict[str, Any]:
    """The POST body for a new channel (parent_id is added by the executor)."""
    kind = _type(obj)
    body: dict[str, Any] = {"name": _display_name(obj), "type": kind}
    body.update({f: v for f, v in _settings(obj, kind).items() if v is not None})
    if obj.spec.get("position") is not None:
        body["position"] = int(obj.spec["position"])
    body["permission_overwrites"] = [  # a role created in this pass: its key, resolved when executed
        {"id": target if isinstance(target, ObjectKey) else str(target), "type": t, "allow": str(allow),
         "deny": str(deny)}
        for target, (t, allow, deny, _label) in sorted(overwrites.items(), key=_target_order)
    ]
    return body


def _target_order(item: tuple[Ref, Any]) -> tuple[int, int | str]:
    target = item[0]
    return (0, target) if isinstance(target, int) else (1, target.name)


def _settings(obj: SpecObject, kind: int) -> dict[str, Any]:
    """The type-dependent fields hlb manages, as Discord names them, with their desired values."""
    spec = obj.spec
    fields: dict[str, Any] = {}
    if kind in TOPIC_TYPES:
        fields["topic"] = spec.get("topic") or None
    if kind in NSFW_TYPES:
        fields["nsfw"] = bool(spec.get("nsfw", False))
    if kind in SLOWMODE_TYPES:
        fields["rate_limit_per_user"] = int(spec.get("slowmode") or 0)
    if kind in VOICE_TYPES:
        for name in ("bitrate", "user_limit"):
            if spec.get(name) is not None:
                fields[name] = int(spec[name])
    return fields


def _observed_value(observed: ObservedChannel, field: str) -> Any:
    values = {
        "name": observed.name,
        "type": observed.type,
        "topic": observed.topic or None,
        "nsfw": observed.nsfw,
        "rate_limit_per_user": observed.slowmode,
        "bitrate": observed.bitrate,
        "user_limit": observed.user_limit,
        "parent_id": observed.parent_id,
    }
    return values[field]


def _update(
    draft: Draft, obj: SpecObject, observed: ObservedChannel, parent: Ref | None, reason: str
) -> None:
    kind = _type(obj)
    wanted: dict[str, Any] = {"name": _display_name(obj), "type": kind, **_settings(obj, kind)}
    fields = {f: v for f, v in wanted.items() if not same(f, v, _observed_value(observed, f), kind)}
    pending_parent: Ref | None = None
    if isinstance(parent, ObjectKey):
        pending_parent = parent  # its category is created in this pass: resolved when executed
    elif parent != observed.parent_id:
        fields["parent_id"] = parent
    if not fields and pending_parent is None:
        return
    changes = tuple(Change(f, _observed_value(observed, f), v) for f, v in fields.items())
    if pending_parent is not None:
        changes += (Change("parent_id", observed.parent_id, str(pending_parent)),)
    draft.actions.append(UpdateChannel(obj.key, reason, observed.id, fields, changes, pending_parent))


def _overwrites(
    draft: Draft, obj: SpecObject, observed: ObservedChannel, desired: Overwrites, reason: str
) -> None:
    current: dict[int, ObservedOverwrite] = {o.target: o for o in observed.overwrites}
    for target, (kind, allow, deny, label) in sorted(desired.items(), key=_target_order):
        have = current.get(target) if isinstance(target, int) else None
        if have is None or (have.type, have.allow, have.deny) != (kind, allow, deny):
            draft.actions.append(PutOverwrite(obj.key, reason, observed.id, target, kind, allow, deny, label))
    for target in sorted(set(current) - set(desired)):
        draft.actions.append(DeleteOverwrite(obj.key, reason, observed.id, target))


def _adoptable(
    ctx: GuildInput, obj: SpecObject, parent: Ref | None, taken: set[int]
) -> ObservedChannel | None:
    if isinstance(parent, ObjectKey):
        return None  # its category is new: nothing inside it can exist yet
    for channel in ctx.observed.channels:
        if (
            channel.id not in taken
            and channel.type == _type(obj)
            and same("name", _display_name(obj), channel.name, channel.type)
            and channel.parent_id == parent
        ):
            return channel
    return None


def _prune(ctx: GuildInput, draft: Draft, bound: Mapping[ObjectKey, Any]) -> None:
    desired = {o.key for o in ctx.of_kind("Channel")}
    for key, binding in sorted(bound.items()):
        if key in desired:
            continue
        observed = ctx.observed.channel(binding.discord_id)
        if observed is not None and ctx.prune and not binding.protect:
            draft.actions.append(DeleteChannel(key, "left the specs", observed.id, observed.type == 4))
        draft.forget.append(key)


# Values as Discord stores them.

# Channel types whose names Discord lowercases and hyphenates: text, announcement, forum.
SLUG_NAMED = frozenset({0, 5, 15})
INT_FIELDS = frozenset({"type", "rate_limit_per_user", "bitrate", "user_limit", "parent_id", "position"})
_SPACES = re.compile(r"\s+")


def channel_value(field: str, value: Any, kind: int) -> Any:
    """``value`` of channel ``field`` (Discord's field name) as Discord would store it."""
    if value is None:
        return None
    if field == "name":
        name = str(value).strip()
        return _SPACES.sub("-", name.lower()) if kind in SLUG_NAMED else name
    if field == "topic":
        return str(value).strip() or None
    if field == "nsfw":
        return bool(value)
    if field in INT_FIELDS:
        return _int(value)
    return value


def same(field: str, desired: Any, observed: Any, kind: int) -> bool:
    """True when Discord would store ``desired`` as ``observed`` for channel ``field``."""
    return channel_value(field, desired, kind) == channel_value(field, observed, kind)


def _int(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return value
