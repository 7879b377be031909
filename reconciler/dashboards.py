"""Dashboards: post a rendered message once, edit it only when its render changes, re-post when gone.

The bot renders each dashboard (templates and data sources) before the pass; this module
compares the rendered hash with the one last sent (on the binding) and whether the bound
message still exists where it should.
"""

from __future__ import annotations

from hlb.compiler.model import ObjectKey
from hlb.reconciler.actions import DeleteMessage, EditMessage, PostMessage
from hlb.reconciler.plan import Draft, GuildInput
from hlb.reconciler.state import Binding


def plan(ctx: GuildInput, draft: Draft) -> None:
    bound = ctx.bound("Dashboard")
    for obj in ctx.of_kind("Dashboard"):
        binding = bound.get(obj.key)
        rendered = ctx.rendered.get(obj.key)
        channel_key = ctx.key("Channel", str(obj.spec["channel"]))
        if ctx.held(obj):
            draft.waiting.append(obj.key)
            continue
        if channel_key in draft.blocked or channel_key in draft.waiting:
            draft.blocked[obj.key] = f"its channel {channel_key.name} is not reconciled yet"
            continue
        if rendered is None:
            draft.blocked[obj.key] = "it was not rendered"
            continue
        channel = draft.channel_refs.get(channel_key)
        if channel is None:
            draft.blocked[obj.key] = f"its channel {channel_key.name} is not managed"
            continue
        if _message_exists(ctx, binding, channel):
            assert binding is not None and binding.discord_id is not None and binding.channel_id is not None
            draft.settle(ctx, obj, rendered_hash=rendered.hash)
            if binding.rendered_hash != rendered.hash:
                reason = "spec changed" if binding.spec_hash != obj.hash else "render changed"
                draft.actions.append(
                    EditMessage(
                        obj.key,
                        reason,
                        binding.channel_id,
                        binding.discord_id,
                        rendered.payload,
                        rendered.hash,
                    )
                )
            continue
        reason = _post_reason(ctx, binding, obj.hash)
        if reason.startswith("drift"):
            draft.drifted.append(obj.key)
        old_channel, old_message = (binding.channel_id, binding.discord_id) if binding else (None, None)
        if old_channel is not None and old_message is not None and ctx.observed.messages.get(old_message):
            draft.actions.append(DeleteMessage(obj.key, "moved to another channel", old_channel, old_message))
        draft.actions.append(PostMessage(obj.key, reason, channel, rendered.payload, rendered.hash))
        draft.settle(ctx, obj, discord_id=None, channel_id=None, rendered_hash=rendered.hash)
    _prune(ctx, draft, bound)


def _message_exists(ctx: GuildInput, binding: Binding | None, channel: int | ObjectKey) -> bool:
    if binding is None or binding.discord_id is None:
        return False
    return binding.channel_id == channel and bool(ctx.observed.messages.get(binding.discord_id))


def _post_reason(ctx: GuildInput, binding: Binding | None, spec_hash: str) -> str:
    if binding is None or binding.discord_id is None:
        return "new"
    if ctx.observed.messages.get(binding.discord_id):
        return "channel changed"
    return "drift: message deleted in Discord" if binding.spec_hash == spec_hash else "message missing"


def _prune(ctx: GuildInput, draft: Draft, bound: dict[ObjectKey, Binding]) -> None:
    desired = {o.key for o in ctx.of_kind("Dashboard")}
    for key, binding in sorted(bound.items()):
        if key in desired:
            continue
        exists = binding.discord_id is not None and ctx.observed.messages.get(binding.discord_id)
        if exists and ctx.prune and binding.channel_id is not None and binding.discord_id is not None:
            draft.actions.append(DeleteMessage(key, "left the specs", binding.channel_id, binding.discord_id))
        draft.forget.append(key)
