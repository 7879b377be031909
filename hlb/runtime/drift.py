"""Field-level drift for ``hlb status --live``: what a dry-run plan would change, as desired vs seen.

The reconciler's plan already knows what differs: an ``UpdateChannel`` carries its
``changes`` (field, seen, desired), an overwrite action its target and bits, a reorder its
positions. ``plan_fields`` turns each write of one guild's plan into ``FieldDrift`` rows
keyed by the object they serve, reading the observed guild only to say what Discord holds
now (an overwrite's bits, a channel's position). Nothing here calls Discord or the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, assert_never

from hlb.compiler.enums import CHANNEL_TYPE_NAMES
from hlb.compiler.model import ObjectKey
from hlb.compiler.permissions import from_bits
from hlb.reconciler.actions import (
    Action,
    AdoptChannel,
    AdoptEmoji,
    AdoptRole,
    CreateChannel,
    CreateEmoji,
    CreateRole,
    DeleteChannel,
    DeleteEmoji,
    DeleteMessage,
    DeleteOverwrite,
    DeleteRole,
    EditMessage,
    OverwriteCommands,
    PostMessage,
    PutOverwrite,
    ReorderChannels,
    ReorderRoles,
    UpdateChannel,
    UpdateEmoji,
    UpdateGuild,
    UpdateRole,
)
from hlb.reconciler.commands import normalize
from hlb.reconciler.plan import ReconcilePlan
from hlb.reconciler.state import ObservedGuild, ObservedOverwrite

Value = str | int | bool | None  # what a field holds, as JSON can carry it

PRESENT, MISSING, ABSENT = "exists", "missing", "absent"
NO_OVERWRITE = "no overwrite"
RENDER_CHANGED = "render changed"  # the reason reconciler/dashboards.py gives a data-only edit


@dataclass(frozen=True)
class FieldDrift:
    """One field of one object: the value hlb applied (``desired``) and the one Discord shows."""

    field: str
    desired: Value
    seen: Value

    def text(self) -> str:
        """``topic: desired "x", seen "y"`` (values as JSON: quoted, control characters escaped)."""
        return f"{self.field}: desired {show(self.desired)}, seen {show(self.seen)}"


def show(value: Value) -> str:
    import json

    return "none" if value is None else json.dumps(value, ensure_ascii=False)


def plan_fields(plan: ReconcilePlan, observed: ObservedGuild) -> dict[ObjectKey, tuple[FieldDrift, ...]]:
    """Every object a plan writes to, with the fields it would change (in the plan's order).

    A dashboard edited only because its rendered data changed is not a difference: its spec
    and its message are as applied, the next refresh posts the new numbers."""
    owners = {b.discord_id: k for k, b in plan.bindings.items() if b.discord_id is not None}
    out: dict[ObjectKey, list[FieldDrift]] = {}
    for action in plan.writes:
        if isinstance(action, EditMessage) and action.reason == RENDER_CHANGED:
            continue  # fresh data (or the clock) for a dashboard: Discord still shows what hlb applied
        for key, drift in _action_fields(action, observed, owners, plan):
            rows = out.setdefault(key, [])
            if drift not in rows:
                rows.append(drift)
    return {k: tuple(v) for k, v in out.items()}


def _action_fields(
    action: Action, observed: ObservedGuild, owners: Mapping[int, ObjectKey], plan: ReconcilePlan
) -> list[tuple[ObjectKey, FieldDrift]]:
    key = action.key
    match action:
        case UpdateChannel():
            return [(key, FieldDrift(c.field, _value(c.new), _value(c.old))) for c in action.changes]
        case PutOverwrite():
            channel = observed.channel(action.channel) if isinstance(action.channel, int) else None
            have = _overwrite(channel.overwrites if channel else (), action.target)
            want = overwrite_words(action.allow, action.deny)
            return [(key, FieldDrift(f"permissions of {action.label or action.target}", want, have))]
        case DeleteOverwrite():
            channel = observed.channel(action.channel_id)
            have = _overwrite(channel.overwrites if channel else (), action.target)
            who = target_label(observed, action.target)
            return [(key, FieldDrift(f"permissions of {who}", NO_OVERWRITE, have))]
        case CreateChannel():
            if _recreated(plan, key) is not None:
                return []  # the DeleteChannel before it says why: its type
            return [(key, FieldDrift("channel", PRESENT, MISSING))]
        case DeleteChannel():
            create = _recreated(plan, key)
            if create is not None:
                channel = observed.channel(action.channel_id)
                seen = CHANNEL_TYPE_NAMES.get(channel.type) if channel else None
                wanted = CHANNEL_TYPE_NAMES.get(create.payload.get("type", 0))
                return [(key, FieldDrift("type", wanted, seen))]
            return [(key, FieldDrift("channel", ABSENT, PRESENT))]
        case ReorderChannels():
            return [_position(observed, owners, ref, position, key) for ref, position in action.positions]
        case PostMessage():
            return [(key, FieldDrift("message", PRESENT, MISSING))]
        case EditMessage():
            return [(key, FieldDrift("message", f"render {action.rendered_hash[:12]}", "an older render"))]
        case DeleteMessage():
            return [(key, FieldDrift("message", ABSENT if key not in plan.bindings else "moved", PRESENT))]
        case OverwriteCommands():
            return _commands(action, observed)
        case AdoptChannel() | AdoptRole() | AdoptEmoji():
            return []  # binds an object that is already as the spec says: no write, no difference
        case UpdateRole():
            return [(key, FieldDrift(c.field, _value(c.new), _value(c.old))) for c in action.changes]
        case CreateRole():
            return [(key, FieldDrift("role", PRESENT, MISSING))]
        case DeleteRole():
            return [(key, FieldDrift("role", ABSENT, PRESENT))]
        case ReorderRoles():
            return [(key, FieldDrift("role order", "as in the specs", "different"))]
        case UpdateGuild() | UpdateEmoji():
            return [(key, FieldDrift(c.field, _value(c.new), _value(c.old))) for c in action.changes]
        case CreateEmoji():
            return [(key, FieldDrift("emoji", PRESENT, MISSING))]
        case DeleteEmoji():
            gone = key not in plan.bindings
            return [(key, FieldDrift("emoji", ABSENT if gone else "a new image", PRESENT))]
        case _:
            assert_never(action)


def _recreated(plan: ReconcilePlan, key: ObjectKey) -> CreateChannel | None:
    """The CreateChannel of ``key`` when the plan also deletes it (a type Discord cannot convert)."""
    kinds = {type(a) for a in plan.writes if a.key == key}
    if DeleteChannel not in kinds:
        return None
    return next((a for a in plan.writes if a.key == key and isinstance(a, CreateChannel)), None)


def _position(
    observed: ObservedGuild,
    owners: Mapping[int, ObjectKey],
    ref: int | ObjectKey,
    position: int,
    guild: ObjectKey,
) -> tuple[ObjectKey, FieldDrift]:
    if isinstance(ref, ObjectKey):
        return ref, FieldDrift("position", position, None)
    channel = observed.channel(ref)
    return owners.get(ref, guild), FieldDrift("position", position, channel.position if channel else None)


def _commands(action: OverwriteCommands, observed: ObservedGuild) -> list[tuple[ObjectKey, FieldDrift]]:
    seen = {str(c.get("name")): normalize(c) for c in observed.commands or ()}
    wanted = {str(c["name"]): normalize(c) for c in action.payload}
    rows: list[tuple[ObjectKey, FieldDrift]] = []
    for key in action.commands:
        have = seen.get(key.name)
        if have is None:
            rows.append((key, FieldDrift("command", PRESENT, MISSING)))
        elif have != wanted.get(key.name):
            rows.append((key, FieldDrift("definition", "as in the spec", "changed in Discord")))
    extra = sorted(set(seen) - set(wanted))
    if extra:
        names = ", ".join("/" + n for n in extra)
        rows.append((action.key, FieldDrift("undeclared commands", None, names)))
    return rows or [(action.key, FieldDrift("commands", "as in the specs", "differ"))]


def overwrite_words(allow: int, deny: int) -> str:
    """``allow view_channel, send_messages; deny none``: an overwrite's bits as permission names."""
    allowed = ", ".join(from_bits(allow)) or "none"
    denied = ", ".join(from_bits(deny & ~allow)) or "none"
    return f"allow {allowed}; deny {denied}"


def _overwrite(overwrites: tuple[ObservedOverwrite, ...], target: int | ObjectKey) -> str:
    for overwrite in overwrites:
        if overwrite.target == target:
            return overwrite_words(overwrite.allow, overwrite.deny)
    return NO_OVERWRITE


def target_label(observed: ObservedGuild, target: int) -> str:
    """How an overwrite target is named: @everyone, ``role NAME`` or ``member/role ID``."""
    if target == observed.id:
        return "@everyone"
    for role in observed.roles:
        if role.id == target:
            return f"role {role.name}"
    return f"member or role {target}"


def _value(value: Any) -> Value:
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return str(value)
