"""The docs stay true: every error code is documented, and every complete YAML example validates."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hlb.compiler.compile import compile_paths
from hlb.compiler.diagnostics import CODES

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
FENCE = re.compile(r"```yaml\n(.*?)```", re.S)


def test_every_code_is_documented_and_no_other() -> None:
    documented = set(re.findall(r"^\| (E\d{3}) \|", (DOCS / "errors.md").read_text(encoding="utf-8"), re.M))
    assert documented == set(CODES)


def complete_examples() -> list[object]:
    params = []
    for page in sorted(DOCS.rglob("*.md")):
        for i, block in enumerate(FENCE.findall(page.read_text(encoding="utf-8"))):
            if "apiVersion:" in block:
                params.append(pytest.param(block, id=f"{page.relative_to(DOCS)}#{i}"))
    return params


@pytest.mark.parametrize("block", complete_examples())
def test_yaml_examples_in_docs_validate(block: str, tmp_path: Path) -> None:
    (tmp_path / "example.yaml").write_text(block, encoding="utf-8")
    for image in re.findall(r"^\s*image: (\S+)", block, re.M):  # an Emoji's image: a tiny one
        (tmp_path / image).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / image).write_bytes(b"GIF89a" if image.endswith(".gif") else b"\x89PNG\r\n\x1a\n")
    result = compile_paths([str(tmp_path / "example.yaml")], env={})
    assert result.ok, "\n".join(d.format_text() for d in result.diagnostics)


def _schema_fields(node: object) -> set[str]:
    """Every property name declared anywhere in a schema (nested objects, $defs, arrays)."""
    found: set[str] = set()
    if isinstance(node, dict):
        for name, value in node.items():
            if name == "properties" and isinstance(value, dict):
                found |= set(value)
            found |= _schema_fields(value)
    elif isinstance(node, list):
        for value in node:
            found |= _schema_fields(value)
    return found


@pytest.mark.parametrize("kind", ["guild", "channel", "dashboard", "command", "workflow"])
def test_each_kind_page_documents_exactly_the_schema_fields(kind: str) -> None:
    import json
    import re

    schemas = ROOT / "compiler" / "schemas"
    fields = _schema_fields(json.loads((schemas / f"{kind}.schema.json").read_text()))
    shared = _schema_fields(json.loads((schemas / "common.schema.json").read_text()))
    page = (ROOT / "docs" / "kinds" / f"{kind}.md").read_text()
    documented = set(re.findall(r"^\| `([a-z_A-Z]+)`", page, flags=re.MULTILINE))
    envelope = {"apiVersion", "kind", "name", "guild", "labels", "spec"}  # docs/model.md and each page's top
    missing = sorted(f for f in fields - envelope if f"`{f}`" not in page and f"{f}:" not in page)
    assert not missing, f"docs/kinds/{kind}.md does not mention {missing}"
    context = {"user", "member", "channel", "options", "inputs", "steps", "sources", "now"}  # template names
    unknown = sorted(documented - fields - shared - envelope - context)
    assert not unknown, f"docs/kinds/{kind}.md documents fields the schema does not have: {unknown}"
