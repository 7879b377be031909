"""The `hlb` command line as a user drives it: exit codes, formats, and clear errors for bad input."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from hlb.cli import main

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
POSITION = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+):(?P<col>\d+): (?P<code>E\d{3}) .+", re.M)

GUILD = 'apiVersion: hlb/v1\nkind: Guild\nname: home\nspec: {id: "123456789012345678"}\n'


@pytest.fixture
def hlb(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("HLB_AUTHOR", "cli-tester")
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> Result:
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    return run


def test_validate_reports_every_problem_with_positions(hlb, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a.yaml").write_text(
        GUILD + "---\napiVersion: hlb/v1\nkind: Channel\nname: Bad Name\nspec: {topc: x}\n", encoding="utf-8"
    )
    (tmp_path / "b.yaml").write_text("kind: Channel\n  name: [broken\n", encoding="utf-8")
    result = hlb("validate", ".")
    assert result.exit_code == 1
    found = [(m["file"], int(m["line"]), m["code"]) for m in POSITION.finditer(result.output)]
    assert ("a.yaml", 8, "E207") in found
    assert ("a.yaml", 9, "E203") in found
    assert any(f == "b.yaml" and c == "E106" for f, _, c in found)
    assert "Traceback" not in result.output

    as_json = json.loads(hlb("validate", ".", "--format", "json").output)
    assert as_json["errors"] == len(found)
    github = hlb("validate", ".", "--format", "github").output
    assert "::error file=a.yaml,line=9," in github


def test_validate_accepts_the_reference_specs(hlb) -> None:  # type: ignore[no-untyped-def]
    result = hlb("validate", str(SPECS))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: ")


def test_plan_apply_history_show_rollback_export(hlb, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    specs = tmp_path / "specs"
    shutil.copytree(SPECS, specs)
    planned = hlb("plan", str(specs), "--detailed-exitcode")
    assert planned.exit_code == 2
    assert "Plan: " in planned.output and " to create, 0 to update, 0 to delete." in planned.output

    applied = hlb("apply", str(specs), "-m", "first")
    assert applied.exit_code == 0, applied.output
    assert "Applied revision 1: " in applied.output
    assert hlb("plan", str(specs), "--detailed-exitcode").exit_code == 0
    noop = hlb("apply", str(specs))
    assert "No changes." in noop.output

    as_json = json.loads(hlb("plan", str(specs), "--format", "json").output)
    assert (
        as_json["format_version"] == 1 and as_json["has_changes"] is False and as_json["base_revision"] == 1
    )

    for f in specs.rglob("*.yaml"):
        if "kind: Command" in f.read_text(encoding="utf-8"):
            f.unlink()
    saved = hlb("plan", str(specs), "-o", str(tmp_path / "plan.json"))
    assert saved.exit_code == 0 and "to delete." in saved.output
    assert hlb("apply", str(tmp_path / "plan.json"), "-m", "drop commands").exit_code == 0
    stale = CliRunner().invoke(main, ["apply", str(tmp_path / "plan.json")])
    assert stale.exit_code == 1 and "E601" in stale.output  # computed against revision 1, now at 2
    history = hlb("history").output.splitlines()
    assert len(history) == 2 and "drop commands" in history[0] and "cli-tester" in history[0]

    shown = hlb("show", "2")
    assert "message: drop commands" in shown.output and "- Command" in shown.output
    assert hlb("show", "99").exit_code == 1

    rolled = hlb("rollback", "1")
    assert rolled.exit_code == 0 and "new revision 3" in rolled.output

    exported = hlb("export", "--out", str(tmp_path / "export"))
    assert exported.exit_code == 0
    assert hlb("validate", str(tmp_path / "export")).exit_code == 0
    assert hlb("plan", str(tmp_path / "export"), "--detailed-exitcode").exit_code == 0


def test_stale_saved_plan_is_refused_with_a_clear_message(hlb, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "g.yaml").write_text(GUILD, encoding="utf-8")
    assert hlb("plan", "g.yaml", "-o", "plan.json").exit_code == 0
    assert hlb("apply", "g.yaml").exit_code == 0
    refused = CliRunner().invoke(main, ["apply", "plan.json"])
    assert refused.exit_code == 1
    assert "E601" in refused.output and "run `hlb plan` again" in refused.output
    assert "Traceback" not in refused.output


def test_bad_input_changes_nothing(hlb, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "g.yaml").write_text(GUILD, encoding="utf-8")
    assert hlb("apply", ".").exit_code == 0
    (tmp_path / "broken.yaml").write_text("apiVersion: hlb/v1\nkind: Channel\nname: x\nspec:\n\ttopic: y\n")
    result = CliRunner().invoke(main, ["apply", "."])
    assert result.exit_code == 1
    assert "broken.yaml:5:" in result.output and "nothing was changed" in result.output
    assert len(hlb("history").output.splitlines()) == 1


def test_unreachable_database_is_one_clear_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://hlb:pw@127.0.0.1:1/hlb")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.yaml").write_text(GUILD, encoding="utf-8")
    result = CliRunner().invoke(main, ["plan", "g.yaml"])
    assert result.exit_code == 1
    assert "E605" in result.output and "Traceback" not in result.output
    assert "pw" not in result.output.replace("E605", "")


def test_db_commands(hlb) -> None:  # type: ignore[no-untyped-def]
    assert "head:" in hlb("db", "current").output
    assert hlb("db", "upgrade").exit_code == 0
    assert hlb("db", "url").output.startswith("postgresql")


def test_a_missing_bot_package_is_one_line_naming_the_extra() -> None:
    from hlb.cli_common import known_failure

    message = known_failure(ModuleNotFoundError("No module named 'disnake'", name="disnake"))
    assert message is not None and message.startswith("E702") and "hlb[bot]" in message
    assert known_failure(ModuleNotFoundError("No module named 'other'", name="other")) is None
