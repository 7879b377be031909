"""A test helper: a block that must finish within a time and allocate at most so much memory at its peak."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager

MIB = 1 << 20


@contextmanager
def bounded(seconds: float = 3.0, mib: int = 40) -> Iterator[None]:
    """The block must finish within ``seconds`` and allocate at most ``mib`` MiB at its peak (tracemalloc)."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        yield
    finally:
        took = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert took < seconds, f"took {took:.1f}s"
    assert peak < mib * MIB, f"peaked at {peak // MIB} MiB"
