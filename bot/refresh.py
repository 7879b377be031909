"""Refreshing one dashboard on request (a workflow's ``refresh`` step, a stale button): its message alone.

Any replica asks (``NOTIFY hlb_refresh`` with ``request_payload``); the leader renders the named
dashboard and edits its message when the render changed, and does nothing else: no look at the
guild, no other object. When one edit cannot do it (the dashboard was never posted, is failing,
its spec or its channel changed since the last pass, or the edit fails, say because someone
deleted the message), ``Refreshed.needs_pass`` says why and the leader runs a pass of the guild
instead, which handles all of that and records any failure as a pass does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from disnake.http import Route

from hlb.bot import rest
from hlb.bot.failures import MalformedReply
from hlb.bot.reconcile import Session, render_dashboards
from hlb.compiler.model import Model, ObjectKey, SpecObject
from hlb.reconciler.state import IN_SYNC, Binding
from hlb.store import runtime_tables as runtime


def request_payload(guild: str, dashboard: str) -> str:
    """The ``hlb_refresh`` notification asking for one dashboard."""
    return json.dumps({"guild": guild, "dashboard": dashboard})


def parse_request(payload: str) -> tuple[str | None, str | None]:
    """``(guild, dashboard)`` of an ``hlb_refresh`` notification; a bare guild name (or nothing,
    for every guild) asks for a pass and has no dashboard."""
    try:
        data = json.loads(payload)
    except ValueError:
        return payload or None, None
    if (
        isinstance(data, dict)
        and isinstance(data.get("guild"), str)
        and isinstance(data.get("dashboard"), str)
    ):
        return data["guild"], data["dashboard"]
    return payload or None, None


@dataclass(frozen=True)
class Refreshed:
    """What refreshing one dashboard did: whether it ``edited`` the message, or why a pass must."""

    key: ObjectKey
    edited: bool = False
    needs_pass: str | None = None  # why a pass of the guild has to do it instead
    problems: tuple[str, ...] = ()  # rendering problems (failing sources...), for people


def _why_not_alone(obj: SpecObject, binding: Binding | None, channel: Binding | None) -> str | None:
    """Why one message edit cannot bring the dashboard up to date (None when it can)."""
    if binding is None or binding.discord_id is None or binding.channel_id is None:
        return "it has no message yet"
    if binding.status != IN_SYNC:
        return f"it is {binding.status}"
    if binding.spec_hash != obj.hash:
        return "its spec changed since the last pass"
    if channel is None or channel.discord_id != binding.channel_id:
        return "its channel changed since the last pass"
    return None


async def refresh_dashboard(session: Session, model: Model, key: ObjectKey) -> Refreshed:
    """Render the dashboard ``key`` and edit its message if the render changed."""
    obj = model.by_key().get(key)
    if obj is None:
        return Refreshed(key, problems=(f"{key}: no such dashboard in the applied specs",))
    bindings = await runtime.load_bindings(session.conn, key.guild)
    binding = bindings.get(key)
    channel = bindings.get(ObjectKey(key.guild, "Channel", str(obj.spec.get("channel"))))
    reason = _why_not_alone(obj, binding, channel)
    if reason is not None or binding is None:
        return Refreshed(key, needs_pass=reason)
    now = session.clock()
    rendered, problems = await render_dashboards(session.sources, session.secrets, [obj], now)
    message = rendered.get(key)
    if message is None or message.hash == binding.rendered_hash:
        return Refreshed(key, problems=problems)  # failed alone (kept as it was), or unchanged
    path = "/channels/{channel_id}/messages/{message_id}"
    route = Route("PATCH", path, channel_id=binding.channel_id, message_id=binding.discord_id)
    try:
        await rest.call(session.http, route, json=dict(message.payload))
    except (rest.RestError, MalformedReply) as error:
        return Refreshed(key, needs_pass=f"editing its message failed: {error}", problems=problems)
    event = runtime.ReconcileEvent(
        key=key,
        guild=key.guild,
        action="edit dashboard",
        discord_id=binding.discord_id,
        detail={"reason": "refresh requested", "rendered_hash": message.hash},
        outcome="ok",
    )
    async with session.conn.transaction():
        await runtime.save_bindings(
            session.conn, [replace(binding, rendered_hash=message.hash, reconciled_at=now)]
        )
        await runtime.record_events(session.conn, [event])
    return Refreshed(key, edited=True, problems=problems)
