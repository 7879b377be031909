"""How a reconcile pass went: each action's ``Outcome``, and the bindings and log lines that follow.

``hlb.bot.execute`` runs the actions; this module turns their outcomes into what is stored:
each binding with the ids created in the pass, a failed object's binding with its failure and
when to try again (the hashes stay those of the last state that was true), the keys to forget,
and one log line per write sent.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from hlb.bot import failures
from hlb.bot.failures import Failure
from hlb.compiler.model import ObjectKey
from hlb.reconciler import actions as a
from hlb.reconciler.plan import ReconcilePlan
from hlb.reconciler.state import ERROR, Binding

log = logging.getLogger("hlb.bot")


@dataclass(frozen=True)
class Outcome:
    """How one action went; ``discord_id`` is the id an action created (channel, message)."""

    action: a.Action
    failure: Failure | None = None
    discord_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None

    @property
    def error(self) -> str | None:
        return None if self.failure is None else self.failure.message

    @property
    def sent(self) -> bool:
        """The action went to Discord (whatever the answer); False when a dependency failed first."""
        return self.action.writes and (self.failure is None or self.failure.sent)


@dataclass(frozen=True)
class Execution:
    """The result of executing a plan: outcomes, the bindings to store, the keys to forget."""

    outcomes: tuple[Outcome, ...]
    bindings: tuple[Binding, ...]
    forget: tuple[ObjectKey, ...]

    @property
    def failed(self) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if not o.ok)

    @property
    def writes(self) -> int:
        """The Discord writes this pass sent (failed ones included, ones never sent not)."""
        return sum(1 for o in self.outcomes if o.sent)


class Created(Protocol):
    """The ids a pass made or adopted (``hlb.bot.execute``'s run): what the bindings are given."""

    @property
    def ids(self) -> Mapping[ObjectKey, int]: ...  # channels, roles, emojis created or adopted
    @property
    def posted(self) -> Mapping[ObjectKey, tuple[int, int]]: ...  # dashboard -> (channel, message)
    @property
    def command_ids(self) -> Mapping[str, int]: ...


def served(action: a.Action) -> tuple[ObjectKey, ...]:
    """The objects an action writes for: a command overwrite serves every command it declares."""
    if isinstance(action, a.OverwriteCommands) and action.commands:
        return action.commands
    return (action.key,)


def failures_by_key(outcomes: list[Outcome]) -> dict[ObjectKey, tuple[str, Failure]]:
    """Each failed object's first failure, with the verb of the action that failed."""
    found: dict[ObjectKey, tuple[str, Failure]] = {}
    for outcome in outcomes:
        if outcome.failure is not None:
            for key in served(outcome.action):
                found.setdefault(key, (outcome.action.verb, outcome.failure))
    return found


def settle(
    plan: ReconcilePlan,
    outcomes: list[Outcome],
    previous: Mapping[ObjectKey, Binding],
    now: datetime,
    ids: Created,
) -> tuple[Binding, ...]:
    """The bindings to store after a pass: each with the ids made now, a failed one with its failure."""
    failed = failures_by_key(outcomes)
    for key, reason in plan.blocked.items():
        failed[key] = ("blocked", Failure(failures.TEMPORARY, reason, sent=False))
    for key, reason in plan.refused.items():
        failed[key] = ("refused", Failure(failures.PERMANENT, reason, sent=False))
    settled: list[Binding] = []
    for key, target in plan.bindings.items():
        binding = _with_ids(ids, key, target)
        if key in failed:
            binding = _failed(binding, previous.get(key), failed[key], now, target.spec_hash)
        settled.append(binding)
    for key in (*plan.blocked, *plan.refused):
        if key not in plan.bindings:
            base = previous.get(key) or Binding(key)
            settled.append(_failed(base, previous.get(key), failed[key], now, None))
    return tuple(settled)


def _with_ids(ids: Created, key: ObjectKey, target: Binding) -> Binding:
    if key in ids.ids:
        return replace(target, discord_id=ids.ids[key])
    if key in ids.posted:
        channel_id, message_id = ids.posted[key]
        return replace(target, discord_id=message_id, channel_id=channel_id)
    if key.kind == "Command" and key.name in ids.command_ids:
        return replace(target, discord_id=ids.command_ids[key.name])
    return target


def _failed(
    binding: Binding,
    before: Binding | None,
    why: tuple[str, Failure],
    now: datetime,
    attempted: str | None,
) -> Binding:
    """``binding`` recording a failure: the hashes stay those of the last state that was true
    (``before``'s), so an unchanged object is not written again once the failure clears; so do
    its ids when nothing replaced them (a re-upload whose delete failed still owns the old one)."""
    verb, failure = why
    attempts = (before.attempts if before else 0) + 1
    if binding.discord_id is None and before is not None:
        binding = replace(binding, discord_id=before.discord_id, channel_id=before.channel_id)
    return replace(
        binding,
        status=ERROR,
        error=f"{verb}: {failure.message}",
        error_kind=failure.kind,
        attempted_hash=attempted,
        attempts=attempts,
        next_attempt_at=now + failures.retry_delay(failure, attempts),
        reconciled_at=now,
        spec_hash=before.spec_hash if before else None,
        rendered_hash=before.rendered_hash if before else None,
        written_hash=before.written_hash if before else None,  # a failed write did not flap
        flaps=before.flaps if before else 0,
    )


def forget(plan: ReconcilePlan, outcomes: list[Outcome]) -> tuple[ObjectKey, ...]:
    failed = {o.action.key for o in outcomes if not o.ok}
    return tuple(k for k in plan.forget if k not in failed)


def log_outcome(outcome: Outcome) -> None:
    """One log line per write sent to Discord, with its outcome (reads are not logged)."""
    action = outcome.action
    if not action.writes:
        return
    if outcome.ok:
        log.info("event=action action=%r key=%s reason=%r outcome=ok", action.verb, action.key, action.reason)
    else:  # every attempt is on record; the warning is the object's condition (``conditions``)
        log.info(
            "event=action action=%r key=%s reason=%r outcome=error error_kind=%s error=%r",
            action.verb,
            action.key,
            action.reason,
            outcome.failure.kind if outcome.failure else "",
            outcome.error,
        )
