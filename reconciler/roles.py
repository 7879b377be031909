"""Roles: create, adopt, update only what differs, one positions call when the order changed, prune.

The hierarchy is the specs' order (``rank``, 0 on top), below the bot's highest role. A role
that is managed by an integration, or at or above the bot's highest role, is never edited: a
spec that asks for a change to one is refused (a permanent error with the reason). Every
role the plan names is recorded in ``draft.role_refs`` (its id, or its key when it is created
in this pass), so the channels' overwrites planned next can name it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hlb.compiler.kinds.role import EVERYONE, color_value
from hlb.compiler.model import ObjectKey, SpecObject
from hlb.compiler.permissions import to_bits
from hlb.reconciler.actions import AdoptRole, Change, CreateRole, DeleteRole, Ref, ReorderRoles, UpdateRole
from hlb.reconciler.channels import change_reason
from hlb.reconciler.plan import Draft, GuildInput
from hlb.reconciler.state import DRIFTED, ObservedRole

FIELDS = ("name", "permissions", "color", "hoist", "mentionable", "unicode_emoji")


def plan(ctx: GuildInput, draft: Draft) -> None:
    desired = sorted(ctx.of_kind("Role"), key=lambda o: (o.spec.get("rank", -1), o.key.name))
    bound = ctx.bound("Role")
    taken = {b.discord_id for b in bound.values() if b.discord_id is not None}
    order: list[tuple[Ref, int | None]] = []  # the roles hlb places, top first, with their position
    for obj in desired:
        binding = bound.get(obj.key)
        observed = _everyone(ctx) if obj.key.name == EVERYONE else ctx.observed.role(
            binding.discord_id if binding else None
        )
        if binding is not None and binding.status != DRIFTED and ctx.held(obj):
            draft.waiting.append(obj.key)
            if observed is not None:
                draft.role_refs[obj.key.name] = observed.id
                order.append((observed.id, observed.position))
            continue
        reason = change_reason(binding, obj, observed)
        if observed is None and ctx.adopt_by_name:
            observed = _adoptable(ctx, obj, taken)
            if observed is not None:
                taken.add(observed.id)
                draft.actions.append(AdoptRole(obj.key, "adopt: by-name", observed.id))
                reason = "adopted; differs from the spec"
        if observed is None:
            draft.actions.append(CreateRole(obj.key, reason, ctx.observed.id, payload(obj)))
            draft.role_refs[obj.key.name] = obj.key
            order.append((obj.key, None))
            draft.settle(ctx, obj, discord_id=None, protect=bool(obj.spec.get("protect")))
            continue
        draft.role_refs[obj.key.name] = observed.id
        fields, changes = differences(obj, observed)
        refusal = refused(ctx, observed)
        if refusal is not None and fields:
            draft.refused[obj.key] = f"cannot change {', '.join(fields)}: {refusal}"
            continue
        draft.settle(ctx, obj, discord_id=observed.id, protect=bool(obj.spec.get("protect")))
        if fields:
            draft.actions.append(UpdateRole(obj.key, reason, ctx.observed.id, observed.id, fields, changes))
            if reason.startswith("drift"):
                draft.drifted.append(obj.key)
        if refusal is None and obj.key.name != EVERYONE:
            order.append((observed.id, observed.position))
    positions = reorder(order)
    if positions and ctx.held(ctx.guild):
        draft.hold(ctx, ctx.guild)
    elif positions:
        draft.actions.append(ReorderRoles(ctx.guild.key, "role order differs", ctx.observed.id, positions))
    _prune(ctx, draft, bound)


def payload(obj: SpecObject) -> dict[str, Any]:
    """The POST body of a new role: every field hlb manages."""
    return {f: v for f, v in _wanted(obj).items()}


def _wanted(obj: SpecObject) -> dict[str, Any]:
    """The Discord fields of ``obj`` as Discord stores them (permissions as a string of digits)."""
    spec = obj.spec
    out: dict[str, Any] = {"permissions": str(to_bits(spec.get("permissions") or ()))}
    if obj.key.name == EVERYONE:
        return out
    out.update(name=obj.key.name, color=color_value(str(spec.get("color", "#000000"))))
    out.update(hoist=bool(spec.get("hoist")), mentionable=bool(spec.get("mentionable")))
    if spec.get("unicode_emoji"):
        out["unicode_emoji"] = spec["unicode_emoji"]
    return out


def differences(obj: SpecObject, observed: ObservedRole) -> tuple[dict[str, Any], tuple[Change, ...]]:
    """The fields to PATCH (only those that differ) and the changes, for people."""
    have = {
        "name": observed.name,
        "permissions": str(observed.permissions),
        "color": observed.color,
        "hoist": observed.hoist,
        "mentionable": observed.mentionable,
        "unicode_emoji": observed.unicode_emoji,
    }
    fields = {f: v for f, v in _wanted(obj).items() if have[f] != v}
    return fields, tuple(Change(f, have[f], v) for f, v in fields.items())


def refused(ctx: GuildInput, observed: ObservedRole) -> str | None:
    """Why the bot may not edit ``observed``, or None when it may."""
    if observed.managed:
        return f"role {observed.name!r} is managed by an integration or a bot; Discord lets no one edit it"
    top = ctx.observed.bot_top
    if top is not None and observed.id != ctx.observed.id and observed.position >= top:
        return (f"role {observed.name!r} is at or above the bot's highest role (position "
                f"{observed.position}, the bot's is {top}); the bot cannot change a role above its own: "
                "move the bot's role above it in Server Settings > Roles")
    return None


def reorder(order: list[tuple[Ref, int | None]]) -> tuple[tuple[Ref, int], ...]:
    """The positions that put the roles in ``order`` (top first) in that order, or () when they are.

    A new role (position None) is created at position 1, just above @everyone, lifting every
    other role by one; the roles keep the positions they hold between them, in the specs' order.
    """
    new = sum(1 for _, position in order if position is None)
    lifted = [(ref, None if position is None else position + new) for ref, position in order]
    slots = sorted((p for _, p in lifted if p is not None), reverse=True) + list(range(new, 0, -1))
    placed = [p for _, p in lifted]
    if new == 0 and placed == slots:
        return ()
    if new == 1 and placed[-1] is None and placed[:-1] == slots[:-1]:
        return ()  # the one new role is the lowest: created where it belongs
    return tuple((ref, slot) for (ref, _), slot in zip(lifted, slots, strict=True))


def _everyone(ctx: GuildInput) -> ObservedRole | None:
    return ctx.observed.role(ctx.observed.id)


def _adoptable(ctx: GuildInput, obj: SpecObject, taken: set[int]) -> ObservedRole | None:
    for role in ctx.observed.roles:
        if role.id not in taken and role.id != ctx.observed.id and role.name == obj.key.name:
            return role
    return None


def _prune(ctx: GuildInput, draft: Draft, bound: Mapping[ObjectKey, Any]) -> None:
    desired = {o.key for o in ctx.of_kind("Role")}
    for key, binding in sorted(bound.items()):
        if key in desired:
            continue
        observed = ctx.observed.role(binding.discord_id)
        gone = observed is None or key.name == EVERYONE or observed.managed
        if not gone and ctx.prune and not binding.protect:
            assert observed is not None
            if refused(ctx, observed) is None:
                draft.actions.append(DeleteRole(key, "left the specs", ctx.observed.id, observed.id))
        draft.forget.append(key)
