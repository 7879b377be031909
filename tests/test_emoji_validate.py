"""Validate's checks of Emoji images and Guild settings, through the ``hlb`` CLI; export round trip.

The CLI runs in this process (tests/cli_inprocess.py): what counts here is its output and exit code.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import cli_inprocess
import pytest

from hlb.compile_cache import CompileCache
from hlb.compiler.compile import compile_paths
from hlb.compiler.model import ObjectKey

POSITION = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+):(?P<col>\d+): (?P<code>E\d{3}) ", re.M)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
GUILD = 'apiVersion: hlb/v1\nkind: Guild\nname: home\nspec:\n  id: "123456789012345678"\n'
CHANNELS = (
    "---\napiVersion: hlb/v1\nkind: Channel\nname: general\nspec: {type: text}\n"
    "---\napiVersion: hlb/v1\nkind: Channel\nname: lounge\nspec: {type: voice}\n"
)


def emoji(image: str, name: str = "party", extra: str = "") -> str:
    return f"---\napiVersion: hlb/v1\nkind: Emoji\nname: {name}\nspec:\n  image: {image}\n{extra}"


def hlb(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return cli_inprocess.hlb({**os.environ, **env}, cwd, *args)


def validate(root: Path, text: str) -> list[tuple[str, int, str]]:
    (root / "specs.yaml").write_text(text)
    done = hlb(root, "validate", ".")
    assert "Traceback" not in done.stdout + done.stderr
    return [(m["file"], int(m["line"]), m["code"]) for m in POSITION.finditer(done.stdout + done.stderr)]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "party.png").write_bytes(PNG)
    return tmp_path


def test_a_good_emoji_validates(root: Path) -> None:
    assert validate(root, GUILD + emoji("img/party.png")) == []


@pytest.mark.parametrize(
    ("image", "code"),
    [
        ("img/missing.png", "E310"),
        ("../outside.png", "E309"),
        ("/etc/hostname", "E309"),
        ("img/fake.png", "E414"),
        ("img/big.png", "E413"),
        ("img/link.png", "E309"),
    ],
)
def test_a_bad_image_is_one_positioned_diagnostic(root: Path, image: str, code: str) -> None:
    (root.parent / "outside.png").write_bytes(PNG)
    (root / "img" / "fake.png").write_bytes(b"BM" + b"\x00" * 64)  # a BMP named .png
    (root / "img" / "big.png").write_bytes(PNG + b"\x00" * (256 * 1024))
    (root / "img" / "link.png").symlink_to(root.parent / "outside.png")
    assert validate(root, GUILD + emoji(image)) == [("specs.yaml", 11, code)]


def test_a_symlink_inside_the_directory_is_fine(root: Path) -> None:
    (root / "img" / "alias.png").symlink_to(root / "img" / "party.png")
    assert validate(root, GUILD + emoji("img/alias.png")) == []


def test_an_emoji_name_discord_refuses_is_e406(root: Path) -> None:
    assert validate(root, GUILD + emoji("img/party.png", name="party-time")) == [("specs.yaml", 9, "E406")]
    fixed = emoji("img/party.png", name="party-time", extra="  name: party_time\n")
    assert validate(root, GUILD + fixed) == []


@pytest.mark.parametrize(
    ("setting", "code"),
    [
        ("afk_channel: general", "E305"),
        ("system_channel: lounge", "E305"),
        ("rules_channel: lounge", "E305"),
        ("afk_channel: lounj", "E304"),
        ("verification_level: 2", "E204"),
        ("verification_level: extreme", "E206"),
        ("afk_timeout: 61", "E206"),
    ],
)
def test_a_bad_guild_setting_is_one_positioned_diagnostic(root: Path, setting: str, code: str) -> None:
    found = validate(root, GUILD + f"  {setting}\n" + CHANNELS)
    assert {(f, line) for f, line, _ in found} == {("specs.yaml", 6)} and code in {c for *_, c in found}


def test_good_guild_settings_validate_and_only_named_ones_are_kept(root: Path) -> None:
    settings = "  afk_channel: lounge\n  system_channel: general\n  verification_level: medium\n"
    assert validate(root, GUILD + settings + CHANNELS) == []
    model = compile_paths([str(root / "specs.yaml")], {}).model
    assert model is not None
    guild = model.by_key()[ObjectKey("home", "Guild", "home")].spec
    assert {k: guild[k] for k in ("afk_channel", "system_channel", "verification_level")} == {
        "afk_channel": "lounge",
        "system_channel": "general",
        "verification_level": "medium",
    }
    assert "description" not in guild and "afk_timeout" not in guild


def test_a_new_image_under_an_unchanged_spec_is_seen_through_the_compile_cache(root: Path) -> None:
    (root / "specs.yaml").write_text(GUILD + emoji("img/party.png"))
    cache = CompileCache(root / "cache")
    key = ObjectKey("home", "Emoji", "party")
    first = compile_paths([str(root / "specs.yaml")], {}, cache=cache).model
    (root / "img" / "party.png").write_bytes(PNG + b"changed")
    second = compile_paths([str(root / "specs.yaml")], {}, cache=CompileCache(root / "cache")).model
    assert first is not None and second is not None
    assert first.by_key()[key].spec["sha256"] != second.by_key()[key].spec["sha256"]
    (root / "img" / "party.png").unlink()
    third = compile_paths([str(root / "specs.yaml")], {}, cache=CompileCache(root / "cache"))
    assert [d.code for d in third.diagnostics] == ["E310"]


def test_plan_shows_a_new_image_by_its_hash_not_its_bytes(root: Path, db_url: str) -> None:
    (root / "specs.yaml").write_text(GUILD + emoji("img/party.png"))
    assert hlb(root, "apply", ".", DATABASE_URL=db_url).returncode == 0
    (root / "img" / "party.png").write_bytes(PNG + b"\x01" * 5000)
    plan = hlb(root, "plan", ".", DATABASE_URL=db_url).stdout
    assert "sha256" in plan and "image_data" in plan and "bytes)" in plan
    assert "AAAA" not in plan and len(plan) < 3000


def test_export_writes_the_images_and_round_trips(root: Path, db_url: str) -> None:
    settings = "  afk_channel: lounge\n  description: hi\n"
    party = emoji("img/party.png", extra="  roles: [ops]\n")
    (root / "specs.yaml").write_text(GUILD + settings + CHANNELS + party)
    assert hlb(root, "apply", ".", DATABASE_URL=db_url).returncode == 0
    out = root.parent / "exported"
    done = hlb(root, "export", "--out", str(out), DATABASE_URL=db_url)
    assert done.returncode == 0, done.stderr
    assert (out / "img" / "party.png").read_bytes() == PNG
    assert "sha256" not in (out / "emojis.yaml").read_text()
    again = compile_paths([str(out)], {}).model
    original = compile_paths([str(root / "specs.yaml")], {}).model
    assert again is not None and original is not None
    assert {o.key: o.hash for o in again} == {o.key: o.hash for o in original}


def test_a_saved_plan_with_emojis_applies_away_from_the_spec_files(root: Path, db_url: str) -> None:
    (root / "specs.yaml").write_text(GUILD + "  verification_level: low\n" + emoji("img/party.png"))
    saved = root.parent / "plan.json"
    done = hlb(root, "plan", ".", "-o", str(saved), DATABASE_URL=db_url)
    assert done.returncode == 0, done.stderr
    assert "+ Guild home" in done.stdout and "verification_level" in done.stdout
    elsewhere = root.parent / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "img").mkdir()
    (elsewhere / "img" / "party.png").write_bytes(b"GIF89a")  # a different file at the same path
    applied = hlb(elsewhere, "apply", str(saved), DATABASE_URL=db_url)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "1 created" in applied.stdout or "2 created" in applied.stdout
