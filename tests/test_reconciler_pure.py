"""The pure reconciler: desired objects + observed guild + bindings -> actions, no I/O at all."""

from __future__ import annotations

import typing
from datetime import UTC, datetime, timedelta
from typing import Any

from hlb.compiler.model import ObjectKey, SpecObject
from hlb.compiler.permissions import to_bits
from hlb.reconciler import actions as a
from hlb.reconciler.commands import command_payload
from hlb.reconciler.plan import GuildInput, ReconcilePlan, reconcile_guild
from hlb.reconciler.state import (
    ERROR,
    Binding,
    ObservedChannel,
    ObservedGuild,
    ObservedOverwrite,
    ObservedRole,
    RenderedMessage,
)

GID = 500
ADMINS = 600
NOW = datetime(2026, 11, 26, tzinfo=UTC)


def obj(kind: str, name: str, **spec: Any) -> SpecObject:
    return SpecObject.build(ObjectKey("g", kind, name), {}, spec)


def guild(**spec: Any) -> SpecObject:
    return obj("Guild", "g", id=str(GID), prune=spec.pop("prune", True), adopt=spec.pop("adopt", "none"))


def channel(name: str, **spec: Any) -> SpecObject:
    base = {
        "type": "text",
        "display_name": name,
        "nsfw": False,
        "slowmode": 0,
        "protect": False,
        "permissions": [],
    }
    return obj("Channel", name, **{**base, **spec})


def observed(*channels: ObservedChannel, **extra: Any) -> ObservedGuild:
    return ObservedGuild(GID, "G", channels, (ObservedRole(ADMINS, "admins"),), **extra)


def bound(spec: SpecObject, discord_id: int, **extra: Any) -> Binding:
    return Binding(spec.key, discord_id, spec_hash=spec.hash, status="in_sync", **extra)


def plan(objects: list[SpecObject], seen: ObservedGuild, bindings: list[Binding], **kw: Any) -> ReconcilePlan:
    g = kw.pop("guild_obj", guild())
    return reconcile_guild(GuildInput(g, objects, seen, {b.key: b for b in bindings}, now=NOW, **kw))


def kinds(p: ReconcilePlan) -> list[str]:
    return [type(x).__name__ for x in p.actions]


def test_a_category_is_created_before_its_child_which_refers_to_it() -> None:
    cat, child = channel("infra", type="category"), channel("logs", category="infra", topic="t")
    p = plan([child, cat], observed(), [])
    assert kinds(p) == ["CreateChannel", "CreateChannel"]
    first, second = p.actions
    assert isinstance(first, a.CreateChannel) and first.key.name == "infra" and first.phase < second.phase
    assert isinstance(second, a.CreateChannel) and second.parent == cat.key
    assert second.payload["topic"] == "t" and second.payload["permission_overwrites"] == []


def test_only_the_fields_that_differ_are_sent() -> None:
    spec = channel("logs", topic="new topic", slowmode=5)
    seen = ObservedChannel(10, 0, "logs", topic="old topic", slowmode=5)
    p = plan([spec], observed(seen), [bound(spec, 10)])
    (update,) = p.actions
    assert isinstance(update, a.UpdateChannel) and dict(update.fields) == {"topic": "new topic"}


def test_overwrites_are_put_before_any_is_removed() -> None:
    spec = channel("ops", permissions=[{"role": "admins", "allow": ["view_channel"], "deny": []}])
    seen = ObservedChannel(
        10, 0, "ops", overwrites=(ObservedOverwrite(GID, 0, 0, to_bits(["view_channel"])),)
    )
    p = plan([spec], observed(seen), [bound(spec, 10)])
    assert kinds(p) == ["PutOverwrite", "DeleteOverwrite"]
    put, delete = p.actions
    assert isinstance(put, a.PutOverwrite) and put.target == ADMINS and put.allow == to_bits(["view_channel"])
    assert isinstance(delete, a.DeleteOverwrite) and delete.target == GID and put.phase < delete.phase


def test_an_unknown_role_blocks_that_channel_only() -> None:
    bad = channel("ops", permissions=[{"role": "ghosts", "allow": ["view_channel"], "deny": []}])
    good = channel("chat")
    p = plan([bad, good], observed(), [])
    assert "ghosts" in p.blocked[bad.key] and [x.key.name for x in p.actions] == ["chat"]


def test_adopt_by_name_binds_an_existing_channel_instead_of_creating_one() -> None:
    spec = channel("chat")
    seen = ObservedChannel(77, 0, "chat")
    p = plan([spec], observed(seen), [], guild_obj=guild(adopt="by-name"))
    assert kinds(p) == ["AdoptChannel"] and p.writes == () and p.bindings[spec.key].discord_id == 77
    assert kinds(plan([spec], observed(seen), [])) == ["CreateChannel"]  # adopt: none creates


def test_prune_deletes_what_left_the_specs_unless_protected_or_prune_is_off() -> None:
    gone = channel("old")
    seen = observed(ObservedChannel(10, 0, "old"))
    assert kinds(plan([], seen, [bound(gone, 10)])) == ["DeleteChannel"]
    kept = plan([], seen, [bound(gone, 10, protect=True)])
    assert kept.actions == () and kept.forget == (gone.key,)
    assert plan([], seen, [bound(gone, 10)], guild_obj=guild(prune=False)).actions == ()


def test_unmanaged_channels_are_never_in_a_plan() -> None:
    p = plan([], observed(ObservedChannel(10, 0, "someone-elses")), [])
    assert p.actions == () and p.forget == ()


def test_a_failed_object_waits_for_its_retry_time() -> None:
    spec = channel("chat")
    failing = Binding(
        spec.key, None, status=ERROR, error="boom", attempts=1, next_attempt_at=NOW + timedelta(1)
    )
    p = plan([spec], observed(), [failing])
    assert p.actions == () and p.waiting == (spec.key,)
    later = Binding(
        spec.key, None, status=ERROR, error="boom", attempts=1, next_attempt_at=NOW - timedelta(1)
    )
    assert kinds(plan([spec], observed(), [later])) == ["CreateChannel"]


def held_after_403(spec: SpecObject, discord_id: int | None, **extra: Any) -> Binding:
    """The binding of ``spec`` after Discord refused it just now: held for an hour."""
    return Binding(
        spec.key,
        discord_id,
        status=ERROR,
        error="403",
        error_kind="permanent",
        attempted_hash=spec.hash,
        attempts=1,
        next_attempt_at=NOW + timedelta(hours=1),
        **extra,
    )


def test_a_hold_lifts_when_the_spec_changes_or_failed_objects_are_retried() -> None:
    spec = channel("chat", topic="new")
    seen = observed(ObservedChannel(10, 0, "chat"))
    held = held_after_403(spec, 10, spec_hash="old")
    p = plan([spec], seen, [held])
    assert p.actions == () and p.waiting == (spec.key,) and spec.key not in p.bindings
    assert kinds(plan([spec], seen, [held], retry_failed=True)) == ["UpdateChannel"]
    changed = channel("chat", topic="newer")
    assert kinds(plan([changed], seen, [held])) == ["UpdateChannel"]


def test_a_child_of_a_held_category_that_was_never_created_is_blocked_not_sent() -> None:
    cat, child = channel("infra", type="category"), channel("logs", category="infra")
    held = held_after_403(cat, None)
    p = plan([cat, child], observed(), [held])
    assert p.actions == () and p.waiting == (cat.key,)
    assert p.blocked == {child.key: "its category infra is not reconciled yet"}


def test_a_held_command_set_is_not_overwritten_again_until_a_command_changes() -> None:
    deploy = obj("Command", "deploy", description="Deploy")
    failed = held_after_403(deploy, GID)
    seen = observed(commands=())
    p = plan([deploy], seen, [failed])
    assert p.actions == () and p.waiting == (deploy.key,) and p.bindings[deploy.key] == failed
    assert kinds(plan([deploy], seen, [failed], retry_failed=True)) == ["OverwriteCommands"]
    renamed = obj("Command", "deploy", description="Deploy it")
    assert kinds(plan([renamed], seen, [failed])) == ["OverwriteCommands"]


def test_dashboards_post_once_then_edit_only_when_the_render_changes() -> None:
    chan = channel("status")
    dash = obj("Dashboard", "board", channel="status")
    render = RenderedMessage.of({"content": "hi"})
    first = plan(
        [chan, dash],
        observed(ObservedChannel(10, 0, "status")),
        [bound(chan, 10)],
        rendered={dash.key: render},
    )
    assert kinds(first) == ["PostMessage"]
    posted = Binding(
        dash.key, 99, channel_id=10, spec_hash=dash.hash, rendered_hash=render.hash, status="in_sync"
    )
    seen = observed(ObservedChannel(10, 0, "status"), messages={99: True})
    same = plan([chan, dash], seen, [bound(chan, 10), posted], rendered={dash.key: render})
    assert same.actions == ()
    changed = plan(
        [chan, dash],
        seen,
        [bound(chan, 10), posted],
        rendered={dash.key: RenderedMessage.of({"content": "x"})},
    )
    assert kinds(changed) == ["EditMessage"]
    gone = observed(ObservedChannel(10, 0, "status"), messages={99: False})
    again = plan([chan, dash], gone, [bound(chan, 10), posted], rendered={dash.key: render})
    assert kinds(again) == ["PostMessage"] and again.drifted == (dash.key,)


def test_commands_equal_to_discords_make_no_call_whatever_discord_adds() -> None:
    cmd = obj(
        "Command",
        "uptime",
        description="Show uptime",
        options=[{"name": "host", "type": "string", "description": "Which", "required": True, "choices": []}],
    )
    sent = command_payload(cmd)
    from_discord = {
        **sent,
        "id": "1",
        "application_id": "2",
        "version": "3",
        "guild_id": str(GID),
        "default_member_permissions": None,
        "nsfw": False,
        "options": [{**sent["options"][0], "autocomplete": False}],
    }
    assert plan([cmd], observed(commands=(from_discord,)), []).actions == ()
    (overwrite,) = plan([cmd], observed(commands=()), []).actions
    assert isinstance(overwrite, a.OverwriteCommands) and overwrite.payload == (sent,)


def test_every_action_class_is_in_the_action_union() -> None:
    """``a.Action`` is what the dispatchers match on (with assert_never): a new action class
    left out of it would slip past mypy's exhaustiveness check."""

    def subclasses(cls: type) -> set[type]:
        return {c for sub in cls.__subclasses__() for c in (sub, *subclasses(sub))}

    assert set(typing.get_args(a.Action)) == subclasses(a.ActionBase)
    assert len(typing.get_args(a.Action)) == 21


# --- roles ----------------------------------------------------------------------------------------


def role(name: str, rank: int, **spec: Any) -> SpecObject:
    base = {"permissions": [], "color": "#000000", "hoist": False, "mentionable": False, "protect": False}
    return obj("Role", name, **{**base, "rank": rank, **spec})


def seen_roles(*roles: ObservedRole, top: int = 10) -> ObservedGuild:
    return ObservedGuild(GID, "G", (), (ObservedRole(GID, "@everyone"), *roles), bot_top=top)


def test_a_channel_created_with_a_new_role_names_it_by_key_and_roles_come_first() -> None:
    ops = role("ops", 0)
    chat = channel("chat", permissions=[{"role": "ops", "allow": ["view_channel"], "deny": []}])
    p = plan([ops, chat], seen_roles(), [])
    assert kinds(p) == ["CreateRole", "CreateChannel"]
    create = p.actions[1]
    assert isinstance(create, a.CreateChannel)
    assert [o["id"] for o in create.payload["permission_overwrites"]] == [ops.key]
    assert p.actions[0].phase < create.phase


def test_a_managed_role_or_one_above_the_bot_is_refused_only_when_the_spec_asks_a_change() -> None:
    boost = role("boosters", 0, color="#ff0000")
    high = role("high", 1)
    low = role("low", 2, hoist=True)
    roles = (
        ObservedRole(70, "boosters", position=3, managed=True),
        ObservedRole(71, "high", position=12),  # above the bot's role (10), but as the spec says
        ObservedRole(72, "low", position=2),
    )
    p = plan([boost, high, low], seen_roles(*roles), [bound(boost, 70), bound(high, 71), bound(low, 72)])
    assert "managed by an integration" in p.refused[boost.key]
    assert high.key not in p.refused and p.bindings[high.key].discord_id == 71
    [update] = p.actions
    assert isinstance(update, a.UpdateRole) and dict(update.fields) == {"hoist": True}


def test_role_order_one_positions_call_only_when_the_order_differs() -> None:
    first, second = role("first", 0), role("second", 1)
    right = (ObservedRole(81, "first", position=5), ObservedRole(82, "second", position=3))
    wrong = (ObservedRole(81, "first", position=3), ObservedRole(82, "second", position=5))
    bindings = [bound(first, 81), bound(second, 82)]
    assert plan([first, second], seen_roles(*right), bindings).actions == ()
    [reorder] = plan([first, second], seen_roles(*wrong), bindings).actions
    assert isinstance(reorder, a.ReorderRoles) and reorder.positions == ((81, 5), (82, 3))
    # a new role at the bottom is created there; one placed above the others needs the call
    third = role("third", 2)
    assert kinds(plan([first, second, third], seen_roles(*right), bindings)) == ["CreateRole"]
    top = role("top", 0)
    shifted = [role("first", 1), role("second", 2)]
    again = [bound(shifted[0], 81), bound(shifted[1], 82)]
    p = plan([top, *shifted], seen_roles(*right), again)
    assert kinds(p) == ["CreateRole", "ReorderRoles"]
    assert p.actions[1].positions == ((top.key, 6), (81, 4), (82, 1))  # type: ignore[union-attr]


def test_pruning_spares_protected_managed_and_higher_roles() -> None:
    gone, kept, high = role("gone", 0), role("kept", 1, protect=True), role("high", 2)
    roles = (ObservedRole(91, "gone", position=2), ObservedRole(92, "kept", position=3),
             ObservedRole(93, "high", position=11))
    bindings = [bound(gone, 91), bound(kept, 92, protect=True), bound(high, 93)]
    p = plan([], seen_roles(*roles), bindings)
    assert [(type(x).__name__, x.key.name) for x in p.actions] == [("DeleteRole", "gone")]
    assert set(p.forget) == {gone.key, kept.key, high.key}
