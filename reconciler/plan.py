"""The reconcile plan of one guild: inputs, the per-kind registry, and the frozen result.

``reconcile_guild`` runs each kind's module in registry order (channels, dashboards,
commands) over one ``GuildInput`` and returns a ``ReconcilePlan``: the ordered actions,
the binding each object gets when its actions succeed, and what is skipped and why.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from hlb.compiler.model import ObjectKey, SpecObject
from hlb.reconciler.actions import Action
from hlb.reconciler.state import IN_SYNC, Binding, ObservedGuild, RenderedMessage


@dataclass(frozen=True)
class GuildInput:
    """Everything the reconciler reads for one guild."""

    guild: SpecObject
    objects: Sequence[SpecObject]  # the guild's desired objects, every kind
    observed: ObservedGuild
    bindings: Mapping[ObjectKey, Binding]
    rendered: Mapping[ObjectKey, RenderedMessage] = field(default_factory=dict)
    now: datetime | None = None
    retry_failed: bool = False  # ``hlb reconcile --retry-failed``: ignore every hold

    def held(self, obj: SpecObject) -> bool:
        """True when ``obj`` failed and is still backing off with the spec it failed with.

        A changed spec, ``retry_failed`` or a reached retry time lifts the hold."""
        binding = self.bindings.get(obj.key)
        if binding is None or self.now is None or self.retry_failed:
            return False
        return binding.waiting(self.now, obj.hash)

    @property
    def prune(self) -> bool:
        return bool(self.guild.spec.get("prune", True))

    @property
    def adopt_by_name(self) -> bool:
        return self.guild.spec.get("adopt") == "by-name"

    def of_kind(self, kind: str) -> list[SpecObject]:
        return [o for o in self.objects if o.key.kind == kind]

    def bound(self, kind: str) -> dict[ObjectKey, Binding]:
        """Bindings of this guild's objects of ``kind``, including objects that left the specs."""
        name = self.guild.key.name
        return {k: b for k, b in self.bindings.items() if k.kind == kind and k.guild == name}

    def key(self, kind: str, name: str) -> ObjectKey:
        return ObjectKey(self.guild.key.name, kind, name)


@dataclass
class Draft:
    """The plan while kind modules add to it (local to one ``reconcile_guild`` call)."""

    actions: list[Action] = field(default_factory=list)
    targets: dict[ObjectKey, Binding] = field(default_factory=dict)
    forget: list[ObjectKey] = field(default_factory=list)
    blocked: dict[ObjectKey, str] = field(default_factory=dict)
    waiting: list[ObjectKey] = field(default_factory=list)
    drifted: list[ObjectKey] = field(default_factory=list)
    damped: list[ObjectKey] = field(default_factory=list)
    channel_refs: dict[ObjectKey, int | ObjectKey] = field(default_factory=dict)
    role_refs: dict[str, int | ObjectKey] = field(default_factory=dict)  # Role spec name -> id or key
    refused: dict[ObjectKey, str] = field(default_factory=dict)  # never possible: permanent errors

    def hold(self, ctx: GuildInput, obj: SpecObject) -> None:
        """Leave ``obj`` as it is (no action) while it backs off: its binding keeps its failure."""
        self.waiting.append(obj.key)
        previous = ctx.bindings.get(obj.key)
        if previous is not None:
            self.targets[obj.key] = previous

    def settle(self, ctx: GuildInput, obj: SpecObject, **values: Any) -> None:
        """Record the binding ``obj`` has once its actions (if any) succeed."""
        old = ctx.bindings.get(obj.key) or Binding(obj.key)
        self.targets[obj.key] = replace(
            old,
            spec_hash=obj.hash,
            status=IN_SYNC,
            error=None,
            error_kind=None,
            attempted_hash=None,
            written_hash=None,
            flaps=0,
            attempts=0,
            next_attempt_at=None,
            reconciled_at=ctx.now,
            **values,
        )


@dataclass(frozen=True)
class ReconcilePlan:
    """What one pass over a guild will do.

    ``bindings``: the binding of every desired object after its actions succeed (the executor
    fills in ids of created objects). ``forget``: bindings to drop (object gone, or kept in
    Discord but released). ``blocked``: objects that cannot be reconciled yet, with the reason
    (stored as their error, no Discord call).
    ``waiting``: failed objects still backing off.
    ``drifted``: objects whose Discord state was changed by hand and is being healed.
    ``damped``: objects whose values do not stick (``damping``): left as they are this pass.
    ``refused``: objects whose spec asks what cannot be done until the spec or the server
    changes (edit a role above the bot's own, an emoji past the slots): a permanent error with
    the reason, no Discord call.
    """

    guild: ObjectKey
    guild_id: int
    actions: tuple[Action, ...]
    bindings: Mapping[ObjectKey, Binding]
    forget: tuple[ObjectKey, ...] = ()
    blocked: Mapping[ObjectKey, str] = field(default_factory=dict)
    waiting: tuple[ObjectKey, ...] = ()
    drifted: tuple[ObjectKey, ...] = ()
    damped: tuple[ObjectKey, ...] = ()
    refused: Mapping[ObjectKey, str] = field(default_factory=dict)

    @property
    def writes(self) -> tuple[Action, ...]:
        return tuple(a for a in self.actions if a.writes)

    def phases(self) -> list[list[Action]]:
        """The actions grouped by phase, in execution order."""
        groups: dict[int, list[Action]] = {}
        for action in self.actions:
            groups.setdefault(action.phase, []).append(action)
        return [groups[p] for p in sorted(groups)]


KindPlanner = Callable[[GuildInput, Draft], None]


def registry() -> tuple[tuple[str, KindPlanner], ...]:
    """The kinds the reconciler manages, in order: channels before the dashboards posted in them,
    and the kinds that plan last (the guild's settings, which name channels) after all others."""
    from hlb.compiler.kinds import KINDS  # the kinds' rules (and jinja) load only when planning

    ordered = sorted(KINDS, key=lambda kind: kind.plans_last)  # stable: registry order otherwise
    return tuple(
        (kind.name, importlib.import_module(kind.reconciler_module).plan)
        for kind in ordered
        if kind.reconciler_module is not None
    )


def reconcile_guild(ctx: GuildInput) -> ReconcilePlan:
    """Compare one guild's desired objects, bindings and observed state; return the plan."""
    draft = Draft()
    draft.settle(ctx, ctx.guild, discord_id=ctx.observed.id)
    for _kind, planner in registry():
        planner(ctx, draft)
    actions = sorted(draft.actions, key=lambda a: a.phase)  # stable: kind modules order within a phase
    return ReconcilePlan(
        guild=ctx.guild.key,
        guild_id=ctx.observed.id,
        actions=tuple(actions),
        bindings=dict(draft.targets),
        forget=tuple(draft.forget),
        blocked=dict(draft.blocked),
        waiting=tuple(draft.waiting),
        drifted=tuple(dict.fromkeys(draft.drifted)),
        damped=tuple(draft.damped),
        refused=dict(draft.refused),
    )


def guild_id_of(guild: SpecObject) -> int:
    return int(guild.spec["id"])
