"""Flap damping: a value the server will not keep is reported once, not rewritten forever.

Some servers (Spacebar, older Discord versions) accept a write and keep less than was sent:
a channel without ``topic``, say. Each pass would then see the field differ and write it
again. The binding counts the healing writes (``written_hash``: a hash of what was sent;
``flaps``: how many passes in a row sent exactly that). When the same writes are due again
after ``MAX_FLAPS`` of them, the object is ``drifted``: no write, ``error`` names the fields
that do not stick, and it is held like a permanent error (an hour, doubling), released at
once by a changed spec or ``hlb reconcile --retry-failed``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

from hlb.compiler.model import SpecObject
from hlb.reconciler.actions import Action, DeleteOverwrite, OverwriteCommands, PutOverwrite, UpdateChannel
from hlb.reconciler.plan import Draft, GuildInput
from hlb.reconciler.state import DRIFTED, Binding, ObservedGuild, payload_hash

MAX_FLAPS = 3  # writes of the same values that did not stick before the object is drifted
FIRST_HOLD = timedelta(hours=1)  # then doubling, as permanent errors
MAX_HOLD = timedelta(days=7)
SHOWN = 60  # characters of a value quoted in the error


def held(ctx: GuildInput, obj: SpecObject, binding: Binding | None, observed: ObservedGuild) -> bool:
    """True for a drifted object still waiting out its hold whose Discord object still exists:
    it is left as it is (no write), but others may use it (a dashboard in the channel)."""
    if binding is None or binding.status != DRIFTED or binding.discord_id is None:
        return False
    return ctx.held(obj) and observed.channel(binding.discord_id) is not None


def damp(
    ctx: GuildInput, draft: Draft, obj: SpecObject, binding: Binding | None, first: int, reason: str
) -> bool:
    """Count the writes ``draft.actions[first:]`` make to ``obj``; withdraw them and mark the
    object drifted when the same writes already went out ``MAX_FLAPS`` times without sticking.

    True when the writes were withdrawn."""
    added = draft.actions[first:]
    if not added or ctx.now is None:
        return False
    written = writes_hash(added)
    repeat = binding is not None and reason.startswith("drift") and binding.written_hash == written
    if binding is not None and repeat and binding.flaps >= MAX_FLAPS and binding.status != DRIFTED:
        del draft.actions[first:]
        attempts = binding.attempts + 1
        draft.targets[obj.key] = replace(
            binding,
            status=DRIFTED,
            error=not_sticking(added),
            error_kind=None,
            attempted_hash=obj.hash,
            attempts=attempts,
            next_attempt_at=ctx.now + hold(attempts),
            reconciled_at=ctx.now,
        )
        draft.damped.append(obj.key)
        return True
    target = draft.targets[obj.key]
    if binding is not None and repeat:  # once more (a hold ran out): the count and hold go on
        draft.targets[obj.key] = replace(
            target, written_hash=written, flaps=binding.flaps + 1, attempts=binding.attempts
        )
    else:
        draft.targets[obj.key] = replace(target, written_hash=written, flaps=1)
    return False


def drifted_like(lead: Binding, target: Binding, obj: SpecObject) -> Binding:
    """``obj``'s binding drifted as ``lead``'s (objects written together, as a guild's commands)."""
    return replace(
        target,
        status=lead.status,
        error=lead.error,
        error_kind=None,
        attempted_hash=obj.hash,
        attempts=lead.attempts,
        next_attempt_at=lead.next_attempt_at,
        reconciled_at=lead.reconciled_at,
    )


def hold(attempts: int) -> timedelta:
    """How long a drifted object is left alone after its ``attempts``-th time."""
    return min(FIRST_HOLD * 2 ** min(max(attempts - 1, 0), 20), MAX_HOLD)


def writes_hash(actions: Sequence[Action]) -> str:
    """A hash of what ``actions`` send: equal for the same writes of the same values."""
    return payload_hash([_sent(action) for action in actions])


def _sent(action: Action) -> Any:
    if isinstance(action, UpdateChannel):
        return ["update", {f: str(v) for f, v in sorted(action.fields.items())}, str(action.parent)]
    if isinstance(action, PutOverwrite):
        return ["put overwrite", action.target, action.type, action.allow, action.deny]
    if isinstance(action, DeleteOverwrite):
        return ["remove overwrite", action.target]
    if isinstance(action, OverwriteCommands):
        return ["overwrite commands", action.rendered_hash]
    return [action.verb, action.reason]


def not_sticking(actions: Sequence[Action]) -> str:
    """The error of a drifted object: which fields the server does not keep."""
    parts: list[str] = []
    for action in actions:
        if isinstance(action, UpdateChannel):
            parts += [
                f"{c.field} does not stick: wrote {_show(c.new)}, server keeps {_show(c.old)}"
                for c in action.changes
            ]
        elif isinstance(action, PutOverwrite):
            parts.append(f"overwrite for {action.label or action.target} does not stick")
        elif isinstance(action, DeleteOverwrite):
            parts.append(f"overwrite for {action.target} comes back after removal")
        elif isinstance(action, OverwriteCommands):
            parts.append("the guild's slash commands do not stick: the server keeps another set")
    return "; ".join(parts) or "writes do not stick"


def _show(value: Any) -> str:
    text = "" if value is None else str(value)
    return repr(text if len(text) <= SHOWN else text[: SHOWN - 1] + "…")
