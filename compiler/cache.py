"""The compile cache's entries: what one file's unit becomes on disk, and when an entry still holds.

The compiler writes nothing: ``compile_paths`` is given a ``UnitStore`` (the
CLI passes ``hlb.compile_cache.CompileCache``, which keeps the entries under
``$HLB_HOME/cache``) and only asks it to ``load`` and ``save`` units. This
module is the part of the cache that belongs to the compiler: the entry
format and its key. Entries are plain JSON (orjson), never pickle: a damaged
or foreign entry can at worst be ignored, it cannot run code.

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
reads only when a kind check has to run again.
"""

from __future__ import annotations

import os
import sys
import zlib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import orjson

from hlb import __version__
from hlb.compiler.sources import SourceFile
from hlb.compiler.units import FileUnit, from_plain, text_digest, to_plain, value_digest

if TYPE_CHECKING:
    from hlb.compiler.set_cache import SetHit

FORMAT = 2  # 2: units keep the identity of documents that failed
# Libraries whose behaviour is part of a unit: the parsers, the schema validators, the template and
# cron checks, the serializer. Their installed versions are part of the code fingerprint.
LIBRARIES = ("yaml_rs", "ruamel.yaml", "jsonschema_rs", "jsonschema", "jinja2", "croniter", "orjson")


class UnitStore(Protocol):
    """Where compiled units are kept between runs (``hlb.compile_cache.CompileCache`` on disk)."""

    def load(self, src: SourceFile, env: Mapping[str, str]) -> FileUnit | None:
        """The stored unit of ``src`` when its key still matches, else None."""

    def save(self, units: Iterable[FileUnit]) -> None:
        """Keep the units that changed (``unit.changed``) and are cacheable (``unit.env`` set)."""

    def load_set(self, name: str, files: int, decode: Callable[[bytes], SetHit | None]) -> SetHit | None:
        """What ``decode`` makes of the whole-set entry ``name`` (``hlb.compiler.set_cache``) of a set
        of ``files`` files; None when there is none or ``decode`` refuses it."""

    def save_set(self, name: str, blob: bytes) -> None:
        """Keep the whole-set entry ``blob`` as ``name``."""


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


def entry_name(src: SourceFile) -> str:
    """The name of ``src``'s entry: a digest of the file's absolute path."""
    return text_digest(os.path.abspath(src.path)) + ".json"


def decode(src: SourceFile, env: Mapping[str, str], blob: bytes, digest: str) -> FileUnit | None:
    """The unit an entry holds for ``src`` (whose text has ``digest``), or None when the key does not
    match or the entry is damaged or foreign."""
    try:
        body = memoryview(blob)[8:]
        if blob[:8] != b"%08x" % zlib.crc32(body):  # a damaged entry
            return None
        end = blob.index(b"\n", 8) - 8  # orjson never writes a raw line break
        entry = orjson.loads(body[:end])
        if (
            type(entry) is not dict
            or entry.get("code") != code_fingerprint()
            or entry.get("path") != src.path
            or entry.get("text") != digest
        ):
            return None
        variables: dict[str, str | None] = entry["env"]
        for name, seen in variables.items():
            if value_digest(env.get(name)) != seen:
                return None
        return from_plain(src, variables, entry["unit"], body[end + 1 :])
    except Exception:  # damaged or foreign: compile the file
        return None


def encode(unit: FileUnit, digest: str) -> bytes | None:
    """The entry of ``unit`` (whose file's text has ``digest``), or None when JSON cannot keep it.

    JSON keeps every value a unit holds exactly: loaded data and what the
    kinds make of it are dicts, lists, strings, ints, floats, bools and None
    (the schema refuses NaN and infinities; ``to_plain`` checks documents
    anyway), and the differential tests compare cached and uncached results
    with their types.
    """
    try:
        plain, data = to_plain(unit)
        head = orjson.dumps(
            {
                "code": code_fingerprint(),
                "path": unit.src.path,
                "text": digest,
                "env": unit.env,
                "unit": plain,
            }
        )
    except (orjson.JSONEncodeError, TypeError, ValueError):
        return None
    body = b"%b\n%b" % (head, data)
    return b"%08x%b" % (zlib.crc32(body), body)
