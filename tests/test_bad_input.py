"""Every kind of bad input: a positioned diagnostic, no traceback, and the database left as it was."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from hlb.cli import main

GUILD = 'apiVersion: hlb/v1\nkind: Guild\nname: home\nspec: {id: "123456789012345678"}\n'
CHANNEL = "apiVersion: hlb/v1\nkind: Channel\nname: {name}\nspec:\n  {field}\n"
BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(9)
)

BAD: dict[str, tuple[bytes, str, int]] = {
    "invalid YAML": (b"apiVersion: hlb/v1\nkind: [Channel\n", "E106", 0),
    "tab indent": (b"apiVersion: hlb/v1\nkind: Channel\nname: x\nspec:\n\ttopic: y\n", "E107", 5),
    "duplicate key": (b"apiVersion: hlb/v1\nkind: Channel\nname: x\nname: y\n", "E108", 4),
    "alias bomb": (BOMB.encode(), "E109", 0),
    "over 10 MB": (b"# padding\n" * 1_100_000, "E102", 1),
    "invalid UTF-8": (b"apiVersion: hlb/v1\nkind: Channel\nname: caf\xe9\n", "E103", 3),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00", "E104", 3),  # the line of the first NUL byte
    "empty": (b"", "E105", 1),
    "a list": (b"- apiVersion: hlb/v1\n- kind: Channel\n", "E110", 1),
    "a scalar": (b"just text\n", "E110", 1),
    "unknown kind": (b"apiVersion: hlb/v1\nkind: Chanel\nname: x\n", "E202", 2),
    "unknown apiVersion": (b"apiVersion: hlb/v2\nkind: Channel\nname: x\n", "E201", 1),
    "unknown field": (CHANNEL.format(name="x", field="topc: y").encode(), "E203", 5),
    "wrong type": (CHANNEL.format(name="x", field="slowmode: fast").encode(), "E204", 5),
    "name with spaces": (CHANNEL.format(name="my channel", field="topic: y").encode(), "E207", 3),
    "reference to nothing": (CHANNEL.format(name="x", field="category: nowhere").encode(), "E304", 5),
    "unset variable": (CHANNEL.format(name="x", field="topic: ${HLB_UNSET_VAR}").encode(), "E502", 5),
    "broken template": (
        b"apiVersion: hlb/v1\nkind: Command\nname: hi\nspec:\n  description: d\n  reply: '{{ user.name '\n",
        "E501",
        6,
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_reported_and_changes_nothing(
    case: str, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.delenv("HLB_UNSET_VAR", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "guild.yaml").write_text(GUILD, encoding="utf-8")
    assert CliRunner().invoke(main, ["apply", "."]).exit_code == 0

    content, code, line = BAD[case]
    (tmp_path / "bad.yaml").write_bytes(content)
    result = CliRunner().invoke(main, ["apply", "."])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    prefix = f"bad.yaml:{line}:" if line else "bad.yaml:"
    assert any(row.startswith(prefix) and f" {code} " in row for row in result.output.splitlines()), (
        result.output
    )
    with psycopg.connect(db_url) as conn:
        revisions = conn.execute("SELECT count(*) FROM hlb_config.revisions").fetchone()
        channels = conn.execute("SELECT count(*) FROM hlb_config.channels").fetchone()
    assert revisions == (1,) and channels == (0,)
