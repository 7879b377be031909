"""Flap damping and normalized comparison in the pure reconciler (no I/O).

A value the server does not keep is written ``MAX_FLAPS`` times, then the channel is
``drifted`` with the fields named and held like a permanent error; a changed spec or the
hold running out lets it be written again. Values Discord would store alike are not a diff.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from test_reconciler_pure import NOW, bound, channel, guild, obj, observed, plan

from hlb.compiler.model import SpecObject
from hlb.reconciler import actions as a
from hlb.reconciler.commands import command_payload
from hlb.reconciler.damping import MAX_FLAPS
from hlb.reconciler.plan import GuildInput, ReconcilePlan, reconcile_guild
from hlb.reconciler.state import DRIFTED, IN_SYNC, Binding, ObservedChannel, ObservedGuild


def target(p: ReconcilePlan, name: str) -> Binding:
    return next(b for k, b in p.bindings.items() if k.name == name)


def test_names_topics_and_numbers_are_compared_as_discord_stores_them() -> None:
    spec = channel("build", display_name="  Build Logs ", topic=" CI output  ", slowmode=5)
    seen = ObservedChannel(10, 0, "build-logs", topic="CI output", slowmode=5)
    assert plan([spec], observed(seen), [bound(spec, 10)]).actions == ()
    voice = channel("hall", type="voice", display_name="Town Hall", bitrate=64000)
    heard = ObservedChannel(11, 2, "Town Hall", bitrate=64000)
    assert plan([voice], observed(heard), [bound(voice, 11)]).actions == ()
    renamed = ObservedChannel(11, 2, "town-hall", bitrate=64000)  # voice names keep case and spaces
    (update,) = plan([voice], observed(renamed), [bound(voice, 11)]).actions
    assert isinstance(update, a.UpdateChannel) and dict(update.fields) == {"name": "Town Hall"}


def test_a_topic_that_does_not_stick_is_written_three_times_then_drifted_and_held() -> None:
    spec = channel("logs", topic="Noisy output")
    seen = observed(ObservedChannel(10, 0, "logs", topic=None))  # the server keeps no topic
    binding = bound(spec, 10)
    for flap in range(1, MAX_FLAPS + 1):
        p = plan([spec], seen, [binding])
        (update,) = p.actions
        assert isinstance(update, a.UpdateChannel) and dict(update.fields) == {"topic": "Noisy output"}
        binding = target(p, "logs")
        assert (binding.status, binding.flaps) == (IN_SYNC, flap)
    stopped = plan([spec], seen, [binding])
    assert stopped.actions == () and [k.name for k in stopped.damped] == ["logs"]
    drifted = target(stopped, "logs")
    assert drifted.status == DRIFTED and drifted.next_attempt_at == NOW + timedelta(hours=1)
    assert drifted.error == "topic does not stick: wrote 'Noisy output', server keeps ''"
    held = plan_at(NOW + timedelta(minutes=30), spec, seen, drifted)
    assert held.actions == () and held.damped and "logs" not in {k.name for k in held.bindings}

    # the hold ran out: written once more; still not kept: drifted again, held twice as long
    later = NOW + timedelta(hours=1)
    again = plan_at(later, spec, seen, drifted)
    assert kinds_of(again) == ["UpdateChannel"]
    redrifted = target(plan_at(later, spec, seen, target(again, "logs")), "logs")
    assert redrifted.status == DRIFTED and redrifted.next_attempt_at == later + timedelta(hours=2)


def test_a_changed_spec_releases_a_drifted_channel_at_once() -> None:
    spec = channel("logs", topic="Noisy output")
    drifted = replace(bound(spec, 10), status=DRIFTED, flaps=3, attempts=1, attempted_hash=spec.hash)
    drifted = replace(drifted, next_attempt_at=NOW + timedelta(hours=1), error="topic does not stick")
    seen = observed(ObservedChannel(10, 0, "logs", topic=None))
    changed = channel("logs", topic="Calm output")
    p = plan([changed], seen, [drifted])
    assert kinds_of(p) == ["UpdateChannel"]
    released = target(p, "logs")
    assert (released.status, released.flaps, released.attempts, released.error) == (IN_SYNC, 1, 0, None)


def test_a_drifted_channel_deleted_by_hand_is_recreated_at_once() -> None:
    spec = channel("logs", topic="Noisy output")
    drifted = replace(bound(spec, 10), status=DRIFTED, flaps=3, attempts=1, attempted_hash=spec.hash)
    drifted = replace(drifted, next_attempt_at=NOW + timedelta(hours=1))
    gone = plan([spec], observed(), [drifted])
    assert kinds_of(gone) == ["CreateChannel"] and not gone.damped


def test_a_write_that_sticks_resets_the_count() -> None:
    spec = channel("logs", topic="Noisy output")
    binding = bound(spec, 10, flaps=2, written_hash="x")
    p = plan([spec], observed(ObservedChannel(10, 0, "logs", topic="Noisy output")), [binding])
    assert p.actions == () and target(p, "logs").flaps == 0


def plan_at(when: datetime, spec: SpecObject, seen: ObservedGuild, binding: Binding) -> ReconcilePlan:
    return reconcile_guild(GuildInput(guild(), [spec], seen, {binding.key: binding}, now=when))


def kinds_of(p: ReconcilePlan) -> list[str]:
    return [type(x).__name__ for x in p.actions]


def test_a_command_set_the_server_does_not_keep_is_overwritten_three_times_then_drifted() -> None:
    deploy = obj("Command", "deploy", description="Deploy", default_member_permissions=["manage_guild"])
    status = obj("Command", "status", description="Status")
    kept = [{k: v for k, v in command_payload(c).items() if k != "default_member_permissions"}
            for c in (deploy, status)]  # the server keeps no default_member_permissions
    seen = observed(commands=tuple(kept))
    bindings = [bound(deploy, 1), bound(status, 2)]
    for flap in range(1, MAX_FLAPS + 1):
        p = plan([deploy, status], seen, bindings)
        assert kinds_of(p) == ["OverwriteCommands"], flap
        bindings = [target(p, "deploy"), target(p, "status")]
        assert bindings[0].flaps == flap and bindings[0].status == IN_SYNC
    stopped = plan([deploy, status], seen, bindings)
    assert stopped.actions == () and {k.name for k in stopped.damped} == {"deploy"}
    drifted = [target(stopped, "deploy"), target(stopped, "status")]
    assert [b.status for b in drifted] == [DRIFTED, DRIFTED]
    assert all(b.next_attempt_at == NOW + timedelta(hours=1) for b in drifted)
    assert drifted[0].error is not None and "slash commands do not stick" in drifted[0].error
    held = plan([deploy, status], seen, drifted)
    assert held.actions == () and set(held.waiting) == {deploy.key, status.key}
    renamed = obj("Command", "status", description="Status of the lab")  # a spec change releases the set
    assert kinds_of(plan([deploy, renamed], seen, drifted)) == ["OverwriteCommands"]
