"""`hlb init` and `hlb schema`: the scaffold validates, the written schemas check documents, hooks work."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner
from referencing import Registry
from referencing.jsonschema import DRAFT202012
from ruamel.yaml import YAML

from hlb.cli_scaffold import COMBINED_FILE, guild_name_for, init_command, scaffold, schema_command
from hlb.cli_version import parse_direct_url
from hlb.compiler.compile import compile_paths
from hlb.compiler.schema import kind_names, schema_texts

ROOT = Path(__file__).resolve().parent.parent
MODELINE = "# yaml-language-server: $schema=../schemas/hlb.schema.json"
SPEC_FILES = [
    *("guild.yaml", "roles.yaml", "channels.yaml", "emojis.yaml"),
    *("dashboards.yaml", "commands.yaml", "workflows.yaml"),
]
GUILD_ID = "123456789012345678"


def run(command: Any, *args: str) -> Any:
    return CliRunner().invoke(command, list(args), catch_exceptions=False)


def load_all(path: Path) -> list[Any]:
    return [doc for doc in YAML(typ="safe").load_all(path.read_text(encoding="utf-8")) if doc is not None]


def validator_for(schemas: Path, file: str = COMBINED_FILE) -> jsonschema.Draft202012Validator:
    """A validator for one written schema file, resolving its `$ref`s only among the files in `schemas`."""
    registry: Registry[Any] = Registry().with_resources(
        (path.as_uri(), DRAFT202012.create_resource(json.loads(path.read_text(encoding="utf-8"))))
        for path in schemas.glob("*.json")
    )
    return jsonschema.Draft202012Validator({"$ref": (schemas / file).as_uri()}, registry=registry)


def schema_errors(validator: jsonschema.Draft202012Validator, document: Any) -> list[str]:
    return [error.message for error in validator.iter_errors(document)]


@pytest.fixture(scope="module")
def scaffolded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("repo") / "my-server"
    result = run(init_command, str(directory))
    assert result.exit_code == 0, result.output
    assert "Next steps:" in result.output and "hlb validate specs/" in result.output
    return directory


def test_init_writes_the_whole_repository(scaffolded: Path) -> None:
    expected = [
        "README.md",
        ".gitignore",
        ".pre-commit-config.yaml",
        ".github/workflows/hlb.yml",
        *(f"specs/{name}" for name in SPEC_FILES),
        *(f"schemas/{name}" for name in (*schema_texts(), COMBINED_FILE)),
    ]
    for name in expected:
        assert (scaffolded / name).is_file(), name
    assert ".hlb/" in (scaffolded / ".gitignore").read_text(encoding="utf-8").splitlines()
    readme = (scaffolded / "README.md").read_text(encoding="utf-8")
    for words in ("hlb validate", "hlb plan", "hlb apply", "DISCORD_TOKEN", "applications.commands", "CI"):
        assert words in readme
    files = [p for p in scaffolded.rglob("*") if p.is_file() and p.suffix != ".png"]  # images are bytes
    texts = [p.read_text(encoding="utf-8") for p in files]
    assert not any("__HLB_" in text for text in texts)  # every template token was replaced


def test_every_spec_document_carries_the_modeline(scaffolded: Path) -> None:
    for name in SPEC_FILES:
        text = (scaffolded / "specs" / name).read_text(encoding="utf-8")
        assert text.startswith(MODELINE + "\n"), name
        # yaml-language-server reads the modeline per document: each one repeats it
        for document in text.split("\n---\n"):
            assert document.startswith(MODELINE + "\n"), f"{name}: {document[:60]!r}"
        assert (scaffolded / "specs" / MODELINE.rsplit("=", 1)[1]).resolve().is_file()


def test_the_scaffold_compiles_without_a_single_diagnostic(scaffolded: Path) -> None:
    for env in ({}, {"HLB_GUILD_ID": GUILD_ID}):
        result = compile_paths([scaffolded / "specs"], env=env)
        assert result.ok and not result.diagnostics, "\n".join(d.format_text() for d in result.diagnostics)
        assert result.model is not None
    kinds = {doc["kind"] for name in SPEC_FILES for doc in load_all(scaffolded / "specs" / name)}
    assert kinds == set(kind_names())
    channels = load_all(scaffolded / "specs" / "channels.yaml")
    assert {c["spec"].get("type") for c in channels} >= {"category", "text"}
    assert any(c["spec"].get("permissions") for c in channels)
    # the example role is used: by a channel's overwrite and by a workflow's allowed_roles
    [role] = load_all(scaffolded / "specs" / "roles.yaml")
    assert any(o.get("role") == role["name"] for c in channels for o in c["spec"].get("permissions") or ())
    assert role["name"] in load_all(scaffolded / "specs" / "workflows.yaml")[0]["spec"]["allowed_roles"]
    workflows = (scaffolded / "specs" / "workflows.yaml").read_text(encoding="utf-8")
    assert "${secret:" in workflows and "http:" in workflows and "reply:" in workflows


def test_the_written_schemas_check_every_scaffolded_document(scaffolded: Path) -> None:
    validator = validator_for(scaffolded / "schemas")
    for name in SPEC_FILES:
        for document in load_all(scaffolded / "specs" / name):
            assert schema_errors(validator, document) == [], (name, document["name"])
    channel = {"apiVersion": "hlb/v1", "kind": "Channel", "name": "x", "spec": {"topc": "typo"}}
    assert any("'topc' was unexpected" in m for m in schema_errors(validator, channel))


def test_init_refuses_a_non_empty_directory_without_force(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine\n", encoding="utf-8")
    refused = run(init_command, str(tmp_path))
    assert refused.exit_code == 1
    assert refused.output.startswith("error: ") and "--force" in refused.output
    assert len(refused.output.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]

    forced = run(init_command, str(tmp_path), "--force")
    assert forced.exit_code == 0, forced.output
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine\n"
    assert (tmp_path / "specs" / "guild.yaml").is_file()
    again = run(init_command, str(tmp_path), "--force")  # idempotent: the same files again
    assert again.exit_code == 0, again.output

    a_file = tmp_path / "notes.txt"
    assert run(init_command, str(a_file)).exit_code != 0


def test_init_with_a_guild_id_and_name(tmp_path: Path) -> None:
    target = tmp_path / "new"
    result = run(init_command, str(target), "--guild-id", GUILD_ID, "--guild-name", "lab")
    assert result.exit_code == 0, result.output
    (guild,) = load_all(target / "specs" / "guild.yaml")
    assert guild["name"] == "lab" and guild["spec"]["id"] == GUILD_ID
    compiled = compile_paths([target / "specs"], env={})
    assert compiled.ok and not compiled.diagnostics

    bad = run(init_command, str(tmp_path / "other"), "--guild-id", "12")
    assert bad.exit_code == 1 and "--guild-id" in bad.output
    assert not (tmp_path / "other").exists()
    assert run(init_command, str(tmp_path / "other"), "--guild-name", "Bad Name").exit_code == 1


def test_the_guild_name_comes_from_the_directory() -> None:
    assert guild_name_for(Path("/x/My Server!")) == "my-server"
    assert guild_name_for(Path("/x/homelab_specs")) == "homelab_specs"
    assert guild_name_for(Path("/x/---")) == "server"


def test_schema_out_writes_schemas_that_check_the_reference_specs(tmp_path: Path) -> None:
    out = tmp_path / "schemas"
    result = run(schema_command, "--out", str(out))
    assert result.exit_code == 0, result.output
    names = {*schema_texts(), COMBINED_FILE}
    assert {Path(line).name for line in result.output.splitlines()} == names
    assert {p.name for p in out.iterdir()} == names
    for path in out.iterdir():
        schema = json.loads(path.read_text(encoding="utf-8"))
        jsonschema.Draft202012Validator.check_schema(schema)
        assert "$id" not in schema  # `$ref`s resolve against the file's own location

    validator = validator_for(out)
    documents = [doc for path in sorted((ROOT / "specs").rglob("*.yaml")) for doc in load_all(path)]
    documents += [doc for path in sorted((ROOT / "examples").rglob("*.yaml")) for doc in load_all(path)]
    assert len(documents) > 20
    for document in documents:
        assert schema_errors(validator, document) == [], (document["kind"], document["name"])
        # each kind's own file works standalone too, with the common file next to it
        kind_file = f"{document['kind'].lower()}.schema.json"
        assert schema_errors(validator_for(out, kind_file), document) == []

    guild = {"apiVersion": "hlb/v1", "kind": "Guild", "name": "home", "spec": {"id": GUILD_ID}}
    assert schema_errors(validator, guild) == []
    assert schema_errors(validator, {**guild, "spec": {"id": "${HLB_GUILD_ID}"}}) == []
    assert schema_errors(validator, {**guild, "spec": {"id": "12"}})
    assert schema_errors(validator, {**guild, "spec": {"id": GUILD_ID, "prnue": True}})
    assert schema_errors(validator, {**guild, "colour": "red"})
    assert schema_errors(validator, {**guild, "kind": "Guil"})
    assert schema_errors(validator, {**guild, "name": "Home"})
    command = {"apiVersion": "hlb/v1", "kind": "Command", "name": "ping", "spec": {"descripton": "x"}}
    assert schema_errors(validator, command)
    assert schema_errors(validator, None) == []  # an empty document is ignored by hlb, too

    again = run(schema_command, "--out", str(out))  # overwrites its own files
    assert again.exit_code == 0


def test_the_written_schemas_differ_from_the_shipped_ones_only_for_editors(tmp_path: Path) -> None:
    def plain(value: Any) -> Any:  # without what the editor's copy changes: $id and the patterns
        if isinstance(value, dict):
            drop = {"$id", "pattern", "patternErrorMessage"}
            return {k: plain(v) for k, v in value.items() if not (k in drop and isinstance(v, str))}
        return [plain(v) for v in value] if isinstance(value, list) else value

    assert run(schema_command, "--out", str(tmp_path)).exit_code == 0
    for name, text in schema_texts().items():
        written = json.loads((tmp_path / name).read_text(encoding="utf-8"))
        assert plain(written) == plain(json.loads(text)), name
    combined = json.loads((tmp_path / COMBINED_FILE).read_text(encoding="utf-8"))
    assert combined["properties"]["kind"]["enum"] == list(kind_names())


def test_the_project_ships_a_pre_commit_hook_that_runs_validate() -> None:
    (hook,) = YAML(typ="safe").load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert hook["id"] == "hlb-validate" and hook["language"] == "python"
    program, command = hook["entry"].split()
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert program in scripts
    from hlb.cli import main

    assert command in main.commands  # type: ignore[attr-defined]
    # the whole spec set: references between files cannot be checked file by file
    assert hook["pass_filenames"] is False and hook["args"] == ["specs/"]
    assert "a.yaml" not in hook["files"]


def test_the_scaffold_pre_commit_config_runs_validate(scaffolded: Path) -> None:
    config = YAML(typ="safe").load((scaffolded / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    (hook,) = [h for h in hooks if h["id"] == "hlb-validate"]
    assert hook["entry"] == "hlb validate" and hook["args"] == ["specs/"] and hook["pass_filenames"] is False


def test_the_github_workflow_validates_plans_and_applies(scaffolded: Path) -> None:
    text = (scaffolded / ".github" / "workflows" / "hlb.yml").read_text(encoding="utf-8")
    workflow = YAML(typ="safe").load(text)
    assert set(workflow["on"]) >= {"pull_request", "push"}
    assert workflow["on"]["push"]["branches"] == ["main"]
    plan, apply = workflow["jobs"]["plan"], workflow["jobs"]["apply"]
    assert "pull_request" in plan["if"] and "refs/heads/main" in apply["if"]
    assert plan["permissions"]["pull-requests"] == "write"
    plan_runs = "\n".join(step.get("run", "") for step in plan["steps"])
    apply_runs = "\n".join(step.get("run", "") for step in apply["steps"])
    assert "hlb validate specs --format github" in plan_runs
    assert "hlb plan specs --format markdown > plan.md" in plan_runs
    assert "gh pr comment" in plan_runs and "--edit-last" in plan_runs
    assert "hlb validate specs" in apply_runs and "hlb apply specs" in apply_runs
    for job in (plan, apply):
        assert job["env"]["DATABASE_URL"] == "${{ secrets.HLB_DATABASE_URL }}"
        uses = [step.get("uses", "") for step in job["steps"]]
        assert any(u.startswith("actions/checkout@") for u in uses)
        assert any(u.startswith("actions/setup-python@") for u in uses)
    assert "hlb==" not in text  # no index has that package


VCS_INSTALL = json.dumps(
    {"url": "https://github.com/someone/hlb.git", "vcs_info": {"vcs": "git", "commit_id": "0123abcd" * 5}}
)


def workflow_pip_spec(repository: Path) -> str:
    workflow = YAML(typ="safe").load((repository / ".github" / "workflows" / "hlb.yml").read_text("utf-8"))
    return str(workflow["env"]["HLB_PIP_SPEC"])


def test_the_workflow_installs_hlb_from_the_recorded_vcs_commit(tmp_path: Path) -> None:
    requirement = parse_direct_url(VCS_INSTALL).pip_requirement()
    assert requirement == f"hlb @ git+https://github.com/someone/hlb.git@{'0123abcd' * 5}"
    scaffold(tmp_path / "repo", requirement=requirement)
    assert workflow_pip_spec(tmp_path / "repo") == requirement
    assert f'pip install "{requirement}"' in (tmp_path / "repo" / "README.md").read_text("utf-8")


def test_without_a_vcs_origin_the_workflow_line_is_marked_and_init_says_so(tmp_path: Path) -> None:
    # This test's hlb is an editable install from a directory: nothing pip can fetch in CI.
    assert (
        parse_direct_url('{"url": "file:///src/hlb", "dir_info": {"editable": true}}').pip_requirement()
        is None
    )
    result = run(init_command, str(tmp_path / "repo"))
    assert workflow_pip_spec(tmp_path / "repo").startswith("EDIT-ME")
    assert "EDIT ME" in (tmp_path / "repo" / ".github" / "workflows" / "hlb.yml").read_text("utf-8")
    assert "HLB_PIP_SPEC" in result.output and "EDIT-ME" in result.output


def test_init_force_keeps_an_existing_gitignore_and_adds_the_hlb_directory(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("node_modules/\n", encoding="utf-8")
    assert run(init_command, str(tmp_path), "--force").exit_code == 0
    lines = (tmp_path / ".gitignore").read_text("utf-8").splitlines()
    assert lines[0] == "node_modules/" and ".hlb/" in lines
    assert run(init_command, str(tmp_path), "--force").exit_code == 0  # again: nothing added twice
    assert (tmp_path / ".gitignore").read_text("utf-8").splitlines().count(".hlb/") == 1


def test_the_module_stays_light_to_import() -> None:
    code = (
        "import sys, hlb.cli_scaffold; "
        "heavy = [m for m in sys.modules if m.startswith(('hlb.compiler', 'jsonschema', 'sqlalchemy'))]; "
        "print(heavy)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stdout.strip() == "[]"
