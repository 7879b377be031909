"""A whole server as code, from empty: settings, roles, role-targeted overwrites and emojis in one pass.

Issue 15's first "done when": the kinds converge together against the emulator with the real
disnake client and Postgres. The Role, Emoji and Guild-settings tests (test_roles.py,
test_guild_emoji.py) check each kind's changes one by one; this one checks they compose: an
overwrite and an emoji name a role created in the same pass, a setting names a channel created in
it, and the second pass writes nothing.
"""

from __future__ import annotations

from pathlib import Path

from reconcile_world import GUILD_ID, World, only_ok, run_world
from test_guild_emoji import PNG
from test_roles import CHANNEL, GUILD, ROLE_SPECS  # a channel whose overwrites name two roles

SETTINGS = """\
  verification_level: medium
  system_channel: ops
"""
EMOJI = """\
apiVersion: hlb/v1
kind: Emoji
name: shipit
spec:
  image: shipit.png
  roles: [operators]
"""


def spec_set(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "guild.yaml").write_text(GUILD + SETTINGS)
    (root / "roles.yaml").write_text(ROLE_SPECS)
    (root / "channels.yaml").write_text(CHANNEL)
    (root / "emojis.yaml").write_text(EMOJI)
    (root / "shipit.png").write_bytes(PNG)
    return root


def test_settings_roles_overwrites_and_emojis_converge_from_empty(db_url: str, tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        w.apply()
        only_ok(await w.reconcile())
        guild = w.emu.state.guilds[GUILD_ID]
        roles = {r.name: r for r in guild.roles.values()}
        operators = roles["operators"]
        assert {"operators", "members", "bots"} <= set(roles)
        ops = guild.channel_named("ops", 0)
        overwrites = {o.id: o for o in ops.permission_overwrites}
        assert operators.id in overwrites  # the overwrite names the role made in the same pass
        (shipit,) = guild.emojis.values()
        assert (shipit.name, shipit.image, shipit.roles) == ("shipit", PNG, [operators.id])
        assert guild.settings["verification_level"] == 2
        assert guild.settings["system_channel_id"] == str(ops.id)
        w.emu.assert_no_invalid_requests()  # every body fit Discord's OpenAPI spec
        await w.assert_quiet_pass()

    run_world(db_url, tmp_path, scenario, specs=spec_set(tmp_path / "src"))
