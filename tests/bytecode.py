"""The suite's byte code: written as usual even when ``PYTHONDONTWRITEBYTECODE`` forbids it.

Under ``PYTHONDONTWRITEBYTECODE=1`` every pytest worker compiles hlb and rewrites the assertions
of every test module again, and so does every ``hlb`` process a test starts: about 4 s of CPU per
worker, every run. The suite therefore lifts that setting for itself and the processes it starts,
and Python writes ``__pycache__`` where it always does (git ignores it). A cache outside the tree
(``PYTHONPYCACHEPREFIX``) was tried and cost more: Python then looks for *all* byte code there,
so every worker also compiled SQLAlchemy, disnake and Hypothesis again instead of reading what
pip compiled at install time (13.7 s to collect from a cold cache against 6.6 s). A prefix the
user set themselves is still honoured: Python reads ``PYTHONPYCACHEPREFIX`` on its own.
"""

from __future__ import annotations

import importlib.util
import os
import py_compile
import sys
from collections.abc import MutableMapping
from pathlib import Path

import pytest


def write_bytecode(environ: MutableMapping[str, str] = os.environ) -> bool:
    """Let this process and the ones it starts write byte code; True when it had been forbidden."""
    if not environ.pop("PYTHONDONTWRITEBYTECODE", None):
        return False
    sys.dont_write_bytecode = False
    return True


def share_of(paths: list[Path], worker: int, workers: int) -> list[Path]:
    """The paths worker ``worker`` of ``workers`` compiles first: every ``workers``-th, from its number."""
    return sorted(paths)[worker::workers]


def compile_share(config: pytest.Config, sources: list[Path], tests: list[Path]) -> int:
    """In a pytest-xdist worker, before collection: write the byte code of its share of ``sources``
    (plain modules) and ``tests`` (modules whose asserts pytest rewrites). Returns how many it wrote.

    Every worker imports every module. From a fresh clone (CI) each compiled all of them at the
    same moment, as none found the others' byte code yet: rewriting the test modules alone took
    4.6 s per worker. Each now writes its share first, and finds the others' shares written when
    it collects. Byte code already there and fresh is left alone; a worker that finds a share
    missing writes it as usual. The rewrite uses pytest's own functions (private: if they are
    gone, workers compile everything as before)."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None or sys.dont_write_bytecode:
        return 0
    worker, workers = int(workerinput["workerid"].removeprefix("gw")), int(workerinput["workercount"])
    written = 0
    for source in share_of(sources, worker, workers):
        cached = Path(importlib.util.cache_from_source(str(source)))
        if not _fresh(cached, source):
            written += py_compile.compile(str(source), cfile=str(cached), doraise=False) is not None
    try:
        from _pytest.assertion import rewrite
    except ImportError:
        return written
    needed = ("assertstate_key", "_rewrite_test", "_write_pyc", "get_cache_dir", "try_makedirs", "PYC_TAIL")
    if not all(hasattr(rewrite, name) for name in needed):
        return written
    state = config.stash.get(rewrite.assertstate_key, None)
    if state is None:  # assert rewriting is off (--assert=plain)
        return written
    for test in share_of(tests, worker, workers):
        pyc = rewrite.get_cache_dir(test) / (test.name[:-3] + rewrite.PYC_TAIL)
        if not _fresh(pyc, test) and rewrite.try_makedirs(pyc.parent):
            source_hash, code = rewrite._rewrite_test(test, config)
            written += rewrite._write_pyc(state, code, source_hash, pyc)
    return written


def _fresh(cached: Path, source: Path) -> bool:
    try:
        return cached.stat().st_mtime >= source.stat().st_mtime
    except OSError:
        return False
