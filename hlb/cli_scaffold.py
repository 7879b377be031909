"""`hlb init` and `hlb schema`: start a spec repository, and give editors the JSON Schemas.

Only click and the standard library are imported at module level, so that
`hlb --help` stays fast; the compiler is imported inside the functions.

The templates live in ``hlb/scaffold/`` (package data). Files whose name starts
with ``dot-`` are written with a leading ``.`` instead (``dot-gitignore`` ->
``.gitignore``), so that packaging tools do not skip them as hidden files.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

TEMPLATES = Path(__file__).parent / "scaffold"
COMBINED_FILE = "hlb.schema.json"
SCHEMAS_DIR = "schemas"
PLACEHOLDER_GUILD_ID = "100000000000000001"
# ``${VAR}``, ``${VAR:-default}`` and ``${secret:NAME}`` are replaced after parsing, before the schema is
# checked: in the editor's copy of the schemas a string holding one passes any pattern.
INTERPOLATION = r"\$\{"
GITIGNORE = Path(".gitignore")
EDIT_ME_SPEC = "EDIT-ME: hlb @ git+https://github.com/OWNER/hlb@COMMIT"
EDIT_ME_NOTE = (
    "EDIT ME: this hlb was not installed from a VCS URL, so `hlb init` could not pin it. Replace the\n"
    '  # value with a pip requirement, e.g. "hlb @ git+https://github.com/OWNER/hlb@COMMIT".'
)
PINNED_NOTE = "The hlb that wrote this file: `hlb init` read its URL and commit from what pip recorded."
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


# --- hlb schema ----------------------------------------------------------------------------------------


def editor_schema(schema: Any) -> Any:
    """A shipped schema as written to disk for editors and other validators.

    Without ``$id`` (its ``$ref``s then resolve against the file's own location, so the files work from
    any directory, offline), and with every ``pattern`` also accepting a ``${...}`` reference."""
    if isinstance(schema, dict):
        out = {key: editor_schema(value) for key, value in schema.items() if key != "$id"}
        if isinstance(schema.get("pattern"), str):
            out["pattern"] = f"(?:{schema['pattern']})|{INTERPOLATION}"
            # shown by editors (vscode-json-languageservice, yaml-language-server) instead of the regex
            out["patternErrorMessage"] = schema.get("description") or f"Must match {schema['pattern']}"
        return out
    if isinstance(schema, list):
        return [editor_schema(item) for item in schema]
    return schema


def combined_schema(kinds: tuple[str, ...], files: dict[str, str]) -> dict[str, Any]:
    """One schema for any hlb document: its ``kind`` selects the kind's schema (kind -> file name)."""
    envelope: dict[str, Any] = {
        "apiVersion": {"$ref": "common.schema.json#/$defs/apiVersion"},
        "kind": {
            "title": "Kind",
            "description": "The kind of object this document declares: " + ", ".join(kinds) + ".",
            "type": "string",
            "enum": list(kinds),
        },
        "name": {"$ref": "common.schema.json#/$defs/name"},
        "guild": {
            "$ref": "common.schema.json#/$defs/name",
            "title": "Guild",
            "description": "Name of the Guild this belongs to; optional when exactly one Guild exists.",
        },
        "labels": {"$ref": "common.schema.json#/$defs/labels"},
        "spec": {"title": "Spec", "description": "The kind's settings.", "type": "object"},
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "hlb spec document",
        "description": (
            "Any document of an hlb spec file (apiVersion hlb/v1). Its kind selects the schema it is "
            "checked against; an empty document is ignored."
        ),
        "type": ["object", "null"],
        "properties": envelope,
        "required": ["apiVersion", "kind", "name"],
        "allOf": [
            {
                "if": {"type": "object", "properties": {"kind": {"const": kind}}, "required": ["kind"]},
                "then": {"$ref": files[kind]},
            }
            for kind in kinds
        ],
    }


def write_schemas(out_dir: Path) -> list[Path]:
    """Write every shipped schema and the combined ``hlb.schema.json`` into out_dir; the paths written."""
    from hlb.compiler.schema import SCHEMA_FILES, kind_names, schema_texts

    out_dir.mkdir(parents=True, exist_ok=True)
    documents = {name: editor_schema(json.loads(text)) for name, text in schema_texts().items()}
    documents[COMBINED_FILE] = combined_schema(kind_names(), SCHEMA_FILES)
    written = []
    for name, document in documents.items():
        path = out_dir / name
        path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written


@click.command("schema")
@click.option(
    "--out",
    "out_dir",
    default=SCHEMAS_DIR,
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory to write the schema files into (created if missing).",
)
def schema_command(out_dir: Path) -> None:
    """Write the JSON Schemas of the spec format, for editors and other tools.

    One file per kind, the shared common.schema.json, and hlb.schema.json,
    which checks any document by its kind. Point a spec file at it with the
    first line `# yaml-language-server: $schema=<path>/hlb.schema.json`.
    """
    try:
        paths = write_schemas(out_dir)
    except OSError as exc:
        fail(f"cannot write the schemas to {out_dir}: {exc.strerror or exc}")
    for path in paths:
        click.echo(str(path))


# --- hlb init ------------------------------------------------------------------------------------------


def guild_name_for(directory: Path) -> str:
    """An object name from a directory name: 'My Guild' -> 'my-guild'; 'server' when nothing is left."""
    name = re.sub(r"[^a-z0-9_-]+", "-", directory.resolve().name.lower()).strip("-_")[:64].strip("-_")
    return name if _NAME.match(name) else "server"


BINARY = frozenset({".png"})  # copied as they are (an emoji's image), never filled in


def template_files() -> list[tuple[Path, str | bytes]]:
    """(path relative to the new repository, template text, or bytes for an image) of every
    scaffold file, in a stable order."""
    files: list[tuple[Path, str | bytes]] = []
    for source in sorted(p for p in TEMPLATES.rglob("*") if p.is_file()):
        parts = source.relative_to(TEMPLATES).parts
        if "__pycache__" in parts:
            continue
        target = Path(*(f".{part[4:]}" if part.startswith("dot-") else part for part in parts))
        binary = source.suffix in BINARY
        files.append((target, source.read_bytes() if binary else source.read_text(encoding="utf-8")))
    return files


def pip_requirement() -> str | None:
    """What the CI workflow installs: this hlb's VCS URL and commit (PEP 610), when pip recorded one."""
    from hlb.cli_version import origin

    return origin().pip_requirement()


def _gitignore_with_home(existing: str, template: str) -> str:
    """An existing ``.gitignore`` kept as it is, with the scaffold's entries it lacks appended."""
    lines = set(existing.splitlines())
    entries = [line for line in template.splitlines() if line and not line.startswith("#")]
    missing = [line for line in entries if line not in lines]
    if not missing:
        return existing
    return existing.rstrip("\n") + "\n# added by hlb init\n" + "\n".join(missing) + "\n"


def scaffold(
    directory: Path,
    *,
    guild_id: str | None = None,
    guild_name: str | None = None,
    requirement: str | None = None,
) -> list[Path]:
    """Write a new spec repository into directory (which may exist); the paths written, relative to it.

    ``requirement``: what its CI workflow pip-installs; None writes a line marked EDIT-ME."""
    from hlb import __version__

    values = {
        "__HLB_GUILD_NAME__": guild_name or guild_name_for(directory),
        "__HLB_GUILD_ID__": guild_id or f"${{HLB_GUILD_ID:-{PLACEHOLDER_GUILD_ID}}}",
        "__HLB_PIP_SPEC__": requirement or EDIT_ME_SPEC,
        "__HLB_PIP_NOTE__": PINNED_NOTE if requirement else EDIT_ME_NOTE,
        "__HLB_VERSION__": __version__,
        "__HLB_README_PIP__": requirement or EDIT_ME_SPEC.removeprefix("EDIT-ME: "),
    }
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for relative, text in template_files():
        if isinstance(text, bytes):
            (directory / relative).parent.mkdir(parents=True, exist_ok=True)
            (directory / relative).write_bytes(text)
            written.append(relative)
            continue
        for token, value in values.items():
            text = text.replace(token, value)
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if relative == GITIGNORE and path.is_file():
            text = _gitignore_with_home(path.read_text(encoding="utf-8"), text)
        path.write_text(text, encoding="utf-8")
        written.append(relative)
    written.extend(path.relative_to(directory) for path in write_schemas(directory / SCHEMAS_DIR))
    return sorted(written)


@click.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--guild-id", help="Your Discord server's id. Default: read from HLB_GUILD_ID.")
@click.option("--guild-name", help="The Guild object's name. Default: from DIRECTORY's name.")
@click.option("--force", is_flag=True, help="Write into a non-empty DIRECTORY, replacing same-named files.")
def init_command(directory: Path, guild_id: str | None, guild_name: str | None, force: bool) -> None:
    """Start a spec repository in DIRECTORY.

    Writes a Guild and one example of every kind under specs/, the JSON
    Schemas under schemas/ (editors complete and check the specs with them),
    a README, a pre-commit hook running `hlb validate`, and a GitHub Actions
    workflow: validate and plan on pull requests, apply on main.
    """
    if guild_id is not None and not _is_snowflake(guild_id):
        fail(f"invalid --guild-id {guild_id!r}: use the server's id, 15 to 20 digits (Copy Server ID)")
    if guild_name is not None and not _NAME.match(guild_name):
        fail(
            f"invalid --guild-name {guild_name!r}: use lowercase letters, digits, '-' and '_' (max 64), "
            "starting with a letter or digit"
        )
    if directory.exists() and not directory.is_dir():
        fail(f"{directory} exists and is not a directory")
    if directory.is_dir() and any(directory.iterdir()) and not force:
        fail(f"{directory} is not empty; choose a new directory, or add --force to write into it anyway")
    requirement = pip_requirement()
    try:
        written = scaffold(directory, guild_id=guild_id, guild_name=guild_name, requirement=requirement)
    except OSError as exc:
        fail(f"cannot write to {directory}: {exc.strerror or exc}")
    click.echo(f"Created a spec repository in {directory}:")
    for path in written:
        click.echo(f"  {path.as_posix()}")
    if requirement:
        click.echo(f"The GitHub workflow installs {requirement}, the hlb that wrote it.")
    else:
        click.echo(
            "The GitHub workflow needs one edit: this hlb was not installed from a VCS URL, so set "
            "HLB_PIP_SPEC in .github/workflows/hlb.yml (marked EDIT-ME) to where pip gets hlb."
        )
    steps = [f"cd {directory}", "hlb validate specs/"]
    if not guild_id:
        steps.append("export HLB_GUILD_ID=<your server id>")
    steps += ['hlb apply specs/ -m "first spec"', "hlb plan specs/", "export DISCORD_TOKEN=<your bot token>"]
    steps += ["hlb reconcile --dry-run", "hlb bot run"]
    click.echo("\nNext steps:")
    for step in steps:
        click.echo(f"  {step}")
    click.echo("README.md explains each step, the pre-commit hook and the GitHub workflow.")


def _is_snowflake(text: str) -> bool:
    """Whether ``text`` is a Discord id as the specs' schema takes it (digits that fit in 64 bits)."""
    from hlb.compiler.schema import _common_defs

    return re.match(_common_defs()["snowflake"]["pattern"], text) is not None
