"""The compile cache's whole-set entry: the result of compiling one unchanged spec set, in one read.

A warm compile reads one entry per file (``hlb.compiler.cache``) and still
runs what depends on other files: guild resolution, the reuse check of every
kind check, the ceilings, the order of diagnostics, and it rebuilds every
object from its record. On the fleet (502 files, 10,000 objects) that is most
of a no-op `hlb apply`. When every file of a set is unchanged, the result is
too: this entry keeps it whole (the model's objects and the diagnostics, all
positioned) and a compile of the same set serves it without reading the
per-file entries.

The entry holds for exactly the inputs the per-file entries hold for: the
code (``code_fingerprint``), every file in order (its display path and a
digest of its text) and the value of every variable the set's ``${VAR}``
read, set or unset. It is written by a compile that was served entirely by
per-file entries (so a first compile writes no more than before), only when
the set compiled without errors and no object depends on a file besides its
spec (an Emoji reads its image). Like the per-file entries it is JSON
(orjson) with a CRC-32: a damaged or foreign entry is a miss, never an error.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from hlb.compiler.cache import code_fingerprint
from hlb.compiler.diagnostics import Diagnostic
from hlb.compiler.model import Model, ObjectKey, Origin, SpecObject
from hlb.compiler.sources import SourceFile
from hlb.compiler.units import FileUnit, diagnostic, diagnostic_plain, text_digest, value_digest

SUFFIX = ".set"
SetHit = tuple[Model, list[Diagnostic], int]  # the model, the diagnostics, the number of documents


def set_entry_name(sources: Sequence[SourceFile]) -> str:
    """The name of the entry of the set made of ``sources``: a digest of their absolute paths, in order."""
    return text_digest("\0".join(os.path.abspath(src.path) for src in sources)) + SUFFIX


def _files(sources: Sequence[SourceFile], digests: Sequence[str]) -> list[list[str]]:
    return [[src.path, text] for src, text in zip(sources, digests, strict=True)]


def encode_set(
    sources: Sequence[SourceFile],
    digests: Sequence[str],
    units: Sequence[FileUnit],
    model: Model,
    diagnostics: Sequence[Diagnostic],
) -> bytes | None:
    """The entry of a clean compile of ``sources`` (texts' ``digests``), or None when it cannot be kept."""
    variables: dict[str, str | None] = {}
    for unit in units:
        if unit.env is None:  # a file the per-file cache does not keep either
            return None
        variables.update(unit.env)
    objects = []
    for obj in model:
        if obj.origin is None:
            return None
        key = obj.key
        objects.append([key.guild, key.kind, key.name, obj.labels, obj.spec, obj.hash, *_origin(obj.origin)])
    try:
        head = orjson.dumps(
            {
                "code": code_fingerprint(),
                "files": _files(sources, digests),
                "env": variables,
                "documents": sum(unit.documents for unit in units),
                "diagnostics": [diagnostic_plain(d) for d in diagnostics],
            }
        )
        body = b"%b\n%b" % (head, orjson.dumps(objects))
    except (orjson.JSONEncodeError, TypeError, ValueError):
        return None
    return b"%08x%b" % (zlib.crc32(body), body)


def _origin(origin: Origin) -> tuple[str, int]:
    return origin.file, origin.line


def decode_set(
    blob: bytes, sources: Sequence[SourceFile], digests: Sequence[str], env: Mapping[str, str]
) -> SetHit | None:
    """The model, diagnostics and document count the entry keeps for ``sources`` (texts' ``digests``)
    under ``env``; None when its key does not match or the entry is damaged or foreign."""
    try:
        body = memoryview(blob)[8:]
        if blob[:8] != b"%08x" % zlib.crc32(body):
            return None
        end = blob.index(b"\n", 8) - 8
        head: Any = orjson.loads(body[:end])
        if (
            type(head) is not dict
            or head.get("code") != code_fingerprint()
            or head.get("files") != _files(sources, digests)
        ):
            return None
        for name, seen in head["env"].items():
            if value_digest(env.get(name)) != seen:
                return None
        diagnostics = [diagnostic(item) for item in head["diagnostics"]]
        objects = tuple(
            SpecObject(ObjectKey(guild, kind, name), labels, spec, spec_hash, Origin(file, line))
            for guild, kind, name, labels, spec, spec_hash, file, line in orjson.loads(body[end + 1 :])
        )
        if not all(type(o.spec) is dict and type(o.labels) is dict and type(o.hash) is str for o in objects):
            return None
        documents = head["documents"]
        if type(documents) is not int:
            return None
        return Model(objects), diagnostics, documents
    except Exception:  # damaged or foreign: compile the set
        return None
