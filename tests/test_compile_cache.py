"""Differential: a compile through the cache gives exactly the result of one without it.

The reference specs, the examples, every case of tests/cases, every bad input
of test_bad_input and generated spec sets (then 5% of them edited in place)
compile to the same model (keys, labels, specs with their types, hashes,
origins) and the same diagnostics (positions, order, document and path)
without a cache, with a cold one and with a warm one. test_compile_cache_keys
checks when an entry is stale; test_compile_cache_props edits spec sets at
random.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from case_files import load_cases
from test_bad_input import BAD, GUILD

from hlb.compile_cache import CompileCache
from hlb.compiler.compile import CompileResult, compile_paths

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from generate import generate  # noqa: E402


def exact(result: CompileResult) -> str:
    """Everything a result holds, with types (repr tells 1 from 1.0 and True, tuples from lists)."""
    model = None
    if result.model is not None:
        model = [(o.key, dict(o.labels), o.spec, o.hash, o.origin) for o in result.model]
    diagnostics = [
        (d.file, d.line, d.col, d.code, d.message, d.severity, d.doc, d.path) for d in result.diagnostics
    ]
    return repr((model, diagnostics, result.files, result.documents))


def three_ways(paths: list[str], env: Mapping[str, str], store: Path) -> tuple[str, CompileCache]:
    """Compile without a cache, cold and warm; assert all three agree and the warm one read every file."""
    plain = exact(compile_paths(paths, dict(env)))
    cold_cache = CompileCache(store)
    cold = exact(compile_paths(paths, dict(env), cache=cold_cache))
    warm_cache = CompileCache(store)
    warm = exact(compile_paths(paths, dict(env), cache=warm_cache))
    assert cold == plain
    assert warm == plain
    assert warm_cache.writes == 0
    # A clean set read whole from the cache keeps a whole-set entry; the next compile is served by it
    whole_cache = CompileCache(store)
    assert exact(compile_paths(paths, dict(env), cache=whole_cache)) == plain
    assert whole_cache.writes == whole_cache.set_writes == 0
    assert whole_cache.set_hits >= warm_cache.set_writes  # (an earlier round may have written it)
    return plain, warm_cache


def write_files(root: Path, files: Mapping[str, str | bytes]) -> None:
    for name, content in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")


@pytest.mark.parametrize("specs", ["specs", "examples/minimal", "examples/multi-guild"])
def test_reference_specs_are_the_same_from_the_cache(specs: str, tmp_path: Path) -> None:
    paths = [str(ROOT / specs)]
    _, warm = three_ways(paths, {}, tmp_path / "cache")
    assert warm.hits == len(list((ROOT / specs).rglob("*.y*ml")))
    three_ways(paths, {"HLB_GUILD_ID": "123456789012345678"}, tmp_path / "cache")


@pytest.mark.parametrize("case", load_cases())
def test_cases_are_the_same_from_the_cache(
    case: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_files(tmp_path / "specs", case["files"])
    monkeypatch.chdir(tmp_path / "specs")
    three_ways(["."], case.get("env") or {}, tmp_path / "cache")


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_the_same_from_the_cache(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    content, _, _ = BAD[case]
    write_files(tmp_path / "specs", {"guild.yaml": GUILD, "bad.yaml": content})
    monkeypatch.chdir(tmp_path / "specs")
    plain, _ = three_ways(["."], {}, tmp_path / "cache")
    assert "bad.yaml" in plain


def test_generated_sets_are_the_same_cold_warm_and_after_changes(tmp_path: Path) -> None:
    base, changed = tmp_path / "base", tmp_path / "changed"
    generate(base, 400, seed=3, guilds=2)
    generate(changed, 400, seed=3, change_percent=5.0, guilds=2)
    three_ways([str(base)], {}, tmp_path / "cache")
    # the changed set in the same place: unchanged files are hits, changed ones are compiled again
    for path in changed.rglob("*.yaml"):
        target = base / path.relative_to(changed)
        if target.read_bytes() != path.read_bytes():
            target.write_bytes(path.read_bytes())
    store = CompileCache(tmp_path / "cache")
    got = exact(compile_paths([str(base)], {}, cache=store))
    assert got == exact(compile_paths([str(base)], {}))
    assert 0 < store.hits < len(list(base.rglob("*.yaml")))


def test_a_broken_object_read_from_the_cache_is_still_known_by_name(tmp_path: Path) -> None:
    """The file with the broken category comes from the cache; the edited one refers to it: one diagnostic."""
    specs = tmp_path / "specs"
    category = "apiVersion: hlb/v1\nkind: Channel\nname: infra\nspec: {type: category, postion: 1}\n"
    write_files(specs, {"guild.yaml": GUILD, "infra.yaml": category, "status.yaml": _IN_INFRA})
    three_ways([str(specs)], {}, tmp_path / "cache")
    (specs / "status.yaml").write_text(_IN_INFRA + "  topic: edited\n", encoding="utf-8")
    store = CompileCache(tmp_path / "cache")
    result = compile_paths([str(specs)], {}, cache=store)
    assert store.hits == 2
    assert [(Path(d.file).name, d.code) for d in result.diagnostics] == [("infra.yaml", "E203")]


_IN_INFRA = "apiVersion: hlb/v1\nkind: Channel\nname: status\nspec:\n  category: infra\n"
