"""The compiler writes nothing: its cache is a store the caller passes (issue 13, section 3).

A scan of ``compiler/`` finds no call that writes, moves or removes a file
(the two known writers are the export and a maintenance script, named
below); a compile with the CLI's on-disk cache and one with a store kept in
memory give the same result, and a compile without a store leaves the
working directory and ``$HLB_HOME`` untouched.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest
from test_compile_cache import exact

from hlb.compile_cache import CompileCache
from hlb.compiler.compile import compile_paths
from hlb.compiler.sources import SourceFile
from hlb.compiler.units import FileUnit

ROOT = Path(__file__).resolve().parent.parent
WRITING_METHODS = {"write_bytes", "write_text", "mkdir", "unlink", "rmdir", "touch"}  # of a Path
WRITING_FUNCTIONS = {
    "replace",
    "rename",
    "utime",
    "remove",
    "rmtree",
    "makedirs",
    "chmod",
    "symlink",
}
# Writers that are no part of a compile: `hlb export` writes the files it was asked for, and the
# permission list regenerates its schema enum when run as a script. Section 3 moves them out.
KNOWN = {"compiler/export.py", "compiler/permissions.py"}


def writes(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        module = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else ""
        if name in WRITING_METHODS or (name in WRITING_FUNCTIONS and module in ("os", "shutil")):
            found.append((node.lineno, name))
        elif name == "open":
            texts = [
                a.value
                for a in [*node.args[1:], *(k.value for k in node.keywords)]
                if isinstance(a, ast.Constant) and isinstance(a.value, str)
            ]
            flags = ast.unparse(node)
            if any(set(t) & set("wax+") for t in texts) or "O_WRONLY" in flags or "O_CREAT" in flags:
                found.append((node.lineno, name))
    return found


def test_no_compiler_module_writes_a_file() -> None:
    found = {}
    for path in sorted((ROOT / "compiler").rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        hits = writes(ast.parse(path.read_text(encoding="utf-8")))
        if hits and name not in KNOWN:
            found[name] = hits
    assert found == {}


@pytest.mark.parametrize(
    "code",
    [
        "p.write_text('x')",
        "os.replace(a, b)",
        "open(p, 'wb')",
        "open(p, mode='a')",
        "os.open(p, os.O_WRONLY | os.O_CREAT)",
        "p.mkdir()",
        "os.utime(p)",
    ],
)
def test_the_scan_finds_writes(code: str) -> None:
    assert writes(ast.parse(code)), code


def test_the_scan_lets_reads_through() -> None:
    assert writes(ast.parse("open(p)\nopen(p, 'rb')\nos.open(p, os.O_RDONLY)\np.read_text()")) == []


class MemoryStore:
    """A UnitStore that keeps units in a dict: what a compile asks of its store, and nothing more."""

    def __init__(self) -> None:
        self.units: dict[str, FileUnit] = {}
        self.hits = 0

    def load(self, src: SourceFile, env: Mapping[str, str]) -> FileUnit | None:
        return None  # every file compiled: the store is here to see what is saved

    def save(self, units: Iterable[FileUnit]) -> None:
        for unit in units:
            if unit.changed and unit.env is not None:
                self.units[unit.src.path] = unit


def test_the_compile_uses_the_store_it_is_given_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    specs = str(ROOT / "specs")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HLB_HOME", str(tmp_path / "home"))
    plain = exact(compile_paths([specs]))
    memory = MemoryStore()
    assert exact(compile_paths([specs], cache=memory)) == plain
    assert memory.units  # the compile handed its units to the store
    assert os.listdir(tmp_path) == []  # no .hlb, no cache: the compiler wrote nothing
    disk = CompileCache(tmp_path / "cache")
    assert exact(compile_paths([specs], cache=disk)) == plain and disk.writes == len(memory.units)
    warm = CompileCache(tmp_path / "cache")
    assert exact(compile_paths([specs], cache=warm)) == plain and warm.hits == len(memory.units)
