"""Positions: lines and columns of documents and of the values inside them.

``document_lines`` finds the line where each document of a file starts with
a cheap scan for ``---`` markers (the fast loader's half). ``locate`` and
``resolve`` turn (document, JSON path) into a line and column.

Checks that run on plain data (schema, references, limits) report where a
problem is as a document index and a path such as ``("spec", "embeds", 0,
"title")``. Before diagnostics are shown, ``resolve`` fills in their line and
column from the round-trip parse of the file, which ``parse_roundtrip``
makes at most once per file (it is cached), and only for files that have a
diagnostic to place.

A path that does not exist (a required field that is missing, say) resolves
to its nearest existing ancestor. An ancestor reached through a mapping key
is placed at that key (``spec:`` rather than the first line inside it); so is
the target itself when ``key=True`` and the path ends in a key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from hlb.compiler.diagnostics import Diagnostic, JsonPath
from hlb.compiler.sources import SourceFile

if TYPE_CHECKING:
    from hlb.compiler.roundtrip import ParsedDocument

_UNSURE_START = frozenset("&*!?{")


@dataclass(frozen=True)
class PosNode:
    """Where a value sits in the text (1-based), and where its children sit."""

    line: int
    col: int
    keys: dict[str, tuple[int, int]] | None = None  # mapping: position of each key
    children: dict[str, PosNode] | tuple[PosNode, ...] | None = None


def locate(src: SourceFile, doc: int, path: JsonPath, *, key: bool = False) -> tuple[int, int]:
    """1-based line and column of the value at ``path`` in document ``doc`` of ``src``.

    ``key=True``: of the mapping key itself when ``path`` ends in one (for
    'unknown field'). Unknown documents resolve to line 1, column 1.
    """
    document = _document(src, doc)
    if document is None:
        return 1, 1
    node = document.pos
    here = (node.line, node.col)
    via_key: tuple[int, int] | None = None  # position of the key the current node was reached by
    for step in path:
        children = node.children
        if (
            isinstance(step, str)
            and isinstance(children, dict)
            and node.keys is not None
            and step in children
        ):
            via_key = node.keys[step]
            node = children[step]
        elif (
            isinstance(step, int)
            and not isinstance(step, bool)
            and isinstance(children, tuple)
            and 0 <= step < len(children)
        ):
            via_key = None
            node = children[step]
        else:
            return via_key or (node.line, node.col)  # nearest existing ancestor
        here = (node.line, node.col)
    if key and via_key is not None:
        return via_key
    return here


def _document(src: SourceFile, doc: int) -> ParsedDocument | None:
    from hlb.compiler.roundtrip import parse_roundtrip  # ruamel only when a diagnostic needs a place

    documents = parse_roundtrip(src).documents  # every document, so list position == index
    return documents[doc] if 0 <= doc < len(documents) else None


def resolve(diagnostics: Iterable[Diagnostic], sources: Mapping[str, SourceFile]) -> list[Diagnostic]:
    """Diagnostics with line and column filled in where they only knew (doc, path).

    Diagnostics that already have a line, lack a document or path, or name a
    file not in ``sources`` are returned unchanged; the order is kept. Files
    are handled one after the other, so each is parsed once however many
    diagnostics it has.
    """
    out = list(diagnostics)
    by_file: dict[str, list[tuple[int, int, JsonPath]]] = {}
    for i, d in enumerate(out):
        if d.line == 0 and d.doc is not None and d.path is not None and d.file in sources:
            by_file.setdefault(d.file, []).append((i, d.doc, d.path))
    for file, wanted in by_file.items():
        for i, doc, path in wanted:
            line, col = locate(sources[file], doc, path, key=True)
            out[i] = replace(out[i], line=line, col=col)
    return out


def offset_position(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of the character at ``offset``."""
    offset = max(0, min(offset, len(text)))
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _is_marker(text: str, at: int) -> bool:
    end = at + 3
    return text.startswith("---", at) and (end == len(text) or text[end] in " \n")


def document_lines(text: str) -> list[int | None] | None:
    """First content line of every document (None: empty), from its ``---`` markers.

    A ``---`` at the start of a line is always a document marker in YAML 1.2
    (no scalar may hold one there), so scanning for them finds every document
    without parsing. Returns None when a document starts in a way whose first
    key line this scan cannot be sure of (an anchor, alias, tag, explicit key
    or flow mapping first).
    """
    markers = [0] if _is_marker(text, 0) else []
    at = text.find("\n---")
    while at != -1:
        if _is_marker(text, at + 1):
            markers.append(at + 1)
        at = text.find("\n---", at + 1)
    ends = [*markers[1:], len(text)] if markers else []
    regions = [(m + 3, end) for m, end in zip(markers, ends, strict=True)]
    head_end = markers[0] if markers else len(text)
    if not markers or _first_content(text, 0, head_end) is not None:
        regions.insert(0, (0, head_end))  # a document before the first marker
    lines: list[int | None] = []
    offset, line = 0, 1
    for start, end in regions:
        content = _first_content(text, start, end)
        if content is None:
            lines.append(None)
            continue
        if text[content] in _UNSURE_START:
            return None
        line += text.count("\n", offset, content)
        offset = content
        lines.append(line)
    return lines


def _first_content(text: str, start: int, end: int) -> int | None:
    """Offset of the first character in ``[start, end)`` that is not blank or a comment."""
    at = start
    while at < end:
        newline = text.find("\n", at, end)
        stop = end if newline == -1 else newline
        segment = text[at:stop]
        stripped = segment.lstrip(" ")
        if stripped and not stripped.startswith("#"):
            return at + len(segment) - len(stripped)
        at = stop + 1
    return None
