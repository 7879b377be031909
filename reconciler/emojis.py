"""Emojis: upload, adopt, rename or re-role in place, re-upload a changed image, prune, within the slots.

Discord cannot replace an emoji's image: a new image (its SHA-256 differs from the one
last uploaded, kept as the binding's ``rendered_hash``) is a delete and a create, the
delete first so the slot is free. A guild has as many static as animated slots, by its
premium tier (``EMOJI_SLOTS``); uploads that do not fit, counted in name order after
every emoji that stays, are refused (a permanent error on those objects, the rest go on).
``roles`` resolve like channel overwrites' roles: a role's name (one role of that name in
the server) or its id; no ``roles`` means everyone may use the emoji.

Note for the Role kind: the names go through ``channels.resolve_target``, as overwrites do;
when Role specs resolve there (a role created in the same pass), emojis follow without change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hlb.compiler.enums import EMOJI_SLOTS
from hlb.compiler.model import ObjectKey, SpecObject
from hlb.reconciler.actions import AdoptEmoji, Change, CreateEmoji, DeleteEmoji, Ref, UpdateEmoji
from hlb.reconciler.channels import UnknownRole, resolve_target
from hlb.reconciler.plan import Draft, GuildInput
from hlb.reconciler.state import ObservedEmoji


@dataclass
class _Slots:
    """Free static and animated slots while the plan fills them."""

    free: dict[bool, int]

    def take(self, animated: bool) -> bool:
        if self.free[animated] <= 0:
            return False
        self.free[animated] -= 1
        return True


def plan(ctx: GuildInput, draft: Draft) -> None:
    observed = {e.id: e for e in ctx.observed.emojis}
    bound = ctx.bound("Emoji")
    desired = sorted(ctx.of_kind("Emoji"), key=lambda o: o.key.name)
    staying = dict(observed)
    for key in _pruned(ctx, draft, bound, observed):
        staying.pop(key, None)
    uploads: list[tuple[SpecObject, list[Ref], ObservedEmoji | None, str]] = []
    taken = {b.discord_id for b in bound.values() if b.discord_id is not None}
    for obj in desired:
        binding = bound.get(obj.key)
        if ctx.held(obj):
            draft.hold(ctx, obj)
            continue
        try:
            refs = [resolve_target(ctx, {"role": r}, draft.role_refs)[0] for r in obj.spec.get("roles") or ()]
        except UnknownRole as error:
            draft.blocked[obj.key] = str(error).replace("channel's permissions", "emoji's roles")
            continue
        # ids sorted as Discord lists them; a role created in this pass (its key) goes last
        roles = sorted(refs, key=lambda ref: (1, 0, str(ref)) if isinstance(ref, ObjectKey) else (0, ref, ""))
        have = observed.get(binding.discord_id) if binding and binding.discord_id is not None else None
        sha = str(obj.spec["sha256"])
        if have is None and ctx.adopt_by_name:
            have = _adoptable(ctx, obj, taken)
            if have is not None:
                taken.add(have.id)
                draft.actions.append(AdoptEmoji(obj.key, "adopt: by-name", have.id))
                binding = None  # its image is taken to be the spec's: it is not re-uploaded
                draft.settle(ctx, obj, discord_id=have.id, rendered_hash=sha, protect=_protect(obj))
                _update(ctx, draft, obj, have, roles, "adopted; differs from the spec")
                continue
        if have is not None and binding is not None and binding.rendered_hash not in (None, sha):
            uploads.append((obj, roles, have, "image changed: re-uploaded"))
            continue
        if have is None:
            reason = "new" if binding is None or binding.discord_id is None else "missing in Discord"
            uploads.append((obj, roles, None, reason))
            continue
        draft.settle(ctx, obj, discord_id=have.id, rendered_hash=binding.rendered_hash if binding else sha,
                     protect=_protect(obj))
        reason = "drift: changed in Discord" if binding and binding.spec_hash == obj.hash else "spec changed"
        _update(ctx, draft, obj, have, roles, reason)
    _upload(ctx, draft, uploads, staying)


def _upload(
    ctx: GuildInput,
    draft: Draft,
    uploads: list[tuple[SpecObject, list[Ref], ObservedEmoji | None, str]],
    staying: dict[int, ObservedEmoji],
) -> None:
    """Creates (and the deletes of replaced images) for what fits in the slots; the rest refused."""
    limit = EMOJI_SLOTS.get(ctx.observed.premium_tier, EMOJI_SLOTS[0])
    used = {flag: sum(1 for e in staying.values() if e.animated == flag) for flag in (False, True)}
    slots = _Slots({flag: limit - n for flag, n in used.items()})
    for obj, roles, old, reason in uploads:
        animated = bool(obj.spec.get("animated"))
        if old is not None:
            slots.free[old.animated] += 1  # deleted first, in an earlier phase
        if not slots.take(animated):
            if old is not None:
                slots.free[old.animated] -= 1  # kept: its replacement does not fit
            kind = "animated" if animated else "static"
            draft.refused[obj.key] = (
                f"no free {kind} emoji slot: guild {ctx.guild.key.name} (premium tier "
                f"{ctx.observed.premium_tier}) holds {limit} {kind} emojis; remove some or boost the server"
            )
            continue
        if old is not None:
            draft.actions.append(DeleteEmoji(obj.key, reason, ctx.observed.id, old.id))
        payload: dict[str, Any] = {"name": obj.spec["name"], "image": obj.spec["image_data"]}
        draft.actions.append(CreateEmoji(obj.key, reason, ctx.observed.id, payload, tuple(roles)))
        draft.settle(ctx, obj, discord_id=None, rendered_hash=obj.spec["sha256"], protect=_protect(obj))


def _update(
    ctx: GuildInput, draft: Draft, obj: SpecObject, have: ObservedEmoji, roles: list[Ref], reason: str
) -> None:
    fields: dict[str, Any] = {}
    changes: list[Change] = []
    if have.name != obj.spec["name"]:
        fields["name"] = obj.spec["name"]
        changes.append(Change("name", have.name, obj.spec["name"]))
    new_roles: tuple[Ref, ...] | None = None
    if list(have.roles) != roles:  # both sorted; a role not created yet always differs
        new_roles = tuple(roles)
        changes.append(Change("roles", list(have.roles), [str(r) for r in roles]))
    if fields or new_roles is not None:
        update = UpdateEmoji(obj.key, reason, ctx.observed.id, have.id, fields, tuple(changes), new_roles)
        draft.actions.append(update)
        if reason.startswith("drift"):
            draft.drifted.append(obj.key)


def _adoptable(ctx: GuildInput, obj: SpecObject, taken: set[int]) -> ObservedEmoji | None:
    for emoji in ctx.observed.emojis:
        if emoji.id not in taken and not emoji.managed and emoji.name == obj.spec["name"]:
            return emoji
    return None


def _pruned(
    ctx: GuildInput, draft: Draft, bound: dict[ObjectKey, Any], observed: dict[int, ObservedEmoji]
) -> list[int]:
    """Delete (or release) the emojis whose specs are gone; the ids deleted."""
    desired = {o.key for o in ctx.of_kind("Emoji")}
    deleted: list[int] = []
    for key, binding in sorted(bound.items()):
        if key in desired:
            continue
        have = observed.get(binding.discord_id) if binding.discord_id is not None else None
        if have is not None and ctx.prune and not binding.protect:
            draft.actions.append(DeleteEmoji(key, "left the specs", ctx.observed.id, have.id))
            deleted.append(have.id)
        draft.forget.append(key)
    return deleted


def _protect(obj: SpecObject) -> bool:
    return bool(obj.spec.get("protect"))
