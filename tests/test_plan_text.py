"""Plans a reviewer can read: the text plan, what `hlb apply`, `hlb show` and `hlb history` print.

The CLI runs in this process (``cli_inprocess``; as a process on a pseudo terminal
where the point is the terminal) against a real (embedded) Postgres: permission
changes in words and values whole, an apply that tells what it changed field
by field, revisions in the past tense, ``-dirty`` commits, natural counts,
colour only on a terminal.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import cli_inprocess
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_apply_trust import cli_env, on_terminal

from hlb.compiler.compile import compile_paths
from hlb.compiler.plan import diff_models
from hlb.compiler.wording import Paint, plural
from hlb.plans.render import render_text, short

GUILD = 'apiVersion: hlb/v1\nkind: Guild\nname: homelab\nspec: {id: "123456789012345678"}\n'
LONG_TOPIC = "Where deploys are announced; " * 8  # over 200 characters


def deploys(topic: str, allow: str) -> str:
    return (
        "apiVersion: hlb/v1\nkind: Channel\nname: deploys\nspec:\n"
        f"  topic: {topic!r}\n"
        "  permissions:\n"
        "    - {role: '@everyone', deny: [send_messages]}\n"
        f"    - {{role: operators, allow: [{allow}]}}\n"
    )


def hlb(db_url: str, cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return cli_inprocess.hlb(cli_env(db_url, cwd, **env), cwd, *args)


def on_a_terminal(db_url: str, cwd: Path, *args: str, **env: str) -> str:
    """What the CLI writes when it runs on a terminal (a pty)."""
    return on_terminal(db_url, cwd, list(args), None, **env)[1]


@pytest.fixture
def work(tmp_path: Path) -> Path:
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "guild.yaml").write_text(GUILD, encoding="utf-8")
    (specs / "deploys.yaml").write_text(deploys("Deploys", "view_channel"), encoding="utf-8")
    return tmp_path


def test_permission_changes_are_words_and_values_are_whole(tmp_path: Path) -> None:
    sets = (("old", deploys("Deploys", "view_channel")), ("new", deploys(LONG_TOPIC, "send_messages")))
    for name, text in sets:
        (tmp_path / name).mkdir()
        (tmp_path / name / "guild.yaml").write_text(GUILD, encoding="utf-8")
        (tmp_path / name / "deploys.yaml").write_text(text, encoding="utf-8")
    old, new = compile_paths([str(tmp_path / "old")], env={}), compile_paths([str(tmp_path / "new")], env={})
    assert old.model is not None and new.model is not None
    text = render_text(diff_models(old.model, new.model, 1))
    assert "+ permissions: role operators gains send_messages in #deploys" in text
    assert "- permissions: role operators loses view_channel in #deploys" in text
    assert "permissions[" not in text and "..." not in text
    assert f'~ spec.topic: "Deploys" -> "{LONG_TOPIC}"' in text
    created = render_text(diff_models(type(new.model)(), new.model, None))
    assert "+ permissions: @everyone cannot send_messages in #deploys" in created
    assert "permissions: [" not in created


def test_apply_prints_what_it_changed_field_by_field(db_url: str, work: Path) -> None:
    first = hlb(db_url, work, "apply", "specs")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("Applied revision 1 (on top of an empty database):")
    assert "Applied revision 1: 2 created, 0 updated, 0 deleted." in first.stdout
    (work / "specs" / "deploys.yaml").write_text(deploys("Releases", "send_messages"), encoding="utf-8")
    planned = hlb(db_url, work, "plan", "specs")
    applied = hlb(db_url, work, "apply", "specs")
    assert applied.returncode == 0, applied.stderr
    for line in (
        '      ~ spec.topic: "Deploys" -> "Releases"',
        "      + permissions: role operators gains send_messages in #deploys",
        "      - permissions: role operators loses view_channel in #deploys",
    ):
        assert line in planned.stdout and line in applied.stdout
    assert "will" not in applied.stdout
    assert applied.stdout.rstrip().endswith("Applied revision 2: 0 created, 1 updated, 0 deleted.")

    shown = hlb(db_url, work, "show", "2")
    assert shown.returncode == 0, shown.stderr
    assert "Revision 2 made these changes (against revision 1):" in shown.stdout
    assert '~ spec.topic: "Deploys" -> "Releases"' in shown.stdout
    assert "will" not in shown.stdout and "Plan:" not in shown.stdout


def test_a_plan_with_nothing_to_do_says_no_changes(db_url: str, work: Path) -> None:
    assert hlb(db_url, work, "apply", "specs").returncode == 0
    planned = hlb(db_url, work, "plan", "specs")
    assert planned.stdout.startswith("No changes.")
    assert "applied" not in planned.stdout.lower() and "was changed" not in planned.stdout
    again = hlb(db_url, work, "apply", "specs")
    assert again.stdout.startswith("No changes.") and "no revision was made" in again.stdout


def test_history_marks_a_revision_from_a_dirty_work_tree(db_url: str, work: Path) -> None:
    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
            cwd=work, capture_output=True, text=True, check=True,
        )
        return done.stdout.strip()

    git("init", "-q")
    git("add", "specs")
    git("commit", "-q", "-m", "specs")
    sha = git("rev-parse", "HEAD")
    assert hlb(db_url, work, "apply", "specs").returncode == 0
    (work / "specs" / "deploys.yaml").write_text(deploys("Edited", "view_channel"), encoding="utf-8")
    assert hlb(db_url, work, "apply", "specs").returncode == 0
    lines = hlb(db_url, work, "history").stdout.splitlines()
    assert f" {sha[:7]}-dirty " in lines[0]
    assert f" {sha[:7]} " in lines[1] and "-dirty" not in lines[1]


def test_counts_read_naturally(db_url: str, work: Path) -> None:
    (work / "one").mkdir()
    (work / "one" / "guild.yaml").write_text(GUILD, encoding="utf-8")
    ok = hlb(db_url, work, "validate", "one")
    assert ok.stdout.strip() == "ok: 1 object in 1 file valid."
    (work / "one" / "bad.yaml").write_text("apiVersion: hlb/v1\nkind: Channel\nname: x\nspec: {topc: y}\n")
    bad = hlb(db_url, work, "validate", "one")
    assert bad.stderr.strip() == "1 error in 1 file."
    applied = hlb(db_url, work, "apply", "one")
    assert "1 error; nothing was changed. Fix it and" in applied.stderr and "(s)" not in applied.stderr
    assert [plural(n, "file") for n in (0, 1, 2)] == ["0 files", "1 file", "2 files"]


def test_colour_on_a_terminal_only(db_url: str, work: Path) -> None:
    piped = hlb(db_url, work, "plan", "specs")
    assert piped.returncode == 0 and "\x1b[" not in piped.stdout
    coloured = on_a_terminal(db_url, work, "plan", "specs")
    assert "\x1b[32m  + Channel deploys" in coloured  # a create in green
    assert "\x1b[" not in on_a_terminal(db_url, work, "plan", "specs", NO_COLOR="1")
    assert "\x1b[32m" in hlb(db_url, work, "plan", "specs", FORCE_COLOR="1").stdout

    (work / "specs" / "bad.yaml").write_text("apiVersion: hlb/v1\nkind: Channel\nname: x\nspec: {topc: y}\n")
    failed = hlb(db_url, work, "validate", "specs")
    assert "E203" in failed.stdout and "\x1b[" not in failed.stdout
    assert Paint(True).error("E203") in on_a_terminal(db_url, work, "validate", "specs")

    missing = hlb(db_url, work, "show", "99")
    assert missing.stderr.startswith("error: E604 ")
    assert Paint(True).error("error:") + " E604 " in on_a_terminal(db_url, work, "show", "99")
    assert on_a_terminal(db_url, work, "show", "99", NO_COLOR="1").startswith("error: E604 ")
    assert Paint(True).error("E203") != "E203" and Paint(False).error("E203") == "E203"


def test_counts_in_diagnostics_read_naturally(tmp_path: Path) -> None:
    workflow = (
        "apiVersion: hlb/v1\nkind: Workflow\nname: nightly\nspec:\n"
        "  triggers:\n    - schedule: '5'\n    - schedule: '0 8 * *'\n  steps:\n    - reply: hi\n"
    )
    (tmp_path / "specs.yaml").write_text(GUILD + "---\n" + workflow, encoding="utf-8")
    messages = [d.message for d in compile_paths([str(tmp_path)], env={}).diagnostics]
    assert any("'5' has 1 field;" in m for m in messages), messages
    assert any("'0 8 * *' has 4 fields;" in m for m in messages), messages
    assert not any("(s)" in m for m in messages)


@given(
    st.one_of(
        st.text(),
        st.integers(),
        st.booleans(),
        st.none(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.lists(st.text(max_size=5), max_size=3),
        st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    )
)
def test_a_value_in_the_plan_is_written_as_json_writes_it(value: object) -> None:
    """The plan's values skip the JSON encoder when it would write them unchanged (text without a quote,
    backslash or control character, integers, booleans): the same text, faster for 10,000 objects."""
    expected = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    if not (isinstance(value, str) and value.startswith("data:image/")):
        assert short(value) == expected
