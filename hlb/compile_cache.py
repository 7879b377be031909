"""The compile cache on disk: one entry per spec file under ``$HLB_HOME/cache``; unchanged files are a read.

The compiler itself writes nothing (``hlb.compiler.cache`` holds the entry
format and its key); the CLI hands ``compile_paths`` a ``CompileCache``,
which reads and writes the entries here.

Where: ``$HLB_HOME/cache``, else ``./.hlb/cache`` (also when DATABASE_URL
names an external database). ``HLB_NO_CACHE=1`` turns it off. Entries are
named by a digest of the file's absolute path, written to a temporary file
and renamed into place (readers see the old or the new entry, never half of
one), with mode 0600 in a 0700 directory (interpolated values may be
private). Besides them, a set of files compiled without errors has one
entry for the whole set (``hlb.compiler.set_cache``, named ``*.set``),
written by the first run that read every file's entry; the next runs on the
unchanged set read that one entry. A run served by the cache writes nothing
else, except to touch entries last used more than a day ago. A run that wrote
files' entries trims the directory:
entries unused for ``STALE_DAYS`` go, then, over ``MAX_ENTRIES`` or
``MAX_BYTES``, the least recently used ones not used by this run.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from hlb.compiler.cache import decode, encode, entry_name
from hlb.compiler.set_cache import SUFFIX as SET_SUFFIX
from hlb.compiler.set_cache import SetHit
from hlb.compiler.sources import SourceFile
from hlb.compiler.units import FileUnit, text_digest

MAX_ENTRIES = 20_000  # never fewer than twice the files of the current run
MAX_BYTES = 512 * 1024 * 1024
STALE_DAYS = 30
_DAY = 86_400
_SUFFIXES = (".json", SET_SUFFIX)  # a file's entry, a whole set's entry
_counter = itertools.count()


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$HLB_HOME/cache``, else ``./.hlb/cache``: the same home as the embedded database."""
    from hlb.settings import load_settings

    return load_settings(env).hlb_home / "cache"


def default_cache(env: Mapping[str, str] | None = None) -> CompileCache | None:
    """The cache of this process's home, or None when ``HLB_NO_CACHE`` is set (to anything but 0)."""
    environ = os.environ if env is None else env
    if environ.get("HLB_NO_CACHE", "") not in ("", "0"):
        return None
    return CompileCache(cache_dir(environ))


class CompileCache:
    """Per-file compile results under one directory (a ``hlb.compiler.cache.UnitStore``).

    ``save`` writes its entries before it returns. Writing them from a
    forked helper or a thread, to overlap the apply that follows, made no
    measurable difference (docs/benchmarks.md), so it is done in line.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.used: set[str] = set()  # entry names read or written by this process
        self._digests: dict[str, tuple[str, str]] = {}  # display path -> (text, digest of the text)
        self.hits = 0
        self.writes = 0  # entries this process wrote
        self.set_hits = 0  # whole-set entries served (their files count in hits)
        self.set_writes = 0  # whole-set entries written

    def _digest(self, src: SourceFile) -> str:
        found = self._digests.get(src.path)
        if found is None or found[0] is not src.text:
            found = self._digests[src.path] = (src.text, text_digest(src.text))
        return found[1]

    def load(self, src: SourceFile, env: Mapping[str, str]) -> FileUnit | None:
        """The cached unit of ``src`` when its key still matches; None otherwise (or when unreadable)."""
        path = self.directory / entry_name(src)
        self.used.add(path.name)
        read = _read(path)
        if read is None:  # missing or unreadable: compile the file
            return None
        unit = decode(src, env, read[0], self._digest(src))
        if unit is None:
            return None
        _keep(path, read[1])
        self.hits += 1
        return unit

    def save(self, units: Iterable[FileUnit]) -> None:
        """Store the units that changed (a unit JSON cannot keep exactly is not stored)."""
        wrote = False
        for unit in units:
            if not unit.changed or unit.env is None:
                continue
            path = self.directory / entry_name(unit.src)
            self.used.add(path.name)
            unit.changed = False
            wrote = True
            blob = encode(unit, self._digest(unit.src))
            if blob is not None and _write(path, blob):
                self.writes += 1
        if wrote:
            self.trim()

    def load_set(self, name: str, files: int, decode: Callable[[bytes], SetHit | None]) -> SetHit | None:
        """What ``decode`` makes of the whole-set entry ``name`` (``hlb.compiler.set_cache``); a hit
        counts the set's ``files`` as hits."""
        path = self.directory / name
        read = _read(path)
        if read is None:
            return None
        hit = decode(read[0])
        if hit is None:
            return None
        self.used.add(name)
        _keep(path, read[1])
        self.set_hits += 1
        self.hits += files
        return hit

    def save_set(self, name: str, blob: bytes) -> None:
        """Write the whole-set entry ``name`` (not counted in ``writes``, which counts files' entries)."""
        self.used.add(name)
        if _write(self.directory / name, blob):
            self.set_writes += 1

    def trim(self, now: float | None = None) -> None:
        """Drop stale entries and, over the limits, the least recently used ones this run did not use."""
        now = time.time() if now is None else now
        entries: list[tuple[float, int, Path]] = []
        try:
            scan = list(os.scandir(self.directory))
        except OSError:
            return
        for item in scan:
            try:
                info = item.stat()
            except OSError:
                continue
            path = Path(item.path)
            if item.name.startswith(".tmp-"):
                if now - info.st_mtime > 3600:  # left by a writer that died
                    _remove(path)
            elif item.name.endswith(_SUFFIXES) and item.name not in self.used:
                if now - info.st_mtime > STALE_DAYS * _DAY:
                    _remove(path)
                else:
                    entries.append((info.st_mtime, info.st_size, path))
        kept = len(self.used)
        total = sum(size for _, size, _ in entries)
        count = kept + len(entries)
        limit = max(MAX_ENTRIES, 2 * kept)
        for _, size, path in sorted(entries, key=lambda e: e[0]):
            if count <= limit and total <= MAX_BYTES:
                break
            _remove(path)
            count -= 1
            total -= size


def _write(path: Path, blob: bytes) -> bool:
    """Write ``blob`` to ``path`` atomically; False when the directory cannot be written."""
    tmp = path.with_name(f".tmp-{os.getpid()}-{next(_counter)}-{path.name}")
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(blob)
            os.replace(tmp, path)
        except BaseException:
            _remove(tmp)
            raise
    except OSError:
        return False
    return True


def _read(path: Path) -> tuple[bytes, float] | None:
    """An entry's bytes and modification time; None when it is missing or unreadable."""
    try:
        with path.open("rb") as handle:
            return handle.read(), os.fstat(handle.fileno()).st_mtime
    except OSError:
        return None


def _keep(path: Path, mtime: float) -> None:
    """Mark an entry just used as recent, when it was last marked more than a day ago (``trim``
    goes by modification time; touching it at every use would write on every warm run)."""
    if time.time() - mtime > _DAY:
        with contextlib.suppress(OSError):
            os.utime(path)


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
