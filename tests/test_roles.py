"""The Role kind end to end: specs applied to a real Postgres, reconciled against the emulator.

Each test converges a guild from a small spec set of its own (three roles, a channel whose
overwrites name two of them, a workflow limited to one), then changes one thing and counts
the calls Discord would see: one PATCH per changed role, one positions call for a new order,
nothing on a no-op; pruning spares a protected role; a role above the bot's is a permanent
error on that object alone.
"""

from __future__ import annotations

from pathlib import Path

from reconcile_world import GUILD_ID, World, only_ok, run_world

from hlb.testing import Emulator
from hlb.testing.models import Guild, Role

ROLES = "/guilds/{guild_id}/roles"
ROLE = "/guilds/{guild_id}/roles/{role_id}"
OVERWRITE = "/channels/{channel_id}/permissions/{overwrite_id}"

GUILD = """\
apiVersion: hlb/v1
kind: Guild
name: homelab
spec:
  id: "${HLB_GUILD_ID}"
"""
ROLE_SPECS = """\
apiVersion: hlb/v1
kind: Role
name: operators
spec:
  permissions: [manage_messages, kick_members]
  color: "#E67E22"
  hoist: true
---
apiVersion: hlb/v1
kind: Role
name: members
spec:
  permissions: [send_messages]
  mentionable: true
---
apiVersion: hlb/v1
kind: Role
name: bots
spec:
  protect: true
---
apiVersion: hlb/v1
kind: Role
name: "@everyone"
spec:
  permissions: [view_channel, read_message_history]
"""
CHANNEL = """\
apiVersion: hlb/v1
kind: Channel
name: ops
spec:
  permissions:
    - role: "@everyone"
      deny: [view_channel]
    - role: operators
      allow: [view_channel, send_messages]
    - role: members
      allow: [view_channel]
      deny: [send_messages]
---
apiVersion: hlb/v1
kind: Workflow
name: restart
spec:
  allowed_roles: [operators]
  steps:
    - reply: "restarting"
"""


def write_specs(root: Path) -> Path:
    specs = root / "role-specs"
    specs.mkdir()
    (specs / "guild.yaml").write_text(GUILD)
    (specs / "roles.yaml").write_text(ROLE_SPECS)
    (specs / "channels.yaml").write_text(CHANNEL)
    return specs


def run(url: str, tmp_path: Path, scenario: object) -> World:
    return run_world(url, tmp_path, scenario, specs=write_specs(tmp_path))  # type: ignore[arg-type]


def swap_first_two(path: Path) -> None:
    first, second, *rest = path.read_text().split("---\n")
    path.write_text("---\n".join([second, first, *rest]))


def role(guild: Guild, name: str) -> Role:
    return guild.role_named(name)


def hierarchy(guild: Guild) -> list[str]:
    """Role names from the top down."""
    return [r.name for r in sorted(guild.roles.values(), key=lambda r: -r.position)]


def test_a_guild_converges_from_empty_with_roles_and_role_targeted_overwrites(
    db_url: str, tmp_path: Path
) -> None:
    async def scenario(w: World) -> None:
        w.apply()
        only_ok(await w.reconcile())
        guild = w.emu.state.guilds[GUILD_ID]
        operators, members = role(guild, "operators"), role(guild, "members")
        assert (operators.color, operators.hoist) == (0xE67E22, True)
        assert operators.permissions == (1 << 13) | (1 << 1)
        assert members.mentionable and members.permissions == 1 << 11
        assert guild.roles[GUILD_ID].permissions == (1 << 10) | (1 << 16)
        # the specs' order, below the bot's own role (and above the roles the test world seeded)
        top = hierarchy(guild)
        bot = w.emu.state.bot_user.username
        assert top.index(bot) < top.index("operators") < top.index("members") < top.index("bots")
        ops = guild.channel_named("ops", 0)
        targets = {o.id: (o.allow, o.deny) for o in ops.permission_overwrites}
        assert targets[operators.id] == ((1 << 10) | (1 << 11), 0)
        assert targets[members.id] == (1 << 10, 1 << 11)
        assert w.binding("Role", "operators").discord_id == operators.id
        assert all(b.status == "in_sync" for b in w.bindings().values()), w.bindings()

        await w.assert_quiet_pass()

    run(db_url, tmp_path, scenario)


def test_one_changed_colour_is_exactly_one_patch_with_only_that_field(db_url: str, tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        recolour = lambda: w.edit_spec("roles.yaml", 'color: "#E67E22"', 'color: "#3498db"')  # noqa: E731
        writes = await w.writes_after(recolour)
        assert [(c.method, c.route, c.body) for c in writes] == [("PATCH", ROLE, {"color": 0x3498DB})]
        assert role(w.emu.state.guilds[GUILD_ID], "operators").color == 0x3498DB

    run(db_url, tmp_path, scenario)


def test_two_swapped_roles_are_one_positions_call(db_url: str, tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        writes = await w.writes_after(lambda: swap_first_two(w.specs / "roles.yaml"))
        assert [(c.method, c.route) for c in writes] == [("PATCH", ROLES)]
        top = hierarchy(w.emu.state.guilds[GUILD_ID])
        assert top.index("members") < top.index("operators") < top.index("bots")

    run(db_url, tmp_path, scenario)


def test_a_removed_role_is_pruned_and_a_protected_one_stays(db_url: str, tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        w.apply()
        only_ok(await w.reconcile())
        guild = w.emu.state.guilds[GUILD_ID]
        members, bots = role(guild, "members").id, role(guild, "bots").id
        text = (w.specs / "roles.yaml").read_text()
        kept = [d for d in text.split("---\n") if "name: members" not in d and "name: bots" not in d]
        (w.specs / "roles.yaml").write_text("---\n".join(kept))
        entry = "    - role: members\n      allow: [view_channel]\n      deny: [send_messages]\n"
        w.edit_spec("channels.yaml", entry, "")
        w.apply()
        before = len(w.emu.calls)
        only_ok(await w.reconcile())
        deletes = [c for c in w.emu.calls[before:] if c.is_write and c.method == "DELETE"]
        assert sorted(c.route for c in deletes) == sorted([ROLE, OVERWRITE])
        assert members not in guild.roles and bots in guild.roles
        keys = {k.name for k in w.bindings() if k.kind == "Role"}
        assert keys == {"operators", "@everyone"}

    run(db_url, tmp_path, scenario)


def test_a_role_above_the_bot_is_a_permanent_error_and_the_rest_converges(
    db_url: str, tmp_path: Path
) -> None:
    async def scenario(w: World) -> None:
        w.apply()
        only_ok(await w.reconcile())
        state = w.emu.state
        guild = state.guilds[GUILD_ID]
        operators = role(guild, "operators")
        operators.position = state.bot_top(GUILD_ID) + 1  # someone moved it above the bot's role
        w.edit_spec("roles.yaml", 'color: "#E67E22"', 'color: "#3498db"')
        w.edit_spec("roles.yaml", "[send_messages]", "[send_messages, add_reactions]")
        w.apply()
        before = len(w.emu.calls)
        [report] = await w.reconcile()
        assert report.plan is not None and report.execution is not None
        writes = [c for c in w.emu.calls[before:] if c.is_write]
        assert [(c.method, c.route, c.body) for c in writes] == [
            ("PATCH", ROLE, {"permissions": str((1 << 11) | (1 << 6))})
        ]
        assert operators.color == 0xE67E22
        binding = w.binding("Role", "operators")
        assert binding.status == "error" and binding.error_kind == "permanent"
        assert binding.error is not None and "above the bot's highest role" in binding.error
        assert "color" in binding.error
        assert w.binding("Role", "members").status == "in_sync"
        assert w.binding("Channel", "ops").status == "in_sync"

    run(db_url, tmp_path, scenario)


def test_the_emulator_enforces_the_hierarchy_rule() -> None:
    import asyncio

    import aiohttp

    async def main() -> None:
        async with Emulator() as emu:
            emu.add_guild("g", guild_id=GUILD_ID)
            state = emu.state
            low = state.add_role(GUILD_ID, "low")
            high = state.add_role(GUILD_ID, "high")
            high.position = state.bot_top(GUILD_ID) + 1
            headers = {"Authorization": f"Bot {emu.token}"}
            base = f"{emu.base_url}/guilds/{GUILD_ID}/roles"
            async with aiohttp.ClientSession(headers=headers) as http:
                async with http.patch(f"{base}/{high.id}", json={"color": 1}) as reply:
                    assert reply.status == 403 and (await reply.json())["code"] == 50013
                async with http.delete(f"{base}/{high.id}") as reply:
                    assert reply.status == 403
                moves = [{"id": str(low.id), "position": state.bot_top(GUILD_ID)}]
                async with http.patch(base, json=moves) as reply:
                    assert reply.status == 403
                bot_role = guild_role(emu, state.bot_user.username)
                async with http.patch(f"{base}/{bot_role.id}", json={"color": 1}) as reply:
                    assert reply.status == 400  # managed
                async with http.patch(f"{base}/{low.id}", json={"color": 5}) as reply:
                    assert reply.status == 200 and low.color == 5
            emu.assert_no_invalid_requests()

    asyncio.run(main())


def guild_role(emu: Emulator, name: str) -> Role:
    return emu.state.guilds[GUILD_ID].role_named(name)
