"""Runs the YAML case files in tests/cases: each case's files are compiled and its diagnostics compared.

An expected diagnostic is an error unless it says ``severity: warning``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from case_files import load_cases

from hlb.compiler.compile import compile_paths


@pytest.mark.parametrize("reference", [False, True], ids=["fast", "reference"])
@pytest.mark.parametrize("case", load_cases())
def test_case(case: dict[str, Any], reference: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both paths (yaml-rs + jsonschema-rs, ruamel + python-jsonschema) must give the same verdicts."""
    for name, text in case["files"].items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = compile_paths(["."], env=case.get("env") or {}, reference=reference)
    got = sorted((d.file, d.line, d.code, d.severity) for d in result.diagnostics)
    expect = case.get("expect") or []
    want = sorted((e["file"], e["line"], e["code"], e.get("severity", "error")) for e in expect)
    assert got == want, "\n".join(d.format_text() for d in result.diagnostics)
    assert result.ok == all(severity == "warning" for *_, severity in want)


def test_reference_specs_compile_the_same_on_both_paths() -> None:
    root = Path(__file__).resolve().parent.parent
    for specs in (root / "specs", root / "examples" / "minimal", root / "examples" / "multi-guild"):
        fast = compile_paths([str(specs)], env={})
        slow = compile_paths([str(specs)], env={}, reference=True)
        assert fast.ok and slow.ok
        assert fast.model is not None and slow.model is not None
        assert [(o.key, o.hash) for o in fast.model] == [(o.key, o.hash) for o in slow.model]
