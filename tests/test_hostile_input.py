"""Input that could hang or exhaust the machine, or mislead a reader, gets a clear diagnostic.

Special files named *.yaml, NUL characters, integers Discord refuses, per-guild ceilings,
channel fields the channel's type does not keep, and names with invisible or look-alike
characters: each is a diagnostic with a code and a position, never a hang or a traceback.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import cli_inprocess
import pytest

from hlb.compiler.compile import compile_paths
from hlb.compiler.diagnostics import Diagnostic
from hlb.compiler.sources import read_source

HLB = [sys.executable, "-m", "hlb.cli"]
GUILD = 'apiVersion: hlb/v1\nkind: Guild\nname: home\nspec: {id: "123456789012345678"}\n'
needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")


def cli(
    *args: str, cwd: Path, extra: dict[str, str] | None = None, process: bool = False
) -> subprocess.CompletedProcess[str]:
    """``hlb ARGS`` as a user runs it: in this process, or as a process when ``process`` (where a
    regression would block, the timeout turns it into a failure)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "HLB_DATABASE_URL")}
    env.update({"HLB_NO_CACHE": "1", "HLB_HOME": str(cwd / ".home"), **(extra or {})})
    if not process:
        return cli_inprocess.hlb(env, cwd, *args)
    return subprocess.run(
        [*HLB, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False
    )


# --- special files -------------------------------------------------------------------------------


@needs_fifo
def test_a_fifo_in_a_specs_directory_is_e113_and_never_opened(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "guild.yaml").write_text(GUILD, encoding="utf-8")
    os.mkfifo(specs / "pipe.yaml")
    result = cli("validate", "specs", cwd=tmp_path, process=True)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.startswith("specs/pipe.yaml:1:1: E113 is a FIFO (named pipe)"), result.stdout
    assert "Traceback" not in result.stderr


@needs_fifo
def test_a_fifo_named_on_the_command_line_is_e113(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.yaml")
    result = cli("validate", "pipe.yaml", cwd=tmp_path, process=True)
    assert result.returncode == 1
    assert "pipe.yaml:1:1: E113 is a FIFO" in result.stdout


def test_sockets_and_devices_are_e113_and_directories_stay_e101(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(path))
        found = read_source(path)
    finally:
        sock.close()
    assert isinstance(found, Diagnostic) and found.code == "E113" and "a socket" in found.message
    device = read_source(Path(os.devnull))
    assert isinstance(device, Diagnostic) and device.code == "E113" and "character device" in device.message
    directory = read_source(tmp_path)
    assert isinstance(directory, Diagnostic) and directory.code == "E101"


@needs_fifo
def test_a_symlink_to_a_fifo_is_e113(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "link.yaml").symlink_to(tmp_path / "pipe")
    (tmp_path / "guild.yaml").write_text(GUILD, encoding="utf-8")
    result = compile_paths([str(tmp_path)], env={})
    assert [(Path(d.file).name, d.code) for d in result.diagnostics] == [("link.yaml", "E113")]


# --- NUL characters and names ----------------------------------------------------------------------

NUL_TOPIC = GUILD + '---\napiVersion: hlb/v1\nkind: Channel\nname: general\nspec: {topic: "a\\0b"}\n'


def test_apply_with_a_nul_in_a_topic_is_e114_and_changes_nothing(db_url: str, tmp_path: Path) -> None:
    (tmp_path / "specs.yaml").write_text(NUL_TOPIC, encoding="utf-8")
    result = cli("apply", "specs.yaml", cwd=tmp_path, extra={"DATABASE_URL": db_url})
    assert result.returncode == 1, result.stdout + result.stderr
    assert "specs.yaml:9:8: E114 value in spec.topic holds a NUL character" in result.stderr
    assert "Traceback" not in result.stderr
    history = cli("history", cwd=tmp_path, extra={"DATABASE_URL": db_url})
    assert "cli-tester" not in history.stdout and "specs.yaml" not in history.stdout
    assert history.returncode == 0, history.stderr


def test_validate_shows_a_look_alike_warning_and_still_succeeds(tmp_path: Path) -> None:
    channel = 'apiVersion: hlb/v1\nkind: Channel\nname: paypal\nspec: {display_name: "p\u0430ypal"}\n'
    spec = GUILD + "---\n" + channel
    (tmp_path / "specs.yaml").write_text(spec, encoding="utf-8")
    result = cli("validate", "specs.yaml", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"code": "E412"' in result.stdout and '"severity": "warning"' in result.stdout
    assert '"errors": 0' in result.stdout
    text = cli("validate", "specs.yaml", cwd=tmp_path)
    assert text.returncode == 0 and "specs.yaml:9:8:" in text.stdout
    assert " E412 warning: spec.display_name" in text.stdout, text.stdout  # a warning says it is one


# --- integer ranges ----------------------------------------------------------------------------


def test_init_refuses_a_guild_id_beyond_64_bits(tmp_path: Path) -> None:
    too_big = cli("init", "big", "--guild-id", "18446744073709551616", cwd=tmp_path)
    assert too_big.returncode == 1 and "--guild-id" in too_big.stderr + too_big.stdout
    assert not (tmp_path / "big").exists()
    largest = cli("init", "ok", "--guild-id", "18446744073709551615", cwd=tmp_path)
    assert largest.returncode == 0, largest.stderr
    assert cli("validate", "ok/specs", cwd=tmp_path).returncode == 0


# --- channel fields per type -----------------------------------------------------------------------

# A valid value for every channel field; category names the category "infra" below.
FIELD_VALUES = {
    "display_name": '"a-name"',
    "category": "infra",
    "topic": "a topic",
    "position": "1",
    "nsfw": "false",
    "slowmode": "0",
    "bitrate": "64000",
    "user_limit": "0",
    "protect": "true",
    "permissions": '[{role: "@everyone", deny: [view_channel]}]',
}
KEPT = {  # from Discord's Channel object: which types keep which field
    "topic": {"text", "announcement", "forum"},
    "nsfw": {"text", "announcement", "forum", "voice", "stage"},
    "slowmode": {"text", "forum", "voice", "stage"},
    "bitrate": {"voice", "stage"},
    "user_limit": {"voice", "stage"},
    "category": {"text", "announcement", "forum", "voice", "stage"},
}
TYPES = ("text", "announcement", "forum", "voice", "stage", "category")


def test_every_channel_field_against_every_channel_type(tmp_path: Path) -> None:
    """A field Discord does not keep for the type is E307 at the field, whatever its value."""
    import json

    schema = json.loads((Path(__file__).parent.parent / "compiler/schemas/channel.schema.json").read_text())
    assert set(schema["$defs"]["spec"]["properties"]) == {"type", *FIELD_VALUES}  # no field forgotten
    (tmp_path / "guild.yaml").write_text(
        GUILD + "---\napiVersion: hlb/v1\nkind: Channel\nname: infra\nspec: {type: category}\n",
        encoding="utf-8",
    )
    for ctype in TYPES:
        for field, value in FIELD_VALUES.items():
            name = f"{ctype}-{field}".replace("_", "-")
            head = f"apiVersion: hlb/v1\nkind: Channel\nname: {name}\n"
            text = f"{head}spec:\n  type: {ctype}\n  {field}: {value}\n"
            (tmp_path / f"{ctype}-{field}.yaml").write_text(f"guild: home\n{text}", encoding="utf-8")
    for reference in (False, True):
        result = compile_paths([str(tmp_path)], env={}, reference=reference)
        found = {(Path(d.file).stem, d.line) for d in result.diagnostics if d.code == "E307"}
        other = [d for d in result.diagnostics if d.code != "E307"]
        assert not other, [d.format_text() for d in other]
        expected = {
            (f"{ctype}-{field}", 7)
            for ctype in TYPES
            for field in FIELD_VALUES
            if field in KEPT and ctype not in KEPT[field]
        }
        assert found == expected


def test_the_compiler_allows_exactly_what_the_reconciler_sends() -> None:
    from hlb.compiler.enums import CHANNEL_TYPES
    from hlb.compiler.kinds.channel import TYPE_FIELDS
    from hlb.reconciler.channels import NSFW_TYPES, SLOWMODE_TYPES, TOPIC_TYPES, VOICE_TYPES

    sent = {"topic": TOPIC_TYPES, "nsfw": NSFW_TYPES, "slowmode": SLOWMODE_TYPES, "bitrate": VOICE_TYPES}
    for ctype, fields in TYPE_FIELDS.items():
        for field, codes in sent.items():
            assert (field in fields) == (CHANNEL_TYPES[ctype] in codes), (ctype, field)
        assert ("category" in fields) == (ctype != "category")


# --- per-guild ceilings ----------------------------------------------------------------------------


def channels(count: int, *, guild: str = "home", category: str | None = None, prefix: str = "c") -> str:
    """``count`` text channels as one multi-document file (each document 5 lines, 4 with no category)."""
    docs = []
    for i in range(count):
        spec = f"spec: {{category: {category}}}\n" if category else ""
        docs.append(f"apiVersion: hlb/v1\nkind: Channel\nname: {prefix}{i}\nguild: {guild}\n{spec}")
    return "---\n".join(docs)


def commands(count: int) -> str:
    return "---\n".join(
        f"apiVersion: hlb/v1\nkind: Command\nname: cmd{i}\nspec: {{description: Command {i}, reply: ok}}\n"
        for i in range(count)
    )


def ceiling_errors(root: Path) -> list[tuple[str, int, str, str]]:
    """The E402s of a compile on both paths (which must agree), and of a warm cache run."""
    from hlb.compile_cache import CompileCache

    results = [
        compile_paths([str(root)], env={}, reference=True),
        compile_paths([str(root)], env={}, cache=CompileCache(root.parent / "cache")),
        compile_paths([str(root)], env={}, cache=CompileCache(root.parent / "cache")),  # warm
    ]
    found = [[(Path(d.file).name, d.line, d.code, d.message) for d in r.diagnostics] for r in results]
    assert found[0] == found[1] == found[2]
    return found[0]


def test_the_501st_channel_of_a_guild_is_named(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "a-guild.yaml").write_text(GUILD, encoding="utf-8")
    (specs / "b-infra.yaml").write_text(
        "apiVersion: hlb/v1\nkind: Channel\nname: infra\nspec: {type: category}\n", encoding="utf-8"
    )
    (specs / "c-channels.yaml").write_text(channels(499), encoding="utf-8")
    assert ceiling_errors(specs) == []  # 500 with the category: the ceiling, not over it
    (specs / "d-more.yaml").write_text(channels(2, prefix="more"), encoding="utf-8")
    found = ceiling_errors(specs)
    assert len(found) == 1
    file, line, code, message = found[0]
    assert (file, line, code) == ("d-more.yaml", 3, "E402")
    assert "Channel 'more0' is channel 501 of guild 'home'" in message and "categories included" in message


def test_two_guilds_have_a_ceiling_each(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    other = GUILD.replace("home", "away").replace("123456789012345678", "223456789012345678")
    (specs / "guilds.yaml").write_text(GUILD + "---\n" + other, encoding="utf-8")
    (specs / "home.yaml").write_text(channels(400), encoding="utf-8")
    (specs / "away.yaml").write_text(channels(400, guild="away"), encoding="utf-8")
    assert ceiling_errors(specs) == []


def test_the_51st_channel_of_a_category_is_named_at_its_category(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    category = "apiVersion: hlb/v1\nkind: Channel\nname: infra\nspec: {type: category}\n"
    (specs / "a.yaml").write_text(GUILD + "---\n" + category, encoding="utf-8")
    (specs / "b.yaml").write_text(channels(50, category="infra"), encoding="utf-8")
    assert ceiling_errors(specs) == []
    (specs / "c.yaml").write_text(channels(1, category="infra", prefix="extra"), encoding="utf-8")
    found = ceiling_errors(specs)
    assert [(f, line, c) for f, line, c, _ in found] == [("c.yaml", 5, "E402")]
    assert "Channel 'extra0' is channel 51 in category 'infra'" in found[0][3]


def test_the_101st_command_is_named_by_validate(tmp_path: Path) -> None:
    (tmp_path / "guild.yaml").write_text(GUILD, encoding="utf-8")
    (tmp_path / "commands.yaml").write_text(commands(100), encoding="utf-8")
    assert cli("validate", ".", cwd=tmp_path).returncode == 0
    (tmp_path / "commands.yaml").write_text(commands(101), encoding="utf-8")
    result = cli("validate", ".", cwd=tmp_path)
    assert result.returncode == 1
    expected = "commands.yaml:503:1: E402 Command 'cmd100' is slash command 101 of guild 'home'"
    assert result.stdout.startswith(expected), result.stdout


def test_import_and_export_write_only_the_fields_a_type_keeps(tmp_path: Path) -> None:
    """``hlb import-discord`` and ``hlb export`` write specs that pass the per-type check."""
    from hlb.bot.importer import guild_to_documents
    from hlb.cli_common import write_export
    from hlb.reconciler.state import ObservedChannel, ObservedGuild, ObservedRole

    guild_id = 123456789012345678
    observed = ObservedGuild(
        guild_id,
        "Test",
        channels=(
            ObservedChannel(41, 4, "Infra", position=0),
            ObservedChannel(42, 5, "news", parent_id=41, position=1, slowmode=5, nsfw=True),
        ),
        roles=(ObservedRole(guild_id, "@everyone"),),
    )
    specs = {d["name"]: d["spec"] for d in guild_to_documents(observed, name="home").channels}
    assert specs["news"] == {"type": "announcement", "category": "infra", "position": 1, "nsfw": True}
    # export: the model gives every channel nsfw and slowmode; a category must not get them back
    source = tmp_path / "specs.yaml"
    category = "apiVersion: hlb/v1\nkind: Channel\nname: infra\nspec: {type: category}\n"
    source.write_text(GUILD + "---\n" + category, encoding="utf-8")
    model = compile_paths([str(source)], env={}).model
    assert model is not None
    write_export(model, tmp_path / "out", revision=1)
    again = compile_paths([str(tmp_path / "out")], env={})
    assert again.model is not None, [d.format_text() for d in again.diagnostics]
    assert [(o.key, o.hash) for o in again.model] == [(o.key, o.hash) for o in model]
