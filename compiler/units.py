"""File units: the part of a compile that depends on one file alone, and what the cache keeps of it.

``compile_file`` runs the per-file stages on one source: load the YAML,
interpolate ``${VAR}``, check envelope and schema. The result, a
``FileUnit``, holds that file's problems with their positions already filled
in and the documents that passed (``Checked``). Recorded for the cache, it
also holds the names of the environment variables the file read
(``RecordingEnv``) and a fingerprint of each passing document (its file,
index, line and data).

A unit also carries a plain record per document whose kind check has been
run: ``[guild, lookups, findings, spec, hash]``, the guild the document was
resolved to, every ``Index.get`` the check made as ``[guild, kind, name,
fingerprint]``, its positioned findings (``Diagnostic``) and, without
findings, its normalized spec and hash. ``hlb.compiler.checks`` makes the
records and reuses one only while the guild and every looked-up draft are
unchanged.

``to_plain`` and ``from_plain`` turn a unit into JSON-safe data and back,
exactly. A unit read from the cache keeps each document's data as JSON text
(decoded only when a kind check has to run again) and the fields guild
resolution needs (kind, name, guild, labels; all of a Guild).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from hlb.compiler import positions
from hlb.compiler.diagnostics import Diagnostic, Severity
from hlb.compiler.sources import Document, SourceFile

ENVELOPE = ("kind", "name", "guild", "labels")  # what guild resolution reads of a non-Guild document


def digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def text_digest(text: str) -> str:
    return digest(text.encode("utf-8", "surrogatepass"))


def value_digest(value: str | None) -> str | None:
    """What the cache keeps of an environment variable's value (None: unset)."""
    return None if value is None else text_digest(value)


class RecordingEnv(Mapping[str, str]):
    """A read-only view of an environment that notes every variable name asked for."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env
        self.read: dict[str, str | None] = {}  # name -> value digest, None when unset

    def __contains__(self, name: object) -> bool:
        found = name in self._env
        if isinstance(name, str):
            self.read[name] = value_digest(self._env[name]) if found else None
        return found

    def __getitem__(self, name: str) -> str:
        value = self._env[name]
        self.read[name] = value_digest(value)
        return value

    def __iter__(self) -> Iterator[str]:  # pragma: no cover - interpolation never iterates
        raise TypeError("a RecordingEnv cannot be listed: name the variable")

    def __len__(self) -> int:  # pragma: no cover - interpolation never asks
        return len(self._env)


@dataclass(slots=True)
class Checked:
    """A document that passed the schema: its data, or (from the cache) its envelope and JSON text."""

    doc: Document
    data: dict[str, Any]  # all of it, or only ENVELOPE when ``text`` holds the rest
    text: bytes | memoryview | None = None

    def full(self) -> dict[str, Any]:
        if self.text is None:
            return self.data
        data: dict[str, Any] = orjson.loads(self.text)
        return data


Failed = tuple[int, str, str, str | None]  # a document that failed: index, kind, name, guild (None: unset)


@dataclass
class FileUnit:
    """Everything the compiler learned from one file on its own."""

    src: SourceFile
    documents: int  # non-empty documents
    load_problems: list[Diagnostic]  # positioned
    doc_problems: list[Diagnostic]  # interpolation and schema problems, positioned
    checked: list[Checked]
    env: dict[str, str | None] | None = None  # variables read (value digests); None: not for the cache
    fingerprints: dict[int, str] = field(default_factory=dict)  # document index -> fingerprint
    drafts: dict[int, list[Any]] = field(default_factory=dict)  # document index -> plain record
    changed: bool = True  # the cache's copy is missing or out of date
    blobs: dict[int, bytes] = field(default_factory=dict)  # JSON of fresh documents, for to_plain
    failed: list[Failed] = field(default_factory=list)  # documents that did not pass, by identity


def compile_file(
    src: SourceFile, env: Mapping[str, str], *, reference: bool, record: bool
) -> FileUnit:
    """Load, interpolate and schema-check one file; ``record``: note what the cache needs."""
    from hlb.compiler import schema
    from hlb.compiler.interpolate import interpolate, json_of
    from hlb.compiler.secret_places import misplaced_secrets
    from hlb.compiler.text import text_problems

    if reference:
        from hlb.compiler.roundtrip import load_roundtrip

        docs, load_problems = load_roundtrip(src)
    else:
        from hlb.compiler.loader import load_fast

        docs, load_problems = load_fast(src)
    environ = RecordingEnv(env) if record else env
    doc_problems: list[Diagnostic] = []
    checked: list[Checked] = []
    failed: list[Failed] = []
    blobs: dict[int, bytes | None] = {}
    for doc in docs:
        raw = json_of(doc.data)  # one serialization for interpolation, the text checks and the cache
        data, unresolved = interpolate(doc.data, environ, raw)
        if data is not doc.data:
            raw = json_of(data)
        blobs[doc.index] = raw
        spots = {tuple(path) for path, _, _ in unresolved}
        unresolved += [p for p in misplaced_secrets(data, raw) if tuple(p[0]) not in spots]
        doc_problems.extend(at(doc, path, code, message) for path, code, message in unresolved)
        reported = {tuple(path) for path, _, _ in unresolved}  # one problem per spot: the unset variable
        texts = text_problems(data, raw)
        doc_problems.extend(at(doc, path, code, message, severity) for path, code, message, severity in texts)
        schema_problems = [
            p for p in schema.validate_document(data, reference=reference) if tuple(p.path) not in reported
        ]
        doc_problems.extend(at(doc, p.path, p.code, p.message) for p in schema_problems)
        if not schema_problems and not any(severity == "error" for *_, severity in texts):
            checked.append(Checked(doc, data))
        elif (who := identity(doc, data)) is not None:
            failed.append(who)
    by_file = {src.path: src}
    unit = FileUnit(
        src,
        len(docs),
        positions.resolve(load_problems, by_file),
        positions.resolve(doc_problems, by_file),
        checked,
        failed=failed,
    )
    if isinstance(environ, RecordingEnv):
        ready = {item.doc.index: blobs[item.doc.index] for item in checked}
        if None in ready.values():
            return unit  # data JSON cannot hold: the file is not cached, its drafts not fingerprinted
        unit.blobs = {index: blob for index, blob in ready.items() if blob is not None}
        unit.env = environ.read
        unit.fingerprints = {
            item.doc.index: fingerprint(item.doc, unit.blobs[item.doc.index]) for item in checked
        }
    return unit


def identity(doc: Document, data: Any) -> Failed | None:
    """Who a document that failed its checks claims to be, when its kind and name are text.

    Other documents may refer to it: knowing the name, the compiler does not
    report those references as missing (the document's own error is the one to fix).
    """
    if not isinstance(data, dict):
        return None
    kind, name, guild = data.get("kind"), data.get("name"), data.get("guild")
    if not isinstance(kind, str) or not isinstance(name, str):
        return None
    return (doc.index, kind, name, guild if isinstance(guild, str) else None)


def fingerprint(doc: Document, blob: bytes) -> str:
    """Stands for everything a draft is made of besides its guild: file, index, line and data."""
    return digest(f"{doc.file}\0{doc.index}\0{doc.line}\0".encode("utf-8", "surrogatepass") + blob)


def at(
    doc: Document, path: Iterable[str | int], code: str, message: str, severity: Severity = "error"
) -> Diagnostic:
    return Diagnostic(doc.file, 0, 0, code, message, severity, doc=doc.index, path=tuple(path))


# --- plain form ------------------------------------------------------------------------------------


def diagnostic_plain(d: Diagnostic) -> list[Any]:
    path = None if d.path is None else list(d.path)
    return [d.file, d.line, d.col, d.code, d.message, d.severity, d.doc, path]


def diagnostic(item: list[Any]) -> Diagnostic:
    file, line, col, code, message, severity, doc, path = item
    return Diagnostic(file, line, col, code, message, severity, doc, None if path is None else tuple(path))


def _checked_plain(unit: FileUnit, item: Checked, data: list[bytes], offset: int) -> list[Any]:
    index = item.doc.index
    if item.text is None and item.data.get("kind") == "Guild":  # guild resolution reads all of it
        return [index, item.doc.line, item.data, 0, 0, unit.fingerprints[index]]
    if item.text is None:
        blob = unit.blobs[index]
        # Loaded data holds dicts, lists, strings, ints, floats, bools and None, and interpolation
        # adds strings: JSON keeps them all exactly but NaN and infinities (the schema refuses those
        # anyway), which orjson writes as null. So data whose JSON has no null comes back exactly.
        if b"null" in blob and orjson.loads(blob) != item.data:
            raise ValueError(f"document {index} of {unit.src.path} does not survive JSON")
        envelope = {key: item.data[key] for key in ENVELOPE if key in item.data}
    else:
        blob, envelope = bytes(item.text), item.data
    data.append(blob)
    return [index, item.doc.line, envelope, offset, len(blob), unit.fingerprints[index]]


def to_plain(unit: FileUnit) -> tuple[dict[str, Any], bytes]:
    """The unit as JSON-safe data and the JSON of its documents (the source text's digest stands for it).

    Raises ValueError when a document's data would not come back exactly.
    """
    data: list[bytes] = []
    checked = []
    offset = 0
    for item in unit.checked:
        checked.append(_checked_plain(unit, item, data, offset))
        offset += checked[-1][4]
    header = {
        "documents": unit.documents,
        "load": [diagnostic_plain(d) for d in unit.load_problems],
        "problems": [diagnostic_plain(d) for d in unit.doc_problems],
        "checked": checked,
        "failed": [list(who) for who in unit.failed],
        "drafts": [
            [index, guild, lookups, [diagnostic_plain(d) for d in findings], spec, spec_hash]
            for index, (guild, lookups, findings, spec, spec_hash) in unit.drafts.items()
        ],
    }
    return header, b"".join(data)


def from_plain(
    src: SourceFile, env: dict[str, str | None], plain: dict[str, Any], data: memoryview
) -> FileUnit:
    """The unit ``to_plain`` made, for ``src``; raises (KeyError, TypeError, ValueError ...) on bad data."""
    checked: list[Checked] = []
    fingerprints: dict[int, str] = {}
    for index, line, head, offset, size, print_ in plain["checked"]:
        if type(head) is not dict or type(print_) is not str or offset + size > len(data):
            raise TypeError("malformed cache entry")
        text = data[offset : offset + size] if size else None
        checked.append(Checked(Document(src.path, index, line, head), head, text))
        fingerprints[index] = print_
    drafts: dict[int, list[Any]] = {}
    for index, guild, lookups, findings, spec, spec_hash in plain["drafts"]:
        if (
            type(guild) is not str
            or type(lookups) is not list  # its items are checked where they are used
            or not (spec is None or type(spec) is dict)
            or not (spec_hash is None or type(spec_hash) is str)
            or (spec is None) != (spec_hash is None)
        ):
            raise TypeError("malformed cache entry")
        drafts[index] = [guild, lookups, [diagnostic(item) for item in findings], spec, spec_hash]
    failed: list[Failed] = []
    for index, kind, name, guild in plain["failed"]:
        if type(index) is not int or type(kind) is not str or type(name) is not str:
            raise TypeError("malformed cache entry")
        if not (guild is None or type(guild) is str):
            raise TypeError("malformed cache entry")
        failed.append((index, kind, name, guild))
    return FileUnit(
        src,
        plain["documents"],
        [diagnostic(item) for item in plain["load"]],
        [diagnostic(item) for item in plain["problems"]],
        checked,
        env,
        fingerprints,
        drafts,
        changed=False,
        failed=failed,
    )
