"""Execute a reconcile plan through disnake's REST client, phase by phase, and settle the bindings.

Actions of one phase run concurrently (disnake serialises those sharing a rate-limit
bucket and lets independent buckets proceed in parallel). A failing action fails only its
own object: the others go on, and its binding records the error with a retry time.
Ids of objects created in the pass are filled into the bindings as they arrive.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from disnake.http import HTTPClient, Route

from hlb.bot import rest
from hlb.compiler.model import ObjectKey
from hlb.reconciler import actions as a
from hlb.reconciler.plan import ReconcilePlan
from hlb.reconciler.state import ERROR, Binding

FIRST_BACKOFF = 10.0  # seconds before a failed object is retried; doubles per failure
MAX_BACKOFF = 900.0


@dataclass(frozen=True)
class Outcome:
    """How one action went; ``discord_id`` is the id an action created (channel, message)."""

    action: a.Action
    error: str | None = None
    discord_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class Execution:
    """The result of executing a plan: outcomes, the bindings to store, the keys to forget."""

    outcomes: tuple[Outcome, ...]
    bindings: tuple[Binding, ...]
    forget: tuple[ObjectKey, ...]

    @property
    def failed(self) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if not o.ok)


Checkpoint = Callable[[Binding], Awaitable[None]]


class Unresolved(Exception):
    """An action needs the id of an object whose creation failed earlier in the pass."""


@dataclass
class _Run:
    http: HTTPClient
    application_id: int
    ids: dict[ObjectKey, int] = field(default_factory=dict)  # channels created or adopted now
    posted: dict[ObjectKey, tuple[int, int]] = field(default_factory=dict)  # dashboard -> (channel, msg)
    command_ids: dict[str, int] = field(default_factory=dict)
    checkpoint: Checkpoint | None = None
    previous: Mapping[ObjectKey, Binding] = field(default_factory=dict)

    async def created(self, key: ObjectKey, discord_id: int, channel_id: int | None = None) -> None:
        if self.checkpoint is not None:
            base = self.previous.get(key) or Binding(key)
            await self.checkpoint(
                replace(
                    base, discord_id=discord_id, channel_id=channel_id, spec_hash=None, rendered_hash=None
                )
            )

    def resolve(self, ref: a.Ref) -> int:
        if isinstance(ref, int):
            return ref
        if ref in self.ids:
            return self.ids[ref]
        raise Unresolved(f"{ref} was not created, so this cannot be done yet")


async def execute(
    http: HTTPClient,
    plan: ReconcilePlan,
    application_id: int,
    previous: Mapping[ObjectKey, Binding],
    now: datetime,
    on_outcome: Callable[[Outcome], Any] | None = None,
    checkpoint: Checkpoint | None = None,
) -> Execution:
    """Run the plan's actions phase by phase; return outcomes and the bindings to store.

    ``checkpoint`` is awaited with a provisional binding as soon as a channel or message is
    created, so a process that dies mid-pass leaves no orphan the next pass would duplicate."""
    run = _Run(http, application_id, checkpoint=checkpoint, previous=previous)
    outcomes: list[Outcome] = []
    for phase in plan.phases():
        results = await asyncio.gather(*(_attempt(run, action) for action in phase))
        for outcome in results:
            outcomes.append(outcome)
            if on_outcome is not None:
                on_outcome(outcome)
    return Execution(tuple(outcomes), _settle(plan, run, outcomes, previous, now), _forget(plan, outcomes))


async def _attempt(run: _Run, action: a.Action) -> Outcome:
    try:
        return Outcome(action, discord_id=await _perform(run, action))
    except (rest.RestError, Unresolved) as error:
        return Outcome(action, error=str(error))


async def _perform(run: _Run, action: a.Action) -> int | None:
    http = run.http
    if isinstance(action, a.CreateChannel):
        body = dict(action.payload)
        if action.parent is not None:
            body["parent_id"] = str(run.resolve(action.parent))
        created = await rest.call(
            http, Route("POST", "/guilds/{guild_id}/channels", guild_id=action.guild_id), json=body
        )
        run.ids[action.key] = int(created["id"])
        await run.created(action.key, run.ids[action.key])
        return run.ids[action.key]
    if isinstance(action, a.AdoptChannel):
        run.ids[action.key] = action.channel_id
        return action.channel_id
    if isinstance(action, a.UpdateChannel):
        fields = dict(action.fields)
        if action.parent is not None:
            fields["parent_id"] = str(run.resolve(action.parent))
        await rest.call(
            http, Route("PATCH", "/channels/{channel_id}", channel_id=action.channel_id), json=fields
        )
        return None
    if isinstance(action, a.DeleteChannel):
        await _gone_is_fine(http, Route("DELETE", "/channels/{channel_id}", channel_id=action.channel_id))
        return None
    if isinstance(action, a.PutOverwrite):
        channel_id = run.resolve(action.channel)
        body = {"type": action.type, "allow": str(action.allow), "deny": str(action.deny)}
        await rest.call(http, _overwrite_route("PUT", channel_id, action.target), json=body)
        return None
    if isinstance(action, a.DeleteOverwrite):
        await _gone_is_fine(http, _overwrite_route("DELETE", action.channel_id, action.target))
        return None
    if isinstance(action, a.ReorderChannels):
        moves = [{"id": str(run.resolve(ref)), "position": pos} for ref, pos in action.positions]
        await rest.call(
            http, Route("PATCH", "/guilds/{guild_id}/channels", guild_id=action.guild_id), json=moves
        )
        return None
    if isinstance(action, a.PostMessage):
        channel_id = run.resolve(action.channel)
        route = Route("POST", "/channels/{channel_id}/messages", channel_id=channel_id)
        message = await rest.call(http, route, json=dict(action.payload))
        run.posted[action.key] = (channel_id, int(message["id"]))
        await run.created(action.key, int(message["id"]), channel_id)
        return int(message["id"])
    if isinstance(action, a.EditMessage):
        await rest.call(http, _message_route("PATCH", action), json=dict(action.payload))
        return None
    if isinstance(action, a.DeleteMessage):
        await _gone_is_fine(http, _message_route("DELETE", action))
        return None
    if isinstance(action, a.OverwriteCommands):
        route = Route(
            "PUT",
            "/applications/{application_id}/guilds/{guild_id}/commands",
            application_id=run.application_id,
            guild_id=action.guild_id,
        )
        result = await rest.call(http, route, json=[dict(c) for c in action.payload])
        run.command_ids.update({str(c["name"]): int(c["id"]) for c in result if c.get("type", 1) == 1})
        return None
    raise TypeError(f"no executor for {type(action).__name__}")


def _overwrite_route(method: str, channel_id: int, target: int) -> Route:
    path = "/channels/{channel_id}/permissions/{target}"
    return Route(method, path, channel_id=channel_id, target=target)


def _message_route(method: str, action: a.EditMessage | a.DeleteMessage) -> Route:
    path = "/channels/{channel_id}/messages/{message_id}"
    return Route(method, path, channel_id=action.channel_id, message_id=action.message_id)


async def _gone_is_fine(http: HTTPClient, route: Route) -> None:
    """A delete of something already gone has reached its goal."""
    try:
        await rest.call(http, route)
    except rest.PermanentError as error:
        if error.status != 404:
            raise


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(FIRST_BACKOFF * 2 ** max(attempts - 1, 0), MAX_BACKOFF))


def _errors_by_key(outcomes: list[Outcome]) -> dict[ObjectKey, str]:
    errors: dict[ObjectKey, str] = {}
    for outcome in outcomes:
        if outcome.error is not None:
            keys: tuple[ObjectKey, ...] = (outcome.action.key,)
            if isinstance(outcome.action, a.OverwriteCommands):
                keys = outcome.action.commands
            for key in keys:
                errors.setdefault(key, f"{outcome.action.verb}: {outcome.error}")
    return errors


def _settle(
    plan: ReconcilePlan,
    run: _Run,
    outcomes: list[Outcome],
    previous: Mapping[ObjectKey, Binding],
    now: datetime,
) -> tuple[Binding, ...]:
    errors = _errors_by_key(outcomes)
    errors.update({k: f"blocked: {reason}" for k, reason in plan.blocked.items()})
    settled: list[Binding] = []
    for key, target in plan.bindings.items():
        binding = _with_ids(run, key, target)
        if key in errors:
            binding = _failed(binding, previous.get(key), errors[key], now)
        settled.append(binding)
    for key in plan.blocked:
        if key not in plan.bindings:
            base = previous.get(key) or Binding(key)
            settled.append(_failed(base, previous.get(key), errors[key], now))
    return tuple(settled)


def _with_ids(run: _Run, key: ObjectKey, target: Binding) -> Binding:
    if key in run.ids:
        return replace(target, discord_id=run.ids[key])
    if key in run.posted:
        channel_id, message_id = run.posted[key]
        return replace(target, discord_id=message_id, channel_id=channel_id)
    if key.kind == "Command" and key.name in run.command_ids:
        return replace(target, discord_id=run.command_ids[key.name])
    return target


def _failed(binding: Binding, before: Binding | None, error: str, now: datetime) -> Binding:
    """A binding that records ``error``; its hashes are cleared so the next pass tries again."""
    attempts = (before.attempts if before else 0) + 1
    return replace(
        binding,
        status=ERROR,
        error=error,
        attempts=attempts,
        next_attempt_at=now + backoff(attempts),
        reconciled_at=now,
        spec_hash=None,
        rendered_hash=None,
    )


def _forget(plan: ReconcilePlan, outcomes: list[Outcome]) -> tuple[ObjectKey, ...]:
    failed = {o.action.key for o in outcomes if not o.ok}
    return tuple(k for k in plan.forget if k not in failed)
