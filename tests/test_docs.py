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
    result = compile_paths([str(tmp_path / "example.yaml")], env={})
    assert result.ok, "\n".join(d.format_text() for d in result.diagnostics)
