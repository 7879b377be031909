"""Differential tests: the fast path (yaml_rs) and the reference path (ruamel) agree.

Generated data is dumped by ruamel.yaml in several styles and parsed by both
loaders; both must give the original data back, with the same document lines.
A table of hand-written plain scalars pins the YAML 1.2 core-schema answers.
"""

from __future__ import annotations

import io
import math
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from hlb.compiler.diagnostics import Diagnostic
from hlb.compiler.loader import Document, load_fast
from hlb.compiler.roundtrip import load_roundtrip
from hlb.compiler.sources import SourceFile

TRICKY = [
    "no",
    "on",
    "yes",
    "off",
    "y",
    "n",
    "Y",
    "NO",
    "True",
    "FALSE",
    "tRUE",
    "1.0",
    "0o17",
    "0x1F",
    "0X1F",
    "0b101",
    "1_000",
    "012",
    "+1",
    "-0",
    ".inf",
    "-.Inf",
    ".NaN",
    "nan",
    "1e3",
    "1E3",
    "1.",
    "~",
    "null",
    "Null",
    "NULL",
    "",
    " ",
    "2020-01-01",
    "2020-01-01T10:00:00Z",
    "12:30",
    "190:20:30",
    "#x",
    "a #b",
    "a: b",
    "- x",
    "-",
    "?",
    ":",
    "&a",
    "*a",
    "!t",
    "!!str",
    "%YAML",
    "---",
    "...",
    "--- x",
    "@x",
    "`x",
    "'q'",
    '"q"',
    "{a: 1}",
    "[1]",
    "${HLB_X}",
    "$${X}",
    "{{ now }}",
    "<<",
    "é",
    "📊-status",
    "日本語",
    "a\nb",
    "a\n\nb",
    "\n",
    " lead",
    "trail ",
    "tab\there",
    "a\\b",
    "\x85",
    "a\u2028b",
    "\u2029",
    "\ufeff",
    "\u00a0",
    "x" * 120,
    "word " * 30,
]

keys = st.one_of(st.sampled_from(TRICKY), st.text(max_size=12))
scalars = st.one_of(
    st.sampled_from(TRICKY),
    st.text(max_size=40),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
    st.booleans(),
    st.none(),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(keys, inner, max_size=4),
    ),
    max_leaves=20,
)
documents = st.lists(st.dictionaries(keys, values, min_size=1, max_size=5), min_size=1, max_size=3)
# (default_flow_style, width, allow_unicode) for ruamel's emitter
STYLES = [(False, 80, True), (None, 40, True), (True, 80, False), (False, 20, False)]


def _dump(docs: list[dict[str, Any]], style: tuple[bool | None, int, bool]) -> str:
    yaml = YAML(typ="rt")
    yaml.default_flow_style, yaml.width, yaml.allow_unicode = style
    stream = io.StringIO()
    yaml.dump_all(docs, stream)
    return stream.getvalue()


_ESCAPED = re.compile(
    "[^\t\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufdcf\ufdf0-\ufffd\U00010000-\U0010ffff]"
)


def _emitter_safe(value: Any, ascii_only: bool) -> bool:
    """Whether ruamel's emitter writes ``value`` faithfully.

    It does not in two cases: it writes U+0085/U+2028/U+2029 as YAML 1.1 line
    breaks, and it may fold a double-quoted line right after an escape
    sequence (a control character, or any non-ASCII one without
    allow_unicode) without escaping the break.
    """
    if isinstance(value, dict):
        return all(_emitter_safe(k, ascii_only) and _emitter_safe(v, ascii_only) for k, v in value.items())
    if isinstance(value, list):
        return all(_emitter_safe(v, ascii_only) for v in value)
    if isinstance(value, str):
        return not _ESCAPED.search(value) and (value.isascii() or not ascii_only)
    return True


def _same(a: Any, b: Any) -> bool:
    """Equality that also checks types (1 != 1.0 != True) and treats NaN as equal to itself."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


def _both(text: str) -> tuple[list[Document], list[Document], list[Diagnostic]]:
    src = SourceFile("gen.yaml", text)
    fast, fast_diags = load_fast(src)
    ref, ref_diags = load_roundtrip(src)
    assert fast_diags == ref_diags
    return fast, ref, ref_diags


def _ruamel_reads_back(text: str, docs: list[dict[str, Any]]) -> bool:
    """Whether ruamel's own loader gives back the data its emitter wrote.

    It does not in a few cases, which both of our paths then report as the
    same E106/E204: with a narrow width the emitter breaks a long plain key
    over two lines (invalid in a block mapping; valid in a flow mapping, but
    ruamel's parser rejects it), and it writes ``[?0]``, which its parser reads
    as an explicit key although YAML 1.2 says it is the string ``?0``.
    """
    try:
        return _same(list(YAML(typ="safe", pure=True).load_all(text)), docs)
    except YAMLError:
        return False


# Every generated document set in every style: generating one costs more than reading it back
# four times, so 150 sets in 4 styles check twice the texts 300 sets in one sampled style did.
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(docs=documents)
def test_both_paths_read_back_what_ruamel_wrote(docs: list[dict[str, Any]]) -> None:
    for style in STYLES:
        text = _dump(docs, style)
        fast, ref, problems = _both(text)
        assert [(d.index, d.line) for d in fast] == [(d.index, d.line) for d in ref], text
        assert _same([d.data for d in fast], [d.data for d in ref]), text
        if _emitter_safe(docs, ascii_only=not style[2]) and _ruamel_reads_back(text, docs):
            assert not problems, [d.format_text() for d in problems]
            assert _same([d.data for d in ref], docs), text


@settings(max_examples=150, deadline=None)
@given(word=st.text(alphabet="0123456789+-._xXoObBeE:aifnINFtTrRuUlLsS~_ ", min_size=1, max_size=8))
def test_plain_scalars_agree(word: str) -> None:
    src = SourceFile("s.yaml", f"k: {word}\n")
    fast, fast_diags = load_fast(src)
    ref, ref_diags = load_roundtrip(src)
    assert [d.code for d in fast_diags] == [d.code for d in ref_diags]
    assert _same([d.data for d in fast], [d.data for d in ref]), word


CORE_TABLE: list[tuple[str, Any]] = [
    ("yes", "yes"),
    ("no", "no"),
    ("on", "on"),
    ("off", "off"),
    ("y", "y"),
    ("n", "n"),
    ("true", True),
    ("True", True),
    ("TRUE", True),
    ("false", False),
    ("FALSE", False),
    ("tRUE", "tRUE"),
    ("null", None),
    ("Null", None),
    ("NULL", None),
    ("~", None),
    ("", None),
    ("nULL", "nULL"),
    ("0x1F", 31),
    ("0o17", 15),
    ("0X1F", "0X1F"),
    ("+0x1F", "+0x1F"),
    ("-0o17", "-0o17"),
    ("0b101", "0b101"),
    ("1_000", "1_000"),
    ("012", 12),
    ("+1", 1),
    ("-0", 0),
    ("08", 8),
    ("1e3", 1000.0),
    ("1.", 1.0),
    (".5", 0.5),
    ("-.5", -0.5),
    ("1.5e-3", 0.0015),
    ("1e", "1e"),
    (".inf", math.inf),
    ("-.Inf", -math.inf),
    ("+.INF", math.inf),
    ("inf", "inf"),
    (".nan", math.nan),
    (".NaN", math.nan),
    ("nan", "nan"),
    ("2020-01-01", "2020-01-01"),
    ("2020-01-01 10:00:00", "2020-01-01 10:00:00"),
    ("12:30", "12:30"),
    ("190:20:30", "190:20:30"),
    ("0o8", "0o8"),
    ("0x", "0x"),
    ("9223372036854775807", 2**63 - 1),
    ("-9223372036854775808", -(2**63)),
    ('"1"', "1"),
    ("'yes'", "yes"),
    ("!!str 12", "12"),
    ("!!float 3", 3.0),
    ("!!int '7'", 7),
    ("! 12", "12"),
    ("!!bool True", True),
]


@pytest.mark.parametrize(("plain", "expected"), CORE_TABLE, ids=[c[0] or "<empty>" for c in CORE_TABLE])
def test_core_schema_table(plain: str, expected: Any) -> None:
    fast, ref, problems = _both(f"k: {plain}\n")
    assert not problems
    assert _same(fast[0].data["k"], expected)
    assert _same(ref[0].data["k"], expected)


@pytest.mark.parametrize(
    "digits", ["9223372036854775808", "-9223372036854775809", "9" * 5000, "0x1" + "0" * 16]
)
def test_integers_beyond_64_bits_are_e408_on_both_paths(digits: str) -> None:
    fast, ref, problems = _both(f"a: 1\nk: [{digits}]\n")
    assert [(d.code, d.line, d.col) for d in problems] == [("E408", 2, 5)]
    assert fast[0].data == ref[0].data == {"a": 1, "k": [digits]}  # kept as text


@pytest.mark.parametrize("levels", [98, 99, 100, 101, 300])
def test_nesting_limit_is_the_same_on_both_paths(levels: int) -> None:
    from hlb.compiler import loader

    text = "k: " + "[" * levels + "]" * levels + "\n"
    fast, ref, problems = _both(text)
    within = levels + 1 <= loader.MAX_DEPTH  # the document itself is one level
    assert (loader._fast_triples(text) is not None) == within  # the fast path takes what it can hold
    assert [d.code for d in problems] == ([] if within else ["E106"])
    assert [d.data for d in fast] == [d.data for d in ref]
