"""The compiler writes nothing: its cache is a store the caller passes (issue 13, section 3).

tests/test_packages.py scans ``compiler/`` for calls that write or run
anything. Here: a compile with the CLI's on-disk cache and one with a store
kept in memory give the same result, and a compile without a store leaves
the working directory and ``$HLB_HOME`` untouched.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import pytest
from test_compile_cache import exact

from hlb.compile_cache import CompileCache
from hlb.compiler.compile import compile_paths
from hlb.compiler.set_cache import SetHit
from hlb.compiler.sources import SourceFile
from hlb.compiler.units import FileUnit

ROOT = Path(__file__).resolve().parent.parent


class MemoryStore:
    """A UnitStore that keeps units in a dict: what a compile asks of its store, and nothing more."""

    def __init__(self) -> None:
        self.units: dict[str, FileUnit] = {}
        self.sets: dict[str, bytes] = {}
        self.hits = 0

    def load(self, src: SourceFile, env: Mapping[str, str]) -> FileUnit | None:
        return None  # every file compiled: the store is here to see what is saved

    def save(self, units: Iterable[FileUnit]) -> None:
        for unit in units:
            if unit.changed and unit.env is not None:
                self.units[unit.src.path] = unit

    def load_set(self, name: str, files: int, decode: Callable[[bytes], SetHit | None]) -> SetHit | None:
        return None

    def save_set(self, name: str, blob: bytes) -> None:
        self.sets[name] = blob


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
