"""`hlb import-discord`: a guild built by hand becomes specs that adopt it with zero Discord writes.

End to end on the emulator (in its own thread, so the code under test runs its own loop),
the real disnake REST client and a real Postgres; the conversion itself is tested pure.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from hlb.bot.importer import ImportFailed, guild_to_documents, import_guild, slug, write_specs
from hlb.bot.session import run_reconcile
from hlb.cli import main
from hlb.cli_discord import import_discord
from hlb.compiler.compile import compile_paths
from hlb.compiler.permissions import PERMISSIONS, to_bits
from hlb.reconciler.actions import AdoptChannel, AdoptRole
from hlb.reconciler.state import ObservedChannel, ObservedGuild, ObservedOverwrite, ObservedRole
from hlb.settings import Settings
from hlb.store import db
from hlb.store.apply import apply_model
from hlb.store.runtime_tables import load_bindings_sync
from hlb.testing import Emulator

pytestmark = pytest.mark.timeout(120)

GUILD_ID = 200000000000000002
ALICE = 300000000000000003
TRICKY_TOPIC = 'Read me: ${NOT_A_VAR} $${ {{ not.a.template }} "quotes" # not a comment\n  second line '


def bits(*names: str) -> str:
    return str(to_bits(names))


def overwrite(target: int, kind: int, allow: str = "0", deny: str = "0") -> dict[str, Any]:
    return {"id": str(target), "type": kind, "allow": allow, "deny": deny}


def build_guild(emu: Emulator) -> dict[str, int]:
    """A server made by hand: emoji names, categories, every channel type, overwrites of each kind."""
    emu.add_guild("Hand-made Café ☕", guild_id=GUILD_ID)
    mods = emu.add_role(GUILD_ID, "mods")
    helpers = emu.add_role(GUILD_ID, "helpers")
    emu.add_role(GUILD_ID, "helpers")  # a second role of that name: overwrites must use the id
    numeric = emu.add_role(GUILD_ID, "2024")  # a name that reads as an id: the id is used
    emu.add_member(GUILD_ID, ALICE, "alice", [mods.id])
    make = emu.human_create_channel
    info = make(GUILD_ID, "📌 Info", type=4, position=0)
    voice = make(
        GUILD_ID, "Voice", type=4, position=1,
        permission_overwrites=[overwrite(GUILD_ID, 0, deny=bits("view_channel"))],
    )
    ids = {"info": info.id, "voice": voice.id}
    ids["general"] = make(GUILD_ID, "general", type=0, position=2, rate_limit_per_user=30, nsfw=True).id
    ids["rules"] = make(
        GUILD_ID, "📜-rules", type=0, parent_id=info.id, position=0, topic=TRICKY_TOPIC,
        permission_overwrites=[
            overwrite(GUILD_ID, 0, deny=bits("send_messages", "add_reactions")),
            overwrite(mods.id, 0, allow=bits("send_messages", "manage_messages")),
            overwrite(ALICE, 1, allow=bits("send_messages"), deny=bits("mention_everyone")),
            overwrite(numeric.id, 0, allow=bits("add_reactions")),
        ],
    ).id
    ids["news"] = make(GUILD_ID, "📢-news", type=5, parent_id=info.id, position=1, topic="Announcements").id
    ids["general-2"] = make(GUILD_ID, "general", type=0, parent_id=info.id, position=2).id
    ids["lounge"] = make(
        GUILD_ID, "Lounge 🎧", type=2, parent_id=voice.id, position=0, bitrate=96000, user_limit=10,
        permission_overwrites=[overwrite(helpers.id, 0, allow=bits("connect", "speak"))],
    ).id
    ids["town-hall"] = make(GUILD_ID, "Town Hall", type=13, parent_id=voice.id, position=1).id
    ids["help"] = make(GUILD_ID, "help", type=15, position=3, topic="Ask here", rate_limit_per_user=60).id
    make(GUILD_ID, "gallery", type=16, position=4)  # a media channel: hlb does not manage those
    return ids


def settings_for(emu: Emulator) -> Settings:
    return Settings(discord_token=emu.token, discord_api_base=emu.base_url)


def test_an_imported_guild_is_adopted_with_zero_discord_writes(
    discord_emulator: Emulator, db_url: str, tmp_path: Path
) -> None:
    emu = discord_emulator
    ids = build_guild(emu)
    settings = settings_for(emu)
    result = asyncio.run(import_guild(settings, GUILD_ID))
    assert [w for w in result.warnings if "gallery" in w and "media" in w]
    assert [w for w in result.warnings if "'helpers' not imported: 2 roles have this name" in w]
    assert [w for w in result.warnings if "'2024' not imported: the name reads as an id" in w]
    assert len(result.warnings) == 3, result.warnings
    # roles top first (the newest is highest below the bot's role), @everyone last; the bot's own
    # (managed) role and the ambiguous names are left out
    assert [d["name"] for d in result.roles] == ["mods", "@everyone"]
    out = tmp_path / "imported"
    write_specs(result, out)
    assert sorted(p.name for p in out.iterdir()) == ["channels.yaml", "guild.yaml", "roles.yaml"]

    compiled = compile_paths([str(out)], env={})
    assert compiled.ok and compiled.diagnostics == [], [d.format_text() for d in compiled.diagnostics]
    assert compiled.model is not None
    channels = {o.key.name: o.spec for o in compiled.model if o.key.kind == "Channel"}
    assert set(channels) == set(ids)
    assert channels["rules"]["topic"] == TRICKY_TOPIC and channels["rules"]["display_name"] == "📜-rules"
    assert channels["lounge"]["display_name"] == "Lounge 🎧" and channels["lounge"]["category"] == "voice"
    guild = next(o for o in compiled.model if o.key.kind == "Guild")
    assert guild.key.name == "hand-made-cafe"
    assert guild.spec == {  # the settings as Discord reports them: managed from now on, unchanged
        "id": str(GUILD_ID),
        "prune": False,
        "adopt": "by-name",
        "verification_level": "none",
        "default_notifications": "all_messages",
        "explicit_content_filter": "disabled",
        "afk_timeout": 300,
        "preferred_locale": "en-US",
    }

    apply_model(db_url, compiled.model, author="test", echo=lambda _line: None)
    reports = asyncio.run(run_reconcile(settings, db_url))
    assert emu.writes() == []
    assert len(reports) == 1 and reports[0].error is None, reports
    plan = reports[0].plan
    assert plan is not None and not plan.blocked
    assert all(isinstance(a, AdoptChannel | AdoptRole) for a in plan.actions), [
        a.describe() for a in plan.actions
    ]
    assert {a.key.name for a in plan.actions if isinstance(a, AdoptRole)} == {"mods"}
    assert {a.key.name: a.channel_id for a in plan.actions if isinstance(a, AdoptChannel)} == ids

    with db.connect(db_url) as conn:
        bindings = load_bindings_sync(conn)
    assert {k.name: b.discord_id for k, b in bindings.items() if k.kind == "Channel"} == ids
    assert all(b.status == "in_sync" for b in bindings.values()), bindings

    again = asyncio.run(run_reconcile(settings, db_url))
    assert again[0].plan is not None and again[0].plan.actions == ()
    assert emu.writes() == []
    emu.assert_no_invalid_requests()


def invoke(emu: Emulator, *args: str, token: str | None = None) -> Result:
    env = {"DISCORD_TOKEN": token or emu.token, "HLB_DISCORD_API_BASE": emu.base_url, "HLB_DEBUG": None}
    return CliRunner().invoke(import_discord, list(args), env=env)


def test_the_command_writes_valid_specs_and_refuses_to_overwrite(
    discord_emulator: Emulator, tmp_path: Path
) -> None:
    build_guild(discord_emulator)
    out = tmp_path / "specs"
    done = invoke(discord_emulator, "--guild", str(GUILD_ID), "--out", str(out), "--name", "cafe")
    assert done.exit_code == 0, done.output
    assert f"wrote {out / 'guild.yaml'}" in done.stdout and "(7 channels, 2 categories)" in done.stdout
    assert "warning: skipped channel 'gallery'" in done.stderr
    text = (out / "guild.yaml").read_text(encoding="utf-8")
    assert text.startswith("# Generated by `hlb import-discord` on ") and f"from guild {GUILD_ID}" in text
    assert "name: cafe" in text and "prune: false  # imported" in text
    channels = (out / "channels.yaml").read_text(encoding="utf-8")
    assert channels.index("name: info") < channels.index("name: rules") < channels.index("name: voice")
    assert "allow: [send_messages, manage_messages]" in channels
    assert "  # helpers (2 roles have this name)\n" in channels and "  # the role named '2024'\n" in channels

    valid = CliRunner().invoke(main, ["validate", str(out)])
    assert valid.exit_code == 0, valid.output

    before = channels
    refused = invoke(discord_emulator, "--guild", str(GUILD_ID), "--out", str(out))
    assert refused.exit_code == 1
    assert refused.stderr.count("\n") == 1 and "already exist; pass --force" in refused.stderr
    assert (out / "channels.yaml").read_text(encoding="utf-8") == before

    forced = invoke(discord_emulator, "--guild", str(GUILD_ID), "--out", str(out), "--force")
    assert forced.exit_code == 0, forced.output
    assert "name: hand-made-cafe" in (out / "guild.yaml").read_text(encoding="utf-8")
    discord_emulator.assert_no_invalid_requests()


@pytest.mark.parametrize(
    ("args", "token", "expected"),
    [
        (["--guild", "999999999999999999"], None, "the bot cannot see guild 999999999999999999 (HTTP 404)"),
        (["--guild", str(GUILD_ID)], "not-the-token", "E701 Discord refused the token"),
        (["--guild", "general"], None, "is not a Discord id"),
        (["--guild", str(GUILD_ID), "--name", "Not Valid"], None, "is not a valid object name"),
    ],
)
def test_errors_are_one_line_and_exit_1(
    discord_emulator: Emulator, tmp_path: Path, args: list[str], token: str | None, expected: str
) -> None:
    discord_emulator.add_guild("Some guild", guild_id=GUILD_ID)
    out = tmp_path / "specs"
    done = invoke(discord_emulator, *args, "--out", str(out), token=token)
    assert done.exit_code == 1, done.output
    assert done.stdout == ""
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr
    assert expected in done.stderr
    assert not out.exists()


def test_an_unreadable_reply_is_one_line_not_a_traceback(discord_emulator: Emulator, tmp_path: Path) -> None:
    discord_emulator.add_guild("Some guild", guild_id=GUILD_ID)
    discord_emulator.state.create_channel(GUILD_ID, {"name": "ops", "type": 0})
    discord_emulator.reply_without("GET", "/guilds/{guild_id}/channels", "id")
    done = invoke(discord_emulator, "--guild", str(GUILD_ID), "--out", str(tmp_path / "specs"))
    assert done.exit_code == 1 and done.stdout == "", done.output
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr
    assert "KeyError" in done.stderr and "Traceback" not in done.stderr


def test_a_missing_token_is_one_line(tmp_path: Path) -> None:
    env = {"DISCORD_TOKEN": None, "HLB_DEBUG": None}
    done = CliRunner().invoke(import_discord, ["--guild", str(GUILD_ID), "--out", str(tmp_path)], env=env)
    assert done.exit_code == 1 and done.stderr.startswith("error: E701 DISCORD_TOKEN is not set")


# -- the pure conversion -------------------------------------------------------------------------


def observed(*channels: ObservedChannel, roles: tuple[ObservedRole, ...] = ()) -> ObservedGuild:
    everyone = ObservedRole(GUILD_ID, "@everyone")
    return ObservedGuild(GUILD_ID, "Test", channels=channels, roles=(everyone, *roles))


def test_names_are_slugs_made_unique_with_the_discord_name_kept_as_display_name() -> None:
    assert slug("📊-status", "text") == "status"
    assert slug("Lounge 🎧", "voice") == "lounge"
    assert slug("🎧", "voice") == "voice"
    assert slug("Ça va? -- Oui!", "text") == "ca-va-oui"
    assert slug("_x" * 50, "text") == ("x_" * 32)[:63]
    result = guild_to_documents(
        observed(
            ObservedChannel(11, 0, "status", position=0),
            ObservedChannel(12, 0, "📊-status", position=1),
            ObservedChannel(13, 2, "🔊", position=2, bitrate=64000, user_limit=0),
            ObservedChannel(14, 0, "x" * 100, position=3),
            ObservedChannel(15, 0, "X" * 100, position=4),
        )
    )
    names = [(d["name"], d["spec"].get("display_name")) for d in result.channels]
    assert names == [
        ("status", None),
        ("status-2", "📊-status"),
        ("x" * 64, "x" * 100),
        ("x" * 62 + "-2", "X" * 100),
        ("voice", "🔊"),
    ]


def test_overwrite_targets_and_permissions() -> None:
    roles = (
        ObservedRole(21, "admins"),
        ObservedRole(22, "twins"),
        ObservedRole(23, "twins"),
        ObservedRole(24, "1234"),
    )
    unknown_bit = 1 << 47
    assert 47 not in PERMISSIONS.values()
    channel = ObservedChannel(
        31,
        0,
        "chat",
        overwrites=(
            ObservedOverwrite(GUILD_ID, 0, 0, to_bits(["send_messages"])),
            ObservedOverwrite(21, 0, to_bits(["manage_messages", "view_channel"]) | unknown_bit, 0),
            ObservedOverwrite(22, 0, to_bits(["view_channel"]), 0),
            ObservedOverwrite(24, 0, 0, 0),
            ObservedOverwrite(99, 0, 0, to_bits(["view_channel"])),
            ObservedOverwrite(ALICE, 1, to_bits(["view_channel"]), 0),
        ),
    )
    result = guild_to_documents(observed(channel, roles=roles))
    assert result.channels[0]["spec"]["permissions"] == [
        {"role": "@everyone", "deny": ["send_messages"]},
        {"role": "admins", "allow": ["view_channel", "manage_messages"]},
        {"role": "22", "allow": ["view_channel"]},
        {"role": "24"},
        {"role": "99", "deny": ["view_channel"]},
        {"member": str(ALICE), "allow": ["view_channel"]},
    ]
    assert len(result.warnings) == 4, result.warnings
    assert "role admins has permission bits hlb does not know (0x800000000000)" in result.warnings[0]
    assert "role 99 names no role of the guild" in result.warnings[1]
    assert "role 'twins' not imported: 2 roles have this name" in result.warnings[2]
    assert "role '1234' not imported: the name reads as an id" in result.warnings[3]
    assert [d["name"] for d in result.roles] == ["admins", "@everyone"]


def test_roles_are_imported_top_first_as_discord_holds_them() -> None:
    roles = (
        ObservedRole(GUILD_ID, "@everyone", permissions=to_bits(["view_channel"]) | 1 << 47),
        ObservedRole(41, "low", position=1, color=0x00FF00, mentionable=True),
        ObservedRole(42, "high", position=3, permissions=to_bits(["kick_members"]), hoist=True,
                     unicode_emoji="🛠"),
        ObservedRole(43, "hlb-bot", position=4, managed=True),
    )
    result = guild_to_documents(ObservedGuild(GUILD_ID, "Test", roles=roles))
    assert [(d["name"], d["spec"]) for d in result.roles] == [
        ("high", {"permissions": ["kick_members"], "hoist": True, "unicode_emoji": "🛠"}),
        ("low", {"permissions": [], "color": "#00ff00", "mentionable": True}),
        ("@everyone", {"permissions": ["view_channel"]}),
    ]
    assert result.warnings == [
        "role '@everyone': permission bits hlb does not know (0x800000000000) left out, so the first "
        "reconcile clears them"
    ]


def test_layout_fields_per_type_and_unsupported_types() -> None:
    result = guild_to_documents(
        observed(
            ObservedChannel(41, 4, "Zeta", position=1),
            ObservedChannel(42, 4, "Alpha", position=0),
            ObservedChannel(43, 2, "Talk", parent_id=41, position=0, bitrate=64000, user_limit=5),
            ObservedChannel(44, 0, "later", parent_id=41, position=1, topic="t", slowmode=5, nsfw=True),
            ObservedChannel(45, 0, "top", position=9),
            ObservedChannel(46, 11, "a thread", parent_id=45),
            ObservedChannel(47, 2, "Hot", parent_id=42, nsfw=True, slowmode=10, bitrate=8000, user_limit=0),
            ObservedChannel(48, 0, "lost", parent_id=777),
        ),
        name="mine",
    )
    assert result.guild["name"] == "mine"
    assert [d["name"] for d in result.channels] == ["lost", "top", "alpha", "hot", "zeta", "later", "talk"]
    specs = {d["name"]: d["spec"] for d in result.channels}
    assert specs["later"] == {
        "type": "text", "category": "zeta", "position": 1, "topic": "t", "nsfw": True, "slowmode": 5,
    }
    assert specs["talk"] == {
        "type": "voice", "display_name": "Talk", "category": "zeta", "position": 0,
        "bitrate": 64000, "user_limit": 5,
    }
    assert specs["zeta"] == {"type": "category", "display_name": "Zeta", "position": 1}
    assert all(d["guild"] == "mine" for d in result.channels)
    warnings = "\n".join(result.warnings)
    assert "skipped channel 'a thread' (46): hlb does not manage public thread channels" in warnings
    assert specs["hot"]["nsfw"] is True and specs["hot"]["slowmode"] == 10  # voice channels have a chat
    assert "channel 'lost' (48): its parent 777 is not a category" in warnings


def test_twins_that_adoption_could_pair_crosswise_are_warned_about() -> None:
    result = guild_to_documents(
        observed(
            ObservedChannel(51, 0, "chat"), ObservedChannel(52, 0, "chat"), ObservedChannel(53, 2, "chat")
        )
    )
    assert [d["name"] for d in result.channels] == ["chat", "chat-2", "chat-3"]
    assert len(result.warnings) == 1 and "2 text channels are named 'chat'" in result.warnings[0]


def test_a_bad_name_is_refused() -> None:
    with pytest.raises(ImportFailed, match="not a valid object name"):
        guild_to_documents(observed(), name="-bad")
