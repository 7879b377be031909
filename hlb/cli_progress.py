"""A progress line for long commands: redrawn in place on a terminal's stderr, only after a delay.

``ProgressLine.around(coro)`` runs ``coro`` while a ticker redraws the latest text given to
``update`` (e.g. ``reconciling homelab: 120/300 objects``). Nothing is drawn when the
stream is not a terminal (piped output, CI logs) or when the work ends within ``after``
seconds; a drawn line is erased before the command prints its report.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any, TextIO, TypeVar

T = TypeVar("T")

ERASE = "\r\x1b[K"  # back to the start of the line, clear to its end


class ProgressLine:
    """One status line on ``stream``; shown only on a terminal and after ``after`` seconds."""

    def __init__(self, stream: TextIO, *, after: float = 2.0, every: float = 0.2) -> None:
        self.stream = stream
        self.after = after
        self.every = every
        self.text = ""
        self.drawn = ""

    @property
    def enabled(self) -> bool:
        isatty = getattr(self.stream, "isatty", None)
        return bool(isatty and isatty())

    def update(self, text: str) -> None:
        """Remember the latest text; the ticker draws it (the caller may be called very often)."""
        self.text = text

    async def around(self, work: Coroutine[Any, Any, T]) -> T:
        """Await ``work`` with the line drawn while it runs (if enabled); erase the line after."""
        if not self.enabled:
            return await work
        ticker = asyncio.create_task(self._tick())
        try:
            return await work
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            if self.drawn:
                self._write(ERASE)

    async def _tick(self) -> None:
        await asyncio.sleep(self.after)
        while True:
            if self.text and self.text != self.drawn:
                self._write(ERASE + self.text)
                self.drawn = self.text
            await asyncio.sleep(self.every)

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()
