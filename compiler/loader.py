"""The fast loader: yaml_rs for files it can vouch for, the reference path for the rest.

``load_fast`` parses a file with yaml_rs (Rust) and returns plain documents
with the line of each document's first key. It only trusts yaml_rs where
yaml_rs is known to agree with the reference loader (``hlb.compiler.roundtrip``,
YAML 1.2 core schema); anything else goes to ``load_roundtrip``, which is
authoritative and positions every problem. A file goes to the reference path
when:

- yaml_rs raises (syntax errors, duplicate keys, aliases over the budget ...);
- a line is 1000 characters or longer: block nesting depth is bounded by
  about twice the longest line, and yaml_rs crashes the process (stack
  overflow) on block nesting some thousands deep;
- the text holds a tag (``!`` starting a token), a directive (``%``), a
  ``|`` or ``>`` starting a flow scalar (invalid, but yaml_rs accepts it), a
  document end marker (``...``), a tab, a character YAML does not allow, or a
  number spelling where yaml_rs leaves the core schema (``0X1F``, ``+0x1F``,
  ``-0o17``, ``0b101`` and ``1_000`` are ints to yaml_rs, strings in YAML 1.2);
- the text may hold one of the few valid constructs ruamel's parser rejects
  or misreads: a flow mapping spread over lines (it may have a multi-line
  key), a quoted key with its value right after the colon (``["a":b]``), a
  flow scalar starting with ``:`` or ``?`` (``[:x]``, ``[?x]``), a block
  scalar whose first line holds only spaces;
- a block scalar with no content ends the text (yaml_rs reads ``k: |``
  there as ``"\\n"``; YAML 1.2 says ``""``);
- the document count found by scanning for ``---`` markers differs from what
  yaml_rs returned, or is ambiguous (yaml_rs returns a list both for several
  documents and for one document that is a sequence);
- a document is not a mapping, has a non-string key, an integer beyond 64
  bits or nests deeper than ``MAX_DEPTH``; or its first line starts with
  ``& * ! ? {``.

The reference path does not import on the fast path, so loading valid specs
never pays for ruamel.yaml.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import orjson
import yaml_rs
from yaml_rs import AliasLimits, DuplicateKeyPolicy

from hlb.compiler.diagnostics import Diagnostic
from hlb.compiler.positions import document_lines
from hlb.compiler.sources import Document, SourceFile

ALIAS_BUDGET = 200_000  # nodes (yaml_rs: replayed events) that aliases may add to one file
MAX_DEPTH = 100  # nesting levels of mappings and sequences
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1  # the integers the database and orjson take

_ALIAS_LIMITS = AliasLimits(max_total_replayed_events=ALIAS_BUDGET)
# Characters outside YAML's printable set (NEL, LS and PS are printable content in YAML 1.2).
_NOT_PRINTABLE = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_PRINTABLE_ASCII = bytes(range(0x20, 0x7F)) + b"\t\n\r"
_TAG = re.compile(r"!(?<=[ \n\[{,:]!)")  # a '!' that starts a token
# 0x/0o/0b prefixes where a number may start, and '_' next to a digit or '.'
# (Each pattern starts with one literal character, which lets `re` skip ahead to it: an
# alternation or a class first makes it try every position, five times slower.)
_PREFIXED_NUMBER = re.compile(r"0[xXoObB](?<=[ \n\[{,:+-]0.)")
_UNDERSCORE_NUMBER = re.compile(r"_(?:(?<=[\d.]_)|(?=[\d.]))")
_FLOW_ACROSS_LINES = re.compile(r"\{[^}\n]*\n")  # ruamel rejects multi-line keys in flow mappings
_FLOW_QUESTION = re.compile(r"\?(?<=[\[{, ]\?)(?=[^ \n])")  # [?x]: ruamel reads an explicit key
# '|' or '>' starting a flow scalar ([|], {k: >}): YAML forbids it, yaml_rs reads a string
_FLOW_LITERAL = re.compile(r"\|(?:(?<=[\[{,]\|)|(?<=[\[{,] \|)|(?<=: \|)(?=[^\n]*[,}\]]))")
_FLOW_FOLDED = re.compile(r">(?:(?<=[\[{,]>)|(?<=[\[{,] >)|(?<=: >)(?=[^\n]*[,}\]]))")
# ["a":b] and [:x] (a plain scalar starting with ':') are rejected by ruamel
_ADJACENT_VALUE = re.compile(r":(?:(?<=[\"'\[{,]:)|(?<=[\[{,] :))(?=[^ \n])")
# Nesting depth is bounded by about twice the longest line; yaml_rs overflows its stack
# (a crash, not an exception) on block nesting some thousands deep, so long lines go to ruamel.
_LONG = 1000
_LONG_LINE = re.compile(rf"\n[^\n]{{{_LONG}}}")
_SPACES_LINE = re.compile(r"\n +\n")
_SPACES_AFTER_HEADER = re.compile(r"[|>][-+0-9]*[ ]*(?:#[^\n]*)?\n +\n")  # ruamel rejects some
_HEADER_AT_END = re.compile(r"[|>][-+0-9]*[ ]*(?:#.*)?$")  # yaml_rs: empty block scalar at the end is "\n"


class _Failed:
    """yaml_rs refused or failed on a text: the reference path decides."""


FAILED = _Failed()
Parsed = Any  # what yaml_rs made of a text, or FAILED


def parse(text: str) -> Parsed:
    """yaml_rs's reading of ``text`` (dicts, lists, scalars), or ``FAILED``."""
    try:
        return yaml_rs.loads(
            text,
            parse_datetime=False,
            alias_limits=_ALIAS_LIMITS,
            duplicate_key_policy=DuplicateKeyPolicy.Error,
        )
    except Exception:  # yaml_rs errors and anything unexpected: the reference path decides
        return FAILED
    except BaseException as exc:  # a Rust panic arrives as pyo3's PanicException, a BaseException
        if type(exc).__name__ != "PanicException":
            raise
        return FAILED


def load_fast(src: SourceFile) -> tuple[list[Document], list[Diagnostic]]:
    """Load one file: its non-empty documents and the problems found in it."""
    triples = _fast_triples(src.text)
    if triples is None:
        from hlb.compiler.roundtrip import load_roundtrip

        return load_roundtrip(src)
    return documents_of(src, triples)


def documents_of(
    src: SourceFile, triples: Iterable[tuple[int, int, Any]], *, allow_none: bool = False
) -> tuple[list[Document], list[Diagnostic]]:
    """Documents from ``(index, line, value)`` triples: empty ones skipped, non-mappings reported.

    ``allow_none``: a file without any document is not a problem (another
    diagnostic already explains it).
    """
    documents: list[Document] = []
    problems: list[Diagnostic] = []
    for index, line, value in triples:
        if value is None:
            continue
        if isinstance(value, dict):
            documents.append(Document(src.path, index, line, value))
            continue
        what = "a list" if isinstance(value, list) else f"the {type(value).__name__} value {value!r}"
        if len(what) > 80:
            what = what[:77] + "..."
        problems.append(
            Diagnostic(
                src.path,
                line,
                1,
                "E110",
                f"document {index + 1} is {what}, not a mapping; each document must be one object "
                "with apiVersion, kind, name and spec",
            )
        )
    if not documents and not problems and not allow_none:
        problems.append(
            Diagnostic(src.path, 1, 1, "E105", "file holds no documents; add a spec or delete the file")
        )
    return documents, problems


def _needs_reference(text: str) -> bool:
    """Whether the text holds something where yaml_rs may not agree with the reference path."""
    first_newline = text.find("\n")
    if (
        (first_newline if first_newline != -1 else len(text)) >= _LONG
        or _LONG_LINE.search(text)
        or "\t" in text
        or "\n%" in text
        or "\n..." in text
        or text.startswith(("%", "...", "!"))
        or ("!" in text and _TAG.search(text))
        or _PREFIXED_NUMBER.search(text)
        or _UNDERSCORE_NUMBER.search(text)
        or _unprintable(text)
        or _FLOW_ACROSS_LINES.search(text)
        or _ADJACENT_VALUE.search(text)
        or ("?" in text and _FLOW_QUESTION.search(text))
        or _FLOW_LITERAL.search(text)
        or _FLOW_FOLDED.search(text)
        or (_SPACES_LINE.search(text) and _SPACES_AFTER_HEADER.search(text))
    ):
        return True
    last = text.rstrip().rpartition("\n")[2]
    return ("|" in last or ">" in last) and _HEADER_AT_END.search(last) is not None


def _unprintable(text: str) -> bool:
    """Whether ``text`` holds a character YAML does not allow (ASCII text: checked in one C pass)."""
    if text.isascii():
        return bool(text.encode("ascii").translate(None, _PRINTABLE_ASCII))
    return _NOT_PRINTABLE.search(text) is not None


def _fast_triples(text: str) -> list[tuple[int, int, Any]] | None:
    """``(index, line, value)`` for every document, or None to use the reference path."""
    if _needs_reference(text):
        return None
    result = parse(text)
    if result is FAILED:
        return None
    lines = document_lines(text)
    if lines is None:
        return None
    if result is None:
        values: list[Any] = [None] * len(lines)
        if len(lines) > 1:
            return None
    elif isinstance(result, dict):
        values = [result]
    elif isinstance(result, list) and len(lines) > 1:
        values = result
    else:
        return None
    if len(values) != len(lines):
        return None
    triples: list[tuple[int, int, Any]] = []
    for index, (line, value) in enumerate(zip(lines, values, strict=True)):
        if value is not None and (line is None or type(value) is not dict or not _plain_document(value)):
            return None
        triples.append((index, line or 0, value))
    return triples


def _plain_document(value: dict[str, Any]) -> bool:
    """``_plain(value, 1)``, answered in C for the common case.

    orjson with strict integers refuses keys that are not strings, integers
    beyond 53 bits and nesting beyond 254 levels; a document it writes with
    at most ``MAX_DEPTH`` brackets is plain. Anything else (a big integer, a
    deeply nested or unusual document) takes the Python walk.
    """
    try:
        blob = orjson.dumps(value, option=orjson.OPT_STRICT_INTEGER)
    except (orjson.JSONEncodeError, TypeError):
        return _plain(value, 1)
    return blob.count(b"{") + blob.count(b"[") <= MAX_DEPTH or _plain(value, 1)


def _plain(value: dict[Any, Any] | list[Any], depth: int) -> bool:
    """Whether keys below are strings, integers fit in 64 bits and nesting stays within ``MAX_DEPTH``."""
    if depth > MAX_DEPTH:
        return False
    if type(value) is dict:
        for key in value:
            if type(key) is not str:
                return False
        items: Iterable[Any] = value.values()
    else:
        items = value
    for item in items:
        kind = type(item)
        if kind is dict or kind is list:
            if not _plain(item, depth + 1):
                return False
        elif kind is int and not INT64_MIN <= item <= INT64_MAX:
            return False
    return True
