"""PNGs of the preview pages: headless Chromium, found on PATH or in ``$HLB_CHROMIUM``.

Each page is measured first (``--dump-dom`` reads back the height the page's script sets on
``<html data-height>``, see ``hlb.preview_html.MEASURE_SCRIPT``), then shot at that height;
``SHOTS_AT_ONCE`` pages at a time (most of a Chromium run is its start-up). Every
Chromium run gets its own process group and profile, and is ended with everything it started;
a hang or crash is tried once more. This module never imports disnake.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
CHROMIUM_MISSING = "PNG skipped: Chromium not found (apt-get install chromium)"
PNG_WIDTH = 900  # pixels; the message column of a desktop Discord window
SHOT_TIMEOUT = 30.0  # seconds for one Chromium run (it takes about one)
SHOT_ATTEMPTS = 2
SHOTS_AT_ONCE = 3  # pages shot at the same time, each by Chromium processes of its own


class ScreenshotError(Exception):
    """Chromium ran but gave no screenshot."""


def find_chromium(env: Mapping[str, str] | None = None) -> str | None:
    """``$HLB_CHROMIUM``, else the first of chromium, chromium-browser, google-chrome on PATH."""
    environ = os.environ if env is None else env
    given = environ.get("HLB_CHROMIUM", "").strip()
    if given:
        return shutil.which(given, path=environ.get("PATH"))
    for name in CHROMIUM_NAMES:
        found = shutil.which(name, path=environ.get("PATH"))
        if found:
            return found
    return None


def _chromium(binary: str, profile: str, width: int, height: int, *extra: str) -> list[str]:
    return [
        binary,
        "--headless=new",
        "--disable-gpu",
        "--no-sandbox",
        "--hide-scrollbars",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--disable-extensions",
        "--mute-audio",
        "--force-device-scale-factor=1",
        "--run-all-compositor-stages-before-draw",  # a complete frame, not the first paint
        "--virtual-time-budget=2000",
        f"--user-data-dir={profile}",
        f"--window-size={width},{height}",
        *extra,
    ]


def _run(argv: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    """Run Chromium in its own process group and end whatever of it is left once it exits.

    Its output goes to files, not pipes: a helper that outlives the browser would hold a pipe open.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL, start_new_session=True
        )
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            code = None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        if code is None:
            raise ScreenshotError(f"Chromium did not finish within {timeout:g}s")
        texts = []
        for file in (out, err):
            file.seek(0)
            texts.append(file.read().decode("utf-8", errors="replace"))
        return subprocess.CompletedProcess(argv, code, texts[0], texts[1])


def _retried(attempts: int, action: Callable[[], T]) -> T:
    """``action()``, tried again after a ``ScreenshotError`` (a rare hang or crash of Chromium)."""
    for _ in range(attempts - 1):
        with contextlib.suppress(ScreenshotError):
            return action()
    return action()


_HEIGHT = re.compile(r'<html[^>]*\bdata-height="(\d+)"')


def _profile() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="hlb-chromium-", ignore_cleanup_errors=True)


def page_height(binary: str, page: Path, width: int = PNG_WIDTH, timeout: float = SHOT_TIMEOUT) -> int:
    """The rendered height of a page in pixels, read back from Chromium's DOM dump."""
    with _profile() as profile:
        done = _run(_chromium(binary, profile, width, 600, "--dump-dom", page.resolve().as_uri()), timeout)
    match = _HEIGHT.search(done.stdout)
    if match is None:
        raise ScreenshotError(f"Chromium exited with {done.returncode} and gave no page height{_tail(done)}")
    return int(match[1])


def _tail(done: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in (done.stderr or "").strip().splitlines() if line.strip()]
    return f": {' '.join(lines[-2:])}" if lines else ""


def _shoot(binary: str, page: Path, png: Path, width: int, height: int, timeout: float) -> Path:
    png.unlink(missing_ok=True)
    with _profile() as profile:
        argv = _chromium(
            binary, profile, width, height, f"--screenshot={png.resolve()}", page.resolve().as_uri()
        )
        done = _run(argv, timeout)
    if not png.is_file() or png.stat().st_size == 0:
        raise ScreenshotError(f"Chromium exited with {done.returncode} and wrote no PNG{_tail(done)}")
    return png


def screenshot(
    binary: str,
    page: Path,
    png: Path,
    *,
    width: int = PNG_WIDTH,
    timeout: float = SHOT_TIMEOUT,
    attempts: int = SHOT_ATTEMPTS,
) -> Path:
    """A PNG of ``page`` as tall as its content (clamped to 120..8000 pixels)."""
    height = _retried(attempts, lambda: page_height(binary, page, width, timeout))
    height = min(max(height, 120), 8000)
    return _retried(attempts, lambda: _shoot(binary, page, png, width, height, timeout))
