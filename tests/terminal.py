"""A test helper: read what a child process writes to a pseudo terminal until it closes it."""

from __future__ import annotations

import os
import select
import time
from collections.abc import Callable


def read_terminal(fd: int, within: float = 120.0, react: Callable[[bytes], None] | None = None) -> bytes:
    """Everything written to the terminal ``fd`` until the child closes it (or ``within`` seconds).

    ``react`` sees the output so far after each chunk (to type an answer when a prompt shows)."""
    output = b""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
        if react is not None:
            react(output)
    return output
