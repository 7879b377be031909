"""Trusting an apply: a saved plan only as `hlb plan` wrote it, for this database; no mass delete unasked.

The CLI runs in this process with stdin not a terminal, as in CI (``cli_inprocess``), or as
a process on a pseudo terminal where it asks; every refusal must leave the database unchanged.
"""

from __future__ import annotations

import json
import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

import cli_inprocess
import psycopg
import pytest
from terminal import read_terminal

from hlb.compiler.model import Model, ObjectKey, SpecObject
from hlb.compiler.plan import diff_models
from hlb.plans.render import MIN_DELETES, mass_delete
from hlb.plans.saved_plan import digest_of

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"


def hlb(db_url: str, cwd: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return cli_inprocess.hlb(cli_env(db_url, cwd), cwd, *args, stdin=stdin)


def cli_env(db_url: str, cwd: Path, **extra: str) -> dict[str, str]:
    """The CLI's environment: this database and home, colour left to the terminal, plus ``extra``."""
    env = {key: value for key, value in os.environ.items() if key not in ("NO_COLOR", "FORCE_COLOR")}
    home = str(cwd / ".hlb")
    return {**env, "DATABASE_URL": db_url, "HLB_AUTHOR": "trust-tester", "HLB_HOME": home, **extra}


def state(db_url: str) -> tuple[int, int]:
    """(revisions, channels): enough to see that a refused apply changed nothing."""
    with psycopg.connect(db_url) as conn:
        revs = conn.execute("SELECT count(*) FROM hlb_config.revisions").fetchone()
        channels = conn.execute("SELECT count(*) FROM hlb_config.channels").fetchone()
    assert revs is not None and channels is not None
    return int(revs[0]), int(channels[0])


@pytest.fixture
def work(tmp_path: Path) -> Path:
    shutil.copytree(SPECS, tmp_path / "specs")
    return tmp_path


def obj(kind: str, name: str, guild: str = "g") -> SpecObject:
    return SpecObject.build(ObjectKey(guild, kind, name), {}, {"n": name})


def channels(n: int) -> list[SpecObject]:
    return [obj("Channel", f"c{i}") for i in range(n)]


def test_mass_delete_rule() -> None:
    guild = obj("Guild", "g", "g")
    many = Model.of([guild, *channels(39)])
    # 10 of 40 managed is exactly a quarter: not more, so not a mass delete
    assert mass_delete(diff_models(many, Model.of([guild, *channels(29)]))) is None
    found = mass_delete(diff_models(Model.of([guild, *channels(38)]), Model.of([guild, *channels(28)])))
    assert found is not None and (found.deletes, found.managed, found.guilds) == (10, 39, ())
    # 9 of 10 is most of them, but under the minimum count
    assert mass_delete(diff_models(Model.of([guild, *channels(9)]), Model.of([guild]))) is None
    assert MIN_DELETES == 10
    # creating and updating never count
    assert mass_delete(diff_models(Model(), many)) is None
    # a Guild going is always one, however few objects
    gone = mass_delete(diff_models(Model.of([guild]), Model()))
    assert gone is not None and gone.guilds == ("g",) and "Guild g" in gone.reason


def test_saved_plan_is_indented_json_with_digest_and_database(db_url: str, work: Path) -> None:
    assert hlb(db_url, work, "apply", "specs").returncode == 0
    out = hlb(db_url, work, "plan", "specs/guild.yaml", "-o", "plan.json")
    assert out.returncode == 0, out.stderr
    text = (work / "plan.json").read_text(encoding="utf-8")
    data = json.loads(text)
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT id::text FROM hlb_config.database_identity").fetchone()
    assert row is not None and data["database_id"] == row[0]
    assert data["base_revision"] == 1 and data["digest"] == digest_of(data)
    assert text.count("\n") > len(data["desired"]) + 10  # readable: indented, one line per object
    assert "WARNING: mass delete" in out.stdout  # 30 of 31 objects go: plan says so loudly
    assert data["mass_delete"]["deletes"] == 30 and data["mass_delete"]["managed"] == 31


def test_an_edited_saved_plan_is_refused(db_url: str, work: Path) -> None:
    assert hlb(db_url, work, "plan", "specs", "-o", "plan.json").returncode == 0
    data = json.loads((work / "plan.json").read_text(encoding="utf-8"))
    data["desired"] = []
    (work / "plan.json").write_text(json.dumps(data), encoding="utf-8")
    refused = hlb(db_url, work, "apply", "plan.json")
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: E607 ") and len(refused.stderr.splitlines()) == 1
    assert "Traceback" not in refused.stderr
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM hlb_config.revisions").fetchone() == (0,)


def test_a_plan_without_digest_is_refused(db_url: str, work: Path) -> None:
    assert hlb(db_url, work, "plan", "specs", "-o", "plan.json").returncode == 0
    data = json.loads((work / "plan.json").read_text(encoding="utf-8"))
    del data["digest"], data["database_id"], data["mass_delete"]  # what hlb before 0004 wrote
    (work / "plan.json").write_text(json.dumps(data), encoding="utf-8")
    refused = hlb(db_url, work, "apply", "plan.json")
    assert refused.returncode == 1 and "E602" in refused.stderr and "hlb plan SPECS -o" in refused.stderr
    assert state(db_url) == (0, 0)


def test_a_plan_from_another_database_is_refused(db_url: str, empty_db_url: str, work: Path) -> None:
    for url in (db_url, empty_db_url):  # both at revision 1 with the same objects
        assert hlb(url, work, "apply", "specs").returncode == 0
    (work / "specs" / "commands.yaml").unlink()
    assert hlb(db_url, work, "plan", "specs", "-o", "plan.json").returncode == 0
    refused = hlb(empty_db_url, work, "apply", "plan.json")
    assert refused.returncode == 1 and refused.stderr.startswith("error: E608 "), refused.stderr
    assert state(empty_db_url) == (1, 14)
    applied = hlb(db_url, work, "apply", "plan.json")
    assert applied.returncode == 0 and "Applied revision 2: " in applied.stdout


def test_a_forged_plan_gets_validates_checks_not_a_database_error(db_url: str, work: Path) -> None:
    assert hlb(db_url, work, "plan", "specs", "-o", "plan.json").returncode == 0
    lines = (work / "plan.json").read_text(encoding="utf-8").split("\n")
    first = lines.index('  "desired": [') + 2  # the file's line of desired[0]
    objects = [json.loads(line.strip().rstrip(",")) for line in lines[first - 1 : lines.index("  ]")]]
    bad = next(i for i, o in enumerate(objects) if o["kind"] == "Channel" and o["spec"].get("category"))
    objects[bad]["spec"]["category"] = "no-such-category"
    objects[bad + 1]["spec"]["slowmode"] = 10**6
    for i in (bad, bad + 1):
        comma = "," if lines[first - 1 + i].endswith(",") else ""
        lines[first - 1 + i] = "    " + json.dumps(objects[i]) + comma
    text = "\n".join(lines)
    old_digest = json.loads(text)["digest"]
    text = text.replace(old_digest, digest_of(json.loads(text)))  # the digest is no signature
    (work / "plan.json").write_text(text, encoding="utf-8")

    refused = hlb(db_url, work, "apply", "plan.json")
    assert refused.returncode == 1, refused.stderr
    found = {(line.split(": ")[0], line.split(": ")[1].split()[0]) for line in refused.stderr.splitlines()
             if line.startswith("plan.json:")}
    assert (f"plan.json:{first + bad}:5", "E304") in found
    assert (f"plan.json:{first + bad + 1}:5", "E408") in found
    assert "Traceback" not in refused.stderr and "psycopg" not in refused.stderr
    assert state(db_url) == (0, 0)


def test_a_mistyped_path_that_deletes_most_objects_is_refused_without_a_terminal(
    db_url: str, work: Path
) -> None:
    assert hlb(db_url, work, "apply", "specs").returncode == 0
    refused = hlb(db_url, work, "apply", "specs/guild.yaml")  # meant: specs/
    assert refused.returncode == 1
    assert "E609" in refused.stderr and "30 of the 31 objects" in refused.stderr
    assert "It would delete 1 Role, 14 Channels, " in refused.stderr  # counted in words, as the plan counts
    assert "Channel alerts (guild homelab)" in refused.stderr and "--allow-mass-delete" in refused.stderr
    assert state(db_url) == (1, 14)
    # an empty desired state deletes the Guild: refused even from a clean, digest-checked plan
    empty = work / "empty"
    empty.mkdir()
    (empty / "g.yaml").write_text(
        "apiVersion: hlb/v1\nkind: Guild\nname: other\nspec: {id: '223456789012345678'}\n", encoding="utf-8")
    assert hlb(db_url, work, "plan", "empty", "-o", "plan.json").returncode == 0
    guild_gone = hlb(db_url, work, "apply", "plan.json")
    assert guild_gone.returncode == 1 and "E609" in guild_gone.stderr and "Guild homelab" in guild_gone.stderr
    assert state(db_url) == (1, 14)

    allowed = hlb(db_url, work, "apply", "specs/guild.yaml", "--allow-mass-delete")
    assert allowed.returncode == 0, allowed.stderr
    assert state(db_url) == (2, 0)
    # creating needs no flag, nor does a small delete (5 Commands of 31 objects)
    assert hlb(db_url, work, "apply", "specs").returncode == 0
    (work / "specs" / "commands.yaml").unlink()
    small = hlb(db_url, work, "apply", "specs")
    assert small.returncode == 0 and ": 0 created, 0 updated, 5 deleted." in small.stdout


def test_rollback_has_the_same_guard(db_url: str, work: Path) -> None:
    guild_only = work / "guild"
    guild_only.mkdir()
    shutil.copy(work / "specs" / "guild.yaml", guild_only)
    assert hlb(db_url, work, "apply", "guild").returncode == 0
    assert hlb(db_url, work, "apply", "specs").returncode == 0
    refused = hlb(db_url, work, "rollback", "1")
    assert refused.returncode == 1 and "E609" in refused.stderr
    assert state(db_url) == (2, 14)
    assert hlb(db_url, work, "rollback", "1", "--allow-mass-delete").returncode == 0
    assert state(db_url) == (3, 0)


def on_terminal(
    db_url: str, cwd: Path, args: list[str], answer: str | None, **extra: str
) -> tuple[int, str]:
    """Run the CLI on a pseudo terminal; type ``answer`` once it asks. Returns (exit code, output).

    The CLI does not lead a session on that terminal (``pty.fork`` made it): when a session leader
    exits, Linux hangs its terminal up and drops the output not read yet, so a reader behind on a
    loaded machine lost the end of it."""
    fd, terminal = pty.openpty()
    cli = subprocess.Popen(
        [sys.executable, "-m", "hlb.cli", *args],
        cwd=cwd,
        env=cli_env(db_url, cwd, **extra),
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
    )
    os.close(terminal)  # the CLI holds it: reading ends when the CLI closes it
    answered = False

    def react(output: bytes) -> None:
        nonlocal answered
        if answer is not None and not answered and b"Apply? [y/N]" in output:
            os.write(fd, answer.encode() + b"\n")
            answered = True

    try:
        output = read_terminal(fd, 120, react)
    finally:
        os.close(fd)
    return cli.wait(30), output.decode(errors="replace")


def test_on_a_terminal_deletes_are_shown_and_need_a_yes(db_url: str, work: Path) -> None:
    created, shown = on_terminal(db_url, work, ["apply", "specs"], None)  # creating never asks
    assert created == 0 and "Apply?" not in shown and "Applied revision 1: " in shown
    (work / "specs" / "commands.yaml").unlink()

    declined, shown = on_terminal(db_url, work, ["apply", "specs"], "n")
    assert declined == 1
    assert "- Command" in shown and "Apply? [y/N]" in shown and "nothing was changed" in shown
    assert state(db_url) == (1, 14)

    accepted, shown = on_terminal(db_url, work, ["apply", "specs"], "y")
    assert accepted == 0 and "Applied revision 2: " in shown

    # a mass delete on a terminal: the plan is shown with the warning, and a yes is enough
    mass, shown = on_terminal(db_url, work, ["apply", "specs/guild.yaml"], "y")
    assert mass == 0 and "WARNING: mass delete" in shown and "Apply? [y/N]" in shown
    assert state(db_url) == (3, 0)


def test_auto_approve_skips_the_question_but_not_the_mass_delete_guard(db_url: str, work: Path) -> None:
    assert on_terminal(db_url, work, ["apply", "specs"], None)[0] == 0
    (work / "specs" / "commands.yaml").unlink()
    code, shown = on_terminal(db_url, work, ["apply", "specs", "--auto-approve"], None)
    assert code == 0 and "Apply?" not in shown
    code, shown = on_terminal(db_url, work, ["apply", "specs/guild.yaml", "--auto-approve"], None)
    assert code == 1 and "E609" in shown
    assert state(db_url) == (2, 14)


TRICKY = ["${HOME}", "$${HOME}", "costs $5", "yes", "0x1F", "1_000", "a: b", "- x", "#c",
          "!tag", "x !y", "line\u2028sep", "del\x7f", "tab\there", "", " lead", "null", "~", "\"q\" \\ '",
          "emoji 🚨", "{a: 1}", "[1, 2]", "multi\nline"]


def yaml_quoted(text: str) -> str:
    """A YAML double-quoted scalar: JSON's, with DEL and U+2028 escaped too (raw, YAML refuses them)."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f").replace("\u2028", "\\u2028")


# spec sets only: not the preview's data file, not the Grafana dashboard
EXAMPLE_SETS = sorted(p for p in (ROOT / "examples").iterdir() if p.is_dir() and any(p.glob("*.yaml")))


@pytest.mark.parametrize("specs", [SPECS, *EXAMPLE_SETS], ids=lambda p: p.name)
def test_desired_objects_compile_again_to_the_same_hashes(specs: Path, tmp_path: Path) -> None:
    """No false refusals: the desired model of every example (and tricky strings) re-checks clean."""
    from hlb.compiler.compile import compile_paths, compile_sources
    from hlb.compiler.export import sources_of
    from hlb.plans.saved_plan import SavedPlan, check_desired

    paths = [str(specs)]
    if specs == SPECS:
        channels_yaml = "".join(
            f"---\napiVersion: hlb/v1\nkind: Channel\nname: t{i}\n"
            f"spec: {{type: text, topic: {yaml_quoted(t)}}}\n"
            for i, t in enumerate(TRICKY)
        ) + (  # a secret reference stays a reference through the saved plan (requests only: E507 elsewhere)
            "---\napiVersion: hlb/v1\nkind: Workflow\nname: tricky-hook\nspec:\n  steps:\n"
            "    - http: {url: \"https://example.com/${secret:TOKEN}\", "
            "headers: {Authorization: \"Bearer ${secret:TOKEN}\"}}\n"
        )
        (tmp_path / "tricky.yaml").write_text(channels_yaml, encoding="utf-8")
        paths.append(str(tmp_path / "tricky.yaml"))
    result = compile_paths(paths, {"HOME": "/root"})
    assert result.model is not None, [d.format_text() for d in result.diagnostics]
    from hlb.plans.saved_plan import PlannedOn

    assert check_desired(SavedPlan(PlannedOn(None, None), result.model, 0), "plan.json") == []
    again = compile_sources(sources_of(list(result.model)), {})
    assert again.model is not None
    assert {o.key: o.hash for o in again.model} == {o.key: o.hash for o in result.model}
