"""The suite's byte-code cache: under PYTHONDONTWRITEBYTECODE, compiled modules go outside the tree.

``PYTHONDONTWRITEBYTECODE=1`` keeps ``__pycache__`` directories out of a checkout, and costs
the suite dearly: every pytest worker compiles hlb and rewrites the assertions of every test
module again (about 8 s of CPU per worker on the 2-core machine, a third of the suite's
start-up), and every ``hlb`` process a test starts compiles the hlb modules it imports. The
suite keeps what that setting is for, a clean tree, and still writes byte code: to
``$PYTHONPYCACHEPREFIX`` when it is set, else ``$XDG_CACHE_HOME/hlb/pycache`` (``~/.cache``),
where Python's ``sys.pycache_prefix`` and pytest's assertion rewriting both put it. The
session's process switches at once; the environment carries the switch to the workers of
``pytest -n`` and to every process a test starts. Without PYTHONDONTWRITEBYTECODE nothing
changes: Python writes ``__pycache__`` as usual.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path


def cache_prefix(environ: Mapping[str, str]) -> Path | None:
    """Where the suite writes byte code for an environment that forbids ``__pycache__``; None: leave it."""
    if not environ.get("PYTHONDONTWRITEBYTECODE"):
        return None
    if environ.get("PYTHONPYCACHEPREFIX"):
        return Path(environ["PYTHONPYCACHEPREFIX"])
    cache_home = environ.get("XDG_CACHE_HOME") or str(Path(environ.get("HOME", "~")).expanduser() / ".cache")
    return Path(cache_home) / "hlb" / "pycache"


def write_bytecode_outside_the_tree() -> Path | None:
    """Switch this process and its future children to a byte-code cache outside the tree (see above)."""
    prefix = cache_prefix(os.environ)
    if prefix is None:
        return None
    try:
        prefix.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError:  # no writable cache (a read-only home): compile in memory, as asked
        return None
    os.environ["PYTHONPYCACHEPREFIX"] = str(prefix)
    del os.environ["PYTHONDONTWRITEBYTECODE"]
    sys.pycache_prefix = str(prefix)
    sys.dont_write_bytecode = False
    return prefix
