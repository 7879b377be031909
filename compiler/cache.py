"""The compile cache on disk: one entry per spec file, so compiling unchanged files is a read.

Where: ``$HLB_HOME/cache``, else ``./.hlb/cache`` (also when DATABASE_URL
names an external database). ``HLB_NO_CACHE=1`` turns it off. Entries are
plain JSON (orjson), never pickle: a damaged or foreign entry can at worst be
ignored, it cannot run code.

An entry holds one ``FileUnit`` (``hlb.compiler.units``) and is used only when
all of these still match:

- the code: hlb's version, the cache format, Python's version, the text of
  every module and schema of ``hlb.compiler`` and the installed versions of
  the libraries whose answers end up in a unit (``code_fingerprint``);
- the file: its display path (diagnostics show it) and a digest of its text;
- the environment: the value of every variable the file's ``${VAR}`` read,
  set or unset (variables it does not use do not matter).

An entry is a CRC-32 of the rest (damage makes it a miss), one line of JSON
(the key and the unit) and the JSON of the unit's documents, which a hit
reads only when a kind check has to run again. Entries are named by a digest
of the file's absolute path, written to a temporary file and renamed into
place (readers see the old or the new entry, never half of one), with mode
0600 in a 0700 directory (interpolated values may be private). A run that
reads every entry writes nothing, except to touch entries last used more than
a day ago. A run that wrote trims the directory: entries unused for
``STALE_DAYS`` go, then, over ``MAX_ENTRIES`` or ``MAX_BYTES``, the least
recently used ones not used by this run.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
import time
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path

import orjson

from hlb import __version__
from hlb.compiler.sources import SourceFile
from hlb.compiler.units import FileUnit, from_plain, text_digest, to_plain, value_digest

FORMAT = 2  # 2: units keep the identity of documents that failed
MAX_ENTRIES = 20_000  # never fewer than twice the files of the current run
MAX_BYTES = 512 * 1024 * 1024
STALE_DAYS = 30
_DAY = 86_400
# Libraries whose behaviour is part of a unit: the parsers, the schema validators, the template and
# cron checks, the serializer. Their installed versions are part of the code fingerprint.
LIBRARIES = ("yaml_rs", "ruamel.yaml", "jsonschema_rs", "jsonschema", "jinja2", "croniter", "orjson")
_SUFFIX = ".json"
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


_FINGERPRINT: str | None = None


def code_fingerprint() -> str:
    """A digest of everything besides the file and its variables that a unit depends on (once a process)."""
    global _FINGERPRINT
    if _FINGERPRINT is None:
        parts = [f"format {FORMAT}", f"hlb {__version__}", f"python {sys.version}"]
        root = Path(__file__).resolve().parent
        for path in sorted(root.rglob("*")):
            if path.suffix in (".py", ".json") and "__pycache__" not in path.parts:
                parts.append(f"{path.relative_to(root).as_posix()} {text_digest(path.read_text('utf-8'))}")
        parts.extend(sorted(_library_versions()))
        _FINGERPRINT = text_digest("\n".join(parts))
    return _FINGERPRINT


def _library_versions() -> set[str]:
    """The installed distributions of ``LIBRARIES`` (``name-version.dist-info``) on sys.path."""
    wanted = {name.replace(".", "_").replace("-", "_").lower() for name in LIBRARIES}
    found: set[str] = set()
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if name.endswith((".dist-info", ".egg-info")):
                project = name.rsplit(".", 1)[0].split("-", 1)[0]  # name-version.dist-info
                if project.replace(".", "_").lower() in wanted:
                    found.add(f"{entry}/{name}")
    return found


class CompileCache:
    """Per-file compile results under one directory.

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

    def _digest(self, src: SourceFile) -> str:
        found = self._digests.get(src.path)
        if found is None or found[0] is not src.text:
            found = self._digests[src.path] = (src.text, text_digest(src.text))
        return found[1]

    def _entry(self, src: SourceFile) -> Path:
        return self.directory / (text_digest(os.path.abspath(src.path)) + _SUFFIX)

    def load(self, src: SourceFile, env: Mapping[str, str]) -> FileUnit | None:
        """The cached unit of ``src`` when its key still matches; None otherwise (or when unreadable)."""
        path = self._entry(src)
        self.used.add(path.name)
        try:
            with path.open("rb") as handle:
                mtime = os.fstat(handle.fileno()).st_mtime
                blob = handle.read()
            body = memoryview(blob)[8:]
            if blob[:8] != b"%08x" % zlib.crc32(body):  # a damaged entry
                return None
            end = blob.index(b"\n", 8) - 8  # orjson never writes a raw line break
            entry = orjson.loads(body[:end])
            if (
                type(entry) is not dict
                or entry.get("code") != code_fingerprint()
                or entry.get("path") != src.path
                or entry.get("text") != self._digest(src)
            ):
                return None
            variables: dict[str, str | None] = entry["env"]
            for name, seen in variables.items():
                if value_digest(env.get(name)) != seen:
                    return None
            unit = from_plain(src, variables, entry["unit"], body[end + 1 :])
        except Exception:  # missing, unreadable, damaged or foreign: compile the file
            return None
        if time.time() - mtime > _DAY:
            _touch(path)
        self.hits += 1
        return unit

    def save(self, units: Iterable[FileUnit]) -> None:
        """Store the units that changed.

        JSON keeps every value a unit holds exactly: loaded data and what the
        kinds make of it are dicts, lists, strings, ints, floats, bools and
        None (the schema refuses NaN and infinities; ``to_plain`` checks
        documents anyway), and the differential tests compare cached and
        uncached results with their types. A unit orjson cannot write is
        not stored.
        """
        pending: list[tuple[FileUnit, Path, str]] = []
        for unit in units:
            if not unit.changed or unit.env is None:
                continue
            path = self._entry(unit.src)
            self.used.add(path.name)
            pending.append((unit, path, self._digest(unit.src)))
            unit.changed = False
        if pending:
            self._write_all(pending, code_fingerprint())

    def _write_all(self, pending: list[tuple[FileUnit, Path, str]], code: str) -> None:
        for unit, path, digest in pending:
            try:
                plain, data = to_plain(unit)
                entry = {"code": code, "path": unit.src.path, "text": digest, "env": unit.env, "unit": plain}
                head = orjson.dumps(entry)
            except (orjson.JSONEncodeError, TypeError, ValueError):
                continue
            body = b"%b\n%b" % (head, data)
            if _write(path, b"%08x%b" % (zlib.crc32(body), body)):
                self.writes += 1
        self.trim()

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
            elif item.name.endswith(_SUFFIX) and item.name not in self.used:
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


def _touch(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.utime(path)


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
