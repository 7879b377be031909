"""The reference loader: ruamel.yaml events turned into plain data and positions.

This path is authoritative. The fast path (``hlb.compiler.loader``) hands any
file it is not sure about to ``load_roundtrip``, and ``hlb.compiler.positions``
uses the same parse (``parse_roundtrip``, cached per file) to put lines and
columns on diagnostics.

ruamel's pure-Python parser (``YAML(typ="safe", pure=True)``; the round-trip
scanner only adds comment handling, which raises NotImplementedError on some
comment layouts) turns the text into events, and the events are turned into
plain values here rather than by ruamel's constructor, so the scalar rules
are exactly the YAML 1.2 core schema and every problem is a ``Diagnostic``:

- plain scalars (``hlb.compiler.yaml_scalars``): ``null``/``Null``/``NULL``/``~``/empty are None;
  ``true``/``True``/``TRUE`` and the same for false are bools; ``[-+]?[0-9]+``,
  ``0o[0-7]+`` and ``0x[0-9a-fA-F]+`` are ints; ``[-+]?(.N|N(.N*)?)([eE][-+]?N)?``
  and ``.inf``/``.nan`` spellings are floats; everything else (``yes``, ``no``,
  ``on``, ``off``, ``y``, ``n``, ``2020-01-01``, ``12:30``, ``1_000``, ``0b1``)
  is a string. Quoted and block scalars are strings.
- Deviations of ruamel handled here: its constructor's YAML 1.1 leftovers
  (timestamps, ``0b``/underscore ints, sexagesimals, merge keys ``<<``) never
  apply, because only its parser is used; its scanner treats U+0085, U+2028 and
  U+2029 as line breaks (YAML 1.1), so they are swapped for placeholder
  characters (Unicode noncharacters the text does not hold) before parsing
  and restored in values, which keeps values and line numbers as YAML 1.2
  has them.
- ruamel's parser rejects a few valid constructs (see ``hlb.compiler.loader``,
  which sends such files here so both paths agree): those are E106.
- tags: only ``!`` and the core ``!!str !!int !!float !!bool !!null !!map
  !!seq`` are accepted; any other tag is E112 (the value is kept untagged).
- integers must fit in 64 bits (what Postgres and the JSON encoder take): E408
  otherwise, and the value is kept as its text.
- mapping keys must be strings (E204 otherwise); a duplicate key is E108 and
  the first value is kept.
- aliases are expanded as copies; the nodes they add are counted against
  ``ALIAS_BUDGET`` per file, and going over it stops the file with E109 at the
  alias. Nesting deeper than ``MAX_DEPTH`` stops the file with E106.
- a syntax error stops the file (E106, or E107 when the line is indented with
  a tab); documents completed before it are kept.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)
from ruamel.yaml.reader import ReaderError

from hlb.compiler.diagnostics import Diagnostic
from hlb.compiler.loader import ALIAS_BUDGET, INT64_MAX, INT64_MIN, MAX_DEPTH, Document, documents_of
from hlb.compiler.positions import PosNode, offset_position
from hlb.compiler.sources import SourceFile
from hlb.compiler.yaml_scalars import (
    CORE,
    CORE_SCALAR_TAGS,
    LONE_SURROGATE,
    SURROGATE,
    join_surrogates,
    key_problem,
    resolve_plain,
    resolve_tagged,
)

_BREAKS = "\x85\u2028\u2029"  # line breaks to ruamel's scanner, ordinary characters in YAML 1.2
_PLACEHOLDERS = [chr(c) for c in range(0xFDD0, 0xFDF0)]  # Unicode noncharacters


@dataclass(frozen=True)
class ParsedDocument:
    """One document of a file, empty or not, with its data and positions."""

    index: int  # counts empty documents too
    line: int  # line of the first key (or of the value when it is not a mapping)
    data: Any
    pos: PosNode


@dataclass(frozen=True)
class ParsedFile:
    """The reference parse of one file."""

    documents: tuple[ParsedDocument, ...]  # every document, empty ones included
    diagnostics: tuple[Diagnostic, ...]


class _Frame:
    __slots__ = ("anchor", "children", "col", "data", "key", "keys", "line", "size")

    def __init__(self, data: dict[str, Any] | list[Any], line: int, col: int, anchor: str | None) -> None:
        self.data = data
        self.line = line
        self.col = col
        self.anchor = anchor
        self.size = 1
        self.keys: dict[str, tuple[int, int]] = {}
        self.children: dict[str, PosNode] | list[PosNode] = {} if isinstance(data, dict) else []
        self.key: tuple[Any, int, int] | None = None  # pending mapping key, its line and col


class _Stop(Exception):
    """Ends the walk over a file's events after a fatal diagnostic."""


class _Builder:
    """Turns one file's event stream into ``ParsedDocument``s and diagnostics."""

    def __init__(self, src: SourceFile, restore: dict[int, str] | None) -> None:
        self.src = src
        self.restore = restore
        self.documents: list[ParsedDocument] = []
        self.diagnostics: list[Diagnostic] = []
        self.stack: list[_Frame] = []
        self.anchors: dict[str, tuple[Any, PosNode, int]] = {}
        self.budget = ALIAS_BUDGET
        self.root: tuple[Any, PosNode] | None = None

    def error(self, line: int, col: int, code: str, message: str) -> None:
        self.diagnostics.append(Diagnostic(self.src.path, line, col, code, message))

    def feed(self, event: Any) -> None:
        mark = event.start_mark
        line, col = mark.line + 1, mark.column + 1
        if isinstance(event, ScalarEvent):
            value = self.scalar(event, line, col)
            node = PosNode(line, col)
            if event.value == "" and event.style is None and self.stack and self.stack[-1].key is not None:
                node = PosNode(*self.stack[-1].key[1:])  # an empty value sits at its key
            self.add(value, node, 1, event.anchor)
        elif isinstance(event, MappingStartEvent | SequenceStartEvent):
            is_map = isinstance(event, MappingStartEvent)
            self.check_tag(event.tag, "map" if is_map else "seq", line, col)
            if len(self.stack) >= MAX_DEPTH:
                self.error(line, col, "E106", f"nesting is deeper than {MAX_DEPTH} levels; flatten it")
                raise _Stop
            self.stack.append(_Frame({} if is_map else [], line, col, event.anchor))
        elif isinstance(event, MappingEndEvent | SequenceEndEvent):
            f = self.stack.pop()
            children = f.children if isinstance(f.children, dict) else tuple(f.children)
            node = PosNode(f.line, f.col, f.keys if isinstance(f.data, dict) else None, children)
            self.add(f.data, node, f.size, f.anchor)
        elif isinstance(event, AliasEvent):
            self.alias(event.anchor, line, col)
        elif isinstance(event, DocumentStartEvent):
            self.anchors = {}
            self.root = None
        elif isinstance(event, DocumentEndEvent):
            self.end_document()

    def scalar(self, event: ScalarEvent, line: int, col: int) -> Any:
        text = event.value
        if self.restore:
            text = text.translate(self.restore)
        if SURROGATE.search(text):
            joined = join_surrogates(text)
            if joined is None:
                self.error(line, col, "E106", LONE_SURROGATE)
                return text.encode("utf-8", "replace").decode("utf-8")
            text = joined
        tag = event.tag
        if tag in CORE_SCALAR_TAGS:
            value, problem = resolve_tagged(text, tag)
            if problem:
                self.error(line, col, "E204", problem)
        elif tag == "!" or event.style is not None:
            value = text
        else:
            self.check_tag(tag, "scalar", line, col)
            value = resolve_plain(text)
        if type(value) is int and not INT64_MIN <= value <= INT64_MAX:
            shown = text if len(text) <= 40 else text[:37] + "..."
            message = f"integer {shown} is outside the 64-bit range; use a smaller number, or quote it"
            self.error(line, col, "E408", message)
            return text
        return value

    def check_tag(self, tag: str | None, kind: str, line: int, col: int) -> None:
        if tag is None or tag == "!" or tag == CORE + kind:
            return
        shown = "!!" + tag[len(CORE) :] if tag.startswith(CORE) else tag
        self.error(
            line,
            col,
            "E112",
            f"YAML tag {shown} is not allowed here; spec files are plain YAML 1.2 "
            "(tags !!str, !!int, !!float, !!bool, !!null, !!map, !!seq only): remove the tag",
        )

    def alias(self, name: str, line: int, col: int) -> None:
        target = self.anchors.get(name)
        if target is None:
            self.error(
                line, col, "E106", f"alias *{name} has no anchor &{name} before it; define the anchor first"
            )
            self.add(None, PosNode(line, col), 1, None)
            return
        value, node, size = target
        self.budget -= size
        if self.budget < 0:
            self.error(
                line,
                col,
                "E109",
                f"alias *{name} expands the file beyond {ALIAS_BUDGET} nodes; "
                "write the values out or use fewer nested aliases",
            )
            raise _Stop
        self.add(_copy(value), PosNode(line, col, node.keys, node.children), size, None)

    def add(self, value: Any, node: PosNode, size: int, anchor: str | None) -> None:
        if anchor is not None:
            self.anchors[anchor] = (value, node, size)
        if not self.stack:
            self.root = (value, node)
            return
        top = self.stack[-1]
        top.size += size
        if isinstance(top.data, list):
            top.data.append(value)
            top.children.append(node)  # type: ignore[union-attr]
            return
        if top.key is None:
            top.key = (value, node.line, node.col)
            return
        key, kline, kcol = top.key
        top.key = None
        if not isinstance(key, str):
            self.error(kline, kcol, "E204", key_problem(key))
        elif key in top.keys:
            first = top.keys[key][0]
            self.error(
                kline,
                kcol,
                "E108",
                f"duplicate key {key!r}: already given at line {first}; remove one of them",
            )
        else:
            top.data[key] = value  # type: ignore[call-overload]
            top.keys[key] = (kline, kcol)
            top.children[key] = node  # type: ignore[call-overload]

    def end_document(self) -> None:
        if self.root is None:
            return
        value, node = self.root
        line = node.line
        if node.keys:
            line = next(iter(node.keys.values()))[0]
        self.documents.append(ParsedDocument(len(self.documents), line, value, node))
        self.root = None


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


@functools.lru_cache(maxsize=128)
def parse_roundtrip(src: SourceFile) -> ParsedFile:
    """Parse one file once (cached): every document with data and positions, plus diagnostics."""
    text = src.text
    restore = None
    if any(ch in text for ch in _BREAKS):
        free = [ch for ch in _PLACEHOLDERS if ch not in text][: len(_BREAKS)]
        if len(free) == len(_BREAKS):
            text = text.translate({ord(b): p for b, p in zip(_BREAKS, free, strict=True)})
            restore = {ord(p): b for b, p in zip(_BREAKS, free, strict=True)}
    builder = _Builder(src, restore)
    try:
        for event in YAML(typ="safe", pure=True).parse(text):
            builder.feed(event)
    except _Stop:
        pass
    except ReaderError as exc:
        line, col = offset_position(text, exc.position)
        char = exc.character if isinstance(exc.character, int) else 0
        builder.error(
            line,
            col,
            "E106",
            f"character U+{char:04X} is not allowed in YAML text; "
            f'remove it, or write it as an escape in a double-quoted string ("\\u{char:04x}")',
        )
    except MarkedYAMLError as exc:
        builder.diagnostics.append(_syntax_error(src, exc))
    except (YAMLError, RecursionError) as exc:
        builder.error(1, 1, "E106", f"YAML could not be parsed ({exc}); fix the YAML syntax")
    return ParsedFile(tuple(builder.documents), tuple(builder.diagnostics))


def _syntax_error(src: SourceFile, exc: MarkedYAMLError) -> Diagnostic:
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    lines = src.text.split("\n")
    text_line = lines[line - 1] if 0 < line <= len(lines) else ""
    indent = text_line[: len(text_line) - len(text_line.lstrip(" \t"))]
    if "\t" in indent:
        return Diagnostic(
            src.path,
            line,
            indent.index("\t") + 1,
            "E107",
            "this line is indented with a tab; YAML indentation must use spaces, not tabs",
        )
    problem = (exc.problem or exc.context or "invalid YAML").rstrip()
    for ruamel_says, hint in _HINTS:
        if ruamel_says in problem:
            problem = problem.replace("'?'", "a mapping key") + hint
            break
    where = ""
    if exc.problem and exc.context and exc.context_mark is not None and exc.context_mark is not mark:
        where = f" ({exc.context} started at line {exc.context_mark.line + 1})"
    return Diagnostic(src.path, line, col, "E106", f"{problem}{where}; fix the YAML syntax here")


_HINTS = (
    ("'\\t'", " (replace the tab with spaces)"),
    ("mapping values are not allowed here", " (quote a value that contains ': ', or check the indentation)"),
    ("expected <block end>", " (check the indentation of this line)"),
    ("end of stream", " (a quote or bracket is never closed)"),
    ("<stream end>", " (a bracket or quote is never closed)"),
)


def load_roundtrip(src: SourceFile) -> tuple[list[Document], list[Diagnostic]]:
    """Load one file on the reference path: non-empty mapping documents and every problem."""
    parsed = parse_roundtrip(src)
    triples = [(d.index, d.line, d.data) for d in parsed.documents]
    documents, problems = documents_of(src, triples, allow_none=bool(parsed.diagnostics))
    return documents, [*parsed.diagnostics, *problems]
