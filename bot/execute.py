"""Execute a reconcile plan through disnake's REST client, phase by phase; ``hlb.bot.outcomes`` settles.

Actions of one phase run concurrently (disnake serialises those sharing a rate-limit
bucket and lets independent buckets proceed in parallel). Every action runs on its own:
whatever it raises (an HTTP error, a timeout, a reply without the id it needs, a fault)
becomes that action's ``Failure`` (``failures``) and the others go on. A failed object's
binding records the failure and when to try again, and keeps the hashes of the last state
that was true. Ids of objects created in the pass are filled into the bindings as they arrive.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, assert_never

from disnake.http import HTTPClient, Route

from hlb.bot import failures, rest
from hlb.bot.failures import Failure
from hlb.bot.outcomes import Execution, Outcome, forget, settle
from hlb.compiler.model import ObjectKey
from hlb.reconciler import actions as a
from hlb.reconciler.plan import ReconcilePlan
from hlb.reconciler.state import Binding

log = logging.getLogger("hlb.bot")


Checkpoint = Callable[[Binding], Awaitable[None]]


class BookkeepingFailed(Exception):
    """Saving a created object's id failed: a database fault, not this action's; the pass stops."""


class Unresolved(Exception):
    """An action needs the id of an object whose creation failed earlier in the pass."""

    def __init__(self, ref: ObjectKey) -> None:
        super().__init__(f"{ref} was not created, so this cannot be done yet")
        self.ref = ref


class EarlierStepFailed(Exception):
    """An earlier action on the same object failed in this pass, so this one must not be sent."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure


@dataclass
class _Run:
    http: HTTPClient
    application_id: int
    ids: dict[ObjectKey, int] = field(default_factory=dict)  # channels created or adopted now
    posted: dict[ObjectKey, tuple[int, int]] = field(default_factory=dict)  # dashboard -> (channel, msg)
    command_ids: dict[str, int] = field(default_factory=dict)
    checkpoint: Checkpoint | None = None
    previous: Mapping[ObjectKey, Binding] = field(default_factory=dict)
    failures: dict[ObjectKey, Failure] = field(default_factory=dict)  # first failure per object

    async def created(self, key: ObjectKey, discord_id: int, channel_id: int | None = None) -> None:
        if self.checkpoint is not None:
            base = self.previous.get(key) or Binding(key)
            provisional = replace(
                base, discord_id=discord_id, channel_id=channel_id, spec_hash=None, rendered_hash=None
            )
            try:
                await self.checkpoint(provisional)
            except Exception as error:
                raise BookkeepingFailed(str(error)) from error

    def adopted(self, key: ObjectKey, discord_id: int) -> int:
        """An existing object taken over: bound to ``key`` for the rest of the pass."""
        self.ids[key] = discord_id
        return discord_id

    def resolve(self, ref: a.Ref) -> int:
        if isinstance(ref, int):
            return ref
        if ref in self.ids:
            return self.ids[ref]
        raise Unresolved(ref)


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

    async def attempt(action: a.Action) -> Outcome:
        outcome = await _attempt(run, action)
        if on_outcome is not None:  # as each action ends, not its phase: progress moves smoothly
            on_outcome(outcome)
        return outcome

    for phase in plan.phases():
        outcomes.extend(await asyncio.gather(*(attempt(action) for action in phase)))
    return Execution(tuple(outcomes), settle(plan, outcomes, previous, now, run), forget(plan, outcomes))


async def _attempt(run: _Run, action: a.Action) -> Outcome:
    """Perform one action: whatever Discord answers or the action raises is its own failure,
    never the pass's (only a database fault while saving a created id stops the pass)."""
    try:
        return Outcome(action, discord_id=await _perform(run, action))
    except Unresolved as error:
        failure = failures.unresolved(run.failures.get(error.ref), error.ref)
    except EarlierStepFailed as error:
        failure = replace(error.failure, sent=False)
    except BookkeepingFailed as error:
        raise error.__cause__ or error from None  # the database's problem: as before, not Discord's
    except Exception as error:  # one bad reply or fault fails this action only
        failure = failures.classify(error)
    run.failures.setdefault(action.key, failure)
    return Outcome(action, failure=failure)


async def _perform(run: _Run, action: a.Action) -> int | None:
    """Send ``action`` to Discord; the id it created, if any. One case per action: mypy's
    ``assert_never`` fails the build when an action is added to ``a.Action`` and not here."""
    http = run.http
    match action:
        case a.CreateChannel():
            body = dict(action.payload)
            body["permission_overwrites"] = [  # a role created in this pass is named by its key
                o if isinstance(o["id"], str) else {**o, "id": str(run.resolve(o["id"]))}
                for o in body.get("permission_overwrites") or ()
            ]
            if action.parent is not None:
                body["parent_id"] = str(run.resolve(action.parent))
            route = Route("POST", "/guilds/{guild_id}/channels", guild_id=action.guild_id)
            return await _create(run, action.key, route, body)
        case a.AdoptChannel():
            return run.adopted(action.key, action.channel_id)
        case a.UpdateChannel():
            fields = dict(action.fields)
            if action.parent is not None:
                fields["parent_id"] = str(run.resolve(action.parent))
            route = Route("PATCH", "/channels/{channel_id}", channel_id=action.channel_id)
            await rest.call(http, route, json=fields)
        case a.DeleteChannel():
            await _gone_is_fine(http, Route("DELETE", "/channels/{channel_id}", channel_id=action.channel_id))
        case a.PutOverwrite():
            channel_id = run.resolve(action.channel)
            body = {"type": action.type, "allow": str(action.allow), "deny": str(action.deny)}
            target = run.resolve(action.target)
            await rest.call(http, _overwrite_route("PUT", channel_id, target), json=body)
        case a.DeleteOverwrite():
            await _gone_is_fine(http, _overwrite_route("DELETE", action.channel_id, action.target))
        case a.ReorderChannels():
            moves = [{"id": str(run.resolve(ref)), "position": pos} for ref, pos in action.positions]
            route = Route("PATCH", "/guilds/{guild_id}/channels", guild_id=action.guild_id)
            await rest.call(http, route, json=moves)
        case a.PostMessage():
            channel_id = run.resolve(action.channel)
            route = Route("POST", "/channels/{channel_id}/messages", channel_id=channel_id)
            posted = await rest.call(http, route, json=dict(action.payload))
            message_id = failures.snowflake(posted, route.path)
            run.posted[action.key] = (channel_id, message_id)
            await run.created(action.key, message_id, channel_id)
            return message_id
        case a.EditMessage():
            await rest.call(http, _message_route("PATCH", action), json=dict(action.payload))
        case a.DeleteMessage():
            await _gone_is_fine(http, _message_route("DELETE", action))
        case a.OverwriteCommands():
            route = Route(
                "PUT",
                "/applications/{application_id}/guilds/{guild_id}/commands",
                application_id=run.application_id,
                guild_id=action.guild_id,
            )
            result = await rest.call(http, route, json=[dict(c) for c in action.payload])
            run.command_ids.update(_command_ids(result, route.path))
        case a.CreateRole():
            route = Route("POST", "/guilds/{guild_id}/roles", guild_id=action.guild_id)
            return await _create(run, action.key, route, dict(action.payload))
        case a.AdoptRole():
            return run.adopted(action.key, action.role_id)
        case a.UpdateRole():
            route = _role_route("PATCH", action.guild_id, action.role_id)
            await rest.call(http, route, json=dict(action.fields))
        case a.ReorderRoles():
            moves = [{"id": str(run.resolve(ref)), "position": pos} for ref, pos in action.positions]
            route = Route("PATCH", "/guilds/{guild_id}/roles", guild_id=action.guild_id)
            await rest.call(http, route, json=moves)
        case a.DeleteRole():
            await _gone_is_fine(http, _role_route("DELETE", action.guild_id, action.role_id))
        case a.UpdateGuild():
            fields = dict(action.fields)
            fields.update({name: str(run.resolve(ref)) for name, ref in action.channels})
            await rest.call(http, Route("PATCH", "/guilds/{guild_id}", guild_id=action.guild_id), json=fields)
        case a.CreateEmoji():
            if action.key in run.failures:  # the old image is still there: a copy would take a slot
                raise EarlierStepFailed(run.failures[action.key])
            route = Route("POST", "/guilds/{guild_id}/emojis", guild_id=action.guild_id)
            roles = [str(run.resolve(ref)) for ref in action.roles]
            return await _create(run, action.key, route, {**action.payload, "roles": roles})
        case a.AdoptEmoji():
            return run.adopted(action.key, action.emoji_id)
        case a.UpdateEmoji():
            fields = dict(action.fields)
            if action.roles is not None:
                fields["roles"] = [str(run.resolve(ref)) for ref in action.roles]
            await rest.call(http, _emoji_route("PATCH", action), json=fields)
        case a.DeleteEmoji():
            await _gone_is_fine(http, _emoji_route("DELETE", action))
        case _:
            assert_never(action)
    return None


async def _create(run: _Run, key: ObjectKey, route: Route, body: dict[str, Any]) -> int:
    """POST ``body`` to ``route``; the new object's id, kept for the pass and checkpointed."""
    created = await rest.call(run.http, route, json=body)
    run.ids[key] = failures.snowflake(created, f"{route.method} {route.path}")
    await run.created(key, run.ids[key])
    return run.ids[key]


def _role_route(method: str, guild_id: int, role_id: int) -> Route:
    return Route(method, "/guilds/{guild_id}/roles/{role_id}", guild_id=guild_id, role_id=role_id)


def _command_ids(result: Any, what: str) -> dict[str, int]:
    """Chat-input command name -> id from a bulk overwrite's reply, which must list them all."""
    if not isinstance(result, list):
        raise failures.MalformedReply(f"{what} answered {type(result).__name__}, not a list of commands")
    return {
        str(c.get("name")): failures.snowflake(c, what)
        for c in result
        if isinstance(c, Mapping) and c.get("type", 1) == 1
    }


def _overwrite_route(method: str, channel_id: int, target: int) -> Route:
    path = "/channels/{channel_id}/permissions/{target}"
    return Route(method, path, channel_id=channel_id, target=target)


def _emoji_route(method: str, action: a.UpdateEmoji | a.DeleteEmoji) -> Route:
    path = "/guilds/{guild_id}/emojis/{emoji_id}"
    return Route(method, path, guild_id=action.guild_id, emoji_id=action.emoji_id)


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
