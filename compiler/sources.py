"""Source files: find spec files on disk and read them as checked UTF-8 text.

``discover`` expands the paths given on the command line into the list of
files to load (directories recursively, ``*.yaml``/``*.yml`` in sorted path
order, dot-files and dot-directories skipped; a named file is taken whatever
its extension). ``read_source`` reads one file defensively: only regular
files (a FIFO, socket or device named ``*.yaml`` would block or never end, so
it is reported and never opened for reading), size limit before reading,
binary and encoding checks, BOM stripped. Every user mistake comes
back as a ``Diagnostic``; nothing here raises for bad input.

Line breaks are normalized to ``\\n`` (``\\r\\n`` and a lone ``\\r`` are YAML
line breaks too), which changes no line or column number and no YAML value.

A ``Document`` is one non-empty document of a spec file as plain data, whichever loader
(``hlb.compiler.loader``, ``hlb.compiler.roundtrip``) read it. It lives here, apart from the
loaders, so that code that only passes documents on (the compile cache) imports no YAML parser.
"""

from __future__ import annotations

import codecs
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hlb.compiler.diagnostics import Diagnostic

MAX_FILE_BYTES = 10 * 1024 * 1024
SPEC_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class SourceFile:
    """The text of one spec file and the path diagnostics show for it."""

    path: str  # display path: relative to the working directory when inside it, posix style
    text: str


def display_path(path: Path) -> str:
    """``path`` relative to the working directory when it lies inside it, in posix style."""
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return Path(os.path.normpath(path)).as_posix()


def discover(paths: Sequence[str | Path]) -> tuple[list[Path], list[Diagnostic]]:
    """Expand files and directories into the spec files to load, in a stable order.

    A file reached twice is listed once. Symbolic links to directories inside
    a named directory are not followed (no cycles). E111 is reported only when
    nothing was found and no path was missing (a missing path is E101 already).
    """
    found: list[Path] = []
    seen: set[str] = set()
    diagnostics: list[Diagnostic] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            files, errors = _walk(path)
            diagnostics.extend(errors)
        elif path.exists():
            files = [path]
        else:
            diagnostics.append(
                Diagnostic(
                    display_path(path), code="E101", message="no such file or directory; check the path"
                )
            )
            continue
        for f in files:
            identity = os.path.abspath(f)
            if identity not in seen:
                seen.add(identity)
                found.append(f)
    if not found and not diagnostics:
        first = display_path(Path(paths[0])) if paths else "."
        diagnostics.append(
            Diagnostic(
                first,
                code="E111",
                message="no spec files found (*.yaml or *.yml); "
                "name a directory that holds spec files, or the files themselves",
            )
        )
    return found, diagnostics


def _walk(root: Path) -> tuple[list[Path], list[Diagnostic]]:
    """Spec files under ``root``, sorted by path components; dot entries skipped."""
    errors: list[Diagnostic] = []

    def on_error(exc: OSError) -> None:
        where = Path(exc.filename) if exc.filename else root
        errors.append(
            Diagnostic(
                display_path(where),
                code="E101",
                message=f"cannot read directory: {exc.strerror or exc}; check its permissions",
            )
        )

    keyed: list[tuple[tuple[str, ...], Path]] = []
    for dirpath, dirnames, filenames in os.walk(root, onerror=on_error):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        base = Path(dirpath)
        for name in filenames:
            if name.startswith(".") or not name.endswith(SPEC_SUFFIXES):
                continue
            path = base / name
            keyed.append((path.relative_to(root).parts, path))
    keyed.sort(key=lambda item: item[0])
    return [p for _, p in keyed], errors


def read_source(path: Path) -> SourceFile | Diagnostic:
    """Read one spec file as text, or say why it cannot be used."""
    shown = display_path(path)
    try:
        mode = path.stat().st_mode
        if not stat.S_ISREG(mode):
            return _not_regular(shown, mode)
        # O_NONBLOCK: should the path become a FIFO after the check, opening it does not wait
        # for a writer, and the fstat below refuses it before any read.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                return _not_regular(shown, info.st_mode)
            if info.st_size > MAX_FILE_BYTES:
                return _too_big(shown, info.st_size)
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            message = "no such file or directory; check the path"
        elif isinstance(exc, IsADirectoryError):
            message = "is a directory, not a file; name the directory itself to read its spec files"
        else:
            message = f"cannot read file: {exc.strerror or exc}; check its permissions"
        return Diagnostic(shown, code="E101", message=message)
    if len(raw) > MAX_FILE_BYTES:
        return _too_big(shown, len(raw))
    return decode_source(shown, raw)


_SPECIAL = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def _not_regular(shown: str, mode: int) -> Diagnostic:
    """E101 for a directory, E113 for a FIFO, socket or device: only regular files are read."""
    if stat.S_ISDIR(mode):
        message = "is a directory, not a file; name the directory itself to read its spec files"
        return Diagnostic(shown, code="E101", message=message)
    what = next((name for test, name in _SPECIAL if test(mode)), "not a regular file")
    return Diagnostic(
        shown,
        code="E113",
        message=f"is {what}, not a regular file; hlb reads only regular files: "
        "remove it from the spec paths or rename it",
    )


def decode_source(shown: str, raw: bytes) -> SourceFile | Diagnostic:
    """Check and decode the bytes of a file named ``shown``."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return Diagnostic(
            shown, 1, 1, "E103", "file is UTF-16 or UTF-32 encoded, not UTF-8; save it as UTF-8"
        )
    nul = raw.find(b"\x00")
    if nul >= 0:
        line, col = _byte_position(raw, nul)
        return Diagnostic(
            shown,
            line,
            col,
            "E104",
            "file contains NUL bytes, so it is binary, not YAML text; "
            "remove it from the spec paths or save it as UTF-8 text",
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _byte_position(raw, exc.start)
        return Diagnostic(
            shown,
            line,
            col,
            "E103",
            f"file is not valid UTF-8 (byte 0x{raw[exc.start]:02x} at line {line}, column {col}); "
            "save the file as UTF-8",
        )
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return SourceFile(shown, text)


def _too_big(shown: str, size: int) -> Diagnostic:
    return Diagnostic(
        shown,
        code="E102",
        message=f"file is {size / (1024 * 1024):.1f} MB, larger than the 10 MB limit; "
        "split it into several files",
    )


def _byte_position(raw: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of the byte at ``offset``."""
    line_start = raw.rfind(b"\n", 0, offset) + 1
    line = raw.count(b"\n", 0, offset) + 1
    prefix = raw[line_start:offset]
    if line == 1 and prefix.startswith(codecs.BOM_UTF8):
        prefix = prefix[len(codecs.BOM_UTF8) :]
    col = len(prefix.decode("utf-8", errors="replace")) + 1
    return line, col


@dataclass(frozen=True)
class Document:
    """One non-empty document of a spec file, as plain data."""

    file: str
    index: int  # index of the document within its file, counting empty documents too
    line: int  # 1-based line of the document's first key
    data: dict[str, Any]
