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

import os
import sys
from collections.abc import MutableMapping


def write_bytecode(environ: MutableMapping[str, str] = os.environ) -> bool:
    """Let this process and the ones it starts write byte code; True when it had been forbidden."""
    if not environ.pop("PYTHONDONTWRITEBYTECODE", None):
        return False
    sys.dont_write_bytecode = False
    return True
